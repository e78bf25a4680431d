package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/money"
)

// reply is an answer about to be written.
type reply struct {
	status int
	body   []byte
	// durable, when not zero, is the journal record that must be durable
	// before the answer is sent.
	durable uint64
}

func errorReply(status int, msg string) reply {
	b, _ := json.Marshal(struct {
		Code  int    `json:"code"`
		Error string `json:"error"`
	}{status, msg})
	return reply{status: status, body: b}
}

// ServeHTTP serves the emulated API.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch path {
	case endpointGetAuthcode, endpointExecute, endpointStatus:
	default:
		write(w, errorReply(http.StatusNotFound, "Not found."))
		return
	}
	if r.Method != http.MethodPost {
		write(w, errorReply(http.StatusMethodNotAllowed, "Use POST."))
		return
	}

	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	obj, decodeErr := decode(body)

	e.mu.Lock()
	e.requests[path]++
	if path == endpointExecute && decodeErr == nil {
		if code, ok := stringField(obj, "authcode"); ok {
			e.led.Executes[code]++
			e.logRecord(e.record(change{Executes: map[string]int{code: e.led.Executes[code]}}))
		}
	}
	burst := e.take(Fault429Burst, path)
	e.mu.Unlock()
	switch {
	case burst:
		w.Header().Set("Retry-After", "1")
		write(w, errorReply(http.StatusTooManyRequests, "Too many requests."))
		return
	case readErr != nil:
		write(w, errorReply(http.StatusBadRequest, "The request body could not be read."))
		return
	case decodeErr != nil:
		write(w, errorReply(http.StatusBadRequest, "The request body must be a JSON object."))
		return
	}

	e.mu.Lock()
	fail5xx := e.take(Fault5xxBeforeCommit, path)
	drop := !fail5xx && e.take(FaultDropBeforeCommit, path)
	e.mu.Unlock()
	switch {
	case fail5xx:
		write(w, errorReply(http.StatusInternalServerError, "Internal server error."))
		return
	case drop:
		// Aborting a handler closes the connection without an answer,
		// and net/http does not log a stack trace for this value.
		panic(http.ErrAbortHandler)
	}

	var rep reply
	if rep2, ok := authenticate(r, obj); !ok {
		rep = rep2
	} else {
		e.mu.Lock()
		switch path {
		case endpointGetAuthcode:
			rep = e.getAuthcode(obj)
		case endpointExecute:
			rep = e.execute(obj)
		case endpointStatus:
			rep = e.status(obj)
		}
		e.mu.Unlock()
	}
	if rep.durable > 0 {
		if err := e.journal.Sync(rep.durable); err != nil {
			e.logPersist(err)
			rep = errorReply(http.StatusInternalServerError, "Internal server error.")
		}
	}

	e.mu.Lock()
	after5xx := e.take(Fault5xxAfterCommit, path)
	afterDrop := !after5xx && e.take(FaultDropAfterCommit, path)
	truncate := !after5xx && !afterDrop && e.take(FaultTruncateAfterCommit, path)
	delay := !after5xx && !afterDrop && !truncate && e.take(FaultDelayAfterCommit, path)
	wait := e.delay
	e.mu.Unlock()
	switch {
	case after5xx:
		write(w, errorReply(http.StatusInternalServerError, "Internal server error."))
	case afterDrop:
		panic(http.ErrAbortHandler)
	case truncate:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
		w.WriteHeader(rep.status)
		w.Write(rep.body[:len(rep.body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	case delay:
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-r.Context().Done():
		case <-e.closed:
		case <-t.C:
		}
		write(w, rep)
	default:
		write(w, rep)
	}
}

func write(w http.ResponseWriter, rep reply) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(rep.status)
	w.Write(rep.body)
}

// authenticate accepts the private key in the Authorization header (the
// docs' text) or as "privatekey" in the body (the docs' JavaScript
// example).
func authenticate(r *http.Request, obj map[string]json.RawMessage) (reply, bool) {
	key := r.Header.Get("Authorization")
	if key == "" {
		key, _ = stringField(obj, "privatekey")
	}
	switch key {
	case "":
		return errorReply(http.StatusUnauthorized, MsgMissingKey), false
	case PrivateKey:
		return reply{}, true
	}
	return errorReply(http.StatusForbidden, MsgInvalidKey), false
}

