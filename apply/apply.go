package apply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptrace"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/payctl/payctl/internal/crash"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// Settings are a provider's apply settings.
type Settings struct {
	Concurrency    int
	RatePerSecond  int
	LookupGrace    time.Duration
	QuoteTolerance money.Amount
}

// DefaultConcurrency is the payouts in flight per provider when the
// settings give none (payctl.yaml's default is the same).
const DefaultConcurrency = 4

// Engine applies plans to one opened, locked state.
type Engine struct {
	State *state.State
	// Providers opens a provider by name; it is called at most once per
	// name and only for providers that are needed.
	Providers func(name string) (providers.Provider, error)
	Settings  func(name string) Settings
	Now       func() time.Time
	Logger    *slog.Logger
	// Progress, if set, receives each payout's outcome once it is durable.
	Progress func(*Outcome)
	// NewID names provider payouts in the journal; nil means random UUIDs.
	// Tests set it for byte-stable output.
	NewID func() string
	// Approvals are the people whose signed approvals of the plan let it
	// be paid; every intent records them.
	Approvals []state.Approver
	// IgnoreBalance lets a run start whatever the providers' balances
	// (apply -ignore-balance): see CheckBalances.
	IgnoreBalance bool

	mu             sync.Mutex
	balanceChecked *plan.Plan // the plan CheckBalances last passed
	opened         map[string]providers.Provider
	errs           map[string]error
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) newID() string {
	if e.NewID != nil {
		return e.NewID()
	}
	return uuid.NewString()
}

func (e *Engine) log() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (e *Engine) provider(name string) (providers.Provider, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.opened[name]; ok {
		return p, nil
	}
	if err, ok := e.errs[name]; ok {
		return nil, err
	}
	if e.opened == nil {
		e.opened, e.errs = map[string]providers.Provider{}, map[string]error{}
	}
	p, err := e.Providers(name)
	if err != nil {
		e.errs[name] = err
		return nil, err
	}
	e.opened[name] = p
	return p, nil
}

func (e *Engine) settings(name string) Settings {
	s := Settings{}
	if e.Settings != nil {
		s = e.Settings(name)
	}
	if s.Concurrency <= 0 {
		s.Concurrency = DefaultConcurrency
	}
	return s
}

