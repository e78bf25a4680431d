package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/payctl/payctl/apply"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/internal/notify"
	"github.com/payctl/payctl/internal/review"
	"github.com/payctl/payctl/internal/safetext"
	"github.com/payctl/payctl/internal/workspace"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

func runApply(ctx context.Context, e *Env, args []string) (ferr error) {
	f := newFlags(e, "apply", "[-config FILE] [-auto-approve] [-json] [-lock-timeout D] (PLANFILE | PATH...)", `
Pays. With a saved plan (from "payctl plan -out FILE"), pays exactly the payouts
in it, after checking that the state, payctl.yaml and the manifests are the ones
it was made from, and that planning those manifests again gives that very plan,
payout for payout (an edited plan file is refused and nothing is paid). With
manifest paths, plans, shows the plan and asks for "yes" on a terminal (or
proceeds with -auto-approve).

Before sending anything, apply looks up every payout whose outcome an earlier
run could not learn. Payouts whose outcome stays unknown are never sent again;
a person decides with "payctl state resolve". Interrupting (Ctrl-C) stops
sending new payouts and records the ones in flight.

apply never starts a state by itself: a missing state is refused (run
"payctl init"), unless -init is given and payctl.yaml pins no lineage; then
apply creates the state, pays, and prints the line that pins it.

Off a terminal (a CI log), a progress line goes to stderr every 10 seconds
(PAYCTL_PROGRESS_INTERVAL, e.g. 30s, changes it); with -json the same figures
are "progress" events.

Before the first payout, apply reads the balance of each provider that publishes
one (Cronos; Dinar Dragon publishes none) and refuses to start when it is below
what the plan charges that provider, or cannot be read: a run that runs out of
funds half way leaves a batch half paid. -ignore-balance starts anyway.

Exit status: 0 when every payout sent was accepted, 1 otherwise.`)
	auto := f.Bool("auto-approve", false, "pay without asking for confirmation")
	asJSON := f.Bool("json", false, "print machine-readable events (JSON lines) instead of text")
	lockWait := f.Duration("lock-timeout", 0, "wait up to `D` for another payctl holding the state's lock")
	create := f.Bool("init", false, "create the state if there is none (first use; payctl.yaml must not pin a lineage)")
	ignoreBalance := f.Bool("ignore-balance", false, "pay even if a provider's balance is below what the plan charges it, or cannot be read")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := needArgs(f, "a plan file or manifest paths"); err != nil {
		return err
	}
	w, err := f.workspace()
	if err != nil {
		return err
	}
	defer w.Close()
	w.CreateState = *create
	defer printCreated(e, w)
	out := newApplyOutput(e, *asJSON)
	defer out.flush()
	saved, err := plan.Open(f.Arg(0))
	switch {
	case f.NArg() > 1 || errors.Is(err, plan.ErrNotSaved):
		saved = nil
	case err != nil:
		return err
	}
	alerts, stopAlerts := startNotifier(f, w, nil)
	defer stopAlerts()
	sess, err := apply.Open(ctx, w, apply.Options{Write: true, Op: "apply", LockWait: *lockWait, Partial: true})
	if err != nil {
		return lockHint(err)
	}
	// The snapshot is written once, here, whatever happens above it.
	defer func() { ferr = errors.Join(ferr, sess.Close(ctx)) }()
	sess.Engine.Progress = func(o *apply.Outcome) {
		out.progress(o)
		if ev, ok := notify.ForOutcome(o, w.Now()); ok {
			alerts.Notify(ev) // queued: never waits
		}
	}
	sess.Engine.IgnoreBalance = *ignoreBalance

	var p *plan.Plan
	if saved != nil {
		if p, err = sess.Reviewed(saved, f.Arg(0)); err != nil {
			return err
		}
		if err := authorize(e, sess, p, saved, f.Arg(0), nil); err != nil {
			return err
		}
	}
	recovered, rerr := sess.Recover(ctx)
	out.recovered(recovered)
	if rerr != nil {
		out.warn("looking up earlier unknown payouts: %v", rerr)
	}
	if saved == nil {
		if p, err = sess.PlanPaths(f.Args()); err != nil {
			return err
		}
		if len(p.Errors) > 0 {
			p.WriteText(e.Stderr)
			return p.Errors
		}
		if !*asJSON {
			p.WriteText(e.Stdout)
		}
		if err := authorize(e, sess, p, nil, "", f.Args()); err != nil {
			return err
		}
	}
	defer warnUnknown(e, p)
	if !p.Changes() {
		out.line("Nothing to pay: %s.", p.Summary())
		return out.finish(nil, p, rerr)
	}
	// Before asking anyone to confirm: a run the balance cannot fund is
	// not offered.
	if err := sess.Engine.CheckBalances(ctx, p); err != nil {
		if out.json {
			out.event(errorEvent{FormatVersion: jsonFormatVersion, Message: err.Error(), Type: "error"})
		}
		return withHint(err, "top the balance up at the provider, or pay fewer payouts; `payctl apply -ignore-balance` starts anyway, and the provider refuses the payouts it cannot fund")
	}
	if saved == nil && !*auto {
		if err := confirm(e, p); err != nil {
			return err
		}
	}
	out.start(p)
	rep, runErr := sess.Run(ctx, p)
	out.stop()
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		alerts.Notify(notify.StoppedRun("apply", runErr, w.Now()))
	}
	cerr := sess.Close(ctx)
	out.summary(rep, w.StateLocation(), sess)
	if out.json {
		stats := sess.State.Stats()
		out.event(statsEvent{FormatVersion: jsonFormatVersion, JournalCommits: stats.Commits, JournalRecords: stats.Records, Seconds: time.Since(out.began).Seconds(), Type: "stats"})
	}
	if cerr != nil {
		return errors.Join(runErr, cerr)
	}
	return out.finish(rep, p, runErr)
}

