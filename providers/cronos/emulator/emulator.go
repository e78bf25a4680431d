// Package emulator is an emulator of Cronos Engine's disbursement API, for
// tests and for payctl's built-in sandbox. It serves, at the root of its
// handler (clients use the server's URL, e.g. http://127.0.0.1:PORT, as
// their base URL):
//
//	POST /disburse          create a disbursement (signed body)
//	POST /account-inquiry   the bank's name for an account (signed body); moves no money
//	GET  /check/{id}        one disbursement; ?resendCallback=true re-sends its callback
//	GET  /transactions      one page of disbursements: page, status, date, type
//	GET  /balance           active, pending and total balance
//
// (Cronos serves them under /api; the client's base URL carries the
// prefix, so the emulator serves them at the root of its base URL.)
//
// Faithful where the docs speak, and explicit where they are silent:
//
//   - Authentication: On-Key and On-Token must be the docs' demo
//     credentials (Credentials returns them); On-Signature must be the HMAC
//     of the key and the body *as a PHP server re-encodes it*: the body is
//     decoded keeping key order and re-encoded with PHP's json_encode rules
//     (package phpjson) before the HMAC, so a client that signs Go's
//     encoding/json output fails on any "/" or non-ASCII text. Failures are
//     401 envelopes.
//   - Answers are written as PHP's json_encode writes them (package
//     phpjson): "/" as "\/", non-ASCII text as \uXXXX escapes, fields in
//     the published page's order.
//   - Disbursements get a UUID id (from a generator seeded with
//     EmulatorOptions.Seed) and fee 3000. feePayer and totalAmount follow
//     the two readings the sources give: by default the published
//     example's, feePayer "customer" with totalAmount = amount + fee
//     (Config.FeePayer, Config.Total = "added"); recorded sandbox answers
//     give totalAmount = amount - fee (Config.Total = "deducted"). The
//     feePayer answered and the total are set apart so that tests can pair
//     them either way. Dates are RFC 3339 in +07:00.
//   - The emulated bank knows the holders' names in Config.BankNames
//     (account number -> name). A known name is answered as
//     disbursement.recipientName from creation on (pending included, as in
//     the published example) and as accountName by /account-inquiry; for
//     any other account both are null, so that a rehearsal on the emulator
//     never reports a name the manifest's author did not choose. (The
//     request carries no name, so the emulator cannot know the manifest's.)
//   - /account-inquiry takes {bankCode, accountNumber, reference,
//     additionalInfo: {callback}}, validated and signed like /disburse,
//     and answers status "pending" with accountName (the only shape public
//     integrations show). Inquiries are counted, not kept in the ledger.
//   - A duplicate reference is rejected with a 409 envelope. (What Cronos
//     does is not documented; the client treats the answer as unknown.)
//   - A new disbursement is pending. Config.SettleDelay after its creation
//     it becomes success, failed when its account ends in
//     Config.FailSuffix (default "0000"), or expired when it ends in
//     Config.ExpireSuffix (default "9999"). Time is EmulatorOptions.Now and
//     progress is applied lazily whenever the API is used (or Settle is
//     called), so tests move their clock instead of sleeping.
//   - Status changes (creation included) are POSTed asynchronously to the
//     disbursement's additionalInfo.callback, as the API's envelope.
//   - /transactions pages hold Config.PageSize records (default 10),
//     ordered by creation; page counts from 1 (page 0 and below are read
//     as 1, as Laravel's paginator does); status defaults to success, date
//     to today (+07:00), type to cashOut (cashIn/receive lists are empty:
//     the emulator receives nothing). Records older than 7 days disappear
//     from every endpoint (they stay in Ledger).
//   - /balance starts at Config.Balance; pending disbursements are held in
//     pending, successful ones are taken from active, failed ones are
//     returned. What a disbursement takes is amount + fee when the merchant
//     bears the fee (Config.Total "added") and amount when the recipient
//     does ("deducted": the recipient receives amount - fee). There is no
//     insufficient-balance rejection (undocumented): a short balance shows
//     only in /balance.
//
// Settings. EmulatorOptions.Faults also carries settings, "name=value",
// applied over the Config (so the sandbox and scripts can set them):
//
//	fee-payer=customer|merchant  the feePayer answered (Config.FeePayer)
//	total=added|deducted         totalAmount = amount + fee (the published
//	                             example) or amount - fee (sandbox answers)
//	balance=N                    the starting active balance, whole IDR, N >= 0
//	bank-name=ACCOUNT:NAME       the bank's holder name for account ACCOUNT
//	                             (digits); repeat it for more accounts. NAME
//	                             is the rest of the value, spaces included
//
// Faults are injected per test with InjectNext or by name in
// EmulatorOptions.Faults ("name" for once, "name=N" for N times; see the
// Fault constants). 429-burst answers the next POST /disburse requests
// before anything is read, as a rate limiter in front of the API would;
// the other request faults apply to the next POST /disburse requests that
// pass authentication. Each firing is counted in Faults.
//
// The ledger is persisted to EmulatorOptions.LedgerPath. Each change is
// appended to a journal beside it (LedgerPath + ".journal", JSON lines)
// and a disbursement is answered only once its line is durable; answers
// in flight together share one fsync. New replays the journal over the
// ledger file, so a killed process loses no acknowledged disbursement,
// and Close (like New, after a replay) compacts everything into the
// ledger file, one indented JSON document, and removes the journal.
package emulator

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/payctl/payctl/internal/appendlog"
	"github.com/payctl/payctl/internal/atomicfile"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/cronos/internal/wire"
	"github.com/payctl/payctl/providers/cronos/phpjson"
)

