package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/payctl/payctl/apply"
	"github.com/payctl/payctl/internal/atomicfile"
	"github.com/payctl/payctl/internal/daemon"
	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/doc"
	"github.com/payctl/payctl/internal/notify"
	"github.com/payctl/payctl/internal/review"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/providers/registry"
	"github.com/payctl/payctl/schema"
	"github.com/payctl/payctl/state"
)

// maxRound is how many files one round takes. The files of a round are
// planned one by one (errors and the policy are per file) and paid by one
// run of the engine, so that they share its worker pool, its rate limit
// and the journal's fsyncs; their reports are written in parallel.
const maxRound = 16

// item is a claimed, valid file of a round.
type item struct {
	j     job
	start time.Time
	b     *schema.Batch
	p     *plan.Plan // the file's own plan
	// approvals is how many signed approvals the file's plan needs
	// (policy.approvals); watch holds such a file for people to sign.
	approvals int
}

// round processes jobs. Each file ends in done/, rejected/ or held/
// (reports first, then the file), or stays in processing/ with a job to
// try it again. The state's journal is durable before any file moves, so a
// crash anywhere leaves files that the next pass re-plans against it.
//
// ctx ending stops only the wait for the state's lock; everything else
// runs to its end.
func (w *Watcher) round(ctx context.Context, jobs []job) {
	var fin sync.WaitGroup
	defer fin.Wait()
	var items []*item
	batches := map[string]bool{}
	add := func(it *item) {
		if batches[it.b.Name] {
			// The same batch twice in a round: the second is planned in
			// the next round, against what the first paid.
			it.j.due = time.Time{}
			w.q.push(it.j)
			return
		}
		batches[it.b.Name] = true
		items = append(items, it)
	}
	for _, it := range w.parsed {
		add(it)
	}
	clear(w.parsed)
	w.parsed = w.parsed[:0]
	for _, j := range jobs {
		start := w.clock.Now()
		if j.from == fromInbox {
			var ok bool
			if j, ok = w.take(j.name, start); !ok {
				continue
			}
		}
		if w.isLarge(j) {
			w.lane.push(laneJob{j: j, start: start})
			continue
		}
		if it, ok := w.load(&fin, j, start); ok {
			add(it)
		}
	}
	if len(items) > 0 {
		w.pay(ctx, &fin, items)
	}
}

// take claims a complete file of inbox by renaming it into processing/,
// or refuses it unread.
func (w *Watcher) take(name string, start time.Time) (job, bool) {
	fi, err := os.Lstat(w.path(Inbox, name))
	if err != nil {
		return job{}, false // gone: taken or removed meanwhile
	}
	o := observe(fi)
	if ino, ok := w.leftAlone[name]; ok && ino == o.ino {
		return job{}, false
	}
	w.m.seen.Inc()
	if reason := w.refusal(o); reason != "" {
		w.refuse(Inbox, name, o, reason, start)
		return job{}, false
	}
	final, err := w.move(Inbox, name, Processing, nil)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return job{}, false
		}
		w.m.errors.WithLabelValues("io").Inc()
		w.leftAlone[name] = o.ino
		w.log.Error("cannot claim a file: it stays in inbox until it is changed or watch restarts", "file", name, "error", err)
		return job{}, false
	}
	return job{from: fromProcessing, name: final}, true
}

// refusal says why a file is not read at all, or "".
func (w *Watcher) refusal(o observation) string { return refusal(o, w.o.MaxFileSize) }

// refusal says why a file of at most maxSize bytes is not read at all, or
// "". The detector asks it too, so that a refused file is taken at once
// instead of being watched until it settles.
func refusal(o observation, maxSize int64) string {
	switch {
	case o.mode&fs.ModeSymlink != 0:
		return "it is a symbolic link; watch reads only regular files placed in inbox/ itself: copy the file in (under a temporary name such as .NAME or NAME.part, then rename it)"
	case o.mode != 0:
		return doc.NotRegular(o.mode) // the rule every manifest is read by
	case o.nlink > 1:
		return fmt.Sprintf("it has %d hard links, so it can be changed through another name after it was checked; copy the file in instead of linking it", o.nlink)
	case o.size > maxSize:
		return fmt.Sprintf("it is %d bytes, larger than the %d-byte limit for a manifest; split the batch", o.size, maxSize)
	}
	return ""
}