// authorize applies policy.approvals to the plan about to be paid, and
// says who approved it.
func authorize(e *Env, sess *apply.Session, p, saved *plan.Plan, file string, paths []string) error {
	warnings, err := sess.Authorize(p, saved, file, paths)
	for _, w := range warnings {
		fmt.Fprintf(e.Stderr, "payctl: warning: %s\n", w)
	}
	if err != nil {
		return err
	}
	if a := sess.Engine.Approvals; len(a) > 0 {
		fmt.Fprintf(e.Stderr, "payctl: %s approved by %s\n", file, review.Names(a))
	}
	return nil
}

// printCreated tells the person who ran `apply -init` which lineage the
// state it created has, and how to pin it.
func printCreated(e *Env, w *workspace.Workspace) {
	if l := w.Created(); l != "" {
		fmt.Fprintf(e.Stderr, "payctl: created the state %s, lineage %s\n", w.StateLocation(), l)
		fmt.Fprintf(e.Stderr, "payctl: hint: pin it: put this line in %s (in place of its state line) and commit both: %s\n", w.Config.File, w.Config.PinLine(l))
	}
}

// warnUnknown says on stderr that payouts of the plan are still unknown
// from earlier runs: apply does not fail for them (it sent nothing), but
// they wait for a person.
func warnUnknown(e *Env, p *plan.Plan) {
	n := 0
	for _, t := range p.Totals {
		n += t.Unknown
	}
	if n == 0 {
		return
	}
	what := fmt.Sprintf("%d payouts are", n)
	if n == 1 {
		what = "1 payout is"
	}
	fmt.Fprintf(e.Stderr, "payctl: warning: %s still unknown: the provider could not tell what became of them, and payctl never sends them again\n", what)
	fmt.Fprintln(e.Stderr, "payctl: hint: check the provider's dashboard, then `payctl state resolve ADDRESS -paid|-failed -reason TEXT`; `payctl plan` lists them")
}

func lockHint(err error) error {
	var le *state.LockedError
	if errors.As(err, &le) && !le.Stale {
		return withHint(err, "only one payctl may write a state at a time; retry when it is done, or pass -lock-timeout 5m to wait")
	}
	return err
}

func confirm(e *Env, p *plan.Plan) error {
	if !e.stdinIsTerminal() {
		return withHint(errors.New("apply needs a confirmation and stdin is not a terminal"),
			"review the plan and pass -auto-approve, or save it with `payctl plan -out FILE` and run `payctl apply FILE`")
	}
	var parts []string
	for _, t := range p.Totals {
		if t.Pay+t.Retry > 0 {
			c, _ := money.LookupCurrency(t.Currency)
			parts = append(parts, fmt.Sprintf("%s %s through %s (balance charged %s %s)", t.Amount.Human(c), t.Currency, t.Provider, t.Charged.Human(c), t.Currency))
		}
	}
	fmt.Fprintf(e.Stdout, "\npayctl will pay %s.\nOnly \"yes\" is accepted: ", strings.Join(parts, ", "))
	line, _ := bufio.NewReader(e.Stdin).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return errors.New("apply cancelled: nothing was paid")
	}
	return nil
}