// Fault is an injectable misbehaviour.
type Fault string

// The faults. "Commit" is the moment the disbursement enters the ledger.
const (
	Fault5xxBeforeCommit     Fault = "5xx-before-commit"     // answer 500, create nothing
	Fault5xxAfterCommit      Fault = "5xx-after-commit"      // create, answer 500
	FaultDelayAfterCommit    Fault = "delay-after-commit"    // create, hold the answer until the client gives up (or Config.FaultDelay)
	FaultDropBeforeCommit    Fault = "drop-before-commit"    // read the request, close the connection, create nothing
	FaultDropAfterCommit     Fault = "drop-after-commit"     // create, close the connection without answering
	FaultTruncateAfterCommit Fault = "truncate-after-commit" // create, send half the answer, close
	Fault429Burst            Fault = "429-burst"             // answer 429 with Retry-After: 1, before reading the request
	FaultDuplicateCallbacks  Fault = "duplicate-callbacks"   // send the next callback twice
	FaultReorderCallbacks    Fault = "reorder-callbacks"     // send the next callback after the one following it
)

// AllFaults lists every fault, in documentation order.
var AllFaults = []Fault{
	Fault5xxBeforeCommit, Fault5xxAfterCommit, FaultDelayAfterCommit,
	FaultDropBeforeCommit, FaultDropAfterCommit, FaultTruncateAfterCommit,
	Fault429Burst, FaultDuplicateCallbacks, FaultReorderCallbacks,
}

// Config holds the emulator's settings the docs leave open.
type Config struct {
	// FeePayer is the feePayer answered: "customer" (default, as in the
	// published example) or "merchant".
	FeePayer string
	// Total is how totalAmount is computed: "added" (default, amount +
	// fee, as in the published example) or "deducted" (amount - fee, as in
	// recorded sandbox answers).
	Total       string
	Fee         int64         // per disbursement; default 3000
	SettleDelay time.Duration // pending -> final; default 30s
	FailSuffix  string        // accounts ending in it fail; default "0000"
	// ExpireSuffix: accounts ending in it expire; default "9999".
	ExpireSuffix string
	PageSize     int           // /transactions page size; default 10
	ExpiresIn    time.Duration // expiredDate = creation + ExpiresIn; default 24h
	// FaultDelay is the longest delay-after-commit holds an answer when
	// the client does not give up first; default 2 minutes.
	FaultDelay time.Duration
	// Balance is the starting active balance; nil means 1,000,000,000 IDR.
	Balance *int64
	// BankNames are the account holders' names the emulated bank knows,
	// by account number.
	BankNames map[string]string
	// CallbackClient sends callbacks; default a client with a 10s timeout.
	CallbackClient *http.Client
}

func (c Config) withDefaults() Config {
	if c.FeePayer == "" {
		c.FeePayer = "customer"
	}
	if c.Total == "" {
		c.Total = TotalAdded
	}
	if c.Fee == 0 {
		c.Fee = 3000
	}
	if c.SettleDelay == 0 {
		c.SettleDelay = 30 * time.Second
	}
	if c.FailSuffix == "" {
		c.FailSuffix = "0000"
	}
	if c.ExpireSuffix == "" {
		c.ExpireSuffix = "9999"
	}
	if c.PageSize == 0 {
		c.PageSize = 10
	}
	if c.ExpiresIn == 0 {
		c.ExpiresIn = 24 * time.Hour
	}
	if c.FaultDelay == 0 {
		c.FaultDelay = 2 * time.Minute
	}
	if c.Balance == nil {
		c.Balance = new(int64(1_000_000_000))
	}
	if c.CallbackClient == nil {
		c.CallbackClient = &http.Client{Timeout: 10 * time.Second}
	}
	return c
}

// Disbursement is one ledger entry.
type Disbursement struct {
	ID               string     `json:"id"`
	MerchantRef      string     `json:"merchantRef"`
	BankCode         string     `json:"bankCode"`
	RecipientAccount string     `json:"recipientAccount"`
	RecipientName    string     `json:"recipientName,omitempty"`
	Amount           int64      `json:"amount"`
	Fee              int64      `json:"fee"`
	TotalAmount      int64      `json:"totalAmount"`
	FeePayer         string     `json:"feePayer"`
	Status           string     `json:"status"`
	Callback         string     `json:"callback"`
	Created          time.Time  `json:"created"`
	Expires          time.Time  `json:"expires"`
	Paid             *time.Time `json:"paid,omitempty"`
	Settled          *time.Time `json:"settled,omitempty"`
}

// Emulator is a running Cronos emulator. It is an http.Handler.
type Emulator struct {
	opts providers.EmulatorOptions
	cfg  Config
	now  func() time.Time
	log  *slog.Logger
	mux  *http.ServeMux

	mu       sync.Mutex
	ledger   []*Disbursement
	byRef    map[string]*Disbursement
	byID     map[string]*Disbursement
	creates  map[string]int
	requests map[string]int
	pending  map[Fault]int // injected, not yet fired
	fired    map[Fault]int
	ids      *rand.ChaCha8
	closed   bool
	journal  *appendlog.Log // nil without a LedgerPath
	// No pending disbursement is due before nextDue, when dueKnown: the
	// scan of the ledger that each request starts with is then skipped.
	nextDue  time.Time
	dueKnown bool

	out outbox
}

