package dinardragon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"

	"github.com/payctl/payctl/internal/jsonnum"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// This file is the wire format: the exact request bodies payctl sends and
// strict parsers for Dinar Dragon's answers. Nothing here does I/O, so the
// parsers are fuzzed directly.
//
// Numbers never pass through float64 in either direction. Requests write an
// amount's decimal text as the JSON number; answers are decoded with
// json.RawMessage and the number's text is read by apd exactly.

// maxAnswer caps an answer body. An execute answer for the largest batch
// payctl sends (MaxBatch accounts of a few hundred bytes each) is far below
// it; anything larger is not an answer payctl can trust.
const maxAnswer = 4 << 20

// authcodeLen is the length of an authcode in every documented example.
// The authcode stays strictly checked: it is written into the execute body
// payctl journals, and refusing an unusual one only fails a quote, which
// moves no money.
const authcodeLen = 32

// isLowerHex reports whether s is exactly n lower-case hex digits.
func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// account is one account of a get-authcode request, already validated.
type account struct {
	Acc     string // digits, no leading zero
	Amount  money.Amount
	Bank    string
	Country string
	Name    string
}

// quoteBody writes the get-authcode body. Keys are written in a fixed order
// so the same payouts always give the same bytes.
//
// The recipient's name goes under both documented names: the field table
// says "recipient", the JSON example on the same page (and the execute
// answer) say "recipientname". Sending both is correct under either reading;
// a server that ignores unknown fields ignores the other one.
//
// The private key is not in the body although the docs' JavaScript example
// puts "publickey" and "privatekey" there: the header reading is the text's
// and the status endpoint's ("Missing API key in request headers."), and a
// secret in the body would end up wherever request bodies are recorded. The
// execute body in particular is journaled by payctl before it is sent.
func quoteBody(total money.Amount, accounts []account) []byte {
	var b bytes.Buffer
	b.WriteString(`{"amount":`)
	b.WriteString(total.String())
	b.WriteString(`,"accounts":[`)
	for i, a := range accounts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"acc":`)
		b.WriteString(a.Acc)
		b.WriteString(`,"amount":`)
		b.WriteString(a.Amount.String())
		b.WriteString(`,"bank":`)
		writeString(&b, a.Bank)
		b.WriteString(`,"country":`)
		writeString(&b, a.Country)
		b.WriteString(`,"recipient":`)
		writeString(&b, a.Name)
		b.WriteString(`,"recipientname":`)
		writeString(&b, a.Name)
		b.WriteByte('}')
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// executeBody is the whole execute request: the authcode and nothing else.
func executeBody(authcode string) string {
	return `{"authcode":"` + authcode + `"}`
}

// statusBody asks for one payout (field "payment_id") or one payment
// (field "uniqueid"). The id is written as a JSON string: ids are any
// printable text (see providers.IDProblem), so quotes and backslashes are escaped.
func statusBody(field, id string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"` + field + `":`)
	writeString(&b, id)
	b.WriteByte('}')
	return b.Bytes()
}

// writeString writes s as a JSON string. HTML characters are left as they
// are so that the body reads as the user wrote the names.
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	// Encoding a string cannot fail; Encode appends a newline we drop.
	_ = enc.Encode(s)
	b.Truncate(b.Len() - 1)
}

// decodeObject decodes an answer body into v strictly: valid UTF-8, one
// JSON object, no duplicate keys at any level (a repeated "amount" would be
// read differently by different parsers), nothing after it.
func decodeObject(body []byte, v any) error {
	if !utf8.Valid(body) {
		return errors.New("the answer is not valid UTF-8")
	}
	if err := checkDuplicateKeys(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("the answer is not the expected JSON object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("the answer has data after its JSON object")
	}
	return nil
}

// checkDuplicateKeys walks body's tokens and fails on a key repeated in one
// object. It also rejects a top level that is not an object.
func checkDuplicateKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		keys   map[string]bool
		object bool
		expect bool // an object expecting a key next
	}
	var stack []frame
	first := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			switch {
			case first:
				return errors.New("the answer is not a JSON object: it is empty")
			case len(stack) > 0:
				return errors.New("the answer is not valid JSON: it ends early")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("the answer is not valid JSON: %v", err)
		}
		if first {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return errors.New("the answer is not a JSON object")
			}
			first = false
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expect {
			if k, ok := tok.(string); ok {
				// encoding/json matches keys case-insensitively, so "Code"
				// after "code" would overwrite it: both count as one key.
				k = strings.ToLower(k)
				if stack[n-1].keys[k] {
					return fmt.Errorf("the answer has the key %q twice in one object", k)
				}
				stack[n-1].keys[k] = true
				stack[n-1].expect = false
				continue
			}
		}
		if n := len(stack); n > 0 && stack[n-1].object {
			// A value was read (or a nested container starts): the next
			// token in this object is a key again.
			stack[n-1].expect = true
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, frame{keys: map[string]bool{}, object: true, expect: true})
			case '[':
				stack = append(stack, frame{})
			case '}', ']':
				stack = stack[:len(stack)-1]
			}
		}
		if len(stack) > 64 {
			return errors.New("the answer nests deeper than any Dinar Dragon answer")
		}
	}
}