// applyOutput prints apply's progress and results: text or JSON lines.
//
// Progress goes to stderr as a line redrawn in place on a terminal, and as
// one line every progressEvery otherwise (a CI log), so that a long run
// piped somewhere still shows it is alive. With -json, the same figures
// are "progress" events on stdout at that interval. PAYCTL_PROGRESS_INTERVAL
// (a Go duration) sets the interval; scripts use it to see lines quickly.
type applyOutput struct {
	e     *Env
	json  bool
	tty   bool
	every time.Duration // interval of progress lines and events off a terminal
	mu    sync.Mutex
	total int
	done  int
	bad   int
	by    map[providers.Status]int
	paid  map[string]money.Amount
	began time.Time
	stopC chan struct{}
	wg    sync.WaitGroup

	buf        *bufio.Writer // JSON lines not yet written
	flushTimer *time.Timer
}

// defaultProgressEvery is how often progress is reported off a terminal.
const defaultProgressEvery = 10 * time.Second

func newApplyOutput(e *Env, asJSON bool) *applyOutput {
	o := &applyOutput{e: e, json: asJSON, tty: !asJSON && e.stderrIsTerminal(), every: defaultProgressEvery,
		by: map[providers.Status]int{}, paid: map[string]money.Amount{}}
	if s := e.Getenv("PAYCTL_PROGRESS_INTERVAL"); s != "" {
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			o.every = d
		} else {
			o.warn("PAYCTL_PROGRESS_INTERVAL=%q is not a positive duration such as 30s; reporting progress every %s", s, defaultProgressEvery)
		}
	}
	return o
}

// event writes one JSON line: one of the event types of apply_json.go
// (or, for a summary, a map). Lines are buffered and flushed at least
// every 100 ms (and at the end): a line per payout written straight to a
// pipe costs a syscall each.
func (o *applyOutput) event(v any) {
	b, _ := json.Marshal(v)
	b = safetext.JSON(b)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.buf == nil {
		o.buf = bufio.NewWriterSize(o.e.Stdout, 64<<10)
	}
	o.buf.Write(append(b, '\n'))
	if o.flushTimer == nil {
		o.flushTimer = time.AfterFunc(100*time.Millisecond, o.flush)
	}
}

// flush writes out buffered JSON lines.
func (o *applyOutput) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.buf != nil {
		o.buf.Flush()
	}
	if o.flushTimer != nil {
		o.flushTimer.Stop()
		o.flushTimer = nil
	}
}

func (o *applyOutput) line(format string, args ...any) {
	if o.json {
		return
	}
	fmt.Fprintf(o.e.Stdout, format+"\n", args...)
}

func (o *applyOutput) warn(format string, args ...any) {
	fmt.Fprintf(o.e.Stderr, "payctl: warning: "+format+"\n", args...)
}

func (o *applyOutput) recovered(outs []*apply.Outcome) {
	if len(outs) == 0 {
		return
	}
	if o.json {
		for _, r := range outs {
			o.event(lookupEvent{Address: r.Address, Attempt: r.Attempt, Findings: r.Findings, FormatVersion: jsonFormatVersion, IDs: r.IDs, Reason: r.Reason, Status: r.Status, Type: "lookup"})
		}
		return
	}
	fmt.Fprintf(o.e.Stdout, "Looked up %d payouts whose outcome was not known:\n", len(outs))
	for _, r := range outs {
		fmt.Fprintf(o.e.Stdout, "  %s attempt %d: %s", esc(r.Address), r.Attempt, r.Status)
		if r.Reason != "" {
			fmt.Fprintf(o.e.Stdout, " (%s)", esc(r.Reason))
		}
		fmt.Fprintln(o.e.Stdout)
		for _, f := range r.Findings {
			fmt.Fprintf(o.e.Stdout, "    ! differs from the plan: %s\n", esc(f.String()))
		}
	}
	fmt.Fprintln(o.e.Stdout)
}

func (o *applyOutput) start(p *plan.Plan) {
	for _, it := range p.Payouts {
		if it.Action.Sends() {
			o.total++
		}
	}
	o.began = time.Now()
	if o.json {
		o.event(startEvent{FormatVersion: jsonFormatVersion, Payouts: o.total, StateSerial: p.State.Serial, Type: "start"})
	}
	report, every := o.reportProgress, o.every
	if o.tty {
		report, every = o.drawProgress, 200*time.Millisecond
	}
	o.stopC = make(chan struct{})
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-o.stopC:
				return
			case <-t.C:
				report()
			}
		}
	}()
}

// progressFigures is a snapshot of the run's progress.
type progressFigures struct {
	done, total                             int
	paid, pending, unknown, failed, notSent int
	elapsed                                 time.Duration
	rate                                    float64 // payouts per second
	left                                    time.Duration
	leftKnown                               bool
}