var _ providers.Emulator = (*Emulator)(nil)

// New starts an emulator with the default Config.
func New(opts providers.EmulatorOptions) (*Emulator, error) {
	return NewWithConfig(opts, Config{})
}

// NewWithConfig starts an emulator. It reloads the ledger from
// opts.LedgerPath when that file exists.
func NewWithConfig(opts providers.EmulatorOptions, cfg Config) (*Emulator, error) {
	cfg.BankNames = maps.Clone(cfg.BankNames)
	var faults []string
	for _, spec := range opts.Faults {
		ok, err := applySetting(&cfg, spec)
		if err != nil {
			return nil, err
		}
		if !ok {
			faults = append(faults, spec)
		}
	}
	cfg = cfg.withDefaults()
	if cfg.FeePayer != "merchant" && cfg.FeePayer != "customer" {
		return nil, fmt.Errorf("cronos emulator: fee payer %q: use merchant or customer", cfg.FeePayer)
	}
	if cfg.Total != TotalAdded && cfg.Total != TotalDeducted {
		return nil, fmt.Errorf("cronos emulator: total %q: use %s or %s", cfg.Total, TotalAdded, TotalDeducted)
	}
	if *cfg.Balance < 0 {
		return nil, fmt.Errorf("cronos emulator: balance %d: use a whole number of IDR, 0 or more", *cfg.Balance)
	}
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(opts.Seed))
	e := &Emulator{
		opts:     opts,
		cfg:      cfg,
		now:      opts.Now,
		log:      opts.Logger,
		byRef:    map[string]*Disbursement{},
		byID:     map[string]*Disbursement{},
		creates:  map[string]int{},
		requests: map[string]int{},
		pending:  map[Fault]int{},
		fired:    map[Fault]int{},
		ids:      rand.NewChaCha8(seed),
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	for _, spec := range faults {
		f, n, err := parseFault(spec)
		if err != nil {
			return nil, err
		}
		e.pending[f] += n
	}
	if opts.LedgerPath != "" {
		if err := e.load(); err != nil {
			return nil, err
		}
		if err := e.openJournal(); err != nil {
			return nil, err
		}
	}
	e.mux = http.NewServeMux()
	e.mux.HandleFunc("POST /disburse", e.handleDisburse)
	e.mux.HandleFunc("POST /account-inquiry", e.handleInquiry)
	e.mux.HandleFunc("GET /check/{id}", e.handleCheck)
	e.mux.HandleFunc("GET /transactions", e.handleTransactions)
	e.mux.HandleFunc("GET /balance", e.handleBalance)
	e.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		e.count(r.Method + " " + r.URL.Path)
		writeEnvelope(w, http.StatusNotFound, "route not found", nil)
	})
	e.out.start(cfg.CallbackClient, e.log)
	return e, nil
}

// The readings of totalAmount (Config.Total).
const (
	TotalAdded    = "added"    // amount + fee: the published example
	TotalDeducted = "deducted" // amount - fee: recorded sandbox answers
)

// The settings EmulatorOptions.Faults may carry, as "name=value".
const (
	SettingFeePayer = "fee-payer" // customer or merchant
	SettingTotal    = "total"     // added or deducted
	SettingBalance  = "balance"   // the starting active balance, whole IDR
	SettingBankName = "bank-name" // ACCOUNT:NAME
)

// Settings lists the setting names, in documentation order.
var Settings = []string{SettingFeePayer, SettingTotal, SettingBalance, SettingBankName}

// applySetting applies spec to cfg when it names a setting, and reports
// whether it did. A setting's value is text (ParseFaultSpec reads only
// counts), so settings are read here, before faults.
func applySetting(cfg *Config, spec string) (bool, error) {
	name, value, ok := strings.Cut(strings.TrimSpace(spec), "=")
	if !ok || !slices.Contains(Settings, name) {
		return false, nil
	}
	bad := func(format string, args ...any) (bool, error) {
		return true, fmt.Errorf("cronos emulator: setting %q: "+format, append([]any{spec}, args...)...)
	}
	switch name {
	case SettingFeePayer:
		if value != "customer" && value != "merchant" {
			return bad("write fee-payer=customer or fee-payer=merchant")
		}
		cfg.FeePayer = value
	case SettingTotal:
		if value != TotalAdded && value != TotalDeducted {
			return bad("write total=%s (amount + fee) or total=%s (amount - fee)", TotalAdded, TotalDeducted)
		}
		cfg.Total = value
	case SettingBalance:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 0 {
			return bad("write balance=N with N a whole number of IDR, 0 or more, e.g. balance=1000000")
		}
		cfg.Balance = &n
	case SettingBankName:
		account, holder, ok := strings.Cut(value, ":")
		if !ok || account == "" || strings.Trim(account, "0123456789") != "" || strings.TrimSpace(holder) == "" {
			return bad("write bank-name=ACCOUNT:NAME, e.g. bank-name=0821837182312831:Mr. Gentur")
		}
		if cfg.BankNames == nil {
			cfg.BankNames = map[string]string{}
		}
		cfg.BankNames[account] = holder
	}
	return true, nil
}