// number reads a JSON number exactly. The full JSON grammar is accepted
// (a server may well write 50 as 50.0 or 5e1: its serializer decides the
// spelling, not the value), but only within bounds no payout amount
// reaches, so hostile exponents cannot cost time or memory.
func number(raw json.RawMessage, field string) (*apd.Decimal, string, error) {
	s := string(bytes.TrimSpace(raw))
	if s == "" || s == "null" {
		return nil, "", fmt.Errorf("%s is missing", field)
	}
	if !jsonnum.Valid(s) {
		return nil, "", fmt.Errorf("%s is %s, not a JSON number", field, clip(s))
	}
	d, _, err := apd.NewFromString(s)
	if err != nil {
		return nil, "", fmt.Errorf("%s %s is not a number: %v", field, clip(s), err)
	}
	if d.NumDigits() > 40 || d.Exponent > 40 || d.Exponent < -40 {
		return nil, "", fmt.Errorf("%s %s is out of range", field, clip(s))
	}
	return d, s, nil
}

// amountNumber reads a non-negative money amount.
func amountNumber(raw json.RawMessage, field string) (money.Amount, string, error) {
	d, s, err := number(raw, field)
	if err != nil {
		return money.Amount{}, "", err
	}
	if d.Negative {
		return money.Amount{}, "", fmt.Errorf("%s %s is negative", field, s)
	}
	if d.Exponent > 0 {
		// 5E+1 means 50; keep the plain spelling in what payctl records.
		var q apd.Decimal
		if _, err := apd.BaseContext.WithPrecision(100).Quantize(&q, d, 0); err != nil {
			return money.Amount{}, "", fmt.Errorf("%s %s is out of range", field, s)
		}
		d = &q
	}
	// Within money's own bounds, so that what is recorded reads back.
	a, err := money.Parse(d.Text('f'))
	if err != nil {
		return money.Amount{}, "", fmt.Errorf("%s %s is out of range for an amount", field, clip(s))
	}
	return a, s, nil
}

// integerNumber reads a JSON number whose value is a whole number (123 or
// 123.0) and returns its plain digits, sign included.
func integerNumber(raw json.RawMessage, field string) (string, error) {
	d, s, err := number(raw, field)
	if err != nil {
		return "", err
	}
	var r apd.Decimal
	if _, err := apd.BaseContext.WithPrecision(100).Quantize(&r, d, 0); err != nil {
		return "", fmt.Errorf("%s %s is out of range", field, s)
	}
	if r.Cmp(d) != 0 {
		return "", fmt.Errorf("%s %s is not a whole number", field, s)
	}
	return r.Text('f'), nil
}

// clip makes provider text safe and short for a message.
func clip(s string) string { return providers.Clip(s, 40) }

// codeOf reads the "code" field every answer carries.
func codeOf(raw json.RawMessage) (int, error) {
	s, err := integerNumber(raw, "code")
	if err != nil {
		return 0, err
	}
	if len(s) > 3 || strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("code %s is not an HTTP status", s)
	}
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// authcodeAnswer is a parsed get-authcode answer.
type authcodeAnswer struct {
	Code       int
	Charge     money.Amount
	ChargeText string
	Authcode   string
}