// refuse moves an unread file to rejected/ with the reason, or leaves it
// where it is if it cannot be moved (it is then skipped until it changes).
func (w *Watcher) refuse(from, name string, o observation, reason string, start time.Time) {
	final, err := w.move(from, name, Rejected, func(final string) error {
		return writeText(w.path(Rejected, final+".errors.txt"), []byte(fmt.Sprintf("%s: refused: %s\n\nNothing was read or paid.\n", name, reason)))
	})
	if err != nil {
		if from == Inbox {
			w.leftAlone[name] = o.ino
		}
		w.m.errors.WithLabelValues("io").Inc()
		w.log.Error("refused a file and could not move it to rejected/: it is left where it is", "file", name, "folder", from, "reason", reason, "error", err)
		return
	}
	w.log.Warn("refused a file", "file", name, "to", filepath.Join(Rejected, final), "reason", reason)
	w.finished(name, Rejected, final, Rejected, start)
}

// readClaimed reads a claimed file without following links or blocking,
// and checks that it is still what take checked.
func (w *Watcher) readClaimed(name string) ([]byte, observation, string, error) {
	f, err := os.OpenFile(w.path(Processing, name), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			o := observation{mode: fs.ModeSymlink}
			return nil, o, w.refusal(o), nil
		}
		return nil, observation{}, "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, observation{}, "", err
	}
	o := observe(fi)
	if reason := w.refusal(o); reason != "" {
		return nil, o, reason, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, w.o.MaxFileSize+1))
	if err != nil {
		return nil, o, "", err
	}
	if int64(len(data)) > w.o.MaxFileSize {
		o.size = int64(len(data))
		return nil, o, w.refusal(o), nil
	}
	return data, o, "", nil
}

// load reads and checks a claimed file; a file that is not a valid
// manifest is rejected (in the background).
func (w *Watcher) load(fin *sync.WaitGroup, j job, start time.Time) (*item, bool) {
	it, errs := w.check(j, start)
	if len(errs) > 0 {
		w.background(fin, func() { w.reject(j, errs, start) })
		return nil, false
	}
	return it, it != nil
}

// check reads and checks a claimed file. It returns the valid file, or
// the file's errors, or neither when the file is gone, refused or waits
// for another pass.
func (w *Watcher) check(j job, start time.Time) (*item, diag.List) {
	data, o, reason, err := w.readClaimed(j.name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		w.m.errors.WithLabelValues("io").Inc()
		w.log.Error("cannot read a claimed file", "file", j.name, "error", err)
		w.retry(j, err)
		return nil, nil
	case reason != "":
		w.refuse(Processing, j.name, o, reason, start)
		return nil, nil
	}
	b, errs := schema.ParseWith(j.name, data, w.o.Gate.Workspace().Config.ImportRules())
	if b != nil {
		errs = append(errs, schema.Check([]*schema.Batch{b}, w.o.Gate.Workspace().Config.Deployment(), registry.Rules)...)
	}
	if len(errs) > 0 {
		errs.Limit(diag.MaxPerFile)
		return nil, errs
	}
	return &item{j: j, start: start, b: b}, nil
}

func (w *Watcher) background(fin *sync.WaitGroup, f func()) {
	fin.Add(1)
	go func() {
		defer fin.Done()
		f()
	}()
}