// parseFault reads "name" or "name=N" (providers.ParseFaultSpec); the
// default count is 1.
func parseFault(spec string) (Fault, int, error) {
	name, n, ok := providers.ParseFaultSpec(spec)
	if !ok {
		return "", 0, fmt.Errorf("cronos emulator: fault %q: the count after the name must be a positive number", spec)
	}
	if n == 0 {
		n = 1
	}
	if !slices.Contains(AllFaults, Fault(name)) {
		names := make([]string, len(AllFaults))
		for i, f := range AllFaults {
			names[i] = string(f)
		}
		return "", 0, fmt.Errorf("cronos emulator: unknown fault %q: use one of %s, or a setting (%s=...)", name, strings.Join(names, ", "), strings.Join(Settings, "=..., "))
	}
	return Fault(name), n, nil
}

// ServeHTTP serves the API.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

// Credentials returns the docs' demo credentials, which the emulator
// accepts.
func (e *Emulator) Credentials() map[string]string {
	return map[string]string{"keyEnv": wire.DemoKey, "tokenEnv": wire.DemoToken}
}

// Close stops sending callbacks (queued ones are dropped) and compacts
// the journal into the ledger file.
func (e *Emulator) Close() error {
	e.mu.Lock()
	var err error
	if !e.closed {
		e.closed = true
		err = e.compactLocked()
	}
	e.mu.Unlock()
	e.out.stop()
	return err
}

// InjectNext makes the next count requests (or callbacks) misbehave as f.
func (e *Emulator) InjectNext(f Fault, count int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pending[f] += count
}

// Faults returns how many times each fault fired.
func (e *Emulator) Faults() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.fired))
	for f, n := range e.fired {
		out[string(f)] = n
	}
	return out
}

// Ledger returns a copy of every disbursement, in creation order, with
// status progress applied up to now.
func (e *Emulator) Ledger() []Disbursement {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.progressLocked()
	out := make([]Disbursement, len(e.ledger))
	for i, d := range e.ledger {
		out[i] = *d
	}
	return out
}

// Creates returns how many create requests carrying reference ref reached
// the application (rejected duplicates and requests failed by faults
// included; 429s of a burst are answered before the request is read and
// are not counted).
func (e *Emulator) Creates(ref string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.creates[ref]
}

// Requests returns how many requests each endpoint received, by
// "METHOD /path" ("GET /check" for every id).
func (e *Emulator) Requests() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.requests)
}

// Settle applies status progress up to now, as any API call does, and
// queues the callbacks of the changes.
func (e *Emulator) Settle() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.progressLocked()
}

// WaitCallbacks waits until every queued callback has been sent (a callback
// held back by reorder-callbacks is released first) or ctx ends.
func (e *Emulator) WaitCallbacks(ctx context.Context) error {
	return e.out.wait(ctx)
}

// CallbacksSent returns how many callback deliveries were attempted.
func (e *Emulator) CallbacksSent() int { return e.out.sentCount() }

func (e *Emulator) count(endpoint string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests[endpoint]++
}

// take fires one pending f, if any.
func (e *Emulator) take(f Fault) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.takeLocked(f)
}

func (e *Emulator) takeLocked(f Fault) bool {
	if e.pending[f] == 0 {
		return false
	}
	e.pending[f]--
	e.fired[f]++
	e.log.Debug("cronos emulator: fault", "fault", f)
	return true
}

// authorized checks the key and token headers and the signature of body
// (nil for a GET: the key alone is signed). It writes the 401 itself.
func (e *Emulator) authorized(w http.ResponseWriter, r *http.Request, signed []byte) bool {
	key, token, sig := r.Header.Get(wire.HeaderKey), r.Header.Get(wire.HeaderToken), r.Header.Get(wire.HeaderSignature)
	switch {
	case key == "" || token == "" || sig == "":
		writeEnvelope(w, http.StatusUnauthorized, "missing On-Key, On-Token or On-Signature header", nil)
		return false
	case subtle.ConstantTimeCompare([]byte(key), []byte(wire.DemoKey)) != 1 ||
		subtle.ConstantTimeCompare([]byte(token), []byte(wire.DemoToken)) != 1:
		writeEnvelope(w, http.StatusUnauthorized, "invalid project key or token", nil)
		return false
	case !wire.Valid(key, token, signed, sig):
		writeEnvelope(w, http.StatusUnauthorized, "invalid signature", nil)
		return false
	}
	return true
}

const maxBody = 1 << 20

