package apply_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/payctl/payctl/apply"
	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/providers"
	fakeemu "github.com/payctl/payctl/providers/fake/emulator"
	"github.com/payctl/payctl/schema"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
)

var idr, _ = money.LookupCurrency("IDR")

type env struct {
	t      testing.TB
	path   string
	ledger *fakeemu.Ledger
	prov   providers.Provider
	now    time.Time
	grace  time.Duration
	conc   int
	batch  bool
}

func newEnv(t testing.TB) *env {
	l := fakeemu.NewLedger()
	return &env{
		t: t, path: filepath.Join(t.TempDir(), "payctl.state.json"), ledger: l,
		prov: &fakeemu.Memory{NameValue: "fk", Ledger: l},
		now:  time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), conc: 4,
	}
}

func (e *env) batchOf(n int, accounts ...string) *schema.Batch {
	b := &schema.Batch{File: "b.yaml", Name: "b", Provider: "fk", Currency: "IDR"}
	for i := 0; i < n; i++ {
		acct := fmt.Sprintf("7%07d2", i)
		if i < len(accounts) {
			acct = accounts[i]
		}
		b.Payouts = append(b.Payouts, schema.Payout{
			ID: fmt.Sprintf("p%04d", i), Amount: money.FromInt64(int64(1000 + i)),
			Recipient: providers.Recipient{Name: "R", BankCode: "014", Account: acct},
			Pos:       schema.PayoutPos{Item: diag.Pos{Line: i + 1, Col: 1}},
		})
	}
	return b
}

func (e *env) open() *state.State {
	return openForApply(e.t, localstate.New(e.path, nil, nil), func() time.Time { return e.now })
}