// parseAuthcodeAnswer parses a successful get-authcode answer: code 200 or
// 201, charge_in_usd a non-negative number, authcode 32 lower hex.
func parseAuthcodeAnswer(body []byte) (authcodeAnswer, error) {
	var w struct {
		Code     json.RawMessage `json:"code"`
		Charge   json.RawMessage `json:"charge_in_usd"`
		Authcode *string         `json:"authcode"`
	}
	if err := decodeObject(body, &w); err != nil {
		return authcodeAnswer{}, err
	}
	var a authcodeAnswer
	var err error
	if a.Code, err = codeOf(w.Code); err != nil {
		return authcodeAnswer{}, err
	}
	if a.Code != 200 && a.Code != 201 {
		return authcodeAnswer{}, fmt.Errorf("code is %d, not 200 or 201", a.Code)
	}
	if a.Charge, a.ChargeText, err = amountNumber(w.Charge, "charge_in_usd"); err != nil {
		return authcodeAnswer{}, err
	}
	if w.Authcode == nil {
		return authcodeAnswer{}, errors.New("authcode is missing")
	}
	if !isLowerHex(*w.Authcode, authcodeLen) {
		return authcodeAnswer{}, fmt.Errorf("authcode %q is not %d lower-case hex digits", clip(*w.Authcode), authcodeLen)
	}
	a.Authcode = *w.Authcode
	return a, nil
}

// answeredAccount is one account of an execute answer.
type answeredAccount struct {
	Acc        string // digits of accNo
	Amount     money.Amount
	AmountText string // as returned
	UniqueID   string
	Fields     map[string]string // bank, country, recipientname, date, time, email as returned
}

// executeAnswer is a parsed successful execute answer.
type executeAnswer struct {
	Code       int
	PaymentID  string
	Charge     money.Amount
	ChargeText string
	Accounts   []answeredAccount
}

// parseExecuteAnswer parses a successful execute answer. Everything payctl
// relies on is required and checked (payment_id, charge_in_usd, and per
// account accNo, amount and uniqueid; the ids as printable text, see
// idProblem); the descriptive fields are recorded as returned and may be
// absent. Unknown fields are ignored: a field Dinar
// Dragon adds one day must not turn a made payment into an unknown one.
func parseExecuteAnswer(body []byte) (executeAnswer, error) {
	var w struct {
		Code      json.RawMessage `json:"code"`
		PaymentID *string         `json:"payment_id"`
		Charge    json.RawMessage `json:"charge_in_usd"`
		// The message and the descriptive fields decide nothing: any JSON
		// value is read (a number where the page shows text must not make
		// an irreversible payment unknown) and recorded as text.
		Message  json.RawMessage `json:"message"`
		Accounts *[]struct {
			AccNo         json.RawMessage `json:"accNo"`
			Amount        json.RawMessage `json:"amount"`
			Bank          json.RawMessage `json:"bank"`
			Country       json.RawMessage `json:"country"`
			RecipientName json.RawMessage `json:"recipientname"`
			Date          json.RawMessage `json:"date"`
			Time          json.RawMessage `json:"time"`
			Email         json.RawMessage `json:"email"`
			UniqueID      *string         `json:"uniqueid"`
		} `json:"accounts"`
	}
	if err := decodeObject(body, &w); err != nil {
		return executeAnswer{}, err
	}
	var a executeAnswer
	var err error
	if a.Code, err = codeOf(w.Code); err != nil {
		return executeAnswer{}, err
	}
	if a.Code != 200 && a.Code != 201 {
		return executeAnswer{}, fmt.Errorf("code is %d, not 200 or 201", a.Code)
	}
	if w.PaymentID == nil {
		return executeAnswer{}, errors.New("payment_id is missing")
	}
	if p := providers.IDProblem(*w.PaymentID); p != "" {
		return executeAnswer{}, fmt.Errorf("payment_id %q %s", clip(*w.PaymentID), p)
	}
	a.PaymentID = *w.PaymentID
	if a.Charge, a.ChargeText, err = amountNumber(w.Charge, "charge_in_usd"); err != nil {
		return executeAnswer{}, err
	}
	if w.Accounts == nil {
		return executeAnswer{}, errors.New("accounts is missing")
	}
	seen := map[string]bool{}
	for i, wa := range *w.Accounts {
		at := fmt.Sprintf("accounts[%d]", i)
		var aa answeredAccount
		acc, err := integerNumber(wa.AccNo, at+".accNo")
		if err != nil {
			return executeAnswer{}, err
		}
		aa.Acc = acc
		if aa.Amount, aa.AmountText, err = amountNumber(wa.Amount, at+".amount"); err != nil {
			return executeAnswer{}, err
		}
		if wa.UniqueID == nil {
			return executeAnswer{}, fmt.Errorf("%s.uniqueid is missing", at)
		}
		if p := providers.IDProblem(*wa.UniqueID); p != "" {
			return executeAnswer{}, fmt.Errorf("%s.uniqueid %q %s", at, clip(*wa.UniqueID), p)
		}
		if seen[*wa.UniqueID] {
			return executeAnswer{}, fmt.Errorf("%s.uniqueid %s appears twice", at, *wa.UniqueID)
		}
		seen[*wa.UniqueID] = true
		aa.UniqueID = *wa.UniqueID
		aa.Fields = map[string]string{}
		for k, v := range map[string]json.RawMessage{
			"bank": wa.Bank, "country": wa.Country, "recipientname": wa.RecipientName,
			"date": wa.Date, "time": wa.Time, "email": wa.Email,
		} {
			if text, ok := descriptive(v); ok {
				aa.Fields[k] = text
			}
		}
		a.Accounts = append(a.Accounts, aa)
	}
	return a, nil
}

