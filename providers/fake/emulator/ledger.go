// Package emulator is the fake provider's side: a ledger that never
// deduplicates (every create request is a new payment, so a protocol bug
// shows up as a double payout), served over HTTP for tests of real payctl
// processes (Ledger.ServeHTTP, New), or called in memory for engine tests
// (Memory, MemoryBatch). Faults can be injected at every point of a
// request. The API it serves is described in package fake.
//
// A payout whose account ends in "0000" fails; one ending in "1111" stays
// pending until Settle is called.
package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/fake"
)

// Fault is an injected failure of one create request.
type Fault string

// The faults. "Before" faults happen before the payment is recorded,
// "after" ones after: the provider paid but payctl cannot know.
const (
	Fail500Before Fault = "500-before-commit"
	Fail500After  Fault = "500-after-commit"
	DropBefore    Fault = "drop-before-commit"
	DropAfter     Fault = "drop-after-commit"
	DelayAfter    Fault = "delay-after-commit" // answer after the client's timeout
	GarbageAfter  Fault = "garbage-after-commit"
	Reject        Fault = "reject" // a definite 400: nothing paid
	// RejectHostile is Reject with a reason made to rewrite a terminal
	// (clear screen, carriage return, right-to-left override, newline),
	// and HostileID pays under such an id: payctl must show both inert.
	RejectHostile Fault = "reject-hostile"
	HostileID     Fault = "hostile-id"
	// Refuse is a connection refused: only the in-memory provider can
	// inject it (over HTTP, point the client at a closed port).
	Refuse Fault = "refuse"
)

// HostileText is what RejectHostile and HostileID put in an answer.
const HostileText = "\x1b[2J\rpaid in full\u202eyap\nsecond line"

// Ledger is the fake provider's books. Safe for concurrent use.
type Ledger struct {
	mu       sync.Mutex
	payments []*fake.Payment
	creates  int
	faults   []Fault
	// Delay is how long DelayAfter holds an answer.
	Delay time.Duration
	// LookupsBlind makes reference lookups answer "cannot tell" (503), as a
	// provider without a lookup would.
	LookupsBlind bool
	// Token, if set, must be sent as "Authorization: Bearer <token>".
	Token string
	// Answers are the Cronos-like fields payments answer with.
	Answers Answers
	// Names are the account holders' names the fake bank knows, by
	// account: account inquiry answers them, and payments to the account
	// carry them as recipientName. An account not here is unknown to
	// the inquiry (404).
	Names map[string]string
	// InquiryDown makes account inquiry answer 503.
	InquiryDown bool
	// Balance is the balance GET /balance answers; nil answers 404 (no
	// balance kept). NewLedger sets one no test payout exceeds.
	Balance  *money.Amount
	requests map[string]int
}

// Answers are the fields a payment's answer carries besides its status,
// as Cronos gives them: empty ones are left out.
type Answers struct {
	// Fee is the fee answered for every payment.
	Fee string
	// FeePayer is "customer" or "merchant".
	FeePayer string
	// Total is how totalAmount is computed: "plus" (amount + fee, the
	// published example), "minus" (amount - fee, the sandbox), or a fixed
	// value.
	Total string
}

// New returns the fake provider's built-in emulator: an empty ledger that
// needs no credentials and persists nothing.
func New(providers.EmulatorOptions) (providers.Emulator, error) {
	return served{NewLedger()}, nil
}

type served struct{ *Ledger }

func (served) Credentials() map[string]string { return nil }
func (served) Close() error                   { return nil }

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	bal := money.FromInt64(1_000_000_000_000)
	return &Ledger{Delay: 2 * time.Second, Balance: &bal}
}

// Configure changes the ledger's settings (Answers, Names, InquiryDown,
// Balance) while it serves: f runs under the ledger's lock.
func (l *Ledger) Configure(f func(*Ledger)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(l)
}

