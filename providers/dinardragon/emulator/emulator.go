// Package emulator is an emulator of Dinar Dragon's HTTP API: the three
// documented endpoints with their documented answers and errors, a ledger
// of what was quoted and paid, and fault injection. payctl's tests use it,
// and so does the built-in sandbox (providers.Type.NewEmulator), so it is
// ordinary code, not test-only code.
//
// What it emulates (see /work/shared/PROVIDERS.md):
//
//   - POST /get-authcode: checks the key, the body and that "amount" equals
//     the sum of the accounts' amounts exactly; answers the charge (2.5 % of
//     the total by default, in mills, half-even, as the docs' 4.875 on 195)
//     and an authcode of 32 lower hex digits valid for 15 minutes on the
//     emulator's clock, usable once.
//   - POST /execute: pays an unexpired, unused authcode; answers as the
//     published page does (its fields in its order, its success message,
//     the account owner's one email, OwnerEmail, on every account) with the
//     payment_id and one uniqueid per account (16 lower hex digits each,
//     like the page's examples; the client accepts any printable id).
//   - POST /status: by payment_id or uniqueid. Payments are 0 (processing)
//     until the settle delay has passed on the clock, then 1 (successful),
//     or 2 (failed and refunded) for accounts ending in FailMarker. The
//     change happens lazily when the ledger is read, so tests move the
//     clock instead of sleeping.
//
// Both documented readings of authentication are accepted: the private key
// in the Authorization header, or "privatekey" in the JSON body (the docs'
// JavaScript example). A request with neither gets 401 "Missing API key in
// request headers.", a wrong key 403.
//
// When EmulatorOptions.LedgerPath is set, every change is appended to a
// journal beside it (LedgerPath + ".journal", JSON lines), and an answer
// that created something is sent only once its change is durable (answers
// in flight together share one fsync). New replays the journal over the
// ledger file, so a killed process loses nothing it answered, and Close
// (like New, after a replay) compacts everything into the ledger file and
// removes the journal; a sandbox keeps its payments across runs. Identifiers are derived from the seed and a persisted counter, so
// they are repeatable and never collide with reloaded ones.
//
// Faults are armed by name, through Inject and InjectAt or through
// EmulatorOptions.Faults ("name", or "name=N" or "name:N" for the next N matching
// requests):
//
//	5xx-before-commit     500 before anything is recorded (default: /execute)
//	5xx-after-commit      500 after the request took effect (default: /execute)
//	delay-after-commit    takes effect, then answers only after the client gave up
//	drop-before-commit    closes the connection without doing anything
//	drop-after-commit     takes effect, then closes the connection unanswered
//	truncate-after-commit takes effect, then sends half the answer and closes
//	429-burst             429 with Retry-After: 1 (default: any endpoint, N=3)
//	quote-high            get-authcode charges QuoteHighExtra more percent
//	execute-missing-account  the execute answer leaves out the last account
//	execute-extra-account    the execute answer adds an account never sent
//	execute-wrong-amount     the execute answer shows the first account +1.00
//
// Each firing is counted (Fired).
package emulator

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/payctl/payctl/internal/appendlog"
	"github.com/payctl/payctl/internal/atomicfile"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// Credentials the emulator accepts. They are fixed and public: an emulator
// guards no money.
const (
	PrivateKey = "ddtest-private-key-0f3a9c51e7d24b68"
	PublicKey  = "ddtest-public-key-7b1e04d9a2c6f385"
)

// FailMarker: payments to accounts ending in it fail (status 2) when they
// settle.
const FailMarker = "999"

// DefaultSettleDelay is how long a payment stays at status 0. The docs say
// funds arrive within 15 minutes.
const DefaultSettleDelay = 5 * time.Minute

// AuthcodeLifetime is the documented validity of an authcode.
const AuthcodeLifetime = 15 * time.Minute

// DefaultChargePercent is the documented example's rate.
var DefaultChargePercent = money.MustParse("2.5")