func (e *Emulator) handleDisburse(w http.ResponseWriter, r *http.Request) {
	e.count("POST /disburse")
	// A rate limiter answers before the application reads anything.
	if e.take(Fault429Burst) {
		w.Header().Set("Retry-After", "1")
		writeEnvelope(w, http.StatusTooManyRequests, "too many requests", nil)
		return
	}
	v, ok := e.readJSON(w, r)
	if !ok {
		return
	}
	obj, _ := v.(phpjson.Object)
	if ref, ok := obj.Lookup("reference"); ok {
		if ref, ok := ref.(phpjson.String); ok {
			e.mu.Lock()
			e.creates[string(ref)]++
			e.mu.Unlock()
		}
	}
	// What a PHP server signs: its own re-encoding of what it decoded.
	signed, err := phpjson.Encode(v)
	if err != nil {
		signed = nil // json_encode failed: nothing can match
	}
	if !e.authorized(w, r, signed) {
		return
	}
	if e.take(Fault5xxBeforeCommit) {
		writeEnvelope(w, http.StatusInternalServerError, "internal server error", nil)
		return
	}
	if e.take(FaultDropBeforeCommit) {
		panic(http.ErrAbortHandler)
	}
	req, msg := parseCreate(obj)
	if msg != "" {
		writeEnvelope(w, http.StatusBadRequest, msg, nil)
		return
	}

	e.mu.Lock()
	e.progressLocked()
	if _, dup := e.byRef[req.MerchantRef]; dup {
		e.mu.Unlock()
		writeEnvelope(w, http.StatusConflict, fmt.Sprintf("duplicate reference: a transaction with reference %s already exists", req.MerchantRef), nil)
		return
	}
	d := e.commitLocked(req)
	seq, err := e.logLocked(d)
	if err != nil {
		e.uncommitLocked(d)
		e.mu.Unlock()
		e.log.Error("cronos emulator: persist ledger", "error", err)
		writeEnvelope(w, http.StatusInternalServerError, "internal server error", nil)
		return
	}
	e.notifyLocked(d)
	answer := envelopeBytes(http.StatusOK, "success", wireRecord(d))
	fault := Fault("")
	for _, f := range []Fault{Fault5xxAfterCommit, FaultDropAfterCommit, FaultTruncateAfterCommit, FaultDelayAfterCommit} {
		if e.takeLocked(f) {
			fault = f
			break
		}
	}
	e.mu.Unlock()
	// Durable before any answer: answers in flight share one fsync. A
	// failure here leaves the disbursement created, as a crash after the
	// write would, and answers as a server error after commit does.
	if e.journal != nil {
		if err := e.journal.Sync(seq); err != nil {
			e.log.Error("cronos emulator: persist ledger", "error", err)
			writeEnvelope(w, http.StatusInternalServerError, "internal server error", nil)
			return
		}
	}

	switch fault {
	case Fault5xxAfterCommit:
		writeEnvelope(w, http.StatusInternalServerError, "internal server error", nil)
		return
	case FaultDropAfterCommit:
		panic(http.ErrAbortHandler)
	case FaultTruncateAfterCommit:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
		w.WriteHeader(http.StatusOK)
		w.Write(answer[:len(answer)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	case FaultDelayAfterCommit:
		t := time.NewTimer(e.cfg.FaultDelay)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
	writeRaw(w, http.StatusOK, answer)
}

// readJSON reads a request's body and decodes it as PHP's json_decode
// would. When it cannot, it answers as Cronos does (too large; invalid JSON
// to an authorized caller) and reports false.
func (e *Emulator) readJSON(w http.ResponseWriter, r *http.Request) (phpjson.Value, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeEnvelope(w, http.StatusRequestEntityTooLarge, "request body too large", nil)
		return nil, false
	}
	v, err := phpjson.Decode(body)
	if err != nil {
		if e.authorized(w, r, body) {
			writeEnvelope(w, http.StatusBadRequest, "invalid JSON body: "+err.Error(), nil)
		}
		return nil, false
	}
	return v, true
}

// handleInquiry answers POST /account-inquiry: the bank's name for an
// account, from Config.BankNames (null for an account the emulated bank
// does not know), with status "pending". It moves no money and keeps
// nothing but the request count.
func (e *Emulator) handleInquiry(w http.ResponseWriter, r *http.Request) {
	e.count("POST /account-inquiry")
	v, ok := e.readJSON(w, r)
	if !ok {
		return
	}
	signed, err := phpjson.Encode(v)
	if err != nil {
		signed = nil
	}
	if !e.authorized(w, r, signed) {
		return
	}
	obj, _ := v.(phpjson.Object)
	str := func(o phpjson.Object, key string) (string, bool) {
		v, ok := o.Lookup(key)
		s, isStr := v.(phpjson.String)
		return string(s), ok && isStr && s != ""
	}
	bank, ok := str(obj, "bankCode")
	if !ok || !validBankCode(bank) {
		writeEnvelope(w, http.StatusBadRequest, "the bankCode field is required and must be a bank code or e-wallet channel", nil)
		return
	}
	account, ok := str(obj, "accountNumber")
	if !ok || strings.Trim(account, "0123456789") != "" {
		writeEnvelope(w, http.StatusBadRequest, "the accountNumber field is required and must be digits", nil)
		return
	}
	ref, ok := str(obj, "reference")
	if !ok || len(ref) > 100 {
		writeEnvelope(w, http.StatusBadRequest, "the reference field is required and must be a string of at most 100 characters", nil)
		return
	}
	info, _ := obj.Lookup("additionalInfo")
	infoObj, _ := info.(phpjson.Object)
	callback, ok := str(infoObj, "callback")
	if !ok {
		writeEnvelope(w, http.StatusBadRequest, "the additionalInfo.callback field is required", nil)
		return
	}
	var name phpjson.Value = phpjson.Null{}
	if n, ok := e.cfg.BankNames[account]; ok {
		name = phpjson.String(n)
	}
	// The id is derived from the reference, so inquiries leave the ids of
	// later disbursements as the seed gives them.
	id := uuid.NewSHA1(uuid.NameSpaceURL, []byte("cronos-emulator-inquiry:"+ref)).String()
	writeEnvelope(w, http.StatusOK, "success", phpjson.Object{
		{Key: "id", Value: phpjson.String(id)},
		{Key: "merchantRef", Value: phpjson.String(ref)},
		{Key: "status", Value: phpjson.String("pending")},
		{Key: "bankCode", Value: phpjson.String(bank)},
		{Key: "accountNumber", Value: phpjson.String(account)},
		{Key: "accountName", Value: name},
		{Key: "additionalInfo", Value: phpjson.Object{{Key: "callback", Value: phpjson.String(callback)}}},
	})
}

// parseCreate checks a create body the way the API's validation would; the
// message is empty when the body is valid.
func parseCreate(obj phpjson.Object) (Disbursement, string) {
	var d Disbursement
	str := func(o phpjson.Object, key string) (string, bool) {
		v, ok := o.Lookup(key)
		s, isStr := v.(phpjson.String)
		return string(s), ok && isStr && s != ""
	}
	var ok bool
	if obj == nil {
		return d, "the request body must be a JSON object"
	}
	if d.BankCode, ok = str(obj, "bankCode"); !ok || !validBankCode(d.BankCode) {
		return d, "the bankCode field is required and must be a bank code or e-wallet channel"
	}
	if d.RecipientAccount, ok = str(obj, "recipientAccount"); !ok || strings.Trim(d.RecipientAccount, "0123456789") != "" {
		return d, "the recipientAccount field is required and must be digits"
	}
	if d.MerchantRef, ok = str(obj, "reference"); !ok || len(d.MerchantRef) > 100 {
		return d, "the reference field is required and must be a string of at most 100 characters"
	}
	amount, _ := obj.Lookup("amount")
	n, isInt := amount.(phpjson.Int)
	if !isInt || n < 1 {
		return d, "the amount field is required and must be a positive integer"
	}
	d.Amount = int64(n)
	info, _ := obj.Lookup("additionalInfo")
	infoObj, _ := info.(phpjson.Object)
	if d.Callback, ok = str(infoObj, "callback"); !ok {
		return d, "the additionalInfo.callback field is required"
	}
	if u, err := url.Parse(d.Callback); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return d, "the additionalInfo.callback field must be an http or https URL"
	}
	return d, ""
}

func validBankCode(s string) bool {
	if len(s) == 3 && strings.Trim(s, "0123456789") == "" {
		return true
	}
	return len(s) >= 2 && s[0] >= 'a' && s[0] <= 'z' && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789") == ""
}

func (e *Emulator) commitLocked(req Disbursement) *Disbursement {
	now := e.now()
	d := req
	d.ID = e.newIDLocked()
	d.Status = "pending"
	d.Fee = e.cfg.Fee
	d.FeePayer = e.cfg.FeePayer
	if e.cfg.Total == TotalAdded {
		d.TotalAmount = d.Amount + d.Fee
	} else {
		d.TotalAmount = d.Amount - d.Fee
	}
	d.RecipientName = e.cfg.BankNames[d.RecipientAccount]
	d.Created = now
	d.Expires = now.Add(e.cfg.ExpiresIn)
	p := &d
	e.ledger = append(e.ledger, p)
	e.byRef[p.MerchantRef] = p
	e.byID[p.ID] = p
	if due := now.Add(e.cfg.SettleDelay); due.Before(e.nextDue) {
		e.nextDue = due
	}
	e.log.Debug("cronos emulator: disbursement created", "id", p.ID, "reference", p.MerchantRef, "amount", p.Amount)
	return p
}

func (e *Emulator) uncommitLocked(d *Disbursement) {
	e.ledger = slices.DeleteFunc(e.ledger, func(x *Disbursement) bool { return x == d })
	delete(e.byRef, d.MerchantRef)
	delete(e.byID, d.ID)
}

func (e *Emulator) newIDLocked() string {
	for {
		id, err := uuid.NewRandomFromReader(e.ids)
		if err != nil {
			panic(err) // ChaCha8 reads never fail
		}
		// A reloaded ledger may already hold what the seed yields again.
		if _, taken := e.byID[id.String()]; !taken {
			return id.String()
		}
	}
}

// progressLocked moves due pending disbursements to their final status,
// dated when they became due, and queues their callbacks.
func (e *Emulator) progressLocked() {
	now := e.now()
	if e.dueKnown && now.Before(e.nextDue) {
		return
	}
	e.nextDue, e.dueKnown = never, true
	for _, d := range e.ledger {
		if d.Status != "pending" {
			continue
		}
		due := d.Created.Add(e.cfg.SettleDelay)
		if now.Before(due) {
			if due.Before(e.nextDue) {
				e.nextDue = due
			}
			continue
		}
		switch {
		case strings.HasSuffix(d.RecipientAccount, e.cfg.FailSuffix):
			d.Status = "failed"
		case strings.HasSuffix(d.RecipientAccount, e.cfg.ExpireSuffix):
			d.Status = "expired"
		default:
			d.Status = "success"
			// A copy, so that only settling disbursements allocate: taking
			// &due would move due to the heap on every iteration of this
			// scan, which runs over the whole ledger on each request.
			paid := due
			d.Paid, d.Settled = &paid, &paid
		}
		e.notifyLocked(d)
		// Not waited for: settling is a function of the creation, so a
		// replay that lacks this line settles d again, the same way.
		if _, err := e.logLocked(d); err != nil {
			e.log.Error("cronos emulator: persist ledger", "error", err)
		}
	}
}

// never is later than any due date.
var never = time.Unix(1<<62, 0)

// visibleLocked reports whether d is still within Cronos's retention.
func (e *Emulator) visibleLocked(d *Disbursement) bool {
	return e.now().Sub(d.Created) < wire.Retention
}

// notifyLocked queues d's callback, applying callback faults.
func (e *Emulator) notifyLocked(d *Disbursement) {
	if e.closed {
		return
	}
	body := envelopeBytes(http.StatusOK, "success", wireRecord(d))
	dl := delivery{url: d.Callback, body: body}
	n := 1
	if e.takeLocked(FaultDuplicateCallbacks) {
		n = 2
	}
	hold := e.takeLocked(FaultReorderCallbacks)
	for range n {
		e.out.push(dl, hold)
	}
}

func (e *Emulator) handleCheck(w http.ResponseWriter, r *http.Request) {
	e.count("GET /check")
	if !e.authorized(w, r, nil) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.progressLocked()
	d, ok := e.byID[r.PathValue("id")]
	if !ok || !e.visibleLocked(d) {
		writeEnvelope(w, http.StatusNotFound, "transaction not found", nil)
		return
	}
	switch r.URL.Query().Get("resendCallback") {
	case "true":
		e.notifyLocked(d)
	case "", "false":
	default:
		writeEnvelope(w, http.StatusBadRequest, "resendCallback must be true or false", nil)
		return
	}
	writeEnvelope(w, http.StatusOK, "success", wireRecord(d))
}

var statuses = []string{"pending", "success", "failed", "expired"}

func (e *Emulator) handleTransactions(w http.ResponseWriter, r *http.Request) {
	e.count("GET /transactions")
	if !e.authorized(w, r, nil) {
		return
	}
	q := r.URL.Query()
	page := 1
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			writeEnvelope(w, http.StatusBadRequest, "page must be a number", nil)
			return
		}
		page = max(n, 1)
	}
	status := q.Get("status")
	if status == "" {
		status = "success"
	}
	if !slices.Contains(statuses, status) {
		writeEnvelope(w, http.StatusBadRequest, "status must be one of pending, success, expired, failed", nil)
		return
	}
	var cashOut bool
	switch q.Get("type") {
	case "", "cashOut", "send":
		cashOut = true
	case "cashIn", "receive":
	default:
		writeEnvelope(w, http.StatusBadRequest, "type must be one of cashIn, receive, cashOut, send", nil)
		return
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	e.progressLocked()
	date := q.Get("date")
	if date == "" {
		date = e.now().In(wire.Zone).Format(wire.DateLayout)
	} else if _, err := time.Parse(wire.DateLayout, date); err != nil {
		writeEnvelope(w, http.StatusBadRequest, "date must be YYYY-MM-DD", nil)
		return
	}
	var match []*Disbursement
	if cashOut {
		for _, d := range e.ledger {
			if d.Status == status && e.visibleLocked(d) && d.Created.In(wire.Zone).Format(wire.DateLayout) == date {
				match = append(match, d)
			}
		}
	}
	sort.SliceStable(match, func(i, j int) bool { return match[i].Created.Before(match[j].Created) })
	items := phpjson.List{}
	for i := (page - 1) * e.cfg.PageSize; i < len(match) && i < page*e.cfg.PageSize; i++ {
		items = append(items, wireRecord(match[i]))
	}
	writeEnvelope(w, http.StatusOK, "success", items)
}