// Requests is how many requests arrived, by "METHOD /path" (without the
// query and the id of /payouts/{id}), including refused ones.
func (l *Ledger) Requests() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.requests))
	for k, v := range l.requests {
		out[k] = v
	}
	return out
}

// Inject queues faults for the next create requests, in order.
func (l *Ledger) Inject(fs ...Fault) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.faults = append(l.faults, fs...)
}

func (l *Ledger) nextFault() Fault {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.creates++
	if len(l.faults) == 0 {
		return ""
	}
	f := l.faults[0]
	l.faults = l.faults[1:]
	return f
}

// create records a payment: no deduplication, by design.
func (l *Ledger) create(ref, addr, amount, currency, account string) *fake.Payment {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := &fake.Payment{
		ID: fmt.Sprintf("fk-%06d", len(l.payments)+1), Reference: ref, Address: addr,
		Amount: amount, Currency: currency, Account: account, Status: "paid",
	}
	switch {
	case strings.HasSuffix(account, "0000"):
		p.Status = "failed"
	case strings.HasSuffix(account, "1111"):
		p.Status = "pending"
	}
	if p.Status != "failed" {
		l.answerLocked(p)
	}
	l.payments = append(l.payments, p)
	c := *p
	return &c
}

// answerLocked fills the Cronos-like answer fields the ledger is set to
// give.
func (l *Ledger) answerLocked(p *fake.Payment) {
	a := l.Answers
	p.Fee, p.FeePayer, p.RecipientName = a.Fee, a.FeePayer, l.Names[p.Account]
	amt, err := money.Parse(p.Amount)
	fee, ferr := money.Parse(a.Fee)
	switch {
	case a.Total == "":
	case a.Total == "plus" && err == nil && ferr == nil:
		p.TotalAmount = amt.Add(fee).String()
	case a.Total == "minus" && err == nil && ferr == nil:
		p.TotalAmount = amt.Sub(fee).String()
	case a.Total != "plus" && a.Total != "minus":
		p.TotalAmount = a.Total
	}
}

// Settle moves pending payments to paid.
func (l *Ledger) Settle() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.payments {
		if p.Status == "pending" {
			p.Status = "paid"
		}
	}
}

// Payments returns a copy of every payment.
func (l *Ledger) Payments() []fake.Payment {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]fake.Payment, len(l.payments))
	for i, p := range l.payments {
		out[i] = *p
	}
	return out
}

// Creates is how many create requests arrived (including faulted ones).
func (l *Ledger) Creates() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.creates
}

// PaidTwice returns the addresses with more than one non-failed payment:
// double payouts.
func (l *Ledger) PaidTwice() []string {
	n := map[string]int{}
	for _, p := range l.Payments() {
		if p.Status != "failed" {
			n[p.Address]++
		}
	}
	var out []string
	for a, k := range n {
		if k > 1 {
			out = append(out, a)
		}
	}
	return out
}

func (l *Ledger) byReference(ref string) []fake.Payment {
	var out []fake.Payment
	for _, p := range l.Payments() {
		if p.Reference == ref {
			out = append(out, p)
		}
	}
	return out
}

func (l *Ledger) byID(id string) (fake.Payment, bool) {
	for _, p := range l.Payments() {
		if p.ID == id {
			return p, true
		}
	}
	return fake.Payment{}, false
}

type createRequest struct {
	Reference string `json:"reference"`
	Address   string `json:"address"`
	Amount    string `json:"amount"`
	Currency  string `json:"currency"`
	Account   string `json:"account"`
	Name      string `json:"name"`
}