// QuoteHighExtra is what the quote-high fault adds to the charge percent.
var QuoteHighExtra = money.MustParse("0.5")

// The documented (and, where the docs give none, invented) error messages.
const (
	MsgMissingKey     = "Missing API key in request headers."
	MsgInvalidKey     = "Invalid API key."
	MsgAuthcode       = "Your request failed because your authcode is invalid or has expired. Retry this payout with a new authcode."
	MsgAmountMismatch = "The amount must equal the sum of the accounts' amounts."
	MsgNotFound       = "No payment found."
)

// Fault names.
const (
	Fault5xxBeforeCommit     = "5xx-before-commit"
	Fault5xxAfterCommit      = "5xx-after-commit"
	FaultDelayAfterCommit    = "delay-after-commit"
	FaultDropBeforeCommit    = "drop-before-commit"
	FaultDropAfterCommit     = "drop-after-commit"
	FaultTruncateAfterCommit = "truncate-after-commit"
	Fault429Burst            = "429-burst"
	FaultQuoteHigh           = "quote-high"
	FaultExecuteMissing      = "execute-missing-account"
	FaultExecuteExtra        = "execute-extra-account"
	FaultExecuteWrongAmount  = "execute-wrong-amount"
)

const (
	endpointGetAuthcode = "/get-authcode"
	endpointExecute     = "/execute"
	endpointStatus      = "/status"
	anyEndpoint         = ""

	statusProcessing     = 0
	statusSuccessful     = 1
	statusFailedRefunded = 2

	defaultBurst            = 3
	maxArmed                = 1 << 20
	maxBody                 = 1 << 20
	ledgerVersion           = 1
	pruneQuotesAfter        = 24 * time.Hour
	defaultDelayAfterCommit = 2 * time.Minute // past a client's default 30s timeout
	// executeMessage is the published success message, word for word.
	executeMessage = "Payout successfully processed. The funds will be disbursed to the bank account(s) within 15 minutes."
)

// OwnerEmail is the email address of the Dinar Dragon account that makes
// the payouts: every account of an execute answer carries it (the page
// says "Email address of account that made this payment"). It is the
// page's example value.
const OwnerEmail = "youremail@anemailprovider.com"

// defaultTarget is where each fault applies unless InjectAt says otherwise.
// The commit faults default to /execute, the request that moves money.
var defaultTarget = map[string]string{
	Fault5xxBeforeCommit:     endpointExecute,
	Fault5xxAfterCommit:      endpointExecute,
	FaultDelayAfterCommit:    endpointExecute,
	FaultDropBeforeCommit:    endpointExecute,
	FaultDropAfterCommit:     endpointExecute,
	FaultTruncateAfterCommit: endpointExecute,
	Fault429Burst:            anyEndpoint,
	FaultQuoteHigh:           endpointGetAuthcode,
	FaultExecuteMissing:      endpointExecute,
	FaultExecuteExtra:        endpointExecute,
	FaultExecuteWrongAmount:  endpointExecute,
}

