package apply_test

// End-to-end proofs for Dinar Dragon (issue 5): the real client over HTTP
// against the Dinar Dragon emulator, driven by the apply engine as `payctl
// apply`, `payctl refresh` and `payctl state resolve` drive it. Dinar
// Dragon has no idempotency key and no lookup by authcode, so what must
// hold is: a quote is never executed twice, an execute whose answer is
// lost or wrong is never followed by another for the same payouts until a
// person decides, and the state records what the provider charged.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/apply"
	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/dinardragon"
	ddemu "github.com/payctl/payctl/providers/dinardragon/emulator"
	"github.com/payctl/payctl/providers/providertest"
	"github.com/payctl/payctl/schema"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
)

const ddName = "usd"

var ddStart = time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC)

// ddRig is a Dinar Dragon emulator behind a loopback server and a state
// folder. Each apply opens a new client and a new state, as a new payctl
// process would, so the client's in-memory guard against a second execute
// never stands in for the state's.
type ddRig struct {
	t         testing.TB
	clock     *providertest.Clock
	em        *ddemu.Emulator
	api       *httptest.Server
	path      string
	maxBatch  int
	timeout   time.Duration
	tolerance money.Amount
	// wrap, if set, stands between the engine and the client.
	wrap func(*dinardragon.Client) providers.Provider
}