// pay plans each file, holds or rejects those that may not be paid, pays
// the others with one run, and concludes each.
func (w *Watcher) pay(ctx context.Context, fin *sync.WaitGroup, items []*item) {
	sess, err := w.session(ctx)
	if err != nil {
		for _, it := range items {
			w.retry(it.j, err)
		}
		return
	}
	ctx = context.WithoutCancel(ctx)
	w.health(healthState, "")
	ws := w.o.Gate.Workspace()
	// Attempts whose outcome is not known are looked up first, as apply
	// does: the plan never re-sends them, and a lookup may settle them (a
	// crash between intent and outcome, a lost answer).
	var addrs []string
	for _, it := range items {
		for _, mp := range it.b.Payouts {
			addrs = append(addrs, schema.Address(it.b.Name, mp.ID))
		}
	}
	outs, err := sess.Engine.RecoverAddresses(ctx, addrs)
	if err != nil {
		w.log.Warn("looking up payouts whose outcome was not known", "error", err)
	}
	for _, o := range outs {
		w.log.Info("looked up", "address", o.Address, "status", o.Status, "reason", o.Reason)
	}
	var run, settle []*item
	for _, it := range items {
		it.p = sess.Plan(it.b)
		if len(it.p.Errors) > 0 {
			errs := it.p.Errors
			w.background(fin, func() { w.reject(it.j, errs, it.start) })
			continue
		}
		reasons := Judge(ws.Config.Policy.AutoApply, it.b, it.p, ws.Now())
		if need := review.Required(ws.Config.Policy.Approvals, it.p); need.Approvals > 0 {
			it.approvals = need.Approvals
			reasons = append(reasons, fmt.Sprintf("it needs %d signed %s (%s)", need.Approvals, diag.Plural(need.Approvals, "approval", "approvals"), need.Why()))
		}
		if len(reasons) > 0 {
			w.background(fin, func() { w.hold(sess, it, reasons) })
			continue
		}
		settle = append(settle, it)
		if it.p.Changes() {
			run = append(run, it)
		}
	}
	var rep *apply.Report
	var runErr error
	if len(run) > 0 {
		batches := make([]*schema.Batch, len(run))
		for i, it := range run {
			batches[i] = it.b
		}
		rep, runErr = sess.Run(ctx, sess.Plan(batches...))
		w.count(rep)
		if runErr == nil {
			w.m.state.Applied(ws.Now())
		}
	}
	w.observe(sess)
	if errors.Is(runErr, state.ErrBroken) {
		// The state in memory is ahead of its disk: drop the session; the
		// next pass reopens it from the journal.
		w.m.errors.WithLabelValues("state").Inc()
		w.log.Error("the state could not be written; reopening it and trying the files again", "error", runErr)
		w.health(healthState, "the state could not be written: "+runErr.Error())
		w.broken = true
		for _, it := range settle {
			w.retry(it.j, runErr)
		}
		return
	}
	if errors.Is(runErr, apply.ErrBalance) {
		// Refused before anything was sent: the files wait for a person
		// (and a top-up) in held/, each with its plan.
		w.m.errors.WithLabelValues("apply").Inc()
		w.log.Error("the providers' balance does not cover the files' payouts; nothing was sent", "error", runErr)
		for _, it := range settle {
			if !it.p.Changes() {
				w.conclude(fin, sess, it, rep, nil)
				continue
			}
			w.background(fin, func() {
				w.hold(sess, it, []string{"nothing was sent: " + runErr.Error() + "; top the balance up, then apply the held plan (or drop the file again)"})
			})
		}
		return
	}
	quotes := quoteErrors(runErr)
	stop := runErr
	if len(quotes) > 0 && onlyQuotes(runErr) {
		stop = nil
	}
	if stop != nil {
		w.m.errors.WithLabelValues("apply").Inc()
		w.log.Error("apply stopped", "error", stop)
	}
	for _, it := range settle {
		if qe := quotes[it.b.Name]; qe != nil {
			w.background(fin, func() {
				w.hold(sess, it, []string{"the provider quoted a higher fee than planned, so nothing was paid: " + qe.Error()})
			})
			continue
		}
		w.conclude(fin, sess, it, rep, stop)
	}
}