// Faults lists the fault names the emulator knows, sorted.
func Faults() []string {
	names := make([]string, 0, len(defaultTarget))
	for n := range defaultTarget {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Account is one account of a quote or payment, as sent and as answered.
type Account struct {
	UniqueID      string `json:"uniqueid,omitempty"`
	Acc           string `json:"acc"`
	Amount        string `json:"amount"`
	Bank          string `json:"bank"`
	Country       string `json:"country"`
	RecipientName string `json:"recipientname"`
	Email         string `json:"email,omitempty"`
	// Status as /status reports it: 0 processing, 1 successful, 2 failed
	// and refunded to the dashboard balance.
	Status int `json:"status"`
}

// Quote is an issued authcode.
type Quote struct {
	Authcode string    `json:"authcode"`
	Amount   string    `json:"amount"`
	Charge   string    `json:"charge_in_usd"`
	IssuedAt time.Time `json:"issued_at"`
	Used     bool      `json:"used"`
	Accounts []Account `json:"accounts"`
}

// Payment is an executed provider payout: money that moved.
type Payment struct {
	PaymentID string    `json:"payment_id"`
	Authcode  string    `json:"authcode"`
	Amount    string    `json:"amount"`
	Charge    string    `json:"charge_in_usd"`
	CreatedAt time.Time `json:"created_at"`
	Accounts  []Account `json:"accounts"`
}

// ledger is the persisted state. Its JSON is deterministic: slices in
// creation order, the map sorted by encoding/json.
type ledger struct {
	Version  int            `json:"version"`
	Counter  uint64         `json:"counter"`
	Quotes   []Quote        `json:"quotes"`
	Payments []Payment      `json:"payments"`
	Executes map[string]int `json:"executes"`
}

type armKey struct{ fault, path string }

// Emulator is a running Dinar Dragon emulator. It is safe for concurrent
// use.
type Emulator struct {
	now  func() time.Time
	log  *slog.Logger
	path string
	seed int64

	closed    chan struct{}
	closeOnce sync.Once

	mu          sync.Mutex
	percent     money.Amount
	settle      time.Duration
	executeCode int
	delay       time.Duration
	led         ledger
	armed       map[armKey]int
	fired       map[string]int
	requests    map[string]int
	journal     *appendlog.Log // nil without a LedgerPath
}

// change is one line of the journal: what it names replaces what the
// ledger holds, so replaying a line twice is harmless.
type change struct {
	Counter  uint64         `json:"counter,omitempty"`
	Quote    *Quote         `json:"quote,omitempty"`
	Payment  *Payment       `json:"payment,omitempty"`
	Executes map[string]int `json:"executes,omitempty"`
}

var _ providers.Emulator = (*Emulator)(nil)

// New starts an emulator, reloading its ledger from opts.LedgerPath when
// the file exists.
func New(opts providers.EmulatorOptions) (*Emulator, error) {
	e := &Emulator{
		now:         opts.Now,
		log:         opts.Logger,
		path:        opts.LedgerPath,
		seed:        opts.Seed,
		closed:      make(chan struct{}),
		percent:     DefaultChargePercent,
		settle:      DefaultSettleDelay,
		executeCode: http.StatusOK,
		delay:       defaultDelayAfterCommit,
		led:         ledger{Version: ledgerVersion, Executes: map[string]int{}},
		armed:       map[armKey]int{},
		fired:       map[string]int{},
		requests:    map[string]int{},
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.path != "" {
		if err := e.load(); err != nil {
			return nil, err
		}
		if err := e.openJournal(); err != nil {
			return nil, err
		}
	}
	for _, spec := range opts.Faults {
		name, n, err := parseFaultSpec(spec)
		if err != nil {
			return nil, err
		}
		if err := e.Inject(name, n); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// parseFaultSpec reads "name" or "name=N" (providers.ParseFaultSpec); the
// default count is 1, or a burst for 429-burst.
func parseFaultSpec(spec string) (string, int, error) {
	name, n, ok := providers.ParseFaultSpec(spec)
	if _, known := defaultTarget[name]; !known {
		return "", 0, fmt.Errorf("unknown Dinar Dragon emulator fault %q; known faults: %s", spec, strings.Join(Faults(), ", "))
	}
	switch {
	case !ok || n > maxArmed:
		return "", 0, fmt.Errorf("fault %q: the count after the name must be a whole number from 1 to %d", spec, maxArmed)
	case n == 0 && name == Fault429Burst:
		n = defaultBurst
	case n == 0:
		n = 1
	}
	return name, n, nil
}

// Inject arms fault for the next n requests to its default endpoint.
func (e *Emulator) Inject(fault string, n int) error {
	t, ok := defaultTarget[fault]
	if !ok {
		return fmt.Errorf("unknown fault %q; known faults: %s", fault, strings.Join(Faults(), ", "))
	}
	return e.InjectAt(t, fault, n)
}

// InjectAt arms fault for the next n requests to path ("/get-authcode",
// "/execute", "/status", or "" for any).
func (e *Emulator) InjectAt(path, fault string, n int) error {
	t, ok := defaultTarget[fault]
	if !ok {
		return fmt.Errorf("unknown fault %q; known faults: %s", fault, strings.Join(Faults(), ", "))
	}
	switch path {
	case anyEndpoint, endpointGetAuthcode, endpointExecute, endpointStatus:
	default:
		return fmt.Errorf("fault %s: unknown endpoint %q", fault, path)
	}
	if (t == endpointGetAuthcode || fault == FaultExecuteMissing || fault == FaultExecuteExtra || fault == FaultExecuteWrongAmount) && path != t {
		return fmt.Errorf("fault %s only applies to %s", fault, t)
	}
	if n < 1 || n > maxArmed {
		return fmt.Errorf("fault %s: count %d out of range", fault, n)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.armed[armKey{fault, path}] += n
	return nil
}

// take consumes one arming of fault for path, if any. Callers hold mu.
func (e *Emulator) take(fault, path string) bool {
	for _, k := range []armKey{{fault, path}, {fault, anyEndpoint}} {
		if e.armed[k] > 0 {
			e.armed[k]--
			if e.armed[k] == 0 {
				delete(e.armed, k)
			}
			e.fired[fault]++
			e.log.Debug("emulator fault", "fault", fault, "path", path)
			return true
		}
	}
	return false
}

// SetChargePercent sets the charge rate in percent of the total.
func (e *Emulator) SetChargePercent(p money.Amount) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.percent = p
}

// SetSettleDelay sets how long payments stay at status 0.
func (e *Emulator) SetSettleDelay(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settle = d
}

// SetExecuteCode sets the code of a successful execute answer: the docs
// describe success as 200 or 201, and clients must accept both.
func (e *Emulator) SetExecuteCode(code int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.executeCode = code
}

// SetDelay bounds how long delay-after-commit holds an answer when the
// client does not give up first (wall time: it is about HTTP timeouts).
func (e *Emulator) SetDelay(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.delay = d
}

// Credentials returns the accepted keys by config field.
func (e *Emulator) Credentials() map[string]string {
	return map[string]string{"privateKeyEnv": PrivateKey, "publicKeyEnv": PublicKey}
}

// Close persists the ledger and releases answers held by
// delay-after-commit.
func (e *Emulator) Close() error {
	first := false
	e.closeOnce.Do(func() { close(e.closed); first = true })
	e.mu.Lock()
	defer e.mu.Unlock()
	if !first || e.journal == nil {
		return nil
	}
	if err := e.persist(); err != nil {
		return err
	}
	return errors.Join(e.journal.Close(), os.Remove(e.journalPath()))
}

// Ledger returns the payments made, with statuses as of now on the clock.
func (e *Emulator) Ledger() []Payment {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settleDue()
	out := make([]Payment, len(e.led.Payments))
	for i, p := range e.led.Payments {
		p.Accounts = slices.Clone(p.Accounts)
		out[i] = p
	}
	return out
}

// Quotes returns the authcodes issued and not yet pruned.
func (e *Emulator) Quotes() []Quote {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Quote, len(e.led.Quotes))
	for i, q := range e.led.Quotes {
		q.Accounts = slices.Clone(q.Accounts)
		out[i] = q
	}
	return out
}

// Executes is how many /execute requests naming authcode were received,
// whatever became of them.
func (e *Emulator) Executes(authcode string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.led.Executes[authcode]
}

// Requests counts the requests received per endpoint path.
func (e *Emulator) Requests() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.requests))
	for k, v := range e.requests {
		out[k] = v
	}
	return out
}

// Fired counts the faults that fired, by name.
func (e *Emulator) Fired() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.fired))
	for k, v := range e.fired {
		out[k] = v
	}
	return out
}