// maxDescriptive bounds a descriptive field kept from an answer that is
// not text (text is kept as returned).
const maxDescriptive = 200

// descriptive reads a field that decides nothing: a string as it is, null
// or absent as nothing, anything else as its JSON text, clipped.
func descriptive(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, true
	}
	return providers.Clip(string(raw), maxDescriptive), true
}

// paymentStatus is one payment of a status answer.
type paymentStatus struct {
	UniqueID string
	Status   string // the number's digits as returned: "0", "1", "2" or other
}

// parseStatusAnswer parses a status answer: code 200, payments an array of
// {uniqueid, status}. Statuses other than 0, 1 and 2 parse (the caller
// reports them as unknown) but must be whole numbers.
func parseStatusAnswer(body []byte) ([]paymentStatus, error) {
	var w struct {
		Code     json.RawMessage `json:"code"`
		Payments *[]struct {
			UniqueID *string         `json:"uniqueid"`
			Status   json.RawMessage `json:"status"`
		} `json:"payments"`
	}
	if err := decodeObject(body, &w); err != nil {
		return nil, err
	}
	code, err := codeOf(w.Code)
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("code is %d, not 200", code)
	}
	if w.Payments == nil {
		return nil, errors.New("payments is missing")
	}
	out := []paymentStatus{}
	seen := map[string]bool{}
	for i, p := range *w.Payments {
		at := fmt.Sprintf("payments[%d]", i)
		if p.UniqueID == nil {
			return nil, fmt.Errorf("%s.uniqueid is missing", at)
		}
		if prob := providers.IDProblem(*p.UniqueID); prob != "" {
			return nil, fmt.Errorf("%s.uniqueid %q %s", at, clip(*p.UniqueID), prob)
		}
		if seen[*p.UniqueID] {
			return nil, fmt.Errorf("%s.uniqueid %s appears twice", at, *p.UniqueID)
		}
		seen[*p.UniqueID] = true
		st, err := integerNumber(p.Status, at+".status")
		if err != nil {
			return nil, err
		}
		out = append(out, paymentStatus{UniqueID: *p.UniqueID, Status: st})
	}
	return out, nil
}

// failure is a documented error answer: {"code": N, "error": "..."}.
type failure struct {
	Code int
	Msg  string
}

// parseFailure reads an error answer. It fails for anything that also
// carries fields of a success answer, so a contradictory answer is never
// taken for a clean refusal.
func parseFailure(body []byte) (failure, error) {
	var w struct {
		Code      json.RawMessage `json:"code"`
		Error     *string         `json:"error"`
		Message   *string         `json:"message"`
		PaymentID json.RawMessage `json:"payment_id"`
		Accounts  json.RawMessage `json:"accounts"`
		Authcode  json.RawMessage `json:"authcode"`
	}
	if err := decodeObject(body, &w); err != nil {
		return failure{}, err
	}
	code, err := codeOf(w.Code)
	if err != nil {
		return failure{}, err
	}
	if w.PaymentID != nil || w.Accounts != nil || w.Authcode != nil {
		return failure{}, errors.New("the error answer also carries success fields")
	}
	f := failure{Code: code}
	switch {
	case w.Error != nil:
		f.Msg = *w.Error
	case w.Message != nil:
		f.Msg = *w.Message
	default:
		return failure{}, errors.New("the error answer has no error message")
	}
	return f, nil
}