func (o *applyOutput) figures() progressFigures {
	o.mu.Lock()
	defer o.mu.Unlock()
	f := progressFigures{
		done: o.done, total: o.total,
		paid: o.by[providers.StatusPaid], pending: o.by[providers.StatusPending],
		unknown: o.by[providers.StatusUnknown], failed: o.by[providers.StatusFailed],
		notSent: o.by[providers.StatusNotSent],
		elapsed: time.Since(o.began),
	}
	if s := f.elapsed.Seconds(); s > 0 {
		f.rate = float64(f.done) / s
	}
	if f.rate > 0 {
		f.left = time.Duration(float64(f.total-f.done) / f.rate * float64(time.Second))
		f.leftKnown = true
	}
	return f
}

// reportProgress prints one progress line on stderr, or with -json one
// progress event on stdout.
func (o *applyOutput) reportProgress() {
	f := o.figures()
	if o.json {
		ev := progressEvent{Done: f.done, ElapsedSeconds: round1(f.elapsed.Seconds()), Failed: f.failed, FormatVersion: jsonFormatVersion,
			NotSent: f.notSent, Paid: f.paid, PayoutsPerSecond: round1(f.rate), Pending: f.pending, Total: f.total, Type: "progress", Unknown: f.unknown}
		if f.leftKnown {
			left := round1(f.left.Seconds())
			ev.SecondsLeft = &left
		}
		o.event(ev)
		return
	}
	left := "time left unknown"
	if f.leftKnown {
		left = "about " + f.left.Round(time.Second).String() + " left"
	}
	fmt.Fprintf(o.e.Stderr, "payctl: progress: %d/%d done (%d paid, %d pending, %d unknown, %d failed, %d not sent), %.1f payouts/s, %s elapsed, %s\n",
		f.done, f.total, f.paid, f.pending, f.unknown, f.failed, f.notSent, f.rate, f.elapsed.Round(time.Second), left)
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

func (o *applyOutput) drawProgress() {
	o.mu.Lock()
	defer o.mu.Unlock()
	var amounts []string
	for _, c := range sortedKeys(o.paid) {
		cur, _ := money.LookupCurrency(c)
		amounts = append(amounts, o.paid[c].Human(cur)+" "+c)
	}
	rate := float64(o.done) / time.Since(o.began).Seconds()
	// The one terminal control payctl writes: it goes around the
	// escaping backstop. Nothing in the line comes from outside.
	w := o.e.Stderr
	if o.e.RawStderr != nil {
		w = o.e.RawStderr
	}
	fmt.Fprintf(w, "\r\x1b[Kpaying: %d/%d done, %d not accepted, %s sent, %.1f payouts/s", o.done, o.total, o.bad, strings.Join(amounts, " + "), rate)
}

func (o *applyOutput) stop() {
	if o.stopC == nil {
		return
	}
	close(o.stopC)
	o.wg.Wait()
	o.stopC = nil
	if o.tty {
		o.drawProgress()
		fmt.Fprintln(o.e.Stderr)
	}
}

func (o *applyOutput) progress(p *apply.Outcome) {
	o.mu.Lock()
	o.done++
	o.by[p.Status]++
	if p.Status == providers.StatusPaid || p.Status == providers.StatusPending {
		if a, ok := o.paid[p.Currency.Code]; ok {
			o.paid[p.Currency.Code] = a.Add(p.Amount)
		} else {
			o.paid[p.Currency.Code] = p.Amount
		}
	} else {
		o.bad++
	}
	o.mu.Unlock()
	if o.json {
		o.event(payoutEvent{Address: p.Address, Amount: p.Amount, Currency: p.Currency, ElapsedMS: float64(p.Elapsed.Microseconds()) / 1000,
			Findings: p.Findings, FormatVersion: jsonFormatVersion, Provider: p.Provider, Reason: p.Reason, Status: p.Status, Type: "payout"})
	}
}

// summary prints the run's results, and that the state was saved only
// once its snapshot is durable.
func (o *applyOutput) summary(rep *apply.Report, location string, sess *apply.Session) {
	if rep == nil {
		return
	}
	type key struct{ prov, cur string }
	type sums struct {
		n      map[providers.Status]int
		amount map[providers.Status]money.Amount
	}
	by := map[key]*sums{}
	var keys []key
	for _, oc := range rep.Outcomes {
		k := key{oc.Provider, oc.Currency.Code}
		s := by[k]
		if s == nil {
			s = &sums{n: map[providers.Status]int{}, amount: map[providers.Status]money.Amount{}}
			by[k] = s
			keys = append(keys, k)
		}
		s.n[oc.Status]++
		if a, ok := s.amount[oc.Status]; ok {
			s.amount[oc.Status] = a.Add(oc.Amount)
		} else {
			s.amount[oc.Status] = oc.Amount
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].prov+keys[i].cur < keys[j].prov+keys[j].cur })
	if o.json {
		for _, k := range keys {
			s := by[k]
			// Once per provider and currency, its keys named by statuses:
			// a map, written with sorted keys like the typed events.
			ev := map[string]any{"type": "summary", "provider": k.prov, "currency": k.cur, "format_version": jsonFormatVersion}
			for st, n := range s.n {
				ev[string(st)] = map[string]any{"payouts": n, "amount": s.amount[st]}
			}
			o.event(ev)
		}
		for _, sk := range rep.Skipped {
			o.event(skippedEvent{Address: sk.Address, FormatVersion: jsonFormatVersion, Reason: sk.Reason, Type: "skipped"})
		}
		return
	}
	fmt.Fprintln(o.e.Stdout)
	fmt.Fprintln(o.e.Stdout, "Apply results:")
	for _, k := range keys {
		s := by[k]
		cur, _ := money.LookupCurrency(k.cur)
		var parts []string
		for _, stt := range []providers.Status{providers.StatusPaid, providers.StatusPending, providers.StatusFailed, providers.StatusUnknown, providers.StatusNotSent} {
			if n := s.n[stt]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s (%s %s)", n, stt, s.amount[stt].Human(cur), k.cur))
			}
		}
		fmt.Fprintf(o.e.Stdout, "  %s %s: %s\n", esc(k.prov), esc(k.cur), strings.Join(parts, ", "))
	}
	for _, oc := range rep.Outcomes {
		switch oc.Status {
		case providers.StatusFailed, providers.StatusUnknown, providers.StatusNotSent:
			fmt.Fprintf(o.e.Stdout, "  %s: %s: %s\n", esc(oc.Address), oc.Status, esc(oc.Reason))
		}
	}
	for _, sk := range rep.Skipped {
		fmt.Fprintf(o.e.Stdout, "  %s: not sent: %s\n", esc(sk.Address), esc(sk.Reason))
	}
	// A finding changes no status: the provider's answer about the money
	// stands, and a person looks at the difference.
	for _, oc := range rep.Outcomes {
		for _, f := range oc.Findings {
			fmt.Fprintf(o.e.Stdout, "  %s: %s, but differs from the plan: %s\n", esc(oc.Address), oc.Status, esc(f.String()))
		}
	}
	if sess.Saved() {
		fmt.Fprintf(o.e.Stdout, "State %s saved (serial %d).\n", esc(location), sess.State.Snapshot().Serial)
	}
}