// newID derives the next identifier of n hex digits from the seed and the
// persisted counter. Callers hold mu.
func (e *Emulator) newID(n int) string {
	e.led.Counter++
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(e.seed))
	binary.BigEndian.PutUint64(buf[8:], e.led.Counter)
	sum := sha256.Sum256(buf[:])
	return hex.EncodeToString(sum[:])[:n]
}

// settleDue moves payments past the settle delay to their final status,
// and journals them (not waited for: a replay that lacks the line settles
// the payment again, the same way). Callers hold mu.
func (e *Emulator) settleDue() {
	now := e.now()
	for i := range e.led.Payments {
		p := &e.led.Payments[i]
		if now.Before(p.CreatedAt.Add(e.settle)) {
			continue
		}
		changed := false
		for j := range p.Accounts {
			a := &p.Accounts[j]
			if a.Status != statusProcessing {
				continue
			}
			a.Status = statusSuccessful
			if strings.HasSuffix(a.Acc, FailMarker) {
				a.Status = statusFailedRefunded
			}
			changed = true
		}
		if changed {
			e.logRecord(e.record(change{Payment: p}))
		}
	}
}

func (e *Emulator) load() error {
	b, err := os.ReadFile(e.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dinardragon emulator ledger: %w", err)
	}
	var l ledger
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("dinardragon emulator ledger %s: %v; move the file away to start with an empty ledger", e.path, err)
	}
	if l.Version != ledgerVersion {
		return fmt.Errorf("dinardragon emulator ledger %s: version %d, this payctl reads version %d", e.path, l.Version, ledgerVersion)
	}
	if l.Executes == nil {
		l.Executes = map[string]int{}
	}
	e.led = l
	return nil
}