func (e *Emulator) handleBalance(w http.ResponseWriter, r *http.Request) {
	e.count("GET /balance")
	if !e.authorized(w, r, nil) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.progressLocked()
	active, pending := *e.cfg.Balance, int64(0)
	for _, d := range e.ledger {
		// amount + fee when the merchant bears the fee (totalAmount added),
		// amount when the recipient does (totalAmount deducted).
		charge := max(d.Amount, d.TotalAmount)
		switch d.Status {
		case "pending":
			active -= charge
			pending += charge
		case "success":
			active -= charge
		}
	}
	writeEnvelope(w, http.StatusOK, "success", phpjson.Object{
		{Key: "active", Value: phpjson.Int(active)},
		{Key: "pending", Value: phpjson.Int(pending)},
		{Key: "total", Value: phpjson.Int(active + pending)},
	})
}

// wireRecord is a disbursement as the API answers it, fields in the
// published page's order (paidDate and settleDate, which real answers
// carry, after expiredDate; null until paid).
func wireRecord(d *Disbursement) phpjson.Object {
	date := func(t *time.Time) phpjson.Value {
		if t == nil {
			return phpjson.Null{}
		}
		return phpjson.String(t.In(wire.Zone).Format(time.RFC3339))
	}
	var name phpjson.Value = phpjson.Null{}
	if d.RecipientName != "" {
		name = phpjson.String(d.RecipientName)
	}
	return phpjson.Object{
		{Key: "id", Value: phpjson.String(d.ID)},
		{Key: "merchantRef", Value: phpjson.String(d.MerchantRef)},
		{Key: "status", Value: phpjson.String(d.Status)},
		{Key: "feePayer", Value: phpjson.String(d.FeePayer)},
		{Key: "amount", Value: phpjson.Int(d.Amount)},
		{Key: "fee", Value: phpjson.Int(d.Fee)},
		{Key: "totalAmount", Value: phpjson.Int(d.TotalAmount)},
		{Key: "expiredDate", Value: date(&d.Expires)},
		{Key: "paidDate", Value: date(d.Paid)},
		{Key: "settleDate", Value: date(d.Settled)},
		{Key: "additionalInfo", Value: phpjson.Object{{Key: "callback", Value: phpjson.String(d.Callback)}}},
		{Key: "disbursement", Value: phpjson.Object{
			{Key: "bankCode", Value: phpjson.String(d.BankCode)},
			{Key: "recipientAccount", Value: phpjson.String(d.RecipientAccount)},
			{Key: "recipientName", Value: name},
		}},
	}
}