// quoteErrors finds the batch providers' quote refusals in a run's error,
// by batch.
func quoteErrors(err error) map[string]*apply.QuoteError {
	out := map[string]*apply.QuoteError{}
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if qe, ok := err.(*apply.QuoteError); ok {
			out[qe.Batch] = qe
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// onlyQuotes reports whether err consists of quote refusals only.
func onlyQuotes(err error) bool {
	if _, ok := err.(*apply.QuoteError); ok {
		return true
	}
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range u.Unwrap() {
			if !onlyQuotes(e) {
				return false
			}
		}
		return true
	}
	return false
}

// conclude decides what becomes of a planned file after the run: done/
// when every payout has a status from the provider; held/ when the run
// stopped with some of its payouts unsettled; otherwise another pass
// later, or done/ as incomplete after MaxTries.
func (w *Watcher) conclude(fin *sync.WaitGroup, sess *apply.Session, it *item, rep *apply.Report, stop error) {
	j := it.j
	var r *Result
	sess.State.View(func(s *state.Snapshot) {
		r = buildResult(s, it.p, w.o.Gate.Workspace().StateLocation())
	})
	unsettled := 0
	for _, pr := range r.Payouts {
		if !settled(pr.Status) {
			unsettled++
		}
	}
	if unsettled > 0 && stop != nil {
		w.o.Notifier.Notify(notify.StoppedRun("watch", stop, w.o.Gate.Workspace().Now()))
		w.background(fin, func() {
			w.hold(sess, it, []string{fmt.Sprintf("apply stopped so that nothing is paid twice (%v); %d payouts of the batch are not settled: see `payctl state list %s` before paying the rest", stop, unsettled, it.b.Name)})
		})
		return
	}
	m := it.p.Manifests[0]
	j.sent = sentBy(rep, m.Batch, j.sent)
	if unsettled > 0 && j.tries+1 < w.o.MaxTries {
		w.retry(j, settlingError{fmt.Errorf("%d payouts are not settled yet (%s)", unsettled, r.counts())})
		return
	}
	r.File, r.Batch, r.Provider, r.Currency, r.Digest = j.name, m.Batch, m.Provider, m.Currency, m.Digest
	r.Resumed, r.ProcessedAt, r.Sent = j.found, w.o.Gate.Workspace().Now().UTC(), len(j.sent)
	switch {
	case unsettled > 0:
		r.Outcome = OutcomeIncomplete
		r.Message = fmt.Sprintf("%d payouts of batch %s are not settled after %d passes (%s); see attention", unsettled, m.Batch, j.tries+1, r.counts())
	case r.Sent == 0 && !j.found:
		r.Outcome = OutcomeNothingToPay
		r.Message = fmt.Sprintf("nothing was sent: every payout of batch %s was sent before (%s); a file dropped again never pays twice", m.Batch, r.counts())
	default:
		r.Outcome = OutcomeApplied
		r.Message = fmt.Sprintf("sent %d payouts of batch %s; the batch now has %s", r.Sent, m.Batch, r.counts())
		if j.found {
			r.Message += "; the file was found in processing/ at start (an earlier run was cut short), and payouts sent before are included"
		}
	}
	w.background(fin, func() {
		final, err := w.move(Processing, j.name, Done, func(final string) error {
			return writeJSON(w.path(Done, final+".result.json"), r)
		})
		if err != nil {
			w.m.errors.WithLabelValues("io").Inc()
			w.log.Error("cannot move a file to done/; trying again later", "file", j.name, "error", err)
			w.retry(j, err)
			return
		}
		w.log.Info("file done", "file", j.name, "to", filepath.Join(Done, final), "outcome", r.Outcome, "sent", r.Sent, "payouts", r.counts())
		w.finished(j.name, Done, final, r.Outcome, it.start)
	})
}

// sentBy adds the addresses of batch that a run sent to sent.
func sentBy(rep *apply.Report, batch string, sent map[string]bool) map[string]bool {
	if rep == nil {
		return sent
	}
	for _, o := range rep.Outcomes {
		if strings.HasPrefix(o.Address, batch+"/") {
			if sent == nil {
				sent = map[string]bool{}
			}
			sent[o.Address] = true
		}
	}
	return sent
}

// count adds a run's outcomes to the metrics.
func (w *Watcher) count(rep *apply.Report) {
	if rep == nil {
		return
	}
	for _, o := range rep.Outcomes {
		w.m.payouts.WithLabelValues(o.Provider, string(o.Status)).Inc()
		if ev, ok := notify.ForOutcome(o, w.o.Gate.Workspace().Now()); ok {
			w.o.Notifier.Notify(ev)
		}
		if !w.m.amounts.sent(o.Address, o.Currency.Code, o.Amount, o.Status) {
			w.log.Error("too many payouts awaiting their final status: this one is not counted in payctl_watch_amount_paid_total", "address", o.Address)
		}
	}
}

// reject moves an invalid file to rejected/ with its errors.
func (w *Watcher) reject(j job, errs diag.List, start time.Time) {
	final, err := w.move(Processing, j.name, Rejected, func(final string) error {
		shown := make(diag.List, len(errs))
		for i, e := range errs {
			c := *e
			if c.File == j.name {
				c.File = filepath.Join(Rejected, final)
			}
			shown[i] = &c
		}
		return writeText(w.path(Rejected, final+".errors.txt"), errorsText(shown))
	})
	if err != nil {
		w.m.errors.WithLabelValues("io").Inc()
		w.log.Error("cannot move a file to rejected/; trying again later", "file", j.name, "error", err)
		w.retry(j, err)
		return
	}
	w.log.Warn("file rejected", "file", j.name, "to", filepath.Join(Rejected, final), "errors", errs.Total(), "first", errs[0].Error())
	ev := notify.NewEvent(notify.Rejected, filepath.Join(Rejected, final), w.o.Gate.Workspace().Now(),
		fmt.Sprintf("watch rejected %s: %d errors, the first: %s", j.name, errs.Total(), errs[0].Error()))
	ev.File = filepath.Join(w.dir, Rejected, final)
	w.o.Notifier.Notify(ev)
	w.finished(j.name, Rejected, final, Rejected, start)
}

// hold parks a file in held/ with a saved plan that names the file at its
// place there, so that `payctl apply held/NAME.plan.json` can check it.
func (w *Watcher) hold(sess *apply.Session, it *item, reasons []string) {
	j := it.j
	final, err := w.move(Processing, j.name, Held, func(final string) error {
		held := *it.b
		held.File = w.path(Held, final)
		p := sess.Plan(&held)
		planPath := w.path(Held, final+".plan.json")
		if err := p.Save(planPath); err != nil {
			return err
		}
		text, err := heldText(final, held.File, planPath, w.configFile, reasons, it.approvals, p)
		if err != nil {
			return err
		}
		return writeText(w.path(Held, final+".plan.txt"), text)
	})
	if err != nil {
		w.m.errors.WithLabelValues("io").Inc()
		w.log.Error("cannot move a file to held/; trying again later", "file", j.name, "error", err)
		w.retry(j, err)
		return
	}
	w.log.Warn("file held for a person", "file", j.name, "to", filepath.Join(Held, final), "reasons", strings.Join(reasons, "; "))
	ev := notify.NewEvent(notify.Held, filepath.Join(Held, final), w.o.Gate.Workspace().Now(),
		fmt.Sprintf("watch held %s for a person: %s", j.name, strings.Join(reasons, "; ")))
	ev.File, ev.Command = filepath.Join(w.dir, Held, final), "payctl apply "+filepath.Join(w.dir, Held, final+".plan.json")
	w.o.Notifier.Notify(ev)
	w.finished(j.name, Held, final, Held, it.start)
}

// retry leaves a claimed file in processing/ and queues it again after a
// delay that doubles with each pass. A busy state pauses all work, since
// every file needs it.
func (w *Watcher) retry(j job, why error) {
	delay := min(w.o.RetryEvery<<min(j.tries, 16), maxRetryDelay)
	var le *state.LockedError
	if errors.Is(why, daemon.ErrBusy) {
		delay = w.o.RetryEvery
		w.mu.Lock()
		w.pauseUntil = w.clock.Now().Add(delay)
		w.mu.Unlock()
		if errors.As(why, &le) && le.Stale {
			// Only a person can tell whether that host is gone.
			w.log.Error("the state is locked by another host that may be down; files wait in processing/", "file", j.name, "error", why)
			w.health(healthState, why.Error())
		} else {
			w.log.Info("state busy: the file waits in processing/", "file", j.name, "retry_in", delay, "holder", why.Error())
		}
	} else if errors.Is(why, context.Canceled) {
		w.log.Info("stopping: the file stays in processing/ for the next start", "file", j.name)
	} else {
		j.tries++
		w.log.Info("the file waits in processing/ for another pass", "file", j.name, "pass", j.tries, "retry_in", delay, "why", why.Error())
		if !isSettling(why) {
			w.health(healthFiles, fmt.Sprintf("%s waits in processing/: %v", j.name, why))
		}
	}
	w.m.retries.Inc()
	j.from, j.due = fromProcessing, w.clock.Now().Add(delay)
	w.q.push(j)
}

type settlingError struct{ error }

func isSettling(err error) bool {
	var s settlingError
	return errors.As(err, &s)
}

func (w *Watcher) finished(name, folder, final, outcome string, start time.Time) {
	w.health(healthFiles, "")
	w.m.duration.Observe(w.clock.Now().Sub(start).Seconds())
	result := outcome
	switch outcome {
	case OutcomeApplied:
		result = "applied"
	case OutcomeNothingToPay:
		result = "nothing_to_pay"
	case OutcomeIncomplete:
		result = "incomplete"
	}
	w.m.files.WithLabelValues(result).Inc()
	if w.o.Finished != nil {
		w.o.Finished(Finished{Name: name, Folder: folder, Final: final, Outcome: outcome})
	}
}

func writeText(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, atomicfile.Options{Perm: 0o600})
}