// persist writes the ledger atomically. Callers hold mu.
func (e *Emulator) persist() error {
	if e.path == "" {
		return nil
	}
	cutoff := e.now().Add(-pruneQuotesAfter)
	e.led.Quotes = slices.DeleteFunc(e.led.Quotes, func(q Quote) bool { return q.IssuedAt.Before(cutoff) })
	b, err := json.MarshalIndent(e.led, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	return atomicfile.WriteFile(e.path, b, atomicfile.Options{})
}

func (e *Emulator) journalPath() string { return e.path + ".journal" }

// openJournal replays the journal a killed process left over the loaded
// ledger, compacts the result into the ledger file, and opens an empty
// journal.
func (e *Emulator) openJournal() error {
	j, err := appendlog.Resume(e.journalPath(), func(line []byte) error {
		var c change
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return err
		}
		e.led.Counter = max(e.led.Counter, c.Counter)
		if q := c.Quote; q != nil {
			i := slices.IndexFunc(e.led.Quotes, func(x Quote) bool { return x.Authcode == q.Authcode })
			if i < 0 {
				e.led.Quotes = append(e.led.Quotes, *q)
			} else {
				e.led.Quotes[i] = *q
			}
		}
		if p := c.Payment; p != nil {
			i := slices.IndexFunc(e.led.Payments, func(x Payment) bool { return x.PaymentID == p.PaymentID })
			if i < 0 {
				e.led.Payments = append(e.led.Payments, *p)
			} else {
				e.led.Payments[i] = *p
			}
		}
		maps.Copy(e.led.Executes, c.Executes)
		return nil
	}, e.persist)
	if err != nil {
		return fmt.Errorf("dinardragon emulator ledger: %w", err)
	}
	e.journal = j
	return nil
}

// record appends c to the journal; Sync(seq) makes it durable. Callers
// hold mu.
func (e *Emulator) record(c change) (seq uint64, err error) {
	if e.journal == nil {
		return 0, nil
	}
	return e.journal.Append(c)
}

// logRecord logs a failure of record whose answer does not wait for it.
func (e *Emulator) logRecord(_ uint64, err error) { e.logPersist(err) }

func (e *Emulator) logPersist(err error) {
	if err != nil {
		e.log.Error("emulator: persisting the ledger failed", "path", e.path, "err", err)
	}
}