// envelopeBytes is an answer as PHP's json_encode writes it; data nil
// leaves responseData out.
func envelopeBytes(code int, msg string, data phpjson.Value) []byte {
	env := phpjson.Object{
		{Key: "responseCode", Value: phpjson.Int(code)},
		{Key: "responseMessage", Value: phpjson.String(msg)},
	}
	if data != nil {
		env = append(env, phpjson.Member{Key: "responseData", Value: data})
	}
	b, err := phpjson.Encode(env)
	if err != nil {
		// Only text that was decoded as valid UTF-8 is answered; this is
		// what a PHP server answers when json_encode fails.
		return []byte(`{"responseCode":500,"responseMessage":"internal server error"}`)
	}
	return b
}

func writeEnvelope(w http.ResponseWriter, code int, msg string, data phpjson.Value) {
	writeRaw(w, code, envelopeBytes(code, msg, data))
}

func writeRaw(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}

// ledgerFile is the persisted ledger.
type ledgerFile struct {
	Version       int            `json:"version"`
	Disbursements []Disbursement `json:"disbursements"`
}

const ledgerVersion = 1

// journalPath is where changes to the ledger are appended.
func (e *Emulator) journalPath() string { return e.opts.LedgerPath + ".journal" }

// openJournal replays the journal a killed process left over the loaded
// ledger, compacts the result into the ledger file, and opens an empty
// journal.
func (e *Emulator) openJournal() error {
	j, err := appendlog.Resume(e.journalPath(), func(line []byte) error {
		var d Disbursement
		if err := json.Unmarshal(line, &d); err != nil {
			return err
		}
		if d.ID == "" || d.MerchantRef == "" {
			return errors.New("a disbursement with no id or reference")
		}
		if old := e.byID[d.ID]; old != nil {
			*old = d
		} else {
			if e.byRef[d.MerchantRef] != nil {
				return fmt.Errorf("reference %s repeated", d.MerchantRef)
			}
			p := &d
			e.ledger = append(e.ledger, p)
			e.byID[p.ID], e.byRef[p.MerchantRef] = p, p
		}
		return nil
	}, e.persistLocked)
	if err != nil {
		return fmt.Errorf("cronos emulator: %w", err)
	}
	e.journal = j
	return nil
}