// decode reads a JSON object keeping numbers as their text.
func decode(body []byte) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, errors.New("not an object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the object")
	}
	return obj, nil
}

func stringField(obj map[string]json.RawMessage, k string) (string, bool) {
	raw, ok := obj[k]
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// amountField reads a positive plain decimal number with at most two
// places. The emulator is stricter than a lenient server would be, so that
// a client writing 1e2 or 0.1000000000000000055 is caught in tests.
func amountField(raw json.RawMessage) (money.Amount, string, bool) {
	s := string(raw)
	a, err := money.Parse(s)
	if err != nil || a.Places() > 2 || a.Sign() <= 0 {
		return money.Amount{}, "", false
	}
	return a, s, true
}

func (e *Emulator) getAuthcode(obj map[string]json.RawMessage) reply {
	total, totalText, ok := amountField(obj["amount"])
	if !ok {
		return errorReply(http.StatusBadRequest, "amount must be a positive number of USD with at most 2 decimals.")
	}
	var raws []map[string]json.RawMessage
	if err := json.Unmarshal(obj["accounts"], &raws); err != nil || len(raws) == 0 {
		return errorReply(http.StatusBadRequest, "accounts must be a non-empty array of accounts.")
	}
	sum := money.FromInt64(0)
	accounts := make([]Account, 0, len(raws))
	for _, ra := range raws {
		acc := string(ra["acc"])
		if acc == "" || strings.Trim(acc, "0123456789") != "" || acc[0] == '0' {
			return errorReply(http.StatusBadRequest, "acc must be an integer account number.")
		}
		amt, amtText, ok := amountField(ra["amount"])
		if !ok {
			return errorReply(http.StatusBadRequest, "Each account's amount must be a positive number of USD with at most 2 decimals.")
		}
		bank, _ := stringField(ra, "bank")
		country, _ := stringField(ra, "country")
		if bank == "" || len(country) != 2 {
			return errorReply(http.StatusBadRequest, "Each account needs a bank name and a two-letter country.")
		}
		// The docs name the field "recipient" in the table and
		// "recipientname" in the example: either is accepted, both
		// must agree.
		r1, ok1 := stringField(ra, "recipient")
		r2, ok2 := stringField(ra, "recipientname")
		name := r1
		if !ok1 {
			name = r2
		}
		if (!ok1 && !ok2) || name == "" || (ok1 && ok2 && r1 != r2) {
			return errorReply(http.StatusBadRequest, "Each account needs the recipient's name.")
		}
		sum = sum.Add(amt)
		accounts = append(accounts, Account{Acc: acc, Amount: amtText, Bank: bank, Country: country, RecipientName: name})
	}
	if !sum.Equal(total) {
		return errorReply(http.StatusBadRequest, MsgAmountMismatch)
	}
	percent := e.percent
	if e.take(FaultQuoteHigh, endpointGetAuthcode) {
		percent = percent.Add(QuoteHighExtra)
	}
	charge := total.Mul(percent).Mul(money.MustParse("0.01")).Round(3, money.HalfEven)
	q := Quote{Authcode: e.newID(32), Amount: totalText, Charge: charge.String(), IssuedAt: e.now(), Accounts: accounts}
	seq, err := e.record(change{Counter: e.led.Counter, Quote: &q})
	if err != nil {
		e.logPersist(err)
		return errorReply(http.StatusInternalServerError, "Internal server error.")
	}
	e.led.Quotes = append(e.led.Quotes, q)
	b := []byte(`{"code":200,"charge_in_usd":` + q.Charge + `,"authcode":"` + q.Authcode + `"}`)
	return reply{status: http.StatusOK, body: b, durable: seq}
}

func (e *Emulator) execute(obj map[string]json.RawMessage) reply {
	code, _ := stringField(obj, "authcode")
	now := e.now()
	i := -1
	for j, q := range e.led.Quotes {
		if q.Authcode == code {
			i = j
		}
	}
	if i < 0 || e.led.Quotes[i].Used || !now.Before(e.led.Quotes[i].IssuedAt.Add(AuthcodeLifetime)) {
		return errorReply(http.StatusBadRequest, MsgAuthcode)
	}
	q := &e.led.Quotes[i]
	q.Used = true
	p := Payment{PaymentID: e.newID(16), Authcode: q.Authcode, Amount: q.Amount, Charge: q.Charge, CreatedAt: now}
	for _, a := range q.Accounts {
		a.UniqueID = e.newID(16)
		a.Email = OwnerEmail
		a.Status = statusProcessing
		p.Accounts = append(p.Accounts, a)
	}
	e.led.Payments = append(e.led.Payments, p)
	usedQuote := *q
	seq, err := e.record(change{Counter: e.led.Counter, Quote: &usedQuote, Payment: &p})
	if err != nil {
		e.led.Payments = e.led.Payments[:len(e.led.Payments)-1]
		q.Used = false
		e.logPersist(err)
		return errorReply(http.StatusInternalServerError, "Internal server error.")
	}

	shown := append([]Account(nil), p.Accounts...)
	if e.take(FaultExecuteMissing, endpointExecute) && len(shown) > 0 {
		shown = shown[:len(shown)-1]
	}
	if e.take(FaultExecuteExtra, endpointExecute) {
		shown = append(shown, Account{UniqueID: e.newID(16), Acc: "424242424242", Amount: "1.00", Bank: "Nowhere Bank",
			Country: "US", RecipientName: "Nobody", Email: OwnerEmail})
	}
	if e.take(FaultExecuteWrongAmount, endpointExecute) && len(shown) > 0 {
		wrong := money.MustParse(shown[0].Amount).Add(money.MustParse("1.00"))
		shown[0].Amount = wrong.String()
	}

	// The page's order: code, accounts, charge_in_usd, payment_id, message;
	// in each account amount, bank, country, recipientname, accNo, date,
	// time, email, uniqueid.
	str := func(s string) string {
		v, _ := json.Marshal(s)
		return string(v)
	}
	var b bytes.Buffer
	b.WriteString(`{"code":` + strconv.Itoa(e.executeCode) + `,"accounts":[`)
	for j, a := range shown {
		if j > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"amount":` + a.Amount + `,"bank":` + str(a.Bank) + `,"country":` + str(a.Country) +
			`,"recipientname":` + str(a.RecipientName) + `,"accNo":` + a.Acc +
			`,"date":` + str(now.UTC().Format("2006-01-02")) + `,"time":` + str(now.UTC().Format("15:04")) +
			`,"email":` + str(a.Email) + `,"uniqueid":` + str(a.UniqueID) + `}`)
	}
	b.WriteString(`],"charge_in_usd":` + p.Charge + `,"payment_id":` + str(p.PaymentID) + `,"message":` + str(executeMessage) + `}`)
	return reply{status: e.executeCode, body: b.Bytes(), durable: seq}
}

func (e *Emulator) status(obj map[string]json.RawMessage) reply {
	e.settleDue()
	type payment struct {
		UniqueID string `json:"uniqueid"`
		Status   int    `json:"status"`
	}
	var out []payment
	pid, byPayment := stringField(obj, "payment_id")
	uid, byUnique := stringField(obj, "uniqueid")
	switch {
	case byPayment:
		for _, p := range e.led.Payments {
			if p.PaymentID == pid {
				for _, a := range p.Accounts {
					out = append(out, payment{a.UniqueID, a.Status})
				}
			}
		}
	case byUnique:
		for _, p := range e.led.Payments {
			for _, a := range p.Accounts {
				if a.UniqueID == uid {
					out = append(out, payment{a.UniqueID, a.Status})
				}
			}
		}
	default:
		return errorReply(http.StatusBadRequest, "Provide payment_id or uniqueid.")
	}
	if len(out) == 0 {
		return errorReply(http.StatusNotFound, MsgNotFound)
	}
	b, _ := json.Marshal(struct {
		Code     int       `json:"code"`
		Payments []payment `json:"payments"`
	}{http.StatusOK, out})
	return reply{status: http.StatusOK, body: b}
}