// openForApply opens a state for writing as payctl apply does, on a clock
// the test sets.
func openForApply(t testing.TB, b state.Backend, now func() time.Time) *state.State {
	t.Helper()
	s, err := state.Open(context.Background(), b, state.Options{Write: true, Op: "apply", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) engine(s *state.State) *apply.Engine {
	return &apply.Engine{
		State:     s,
		Providers: func(string) (providers.Provider, error) { return e.prov, nil },
		Settings: func(string) apply.Settings {
			return apply.Settings{Concurrency: e.conc, LookupGrace: e.grace, QuoteTolerance: money.FromInt64(0)}
		},
		Now: func() time.Time { return e.now },
	}
}

func (e *env) plan(s *state.State, b *schema.Batch) *plan.Plan {
	pv := &plan.Provider{Name: "fk", Type: "fake", Currency: idr,
		Fees: fee.Schedule{Fixed: ptr(money.FromInt64(10)), Payer: fee.Sender, Basis: fee.PerPayout, Places: 0}}
	if e.batch {
		pv.Batch, pv.MaxBatch = true, 3
		pv.Fees = fee.Schedule{Percent: ptr(money.MustParse("2.5")), Payer: fee.Sender, Basis: fee.PerBatch, Places: 3}
	}
	p := plan.Make(plan.Input{Batches: []*schema.Batch{b}, Providers: map[string]*plan.Provider{"fk": pv}, State: s.Snapshot()})
	if len(p.Errors) > 0 {
		e.t.Fatalf("plan errors: %v", p.Errors)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// apply runs recover + plan + run + checkpoint, like `payctl apply`.
func (e *env) apply(b *schema.Batch) (*apply.Report, *plan.Plan, error) {
	s := e.open()
	defer s.Close()
	eng := e.engine(s)
	if _, err := eng.Recover(context.Background()); err != nil {
		return nil, nil, err
	}
	p := e.plan(s, b)
	rep, err := eng.Run(context.Background(), p)
	if cerr := s.Checkpoint(context.Background()); cerr != nil {
		e.t.Fatal(cerr)
	}
	return rep, p, err
}

func (e *env) statuses() map[string]providers.Status {
	s, err := state.Open(context.Background(), localstate.New(e.path, nil, nil), state.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]providers.Status{}
	for a, p := range s.Snapshot().Payouts {
		out[a] = p.Status
	}
	return out
}

func (e *env) noDoublePayouts() {
	e.t.Helper()
	if d := e.ledger.PaidTwice(); len(d) > 0 {
		e.t.Fatalf("paid twice: %v", d)
	}
}

func TestPayThenReapplySendsNothing(t *testing.T) {
	e := newEnv(t)
	b := e.batchOf(20)
	rep, p, err := e.apply(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Count()[providers.StatusPaid]; got != 20 {
		t.Fatalf("paid: got %d, want 20 (%+v)", got, rep.Count())
	}
	if p.Summary() != "20 to pay, 0 to retry, 0 unchanged, 0 pending, 0 unknown; to check: 20 new accounts, 0 accounts changed" {
		t.Errorf("first plan: %s", p.Summary())
	}
	creates := e.ledger.Creates()
	rep, p, err = e.apply(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Changes() || len(rep.Outcomes) != 0 || e.ledger.Creates() != creates {
		t.Fatalf("re-apply sent something: plan %s, %d outcomes, creates %d -> %d", p.Summary(), len(rep.Outcomes), creates, e.ledger.Creates())
	}
	for a, st := range e.statuses() {
		if st != providers.StatusPaid {
			t.Errorf("%s: %s, want paid", a, st)
		}
	}
	e.noDoublePayouts()
}

func TestFailureThenRetry(t *testing.T) {
	e := newEnv(t)
	e.ledger.Inject(fakeemu.Reject)
	b := e.batchOf(1)
	rep, _, err := e.apply(b)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcomes[0].Status != providers.StatusFailed {
		t.Fatalf("got %s, want failed", rep.Outcomes[0].Status)
	}
	rep, p, err := e.apply(b)
	if err != nil {
		t.Fatal(err)
	}
	it := p.Payouts[0]
	if it.Action != plan.Retry || it.Attempt != 2 || it.Key != state.Key("fk", "b/p0000", 2) {
		t.Fatalf("second plan: %s attempt %d key %s", it.Action, it.Attempt, it.Key)
	}
	if rep.Outcomes[0].Status != providers.StatusPaid {
		t.Fatalf("retry: got %s, want paid", rep.Outcomes[0].Status)
	}
	pays := e.ledger.Payments()
	if len(pays) != 1 || pays[0].Reference != it.Key {
		t.Fatalf("ledger: %+v", pays)
	}
}

func TestUnknownResolvedByLookup(t *testing.T) {
	faults := []fakeemu.Fault{fakeemu.Fail500After, fakeemu.DropAfter, fakeemu.DelayAfter, fakeemu.GarbageAfter}
	dups := 0
	defer func() {
		fmt.Printf("reliability: kind=fake-provider-faults cases=%d kills=0 faults=%d payouts=%d duplicates=%d lost=0\n", len(faults), len(faults), len(faults), dups)
	}()
	for _, f := range faults {
		t.Run(string(f), func(t *testing.T) {
			e := newEnv(t)
			e.ledger.Inject(f)
			b := e.batchOf(1)
			rep, _, err := e.apply(b)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Outcomes[0].Status != providers.StatusUnknown {
				t.Fatalf("got %s, want unknown", rep.Outcomes[0].Status)
			}
			// The next apply looks it up first, finds it paid, sends nothing.
			rep, p, err := e.apply(b)
			if err != nil {
				t.Fatal(err)
			}
			if p.Payouts[0].Action != plan.Unchanged || len(rep.Outcomes) != 0 {
				t.Fatalf("after lookup: plan %s, outcomes %d", p.Payouts[0].Action, len(rep.Outcomes))
			}
			dups += len(e.ledger.PaidTwice())
			if e.ledger.Creates() != 1 {
				t.Fatalf("creates: %d, want 1", e.ledger.Creates())
			}
		})
	}
}

func TestUnknownThatLookupCannotTellNeedsAPerson(t *testing.T) {
	e := newEnv(t)
	e.ledger.Inject(fakeemu.Fail500Before)
	e.ledger.LookupsBlind = true
	b := e.batchOf(1)
	if _, _, err := e.apply(b); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		rep, p, err := e.apply(b)
		if err != nil {
			t.Fatal(err)
		}
		if p.Payouts[0].Action != plan.Unknown || len(rep.Outcomes) != 0 {
			t.Fatalf("run %d: plan %s, %d sent", i, p.Payouts[0].Action, len(rep.Outcomes))
		}
	}
	if e.ledger.Creates() != 1 {
		t.Fatalf("creates: %d, want 1: an unknown payout was re-sent", e.ledger.Creates())
	}
	s := e.open()
	if err := apply.Resolve(context.Background(), s, "b/p0000", false, ""); err == nil {
		t.Fatal("resolve without a reason was accepted")
	}
	if err := apply.Resolve(context.Background(), s, "b/p0000", false, "bank confirms nothing arrived"); err != nil {
		t.Fatal(err)
	}
	s.Checkpoint(context.Background())
	s.Close()
	rep, p, err := e.apply(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Payouts[0].Action != plan.Retry || rep.Outcomes[0].Status != providers.StatusPaid {
		t.Fatalf("after resolve: plan %s, outcome %v", p.Payouts[0].Action, rep.Outcomes)
	}
	snap := e.open()
	defer snap.Close()
	a := snap.Snapshot().Payouts["b/p0000"].Attempts[0]
	if a.Status != providers.StatusFailed || !strings.Contains(a.ResolvedBy, "@") {
		t.Errorf("resolution not recorded with who: %+v", a)
	}
}

func TestNotFoundTrustedOnlyAfterGrace(t *testing.T) {
	e := newEnv(t)
	e.grace = 2 * time.Minute
	e.ledger.Inject(fakeemu.Fail500Before)
	b := e.batchOf(1)
	e.apply(b)
	// Within the grace period: still unknown, nothing sent.
	e.now = e.now.Add(time.Minute)
	rep, p, _ := e.apply(b)
	if p.Payouts[0].Action != plan.Unknown || len(rep.Outcomes) != 0 {
		t.Fatalf("within grace: %s", p.Payouts[0].Action)
	}
	// After it: proven absent, sent again under the same key.
	e.now = e.now.Add(2 * time.Minute)
	rep, p, _ = e.apply(b)
	it := p.Payouts[0]
	if it.Action != plan.Pay || it.Attempt != 1 || rep.Outcomes[0].Status != providers.StatusPaid {
		t.Fatalf("after grace: %s attempt %d, %v", it.Action, it.Attempt, rep.Outcomes)
	}
	pays := e.ledger.Payments()
	if len(pays) != 1 || pays[0].Reference != state.Key("fk", "b/p0000", 1) {
		t.Fatalf("ledger: %+v", pays)
	}
}

func TestNotSentIsSentAgainWithSameKey(t *testing.T) {
	e := newEnv(t)
	e.ledger.Inject(fakeemu.Refuse)
	b := e.batchOf(1)
	rep, _, _ := e.apply(b)
	if rep.Outcomes[0].Status != providers.StatusNotSent {
		t.Fatalf("got %s", rep.Outcomes[0].Status)
	}
	rep, p, _ := e.apply(b)
	if p.Payouts[0].Action != plan.Pay || p.Payouts[0].Attempt != 1 || rep.Outcomes[0].Status != providers.StatusPaid {
		t.Fatalf("second run: %s attempt %d", p.Payouts[0].Action, p.Payouts[0].Attempt)
	}
	s := e.open()
	defer s.Close()
	if a := s.Snapshot().Payouts["b/p0000"].Latest(); a.Sends != 2 || a.N != 1 {
		t.Errorf("attempt: n %d sends %d, want 1 and 2", a.N, a.Sends)
	}
}

func TestConcurrencyLimitAndGroupCommit(t *testing.T) {
	e := newEnv(t)
	e.conc = 8
	var inFlight, peak atomic.Int32
	m := e.prov.(*fakeemu.Memory)
	m.BeforeSend = func(providers.Payout) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		inFlight.Add(-1)
	}
	s := e.open()
	eng := e.engine(s)
	rep, err := eng.Run(context.Background(), e.plan(s, e.batchOf(200)))
	if err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	s.Close()
	if len(rep.Outcomes) != 200 {
		t.Fatalf("outcomes: %d", len(rep.Outcomes))
	}
	if p := peak.Load(); p > 8 || p < 2 {
		t.Errorf("peak in flight: %d, want 2..8", p)
	}
	if st.Commits >= st.Records {
		t.Errorf("no group commit: %d commits for %d records", st.Commits, st.Records)
	}
	t.Logf("peak %d in flight; %d records in %d commits", peak.Load(), st.Records, st.Commits)
}

func TestInterruptFinishesInFlightAndSendsNoMore(t *testing.T) {
	e := newEnv(t)
	e.conc = 2
	ctx, cancel := context.WithCancel(context.Background())
	var sent atomic.Int32
	var once sync.Once
	m := e.prov.(*fakeemu.Memory)
	m.BeforeSend = func(providers.Payout) {
		if sent.Add(1) == 5 {
			once.Do(cancel) // Ctrl-C while this one is in flight
		}
	}
	s := e.open()
	eng := e.engine(s)
	rep, err := eng.Run(ctx, e.plan(s, e.batchOf(50)))
	if !errors.Is(err, apply.ErrInterrupted) {
		t.Fatalf("got %v, want ErrInterrupted", err)
	}
	s.Checkpoint(context.Background())
	s.Close()
	if len(rep.Outcomes)+len(rep.Skipped) != 50 {
		t.Fatalf("outcomes %d + skipped %d != 50", len(rep.Outcomes), len(rep.Skipped))
	}
	// Everything the provider received is recorded as paid. The only other
	// payouts in the state are those whose intent was written ahead and
	// never sent: recorded as not-sent, and absent from the ledger.
	received := map[string]bool{}
	for _, p := range e.ledger.Payments() {
		received[p.Address] = true
	}
	paid, notSent := 0, 0
	for a, s := range e.statuses() {
		switch {
		case s == providers.StatusPaid && received[a]:
			paid++
		case s == providers.StatusNotSent && !received[a]:
			notSent++
		default:
			t.Errorf("%s: %s in the state, received by the provider: %v", a, s, received[a])
		}
	}
	if paid != len(received) || paid != len(rep.Outcomes) {
		t.Fatalf("paid in the state %d, received by the provider %d, outcomes %d", paid, len(received), len(rep.Outcomes))
	}
	if len(rep.Outcomes) > 8 {
		t.Errorf("%d sent after Ctrl-C at the 5th", len(rep.Outcomes))
	}
	// The intents recorded ahead of the workers: all durable before the
	// first sends were answered, so the stop finds the window full.
	if notSent < apply.IntentWindow/2 {
		t.Errorf("%d intents recorded ahead and not sent; want the window of %d mostly full", notSent, apply.IntentWindow)
	}
	// The next run pays the rest, once.
	m.BeforeSend = nil
	if _, _, err := e.apply(e.batchOf(50)); err != nil {
		t.Fatal(err)
	}
	if got := len(e.ledger.Payments()); got != 50 {
		t.Fatalf("ledger after resume: %d", got)
	}
	e.noDoublePayouts()
}

func TestBatchQuoteAboveThePlanIsNotExecuted(t *testing.T) {
	e := newEnv(t)
	e.batch = true
	mb := &fakeemu.MemoryBatch{NameValue: "fk", Ledger: e.ledger, Max: 3, FeePercent: money.MustParse("3")}
	e.prov = mb
	rep, _, err := e.apply(e.batchOf(3))
	var qe *apply.QuoteError
	if !errors.As(err, &qe) {
		t.Fatalf("got %v, want a QuoteError", err)
	}
	if !strings.Contains(err.Error(), "nothing was paid") || !strings.Contains(err.Error(), "tok-001") {
		t.Errorf("message: %v", err)
	}
	if mb.Executes("tok-001") != 0 || len(e.ledger.Payments()) != 0 || len(rep.Skipped) != 3 {
		t.Fatalf("executed %d, ledger %d, skipped %d", mb.Executes("tok-001"), len(e.ledger.Payments()), len(rep.Skipped))
	}
	// The quote is in the journal for the auditors; no payout changed.
	if len(e.statuses()) != 0 {
		t.Fatalf("payouts in state after a refused quote: %v", e.statuses())
	}
	mb.FeePercent = money.MustParse("2.5")
	rep, _, err = e.apply(e.batchOf(3))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Count()[providers.StatusPending] != 3 {
		t.Fatalf("after fee fix: %+v", rep.Count())
	}
	s := e.open()
	defer s.Close()
	for _, g := range s.Snapshot().Groups {
		if g.Fee == nil || g.Fee.String() != g.QuotedFee.String() || g.IDs.Get("payment_id") == "" {
			t.Errorf("group record: %+v", g)
		}
	}
}

func TestBatchSplitAndLostExecuteAnswer(t *testing.T) {
	e := newEnv(t)
	e.batch = true
	mb := &fakeemu.MemoryBatch{NameValue: "fk", Ledger: e.ledger, Max: 3, FeePercent: money.MustParse("2.5")}
	e.prov = mb
	mb.ExecuteFault = fakeemu.DropAfter
	b := e.batchOf(7) // three provider payouts: 3 + 3 + 1
	rep, p, err := e.apply(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Groups) != 3 {
		t.Fatalf("groups: %d, want 3", len(p.Groups))
	}
	if c := rep.Count(); c[providers.StatusUnknown] != 3 || c[providers.StatusPending] != 4 {
		t.Fatalf("counts: %+v", c)
	}
	// Nothing can tell what became of the first provider payout: no
	// re-execute, no new quote for it, ever, until a person resolves.
	for i := 0; i < 2; i++ {
		rep, p, _ = e.apply(b)
		if len(rep.Outcomes) != 0 || mb.Executes("tok-001") != 1 {
			t.Fatalf("re-run %d sent %d; executes %d", i, len(rep.Outcomes), mb.Executes("tok-001"))
		}
	}
	if got := len(e.ledger.Payments()); got != 7 {
		t.Fatalf("ledger: %d payments, want 7", got)
	}
	e.noDoublePayouts()
}

// An answer that contradicts its request stops the run: the other workers
// send nothing new once it is seen.
func TestStopHaltsEveryWorker(t *testing.T) {
	e := newEnv(t)
	e.conc = 4
	var n atomic.Int32
	m := e.prov.(*fakeemu.Memory)
	m.Contradict = func(providers.Payout) bool { return n.Add(1) == 10 }
	m.Latency = time.Millisecond
	s := e.open()
	rep, err := e.engine(s).Run(context.Background(), e.plan(s, e.batchOf(200)))
	s.Checkpoint(context.Background())
	s.Close()
	if !errors.Is(err, providers.ErrStop) {
		t.Fatalf("got %v, want ErrStop", err)
	}
	if c := e.ledger.Creates(); c > 10+2*e.conc {
		t.Fatalf("%d payouts reached the provider after a stop at the 10th", c)
	}
	if len(rep.Outcomes)+len(rep.Skipped) != 200 {
		t.Fatalf("outcomes %d + skipped %d != 200", len(rep.Outcomes), len(rep.Skipped))
	}
}

// BenchmarkRunOverhead is what apply itself costs per payout, without a
// provider's HTTP client or a manifest to decode: plan, engine, journal
// (encode, fold, write, fdatasync) and the final checkpoint, paying
// through the in-memory fake provider into a local state in a temporary
// folder. It reports the process's CPU (user + system, the in-memory
// provider's included) and the allocations per payout.
//
//	go test -run '^$' -bench RunOverhead -benchtime 5x ./apply/
func BenchmarkRunOverhead(b *testing.B) {
	const n = 5000
	var cpu time.Duration
	var ms0, ms1 runtime.MemStats
	var allocs, bytes uint64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b)
		e.conc = 16
		batch := e.batchOf(n)
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		c0 := processCPU(b)
		b.StartTimer()
		rep, _, err := e.apply(batch)
		b.StopTimer()
		cpu += processCPU(b) - c0
		runtime.ReadMemStats(&ms1)
		allocs += ms1.Mallocs - ms0.Mallocs
		bytes += ms1.TotalAlloc - ms0.TotalAlloc
		if err != nil {
			b.Fatal(err)
		}
		if got := rep.Count()[providers.StatusPending] + rep.Count()[providers.StatusPaid]; got != n {
			b.Fatalf("accepted: got %d, want %d (%v)", got, n, rep.Count())
		}
		b.StartTimer()
	}
	per := float64(n * b.N)
	b.ReportMetric(float64(cpu.Microseconds())/per, "µs-cpu/payout")
	b.ReportMetric(float64(allocs)/per, "allocs/payout")
	b.ReportMetric(float64(bytes)/per, "B/payout")
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