// logLocked appends d's current state to the journal; seq is for Sync.
func (e *Emulator) logLocked(d *Disbursement) (seq uint64, err error) {
	if e.journal == nil {
		return 0, nil
	}
	return e.journal.Append(d)
}

// compactLocked writes the whole ledger to the ledger file and removes the
// journal.
func (e *Emulator) compactLocked() error {
	if e.journal == nil {
		return nil
	}
	if err := e.persistLocked(); err != nil {
		return err
	}
	return errors.Join(e.journal.Close(), os.Remove(e.journalPath()))
}

// persistLocked writes the whole ledger to the ledger file, atomically.
func (e *Emulator) persistLocked() error {
	f := ledgerFile{Version: ledgerVersion, Disbursements: make([]Disbursement, len(e.ledger))}
	for i, d := range e.ledger {
		f.Disbursements[i] = *d
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(e.opts.LedgerPath, append(b, '\n'), atomicfile.Options{})
}

func (e *Emulator) load() error {
	path := e.opts.LedgerPath
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cronos emulator: read ledger: %w", err)
	}
	var f ledgerFile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("cronos emulator: ledger %s: %v; move it away to start with an empty ledger", path, err)
	}
	if f.Version != ledgerVersion {
		return fmt.Errorf("cronos emulator: ledger %s has version %d, this payctl reads version %d", path, f.Version, ledgerVersion)
	}
	for i := range f.Disbursements {
		d := &f.Disbursements[i]
		if d.ID == "" || d.MerchantRef == "" || e.byID[d.ID] != nil || e.byRef[d.MerchantRef] != nil {
			return fmt.Errorf("cronos emulator: ledger %s: disbursement %d has an empty or repeated id or reference", path, i+1)
		}
		e.ledger = append(e.ledger, d)
		e.byID[d.ID] = d
		e.byRef[d.MerchantRef] = d
	}
	return nil
}