func newDDRig(t testing.TB) *ddRig {
	r := &ddRig{
		t: t, clock: providertest.NewClock(ddStart),
		path:     filepath.Join(t.TempDir(), "payctl.state.json"),
		maxBatch: 100, timeout: 5 * time.Second, tolerance: money.FromInt64(0),
	}
	em, err := ddemu.New(providers.EmulatorOptions{Now: r.clock.Now, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	r.em = em
	r.api = httptest.NewServer(em)
	t.Cleanup(func() {
		em.Close() // releases an answer held by delay-after-commit
		r.api.Close()
	})
	return r
}

func (r *ddRig) provider() providers.Provider {
	c, err := dinardragon.New(providers.Options{
		Name: ddName, BaseURL: r.api.URL, Credentials: r.em.Credentials(),
		Timeout: r.timeout, MaxBatch: r.maxBatch, Now: r.clock.Now,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	if r.wrap != nil {
		return r.wrap(c)
	}
	return c
}

func (r *ddRig) open() *state.State {
	r.t.Helper()
	return openForApply(r.t, localstate.New(r.path, nil, r.clock.Now), r.clock.Now)
}

func (r *ddRig) engine(s *state.State) *apply.Engine {
	p := r.provider()
	return &apply.Engine{
		State:     s,
		Providers: func(string) (providers.Provider, error) { return p, nil },
		Settings: func(string) apply.Settings {
			return apply.Settings{Concurrency: 4, QuoteTolerance: r.tolerance}
		},
		Now: r.clock.Now,
	}
}

func (r *ddRig) planProvider() *plan.Provider {
	usd, _ := money.LookupCurrency("USD")
	return &plan.Provider{Name: ddName, Type: dinardragon.TypeName, Batch: true, MaxBatch: r.maxBatch, Currency: usd, Fees: dinardragon.Type.DefaultFees}
}

func (r *ddRig) plan(s *state.State, b *schema.Batch) *plan.Plan {
	r.t.Helper()
	p := plan.Make(plan.Input{Batches: []*schema.Batch{b}, Providers: map[string]*plan.Provider{ddName: r.planProvider()}, State: s.Snapshot()})
	if len(p.Errors) > 0 {
		r.t.Fatalf("plan errors: %v", p.Errors)
	}
	return p
}

// apply runs recover + plan + run + checkpoint, like `payctl apply`.
func (r *ddRig) apply(b *schema.Batch) (*apply.Report, *plan.Plan, error) {
	r.t.Helper()
	ctx := context.Background()
	s := r.open()
	defer s.Close()
	eng := r.engine(s)
	if _, err := eng.Recover(ctx); err != nil {
		return nil, nil, fmt.Errorf("recover: %w", err)
	}
	p := r.plan(s, b)
	rep, err := eng.Run(ctx, p)
	if cerr := s.Checkpoint(ctx); cerr != nil {
		r.t.Fatal(cerr)
	}
	return rep, p, err
}

func (r *ddRig) refresh() []*apply.Outcome {
	r.t.Helper()
	ctx := context.Background()
	s := r.open()
	defer s.Close()
	outs, err := r.engine(s).Refresh(ctx, false)
	if err != nil {
		r.t.Fatalf("refresh: %v", err)
	}
	if err := s.Checkpoint(ctx); err != nil {
		r.t.Fatal(err)
	}
	return outs
}

func (r *ddRig) resolve(addr string, paid bool, reason string) {
	r.t.Helper()
	ctx := context.Background()
	s := r.open()
	defer s.Close()
	if err := apply.Resolve(ctx, s, addr, paid, reason); err != nil {
		r.t.Fatalf("resolve %s: %v", addr, err)
	}
	if err := s.Checkpoint(ctx); err != nil {
		r.t.Fatal(err)
	}
}

type ddPayout struct {
	id, amount, name, bank, country, account string
}

// docsExample is the documentation's example: 50, 70 and 75 USD to US,
// SA and US banks.
var docsExample = []ddPayout{
	{"acme", "50.00", "Acme Supplies", "First National Bank", "US", "123456789"},
	{"riyadh-trading", "70.00", "Riyadh Trading", "Al Rajhi Bank", "SA", "5500012345"},
	{"bob", "75.00", "Bob Lee", "Chase Bank", "US", "987654321"},
}

func ddBatch(name string, ps []ddPayout) *schema.Batch {
	b := &schema.Batch{File: name + ".yaml", Name: name, Provider: ddName, Currency: "USD"}
	for i, p := range ps {
		b.Payouts = append(b.Payouts, schema.Payout{
			ID: p.id, AmountText: p.amount, Amount: money.MustParse(p.amount),
			Recipient: providers.Recipient{Name: p.name, Bank: p.bank, Country: p.country, Account: p.account},
			Pos:       schema.PayoutPos{Item: diag.Pos{Line: 10 + i, Col: 7}},
		})
	}
	return b
}

// ddPayouts makes n payouts of 10.00, 11.00, ... USD.
func ddPayouts(n int) []ddPayout {
	var ps []ddPayout
	for i := 0; i < n; i++ {
		ps = append(ps, ddPayout{fmt.Sprintf("v%02d", i), fmt.Sprintf("%d.00", 10+i), fmt.Sprintf("Vendor %d", i), "Chase Bank", "US", fmt.Sprintf("4%07d1", i)})
	}
	return ps
}

func addrs(b *schema.Batch) []string {
	var out []string
	for _, p := range b.Payouts {
		out = append(out, schema.Address(b.Name, p.ID))
	}
	return out
}

// paidOnce checks the emulator's ledger: every account of b received
// money at most once, apart from payments that failed and were refunded.
func (r *ddRig) paidOnce(b *schema.Batch) {
	r.t.Helper()
	n := map[string]int{}
	for _, p := range r.em.Ledger() {
		for _, a := range p.Accounts {
			if a.Status != 2 {
				n[a.Acc]++
			}
		}
	}
	for _, mp := range b.Payouts {
		if n[mp.Recipient.Account] > 1 {
			r.t.Errorf("account %s (%s) paid %d times", mp.Recipient.Account, mp.ID, n[mp.Recipient.Account])
		}
	}
}

// TestDinarDragonDocsExample: the documentation's example plans a charge
// of 4.875 USD, applies on the emulator, and the state records the
// payment_id, the three uniqueids and the charge as returned, on the
// provider payout and in each attempt's answer; refresh then records
// each payment as paid.
func TestDinarDragonDocsExample(t *testing.T) {
	r := newDDRig(t)
	b := ddBatch("vendors-2026-11", docsExample)
	rep, p, err := r.apply(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Groups) != 1 || p.Groups[0].Fee.String() != "4.875" || !p.Groups[0].Total.Equal(money.MustParse("195")) || !p.Groups[0].Request {
		t.Fatalf("plan groups: %+v", p.Groups[0])
	}
	if got := rep.Count(); !maps.Equal(got, map[providers.Status]int{providers.StatusPending: 3}) {
		t.Fatalf("outcomes: %v", got)
	}
	ledger := r.em.Ledger()
	if len(ledger) != 1 || len(ledger[0].Accounts) != 3 || ledger[0].Charge != "4.875" {
		t.Fatalf("ledger: %+v", ledger)
	}
	pay := ledger[0]
	if n := r.em.Executes(pay.Authcode); n != 1 {
		t.Fatalf("executes of %s: %d", pay.Authcode, n)
	}
	uid := map[string]string{}
	for _, a := range pay.Accounts {
		uid[a.Acc] = a.UniqueID
	}

	snap := readSnapshot(t, r.path)
	if len(snap.Groups) != 1 {
		t.Fatalf("state groups: %d, want 1", len(snap.Groups))
	}
	var g *state.Group
	for _, only := range snap.Groups {
		g = only
	}
	want := money.MustParse("4.875")
	switch {
	case g.Token != pay.Authcode:
		t.Errorf("group token: got %q, want authcode %q", g.Token, pay.Authcode)
	case g.IDs.Get("payment_id") != pay.PaymentID:
		t.Errorf("group payment_id: got %q, want %q", g.IDs.Get("payment_id"), pay.PaymentID)
	case g.Fee == nil || !g.Fee.Equal(want) || g.QuotedFee == nil || !g.QuotedFee.Equal(want) || g.PlannedFee == nil || !g.PlannedFee.Equal(want):
		t.Errorf("group fees: charged %v, quoted %v, planned %v; want 4.875 each", g.Fee, g.QuotedFee, g.PlannedFee)
	case !slices.Equal(g.Addresses, addrs(b)):
		t.Errorf("group addresses: %v", g.Addresses)
	}
	for _, mp := range b.Payouts {
		addr := schema.Address(b.Name, mp.ID)
		a := snap.Payouts[addr].Latest()
		if a.Group != g.ID || a.IDs.Get("payment_id") != pay.PaymentID || a.IDs.Get("uniqueid") != uid[mp.Recipient.Account] || a.IDs.Get("uniqueid") == "" {
			t.Errorf("%s: group %q ids %v; want group %q, payment_id %s, uniqueid %s", addr, a.Group, a.IDs, g.ID, pay.PaymentID, uid[mp.Recipient.Account])
		}
		if a.Answer.Get("charge_in_usd") != "4.875" {
			t.Errorf("%s: answer charge_in_usd %q, want 4.875", addr, a.Answer.Get("charge_in_usd"))
		}
	}

	r.clock.Advance(ddemu.DefaultSettleDelay + time.Minute)
	r.refresh()
	snap = readSnapshot(t, r.path)
	for _, addr := range addrs(b) {
		if st := snap.Payouts[addr].Status; st != providers.StatusPaid {
			t.Errorf("%s after refresh: %s, want paid", addr, st)
		}
	}
	for _, g := range snap.Groups {
		if g.Status != providers.StatusPaid {
			t.Errorf("provider payout after refresh: %s, want paid (it follows its payouts)", g.Status)
		}
	}
	rep, p, err = r.apply(b)
	if err != nil || p.Changes() || len(rep.Outcomes) != 0 || r.em.Requests()["/execute"] != 1 {
		t.Fatalf("re-apply: err %v, plan %s, %d sent, %d executes", err, p.Summary(), len(rep.Outcomes), r.em.Requests()["/execute"])
	}
}

// TestDinarDragonQuoteAboveThePlan: a quote above the plan's fee is not
// executed. A quote event is journaled, and apply's error names the
// authcode and says what to do; doing it pays.
func TestDinarDragonQuoteAboveThePlan(t *testing.T) {
	for _, tc := range []struct {
		name  string
		raise func(r *ddRig)
		// fix is what the user does after reading the error.
		fix      func(r *ddRig)
		charged  string
		tolerant bool
	}{
		{
			name:    "quote-high fault, then a normal quote",
			raise:   func(r *ddRig) { r.em.Inject(ddemu.FaultQuoteHigh, 1) },
			fix:     func(r *ddRig) {},
			charged: "4.875",
		},
		{
			name:  "the provider raised its rate, accepted with quoteTolerance",
			raise: func(r *ddRig) { r.em.SetChargePercent(money.MustParse("3")) },
			fix:   func(r *ddRig) { r.tolerance = money.MustParse("1.00") },
			// 3 % of 195
			charged: "5.850",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newDDRig(t)
			b := ddBatch("vendors", docsExample)
			tc.raise(r)
			rep, _, err := r.apply(b)
			var qe *apply.QuoteError
			if !errors.As(err, &qe) {
				t.Fatalf("got %v, want a QuoteError", err)
			}
			quotes := r.em.Quotes()
			if len(quotes) != 1 {
				t.Fatalf("quotes: %d", len(quotes))
			}
			auth := quotes[0].Authcode
			for _, want := range []string{auth, "5.850", "4.875", "nothing was paid", "set fees in payctl.yaml (or quoteTolerance) and plan again"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if n := r.em.Executes(auth); n != 0 || len(r.em.Ledger()) != 0 || len(rep.Skipped) != 3 || len(rep.Outcomes) != 0 {
				t.Fatalf("executes %d, ledger %d, skipped %d, outcomes %d", n, len(r.em.Ledger()), len(rep.Skipped), len(rep.Outcomes))
			}
			var quoteEvents []*state.Event
			for _, e := range journalOf(t, r.path) {
				if e.Kind == state.KindQuote {
					quoteEvents = append(quoteEvents, e)
				}
			}
			if len(quoteEvents) != 1 || quoteEvents[0].Token != auth || quoteEvents[0].QuotedFee.String() != "5.850" || quoteEvents[0].PlannedFee.String() != "4.875" || len(quoteEvents[0].Payouts) != 3 {
				t.Fatalf("quote events: %+v", quoteEvents)
			}
			if n := len(readSnapshot(t, r.path).Payouts); n != 0 {
				t.Fatalf("%d payouts in the state after a refused quote", n)
			}

			tc.fix(r)
			rep, _, err = r.apply(b)
			if err != nil {
				t.Fatal(err)
			}
			if got := rep.Count()[providers.StatusPending]; got != 3 {
				t.Fatalf("after the fix: %v", rep.Count())
			}
			ledger := r.em.Ledger()
			if len(ledger) != 1 || ledger[0].Authcode == auth || ledger[0].Charge != tc.charged {
				t.Fatalf("ledger after the fix: %+v (refused authcode %s)", ledger, auth)
			}
			for _, g := range readSnapshot(t, r.path).Groups {
				if g.Fee.String() != tc.charged || g.PlannedFee.String() != "4.875" {
					t.Errorf("group: charged %s planned %s, want %s and 4.875", g.Fee, g.PlannedFee, tc.charged)
				}
			}
			if r.em.Executes(auth) != 0 {
				t.Errorf("the refused authcode was executed later")
			}
		})
	}
}

// expiringQuotes lets the authcode expire after the engine checked it and
// recorded its intent, just before Execute, as a run stalled for 16
// minutes there (a slow disk, a suspended laptop) would.
type expiringQuotes struct {
	*dinardragon.Client
	after func()
}

func (x *expiringQuotes) Execute(ctx context.Context, q providers.Quote) ([]providers.Result, error) {
	x.after()
	return x.Client.Execute(ctx, q)
}

// staleFirstQuote lets time pass right after the first quote, as a slow
// answer or a stall before the execute would: the quote is then within
// the engine's safety margin of its expiry.
type staleFirstQuote struct {
	*dinardragon.Client
	n     int
	after func()
}

func (x *staleFirstQuote) Quote(ctx context.Context, ps []providers.Payout) (providers.Quote, error) {
	q, err := x.Client.Quote(ctx, ps)
	if x.n++; x.n == 1 {
		x.after()
	}
	return q, err
}

// TestDinarDragonQuoteNearExpiryIsNotExecuted: a quote found within
// QuoteMargin of its expiry is never executed; the engine quotes again
// and pays with the new authcode, once.
func TestDinarDragonQuoteNearExpiryIsNotExecuted(t *testing.T) {
	r := newDDRig(t)
	b := ddBatch("vendors", docsExample)
	r.wrap = func(c *dinardragon.Client) providers.Provider {
		return &staleFirstQuote{Client: c, after: func() { r.clock.Advance(ddemu.AuthcodeLifetime - apply.QuoteMargin + time.Second) }}
	}
	rep, _, err := r.apply(b)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	qs := r.em.Quotes()
	if len(qs) != 2 {
		t.Fatalf("%d quotes, want 2", len(qs))
	}
	if r.em.Executes(qs[0].Authcode) != 0 || r.em.Executes(qs[1].Authcode) != 1 {
		t.Fatalf("executes: first authcode %d, second %d; want 0 and 1", r.em.Executes(qs[0].Authcode), r.em.Executes(qs[1].Authcode))
	}
	if got := rep.Count()[providers.StatusPending]; got != 3 {
		t.Fatalf("outcomes: %v", rep.Count())
	}
	r.paidOnce(b)
}

// TestDinarDragonAuthcodeExpiredBeforeExecute: Dinar Dragon refuses an
// authcode that expired after the engine checked it (code 400); nothing is paid, every payout says so with
// the authcode, and the next apply pays with a new attempt and a new
// quote.
func TestDinarDragonAuthcodeExpiredBeforeExecute(t *testing.T) {
	r := newDDRig(t)
	b := ddBatch("vendors", docsExample)
	r.wrap = func(c *dinardragon.Client) providers.Provider {
		return &expiringQuotes{Client: c, after: func() { r.clock.Advance(ddemu.AuthcodeLifetime + time.Minute) }}
	}
	rep, _, err := r.apply(b)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	auth := r.em.Quotes()[0].Authcode
	if got := rep.Count(); !maps.Equal(got, map[providers.Status]int{providers.StatusFailed: 3}) {
		t.Fatalf("outcomes: %v", got)
	}
	for _, o := range rep.Outcomes {
		for _, want := range []string{"authcode " + auth, "invalid or has expired", "nothing was paid"} {
			if !strings.Contains(o.Reason, want) {
				t.Errorf("%s: reason %q does not say %q", o.Address, o.Reason, want)
			}
		}
	}
	if len(r.em.Ledger()) != 0 || r.em.Executes(auth) != 1 {
		t.Fatalf("ledger %d payments, executes %d", len(r.em.Ledger()), r.em.Executes(auth))
	}

	r.wrap = nil
	rep, p, err := r.apply(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range p.Payouts {
		if it.Action != plan.Retry || it.Attempt != 2 || it.Key != state.Key(ddName, it.Address, 2) {
			t.Errorf("%s: %s attempt %d, want retry attempt 2", it.Address, it.Action, it.Attempt)
		}
	}
	ledger := r.em.Ledger()
	if got := rep.Count()[providers.StatusPending]; got != 3 || len(ledger) != 1 || ledger[0].Authcode == auth {
		t.Fatalf("second apply: %v, ledger %+v", rep.Count(), ledger)
	}
	r.paidOnce(b)
}

// TestDinarDragonExecuteAnswerMismatch: an execute answer with an account
// missing, an extra one or a wrong amount leaves every payout of that
// provider payout unknown, and the run stops before the next provider
// payout; the error names the authcode and payctl state resolve. Once a
// person resolves them, plan and apply pay the rest and nothing twice.
func TestDinarDragonExecuteAnswerMismatch(t *testing.T) {
	for _, fault := range []string{ddemu.FaultExecuteMissing, ddemu.FaultExecuteExtra, ddemu.FaultExecuteWrongAmount} {
		t.Run(fault, func(t *testing.T) {
			r := newDDRig(t)
			r.maxBatch = 3
			b := ddBatch("vendors", ddPayouts(6))
			if err := r.em.Inject(fault, 1); err != nil {
				t.Fatal(err)
			}
			rep, p, err := r.apply(b)
			if len(p.Groups) != 2 {
				t.Fatalf("plan: %d provider payouts, want 2", len(p.Groups))
			}
			var oe *dinardragon.OutcomeError
			if !errors.Is(err, providers.ErrStop) || !errors.As(err, &oe) {
				t.Fatalf("got %v, want an OutcomeError that stops the run", err)
			}
			ledger := r.em.Ledger()
			if len(ledger) != 1 {
				t.Fatalf("ledger: %d payments", len(ledger))
			}
			pay := ledger[0]
			for _, want := range []string{"authcode " + pay.Authcode, "payment_id " + pay.PaymentID, "payctl state resolve"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if got := rep.Count(); !maps.Equal(got, map[providers.Status]int{providers.StatusUnknown: 3}) {
				t.Fatalf("outcomes: %v", got)
			}
			if q, x := r.em.Requests()["/get-authcode"], r.em.Requests()["/execute"]; q != 1 || x != 1 {
				t.Fatalf("after the stop: %d quotes, %d executes; want 1 and 1", q, x)
			}
			// The payouts the stop left unsent are reported as such.
			var skipped []string
			for _, o := range rep.Skipped {
				skipped = append(skipped, o.Address+": "+o.Reason)
			}
			var wantSkipped []string
			for _, a := range p.Groups[1].Addresses {
				wantSkipped = append(wantSkipped, a+": not sent: the run was stopped")
			}
			if !slices.Equal(skipped, wantSkipped) {
				t.Errorf("skipped: got %q, want %q", skipped, wantSkipped)
			}
			first := p.Groups[0].Addresses
			snap := readSnapshot(t, r.path)
			for _, addr := range first {
				a := snap.Payouts[addr].Latest()
				if a.Status != providers.StatusUnknown || a.IDs.Get("payment_id") != pay.PaymentID || a.IDs.Get("uniqueid") != "" {
					t.Errorf("%s: %s ids %v; want unknown with payment_id only", addr, a.Status, a.IDs)
				}
				if !strings.Contains(a.Reason, "payctl state resolve "+addr) {
					t.Errorf("%s: reason %q does not name the resolve command", addr, a.Reason)
				}
			}

			// The dashboard (the ledger) shows the payment went through.
			for _, addr := range first {
				r.resolve(addr, true, "dashboard shows payment "+pay.PaymentID+" completed")
			}
			rep, p, err = r.apply(b)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Summary(); got != "3 to pay, 0 to retry, 3 unchanged, 0 pending, 0 unknown; to check: 3 new accounts, 0 accounts changed" {
				t.Fatalf("plan after resolve: %s", got)
			}
			if got := rep.Count(); !maps.Equal(got, map[providers.Status]int{providers.StatusPending: 3}) {
				t.Fatalf("apply after resolve: %v", got)
			}
			ledger = r.em.Ledger()
			if len(ledger) != 2 || r.em.Executes(pay.Authcode) != 1 || r.em.Executes(ledger[1].Authcode) != 1 {
				t.Fatalf("ledger %d payments; executes %d and %d", len(ledger), r.em.Executes(pay.Authcode), r.em.Executes(ledger[1].Authcode))
			}
			r.paidOnce(b)
		})
	}
}

// TestDinarDragonLostExecuteAnswer: an /execute whose answer is lost
// leaves each payout unknown. No further apply executes or quotes them
// again (Executes stays 1). Resolving them with what the dashboard shows
// works either way: paid ones are unchanged, failed ones are retried with
// a new quote; nobody is paid twice.
func TestDinarDragonLostExecuteAnswer(t *testing.T) {
	cases := 0
	t.Cleanup(func() {
		if !t.Failed() {
			// Each case fails on a second execute or anyone paid twice.
			fmt.Printf("reliability: kind=dinardragon-lost-answers cases=%d kills=0 faults=%d payouts=%d duplicates=0 lost=0\n", cases, cases, 3*cases)
		}
	})
	for _, tc := range []struct {
		fault string
		// paid: the execute took effect at the provider before the
		// answer was lost.
		paid  bool
		short time.Duration
	}{
		{fault: ddemu.FaultDropAfterCommit, paid: true},
		{fault: ddemu.Fault5xxAfterCommit, paid: true},
		{fault: ddemu.FaultTruncateAfterCommit, paid: true},
		{fault: ddemu.FaultDelayAfterCommit, paid: true, short: time.Second},
		{fault: ddemu.FaultDropBeforeCommit, paid: false},
		{fault: ddemu.Fault5xxBeforeCommit, paid: false},
	} {
		cases++
		t.Run(tc.fault, func(t *testing.T) {
			t.Parallel()
			r := newDDRig(t)
			if tc.short > 0 {
				r.timeout = tc.short
			}
			b := ddBatch("vendors", docsExample)
			if err := r.em.Inject(tc.fault, 1); err != nil {
				t.Fatal(err)
			}
			rep, _, err := r.apply(b)
			var oe *dinardragon.OutcomeError
			if !errors.Is(err, providers.ErrStop) || !errors.As(err, &oe) {
				t.Fatalf("got %v, want an OutcomeError that stops the run", err)
			}
			auth := r.em.Quotes()[0].Authcode
			if oe.Authcode != auth || !strings.Contains(err.Error(), "payctl state resolve") {
				t.Errorf("error %q: want authcode %s and the resolve command", err, auth)
			}
			if got := rep.Count(); !maps.Equal(got, map[providers.Status]int{providers.StatusUnknown: 3}) {
				t.Fatalf("outcomes: %v", got)
			}
			for i := 0; i < 3; i++ {
				rep, p, err := r.apply(b)
				if err != nil {
					t.Fatalf("re-apply %d: %v", i, err)
				}
				if got := p.Summary(); got != "0 to pay, 0 to retry, 0 unchanged, 0 pending, 3 unknown" || len(rep.Outcomes) != 0 {
					t.Fatalf("re-apply %d: plan %s, %d sent", i, got, len(rep.Outcomes))
				}
				if x, q := r.em.Executes(auth), r.em.Requests()["/get-authcode"]; x != 1 || q != 1 {
					t.Fatalf("re-apply %d: executes %d, quotes %d; want 1 and 1", i, x, q)
				}
			}
			if got := len(r.em.Ledger()) == 1; got != tc.paid {
				t.Fatalf("the emulator paid: %v, want %v", got, tc.paid)
			}
			for _, addr := range addrs(b) {
				why := "dashboard shows no payout at that time"
				if tc.paid {
					why = "dashboard shows the payout of authcode " + auth
				}
				r.resolve(addr, tc.paid, why)
			}
			rep, p, err := r.apply(b)
			if err != nil {
				t.Fatal(err)
			}
			ledger := r.em.Ledger()
			if tc.paid {
				if p.Summary() != "0 to pay, 0 to retry, 3 unchanged, 0 pending, 0 unknown" || len(rep.Outcomes) != 0 || len(ledger) != 1 {
					t.Fatalf("after resolving paid: plan %s, %d sent, %d payments", p.Summary(), len(rep.Outcomes), len(ledger))
				}
			} else {
				if p.Summary() != "0 to pay, 3 to retry, 0 unchanged, 0 pending, 0 unknown; to check: 3 new accounts, 0 accounts changed" || rep.Count()[providers.StatusPending] != 3 || len(ledger) != 1 {
					t.Fatalf("after resolving failed: plan %s, %v, %d payments", p.Summary(), rep.Count(), len(ledger))
				}
				if ledger[0].Authcode == auth || r.em.Executes(ledger[0].Authcode) != 1 {
					t.Fatalf("the retry did not use a new quote: %s", ledger[0].Authcode)
				}
			}
			if r.em.Executes(auth) != 1 {
				t.Fatalf("executes of the lost authcode: %d", r.em.Executes(auth))
			}
			r.paidOnce(b)
			t.Logf("%s: requests %v", tc.fault, r.em.Requests())
		})
	}
}

// TestDinarDragonFailedRefundedIsRetried: a payment that settles with
// status 2 (failed, refunded) is recorded as failed by refresh and retried
// on the next plan with a new attempt, alone in a new provider payout.
func TestDinarDragonFailedRefundedIsRetried(t *testing.T) {
	r := newDDRig(t)
	ps := slices.Clone(docsExample)
	ps[1].account = "55000123" + ddemu.FailMarker
	b := ddBatch("vendors", ps)
	failing := schema.Address(b.Name, ps[1].id)
	if _, _, err := r.apply(b); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(ddemu.DefaultSettleDelay + time.Minute)
	outs := r.refresh()
	got := map[string]providers.Status{}
	for _, o := range outs {
		got[o.Address] = o.Status
		if o.Address == failing && !strings.Contains(o.Reason, "status 2") {
			t.Errorf("reason %q does not say status 2", o.Reason)
		}
	}
	want := map[string]providers.Status{"vendors/acme": providers.StatusPaid, failing: providers.StatusFailed, "vendors/bob": providers.StatusPaid}
	if !maps.Equal(got, want) {
		t.Fatalf("refresh: got %v, want %v", got, want)
	}
	rep, p, err := r.apply(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Summary(); got != "0 to pay, 1 to retry, 2 unchanged, 0 pending, 0 unknown; to check: 1 new account, 0 accounts changed" {
		t.Fatalf("plan: %s", got)
	}
	var it *plan.Item
	for _, x := range p.Payouts {
		if x.Address == failing {
			it = x
		}
	}
	if it.Action != plan.Retry || it.Attempt != 2 || it.Key != state.Key(ddName, failing, 2) || !strings.Contains(it.Note, "attempt 1 failed") {
		t.Fatalf("retry item: %+v", it)
	}
	g := p.Groups[it.Group]
	if !slices.Equal(g.Addresses, []string{failing}) || g.Fee.String() != "1.750" {
		t.Fatalf("retry group: %v fee %s, want only %s at 1.750", g.Addresses, g.Fee, failing)
	}
	if got := rep.Count(); !maps.Equal(got, map[providers.Status]int{providers.StatusPending: 1}) {
		t.Fatalf("retry: %v", got)
	}
	ledger := r.em.Ledger()
	if len(ledger) != 2 || len(ledger[1].Accounts) != 1 || ledger[1].Accounts[0].Acc != ps[1].account || ledger[0].Accounts[1].Status != 2 {
		t.Fatalf("ledger: %+v", ledger)
	}
	snap := readSnapshot(t, r.path)
	as := snap.Payouts[failing].Attempts
	if len(as) != 2 || as[0].Status != providers.StatusFailed || as[1].Status != providers.StatusPending || as[1].IDs.Get("payment_id") != ledger[1].PaymentID {
		t.Fatalf("attempts: %+v / %+v", as[0], as[len(as)-1])
	}
}