// ServeHTTP is the fake provider's HTTP API.
func (l *Ledger) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.count(r)
	if l.Token != "" && r.Header.Get("Authorization") != "Bearer "+l.Token {
		writeJSON(w, 401, map[string]string{"error": "bad token"})
		return
	}
	switch {
	case r.Method == "POST" && r.URL.Path == "/payouts":
		l.serveCreate(w, r)
	case r.Method == "GET" && r.URL.Path == "/payouts":
		if l.LookupsBlind {
			writeJSON(w, 503, map[string]string{"error": "lookups unavailable"})
			return
		}
		ps := l.byReference(r.URL.Query().Get("reference"))
		if ps == nil {
			ps = []fake.Payment{}
		}
		writeJSON(w, 200, map[string]any{"payouts": ps})
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/payouts/"):
		p, ok := l.byID(strings.TrimPrefix(r.URL.Path, "/payouts/"))
		if !ok {
			writeJSON(w, 404, map[string]string{"error": "no such payout"})
			return
		}
		writeJSON(w, 200, p)
	case r.Method == "POST" && r.URL.Path == "/accounts/verify":
		l.serveVerify(w, r)
	case r.Method == "GET" && r.URL.Path == "/balance":
		l.mu.Lock()
		bal, pending := l.Balance, l.pendingLocked()
		l.mu.Unlock()
		if bal == nil {
			writeJSON(w, 404, map[string]string{"error": "no balance kept"})
			return
		}
		writeJSON(w, 200, map[string]string{"available": bal.String(), "pending": pending.String()})
	default:
		writeJSON(w, 404, map[string]string{"error": "not found"})
	}
}

func (l *Ledger) count(r *http.Request) {
	path := r.URL.Path
	if strings.HasPrefix(path, "/payouts/") {
		path = "/payouts/{id}"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.requests == nil {
		l.requests = map[string]int{}
	}
	l.requests[r.Method+" "+path]++
}

// pendingLocked sums the pending payments.
func (l *Ledger) pendingLocked() money.Amount {
	sum := money.FromInt64(0)
	for _, p := range l.payments {
		if p.Status == "pending" {
			if a, err := money.Parse(p.Amount); err == nil {
				sum = sum.Add(a)
			}
		}
	}
	return sum
}

func (l *Ledger) serveVerify(w http.ResponseWriter, r *http.Request) {
	var req struct{ Account, BankCode string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil || req.Account == "" {
		writeJSON(w, 400, map[string]string{"error": "bad request"})
		return
	}
	l.mu.Lock()
	down := l.InquiryDown
	name, ok := l.Names[req.Account]
	l.mu.Unlock()
	switch {
	case down:
		writeJSON(w, 503, map[string]string{"error": "account inquiry unavailable"})
	case !ok:
		writeJSON(w, 404, map[string]string{"error": "account not found"})
	default:
		writeJSON(w, 200, map[string]string{"name": name, "status": "found"})
	}
}

func (l *Ledger) serveCreate(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil || req.Reference == "" {
		writeJSON(w, 400, map[string]string{"error": "bad request"})
		return
	}
	f := l.nextFault()
	switch f {
	case Fail500Before:
		writeJSON(w, 500, map[string]string{"error": "internal error"})
		return
	case DropBefore:
		hangUp(w)
		return
	case Reject:
		writeJSON(w, 400, map[string]string{"error": "account closed"})
		return
	case RejectHostile:
		writeJSON(w, 400, map[string]string{"error": HostileText})
		return
	}
	p := l.create(req.Reference, req.Address, req.Amount, req.Currency, req.Account)
	if f == HostileID {
		l.mu.Lock()
		for _, q := range l.payments {
			if q.ID == p.ID {
				q.ID += HostileText
			}
		}
		l.mu.Unlock()
		p.ID += HostileText
	}
	switch f {
	case Fail500After:
		writeJSON(w, 500, map[string]string{"error": "internal error"})
	case DropAfter:
		hangUp(w)
	case DelayAfter:
		select {
		case <-time.After(l.Delay):
		case <-r.Context().Done():
		}
		writeJSON(w, 200, p)
	case GarbageAfter:
		w.WriteHeader(200)
		w.Write([]byte(`{"id": "`))
	default:
		writeJSON(w, 200, p)
	}
}

func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