// finish turns the run's result into the command's error.
func (o *applyOutput) finish(rep *apply.Report, p *plan.Plan, runErr error) error {
	if runErr != nil {
		if o.json {
			o.event(errorEvent{FormatVersion: jsonFormatVersion, Message: runErr.Error(), Type: "error"})
		}
		var qe *apply.QuoteError
		if errors.As(runErr, &qe) {
			return runErr
		}
		if errors.Is(runErr, providers.ErrStop) {
			return withHint(runErr, "the run stopped so that nothing is paid twice; payouts left unknown need a person: check the provider's dashboard, then `payctl state resolve ADDRESS -paid|-failed -reason TEXT`")
		}
		return runErr
	}
	if rep == nil {
		return nil
	}
	c := rep.Count()
	bad := c[providers.StatusFailed] + c[providers.StatusUnknown] + c[providers.StatusNotSent] + len(rep.Skipped)
	if bad == 0 {
		return nil
	}
	var parts []string
	for _, s := range []providers.Status{providers.StatusFailed, providers.StatusUnknown, providers.StatusNotSent} {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[s], s))
		}
	}
	if len(rep.Skipped) > 0 {
		parts = append(parts, fmt.Sprintf("%d not sent", len(rep.Skipped)))
	}
	hint := "run `payctl plan` to see what the next apply would do"
	if c[providers.StatusUnknown] > 0 {
		hint = "the next apply looks unknown payouts up first; if the provider cannot tell, check its dashboard and record the truth with `payctl state resolve ADDRESS -paid|-failed -reason TEXT`"
	} else if c[providers.StatusFailed] > 0 {
		hint = "failed payouts are retried with a new attempt by the next apply"
	}
	return withHint(fmt.Errorf("not every payout was accepted: %s", strings.Join(parts, ", ")), "%s", hint)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