// Outcome is what became of one payout in a run.
type Outcome struct {
	Address  string            `json:"address"`
	Provider string            `json:"provider"`
	Attempt  int               `json:"attempt"`
	Status   providers.Status  `json:"status"`
	Currency money.Currency    `json:"currency"`
	Amount   money.Amount      `json:"amount"`
	IDs      map[string]string `json:"ids,omitempty"`
	Fee      *money.Amount     `json:"fee,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	// Findings are where the provider's answer differs from the plan;
	// recorded on the attempt, they leave the status as the provider gave it.
	Findings []state.Finding `json:"findings,omitempty"`
	// Elapsed is from recording the intent to recording the outcome:
	// what one payout cost, fsyncs and provider included.
	Elapsed time.Duration `json:"-"`
}

// Report is what a run did.
type Report struct {
	Outcomes []*Outcome `json:"outcomes"`
	// Skipped are payouts of the plan not sent, with why.
	Skipped []*Outcome `json:"skipped,omitempty"`
	// Recovered are earlier unknown attempts looked up before sending.
	Recovered []*Outcome `json:"recovered,omitempty"`
	// Interrupted is true when Ctrl-C stopped the run before every payout
	// was sent.
	Interrupted bool `json:"interrupted"`
	mu          sync.Mutex
}

func (r *Report) add(list *[]*Outcome, o *Outcome) {
	r.mu.Lock()
	*list = append(*list, o)
	r.mu.Unlock()
}

func (r *Report) sort() {
	for _, l := range [][]*Outcome{r.Outcomes, r.Skipped, r.Recovered} {
		sort.Slice(l, func(i, j int) bool { return l[i].Address < l[j].Address })
	}
}

// Count returns how many outcomes have each status.
func (r *Report) Count() map[providers.Status]int {
	n := map[providers.Status]int{}
	for _, o := range r.Outcomes {
		n[o.Status]++
	}
	return n
}

// ErrInterrupted is returned when a run was stopped before sending every
// payout; everything sent was recorded.
var ErrInterrupted = errors.New("interrupted: payouts not yet sent were left for the next apply")

// Run sends the plan's pay and retry payouts. The caller has checked that
// the plan is current (plan.CheckCurrent) and called Recover.
func (e *Engine) Run(ctx context.Context, p *plan.Plan) (*Report, error) {
	rep := &Report{}
	byProvider := map[string][]*plan.Item{}
	var names []string
	for _, it := range p.Payouts {
		if !it.Action.Sends() {
			continue
		}
		if why := e.stillSendable(it); why != "" {
			rep.add(&rep.Skipped, skipped(it, why))
			continue
		}
		if byProvider[it.Provider] == nil {
			names = append(names, it.Provider)
		}
		byProvider[it.Provider] = append(byProvider[it.Provider], it)
	}
	sort.Strings(names)
	e.mu.Lock()
	checked := e.balanceChecked == p
	e.mu.Unlock()
	if !checked && len(names) > 0 {
		if err := e.CheckBalances(ctx, p); err != nil {
			for _, name := range names {
				for _, it := range byProvider[name] {
					rep.add(&rep.Skipped, skipped(it, "not sent: the balance check refused the run"))
				}
			}
			rep.sort()
			return rep, err
		}
	}

	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	fail := func(err error) {
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
		stop(err)
	}
	for _, name := range names {
		items := byProvider[name]
		prov, err := e.provider(name)
		if err != nil {
			for _, it := range items {
				rep.add(&rep.Skipped, skipped(it, err.Error()))
			}
			fail(fmt.Errorf("provider %s: %w", name, err))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			switch pv := prov.(type) {
			case providers.Single:
				err = e.runSingle(runCtx, pv, prov, items, rep)
			case providers.Batch:
				err = e.runBatch(runCtx, pv, prov, p, items, rep)
			default:
				err = fmt.Errorf("provider %s can neither pay single payouts nor batches", name)
			}
			if err != nil {
				fail(err)
			}
		}()
	}
	wg.Wait()
	rep.sort()
	if firstErr != nil {
		return rep, firstErr
	}
	if ctx.Err() != nil && len(rep.Skipped) > 0 {
		rep.Interrupted = true
		return rep, ErrInterrupted
	}
	return rep, nil
}

// stillSendable checks the state still expects this send: it guards a
// saved plan against anything that changed the payout since.
func (e *Engine) stillSendable(it *plan.Item) string {
	var why string
	e.State.View(func(s *state.Snapshot) {
		sp := s.Payouts[it.Address]
		switch {
		case sp == nil:
			if it.Attempt != 1 {
				why = fmt.Sprintf("plan sends attempt %d, but the state has no attempt", it.Attempt)
			}
		case sp.Digest != it.Digest:
			why = "details differ from the state's record"
		case sp.Latest().Status == providers.StatusNotSent && it.Attempt == sp.Latest().N:
		case sp.Latest().Status == providers.StatusFailed && it.Attempt == sp.Latest().N+1:
		default:
			why = fmt.Sprintf("attempt %d is now %s", sp.Latest().N, sp.Latest().Status)
		}
	})
	return why
}

func intentPayout(it *plan.Item, req *providers.Request) state.EventPayout {
	amt, rcp := it.Amount, it.Recipient
	return state.EventPayout{
		Address: it.Address, Attempt: it.Attempt, Key: it.Key, Status: providers.StatusSending,
		Type: it.Type, Currency: it.Currency.Code, Amount: &amt, Recipient: &rcp, Digest: it.Digest,
		Reference: it.Reference, Metadata: it.Metadata,
		PlannedFee: it.Fee, FeePayer: it.FeePayer, Request: req,
	}
}

func resultPayout(it *plan.Item, r providers.Result) state.EventPayout {
	return state.EventPayout{
		Address: it.Address, Attempt: it.Attempt, Status: r.Status,
		IDs: r.IDs, Fee: r.Fee, Answer: r.Answer, Reason: r.Reason,
		Findings: findingsOf(expectedOfItem(it), r),
	}
}

// expectedOfItem is what the plan expects of an item's answer.
func expectedOfItem(it *plan.Item) Expected {
	return Expected{Amount: it.Amount, Fee: it.Fee, FeePayer: it.FeePayer, Name: it.Recipient.Name}
}

// sendContext keeps a request in flight alive through Ctrl-C and, for crash
// tests, marks the moment the request is written. The trace is set only
// when that crash point is armed: a provider client that traces the write
// itself composes the two traces by reflection, on every request.
func sendContext(ctx context.Context) context.Context {
	ctx = context.WithoutCancel(ctx)
	if !crash.Armed(crash.RequestWritten) {
		return ctx
	}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { crash.Point(crash.RequestWritten) },
	})
}

func limiter(s Settings) *rate.Limiter {
	if s.RatePerSecond <= 0 {
		return rate.NewLimiter(rate.Inf, 1)
	}
	return rate.NewLimiter(rate.Limit(s.RatePerSecond), 1)
}

// prepared is a payout whose intent is queued or durable, not yet sent.
type prepared struct {
	it      *plan.Item
	p       providers.Payout
	req     providers.Request
	durable <-chan error
	began   time.Time
}

// IntentWindow is how many intents a run of a single-payout provider keeps
// recorded ahead of its workers. Each intent must be durable before its
// request is sent; recording them ahead lets a group commit carry many and
// the workers find theirs durable when they are free, so the journal's
// fsync stays off the path of each payment. Every single-payout provider
// can look a payment up by our reference, which is what makes the window
// safe: a crash leaves at most this many intents more than requests sent,
// and the next apply looks each up (none is found, so each is sent then),
// while a stopped run records each one it did not send as never sent.
const IntentWindow = 32

// runSingle pays a single-payout provider's payouts with Concurrency
// workers, fed by one goroutine that prepares each payout's request and
// records its intent, up to IntentWindow (plus one per worker) ahead. A
// request is still never sent before its own intent is durable, and no
// more than Concurrency requests are ever in flight. Intents are recorded
// in the order of the plan.
func (e *Engine) runSingle(ctx context.Context, pv providers.Single, prov providers.Provider, items []*plan.Item, rep *Report) error {
	set := e.settings(prov.Name())
	lim := limiter(set)
	// A stop-the-run error cancels sending at once, in every worker.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	// What a stop leaves in the queue is reported as not sent.
	work := make(chan *plan.Item, len(items))
	for _, it := range items {
		work <- it
	}
	close(work)
	var errOnce sync.Once
	var runErr error
	r := &singleRun{e: e, pv: pv, prov: prov, lim: lim, rep: rep, fail: func(err error) {
		errOnce.Do(func() { runErr = err })
		stop(err)
	}}
	r.sendCtx = sendContext(ctx)
	r.report = newReporter(e.progress, r.outcomes.Done)
	defer r.report.close()
	ready := make(chan *prepared, IntentWindow)
	go r.journal(ctx, work, ready)
	var wg sync.WaitGroup
	for i := 0; i < set.Concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.worker(ctx, ready)
		}()
	}
	// The workers end once the journaling goroutine has closed ready, so
	// it no longer takes from work.
	wg.Wait()
	for it := range work {
		rep.add(&rep.Skipped, skipped(it, "not sent: the run was stopped"))
	}
	r.outcomes.Wait()
	return runErr
}

// journal prepares the queued payouts in order and records their intents,
// handing each to the workers; it stops taking payouts once the run is
// stopped. An intent it holds when the run stops is recorded as never
// sent.
func (r *singleRun) journal(ctx context.Context, work <-chan *plan.Item, ready chan<- *prepared) {
	defer close(ready)
	for ctx.Err() == nil {
		it, ok := <-work
		if !ok {
			return
		}
		pp := r.prepare(ctx, it)
		if pp == nil {
			continue
		}
		select {
		case ready <- pp:
		case <-ctx.Done():
			if err := <-pp.durable; err == nil {
				r.notSent(ctx, pp)
			}
			return
		}
	}
}

// singleRun is one run of a single-payout provider: what its workers
// share.
type singleRun struct {
	e    *Engine
	pv   providers.Single
	prov providers.Provider
	lim  *rate.Limiter
	rep  *Report
	// sendCtx is what requests are sent with (see sendContext), made
	// once for the run.
	sendCtx context.Context
	// outcomes counts outcomes queued and not yet durable and reported.
	outcomes sync.WaitGroup
	report   *reporter
	// fail stops the run with its first error.
	fail func(error)
}

// reporter passes outcomes to Engine.Progress on one goroutine of its
// own, in the order they became durable. The journal's flusher hands them
// over (put never waits), so a slow reader of the progress (a -json pipe)
// never holds up a group commit; done is called after each is reported.
type reporter struct {
	progress func(*Outcome)
	done     func()
	mu       sync.Mutex
	queue    []*Outcome
	closed   bool
	wake     chan struct{} // one pending wake-up at most
	stopped  chan struct{}
}

func newReporter(progress func(*Outcome), done func()) *reporter {
	r := &reporter{progress: progress, done: done, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go r.loop()
	return r
}

func (r *reporter) put(o *Outcome) {
	r.mu.Lock()
	r.queue = append(r.queue, o)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *reporter) loop() {
	defer close(r.stopped)
	for {
		r.mu.Lock()
		q, closed := r.queue, r.closed
		r.queue = nil
		r.mu.Unlock()
		for _, o := range q {
			r.progress(o)
			r.done()
		}
		if closed {
			if len(q) == 0 {
				return
			}
			continue
		}
		<-r.wake
	}
}

// close stops the reporter once it has reported everything put.
func (r *reporter) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	<-r.stopped
}

// answered is the status to record for a send's answer: one that says
// nothing definite (none, still sending, not found) is unknown, never
// failed, so that only a lookup or a person can free the payout to be
// sent again.
func answered(st providers.Status) providers.Status {
	if st == "" || st == providers.StatusSending || st == providers.StatusNotFound {
		return providers.StatusUnknown
	}
	return st
}

func skipped(it *plan.Item, why string) *Outcome {
	return &Outcome{Address: it.Address, Provider: it.Provider, Attempt: it.Attempt, Currency: it.Currency, Amount: it.Amount, Reason: why}
}

// worker sends the payouts handed to it, each once its intent is durable.
// Once the run is stopped it sends nothing more: each intent it is handed
// after that is recorded as never sent, and the same attempt is sent by
// the next apply.
func (r *singleRun) worker(ctx context.Context, ready <-chan *prepared) {
	for pp := range ready {
		if err := <-pp.durable; err != nil {
			r.fail(fmt.Errorf("%s: intent not recorded, nothing sent: %w", pp.it.Address, err))
			continue
		}
		crash.Point(crash.IntentAfterSync)
		if ctx.Err() != nil || r.lim.Wait(ctx) != nil {
			r.notSent(ctx, pp)
			continue
		}
		if err := r.send(ctx, pp); err != nil {
			r.fail(err)
		}
	}
}

// prepare builds a payout's request and queues its intent. It returns nil,
// recording why, when the provider cannot make the request.
func (r *singleRun) prepare(ctx context.Context, it *plan.Item) *prepared {
	if ctx.Err() != nil {
		r.rep.add(&r.rep.Skipped, skipped(it, "not sent: the run was stopped"))
		return nil
	}
	p := it.Payout()
	req, err := r.pv.Prepare(p)
	if err != nil {
		r.rep.add(&r.rep.Skipped, skipped(it, "not sent: "+err.Error()))
		return nil
	}
	pp := &prepared{it: it, p: p, req: req}
	// The intent records the very request that is sent.
	intent := &state.Event{Kind: state.KindIntent, Provider: r.prov.Name(), Approvals: r.e.Approvals, Payouts: []state.EventPayout{intentPayout(it, &pp.req)}}
	pp.durable, pp.began = r.e.State.RecordAsync(ctx, intent), time.Now()
	return pp
}

// notSent records that a payout whose intent is durable was not sent.
func (r *singleRun) notSent(ctx context.Context, pp *prepared) {
	ev := &state.Event{Kind: state.KindOutcome, Provider: r.prov.Name(), Payouts: []state.EventPayout{{
		Address: pp.it.Address, Attempt: pp.it.Attempt, Status: providers.StatusNotSent,
		Reason: "the run was stopped after its intent was recorded and before it was sent",
	}}}
	r.outcomes.Add(1)
	r.e.State.RecordFunc(ctx, func(err error) {
		defer r.outcomes.Done()
		if err != nil {
			r.fail(fmt.Errorf("%s: could not record that it was not sent; the next apply looks it up: %w", pp.it.Address, err))
			return
		}
		r.rep.add(&r.rep.Skipped, skipped(pp.it, "not sent: the run was stopped"))
	}, ev)
}

// send sends a payout whose intent is durable, and queues its outcome for
// the next group commit without waiting for it: the worker moves on while
// the outcome is written, and the payout counts as done (progress, report)
// only once its outcome is durable. A crash before then leaves an intent
// without an outcome, which the next apply looks up, as for any crash
// after sending.
func (r *singleRun) send(ctx context.Context, pp *prepared) error {
	it := pp.it
	res, sendErr := r.pv.Send(r.sendCtx, pp.p, pp.req)
	crash.Point(crash.AnswerReceived)
	res.Status = answered(res.Status)
	ep := resultPayout(it, res)
	outcome := &state.Event{Kind: state.KindOutcome, Provider: r.prov.Name(), Payouts: []state.EventPayout{ep}}
	// Made here so that the callback keeps only o and pp: capturing the
	// answer and the record's payout would move both to the heap.
	o := &Outcome{Address: it.Address, Provider: it.Provider, Attempt: it.Attempt, Status: res.Status, Currency: it.Currency, Amount: it.Amount, IDs: res.IDs, Fee: res.Fee, Reason: res.Reason, Findings: ep.Findings}
	r.outcomes.Add(1)
	r.e.State.RecordFunc(ctx, func(err error) {
		// On the journal's flusher: nothing here may wait. Progress,
		// which writes to the terminal or a pipe, goes to the run's
		// reporter.
		if err != nil {
			r.fail(fmt.Errorf("%s: the provider's answer (%s) could not be recorded; the next apply looks it up: %w", o.Address, o.Status, err))
			r.outcomes.Done()
			return
		}
		crash.Point(crash.OutcomeAfterSync)
		o.Elapsed = time.Since(pp.began)
		r.rep.add(&r.rep.Outcomes, o)
		r.report.put(o) // calls r.outcomes.Done once reported
	}, outcome)
	if sendErr != nil {
		return fmt.Errorf("%s: %w", it.Address, sendErr)
	}
	return nil
}

func (e *Engine) progress(o *Outcome) {
	if e.Progress != nil {
		e.Progress(o)
	}
}

// QuoteError is a batch provider's quote above the plan's fee.
type QuoteError struct {
	Provider, Batch string
	Index           int
	Token           string
	Planned, Quoted money.Amount
	Tolerance       money.Amount
	Currency        string
}

func (q *QuoteError) Error() string {
	return fmt.Sprintf("%s: provider payout %s #%d not executed: the provider quoted a fee of %s %s, above the plan's %s %s (tolerance %s); its quote %s lapses by itself and nothing was paid; if the new fee is right, set fees in payctl.yaml (or quoteTolerance) and plan again",
		q.Provider, q.Batch, q.Index, q.Quoted, q.Currency, q.Planned, q.Currency, q.Tolerance, q.Token)
}

// runBatch pays a batch provider's provider payouts one at a time: each
// execute is irreversible and pays many accounts, so an answer that looks
// wrong must stop the run before another execute is sent (throughput
// hardly matters when one request pays a hundred payouts). A refused
// quote skips its provider payout and lets the others go on; any other
// error stops the run.
func (e *Engine) runBatch(ctx context.Context, pv providers.Batch, prov providers.Provider, p *plan.Plan, items []*plan.Item, rep *Report) error {
	set := e.settings(prov.Name())
	lim := limiter(set)
	byGroup := map[int][]*plan.Item{}
	var order []int
	for _, it := range items {
		if it.Group < 0 || it.Group >= len(p.Groups) || !p.Groups[it.Group].Request {
			return fmt.Errorf("%s: the plan puts this payout in no provider payout; make a new plan", it.Address)
		}
		if byGroup[it.Group] == nil {
			order = append(order, it.Group)
		}
		byGroup[it.Group] = append(byGroup[it.Group], it)
	}
	// skip reports the provider payouts from order[i] on as not sent.
	skip := func(i int) {
		for _, g := range order[i:] {
			for _, it := range byGroup[g] {
				rep.add(&rep.Skipped, skipped(it, "not sent: the run was stopped"))
			}
		}
	}
	var quoteErrs []error
	for i, g := range order {
		if ctx.Err() != nil || lim.Wait(ctx) != nil {
			skip(i)
			break
		}
		err := e.sendGroup(ctx, pv, prov, p.Groups[g], byGroup[g], set, rep)
		var qe *QuoteError
		switch {
		case errors.As(err, &qe):
			quoteErrs = append(quoteErrs, err)
		case err != nil:
			skip(i + 1)
			return err
		}
	}
	return errors.Join(quoteErrs...)
}

func (e *Engine) sendGroup(ctx context.Context, pv providers.Batch, prov providers.Provider, g *plan.Group, items []*plan.Item, set Settings, rep *Report) error {
	ps := make([]providers.Payout, len(items))
	total := money.FromInt64(0)
	for i, it := range items {
		ps[i] = it.Payout()
		total = total.Add(it.Amount)
	}
	skipAll := func(why string) {
		for _, it := range items {
			rep.add(&rep.Skipped, skipped(it, why))
		}
	}
	q, err := e.freshQuote(ctx, pv, ps)
	if err != nil {
		skipAll("not sent: quote failed: " + err.Error())
		return fmt.Errorf("%s: provider payout %s #%d: quote failed, nothing was sent: %w", prov.Name(), g.Batch, g.Index, err)
	}
	if !q.Total.Equal(total) {
		skipAll("not sent: the quote's total does not match")
		return fmt.Errorf("%w: %s quoted a total of %s for provider payout %s #%d, which totals %s; nothing was sent", providers.ErrStop, prov.Name(), q.Total, g.Batch, g.Index, total)
	}
	limit := g.Fee.Add(set.QuoteTolerance)
	if q.Fee.Cmp(limit) > 0 {
		planned, quoted := g.Fee, q.Fee
		ev := &state.Event{
			Kind: state.KindQuote, Provider: prov.Name(), Token: q.Token, PlannedFee: &planned, QuotedFee: &quoted,
			Reason: fmt.Sprintf("quoted fee %s above the planned %s (tolerance %s): not executed", q.Fee, g.Fee, set.QuoteTolerance),
		}
		for _, it := range items {
			ev.Payouts = append(ev.Payouts, state.EventPayout{Address: it.Address, Attempt: it.Attempt, Status: providers.StatusNotSent})
		}
		if err := e.State.Record(ctx, ev); err != nil {
			return err
		}
		skipAll(fmt.Sprintf("not sent: quoted fee %s above the planned %s", q.Fee, g.Fee))
		return &QuoteError{Provider: prov.Name(), Batch: g.Batch, Index: g.Index, Token: q.Token, Planned: g.Fee, Quoted: q.Fee, Tolerance: set.QuoteTolerance, Currency: g.Currency.Code}
	}
	planned, quoted := g.Fee, q.Fee
	req := q.Request
	began := time.Now()
	intent := &state.Event{
		Kind: state.KindIntent, Provider: prov.Name(), Group: e.newID(), Token: q.Token,
		Request: &req, PlannedFee: &planned, QuotedFee: &quoted, Approvals: e.Approvals,
	}
	for _, it := range items {
		intent.Payouts = append(intent.Payouts, intentPayout(it, nil))
	}
	if err := e.State.Record(ctx, intent); err != nil {
		return fmt.Errorf("%s #%d: intent not recorded, nothing sent: %w", g.Batch, g.Index, err)
	}
	crash.Point(crash.IntentAfterSync)
	results, execErr := pv.Execute(sendContext(ctx), q)
	crash.Point(crash.AnswerReceived)
	outcome := &state.Event{Kind: state.KindOutcome, Provider: prov.Name(), Group: intent.Group}
	for i, it := range items {
		r := providers.Result{Status: providers.StatusUnknown, Reason: "no result for this payout"}
		if i < len(results) {
			r = results[i]
		}
		r.Status = answered(r.Status)
		outcome.Payouts = append(outcome.Payouts, resultPayout(it, r))
		if f, ok := groupFee(r); ok {
			outcome.Fee = &f
		}
		if v := r.IDs[providers.IDGroup]; v != "" {
			outcome.GroupIDs = map[string]string{providers.IDGroup: v}
		}
	}
	if err := e.State.Record(ctx, outcome); err != nil {
		return fmt.Errorf("%s #%d: the provider's answer could not be recorded: %w", g.Batch, g.Index, err)
	}
	crash.Point(crash.OutcomeAfterSync)
	for i, it := range items {
		ep := outcome.Payouts[i]
		o := &Outcome{Address: it.Address, Provider: it.Provider, Attempt: it.Attempt, Status: ep.Status, Currency: it.Currency, Amount: it.Amount, IDs: ep.IDs, Fee: ep.Fee, Reason: ep.Reason, Findings: ep.Findings, Elapsed: time.Since(began)}
		rep.add(&rep.Outcomes, o)
		e.progress(o)
	}
	if execErr != nil {
		return fmt.Errorf("%s: provider payout %s #%d: %w", prov.Name(), g.Batch, g.Index, execErr)
	}
	return nil
}

// QuoteMargin is how long before a quote's expiry the engine stops
// executing it and quotes again. A Dinar Dragon authcode lives 15
// minutes by the provider's clock; between reading the quote and the
// execute reaching the provider lie the fee check, an fsynced intent, the
// rate limit and the request in flight, and the two clocks may differ.
// An execute that arrives after the expiry is refused and its payouts
// have to be retried; a new quote moves no money and costs one request.
const QuoteMargin = 2 * time.Minute

// maxQuotes bounds the quotes asked for one provider payout: a provider
// whose fresh quotes are already within the margin (a clock far off)
// stops the run instead of quoting forever.
const maxQuotes = 3

// ErrQuoteExpiring is a provider whose quotes all expire within
// QuoteMargin of being read.
var ErrQuoteExpiring = errors.New("quote expires too soon to execute")

// freshQuote quotes ps, again while the quote expires within QuoteMargin.
// An earlier quote is left to lapse: that is how a quote is cancelled.
func (e *Engine) freshQuote(ctx context.Context, pv providers.Batch, ps []providers.Payout) (providers.Quote, error) {
	for i := 1; ; i++ {
		q, err := pv.Quote(ctx, ps)
		if err != nil || q.Expires.IsZero() {
			return q, err
		}
		now := e.now()
		if left := q.Expires.Sub(now); left > QuoteMargin {
			return q, nil
		} else if i == maxQuotes {
			return q, fmt.Errorf("%w: %d quotes in a row expire within %s (the last, %s, at %s, %s from now by this host's clock); check this host's clock",
				ErrQuoteExpiring, maxQuotes, QuoteMargin, q.Token, q.Expires.UTC().Format(time.RFC3339), left.Round(time.Second))
		}
		e.log().Info("quote expires within the safety margin; quoting again", "token", q.Token, "expires", q.Expires, "margin", QuoteMargin)
	}
}

// groupFee reads the fee a batch provider charged for a whole provider
// payout, which it reports on each payout's answer.
func groupFee(r providers.Result) (money.Amount, bool) {
	v, ok := r.Answer[providers.AnswerGroupFee]
	if !ok {
		return money.Amount{}, false
	}
	f, err := money.Parse(v)
	return f, err == nil
}
