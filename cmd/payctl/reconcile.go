package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/payctl/payctl/apply"
	"github.com/payctl/payctl/internal/notify"
	"github.com/payctl/payctl/internal/reconcile"
	"github.com/payctl/payctl/internal/workspace"
)

func runReconcile(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "reconcile", "[-config FILE] [-since TIME|DURATION] [-payment-id PROVIDER:ID]... [-json | -markdown] [-record]", `
Compares the state with what each provider's own records say over a window:
Cronos' transaction lists (every status, every day of the window, at most its
7-day retention) and Dinar Dragon's /status for every provider payout (payment_id)
the state sent in the window. The window starts at the oldest payout not yet
final, or 7 days ago when none is open; -since sets it (an RFC 3339 time, or a
duration such as 72h meaning that long ago).

Findings, each with the provider's ids and the payout address:
  unexplained  a payment no attempt in the state explains: paid outside payctl,
               or by another state with the same provider keys
  differs      a payment whose amount, account, fee or status is not the state's
  missing      an attempt the state records that the provider does not know
               after the lookup grace

Dinar Dragon cannot list payments: a payment made under a payment_id the state
does not know is seen only when named with -payment-id PROVIDER:ID.

Reconcile reads: it never takes the state's lock and records nothing, unless
-record, which looks the payouts with a status finding up again and records
what the provider says, as payctl refresh does. Any finding makes the command
exit 1.`)
	sinceFlag := f.String("since", "", "start the window at `TIME` (RFC 3339) or DURATION ago (72h)")
	asJSON := f.Bool("json", false, "print the report as JSON")
	asMarkdown := f.Bool("markdown", false, "print the report as Markdown")
	record := f.Bool("record", false, "record the status changes the providers report, as payctl refresh does (takes the state's lock)")
	lockWait := f.Duration("lock-timeout", 0, "with -record, wait up to `D` for another payctl holding the state's lock")
	var paymentIDs []string
	f.Func("payment-id", "also ask provider `PROVIDER:ID` about this provider payout (Dinar Dragon's payment_id); repeatable", func(s string) error {
		paymentIDs = append(paymentIDs, s)
		return nil
	})
	if err := f.parse(args); err != nil {
		return err
	}
	if *asJSON && *asMarkdown {
		return fmt.Errorf("-json and -markdown cannot be combined: choose one output format")
	}
	if f.NArg() > 0 {
		return withHint(fmt.Errorf("reconcile takes no arguments, got %q", f.Arg(0)), "payctl reconcile [-since 72h]")
	}
	w, err := f.workspace()
	if err != nil {
		return err
	}
	defer w.Close()
	now := w.Now()
	since, err := parseSince(*sinceFlag, now)
	if err != nil {
		return err
	}
	groups := map[string][]string{}
	for _, s := range paymentIDs {
		name, id, ok := strings.Cut(s, ":")
		if !ok || id == "" || w.Config.Providers[name] == nil {
			return withHint(fmt.Errorf("-payment-id %q: expected PROVIDER:ID with PROVIDER a provider of %s", esc(s), w.Config.File),
				"e.g. -payment-id usd-main:9f2c41d07b3e58a6 (known providers: %s)", strings.Join(w.Config.ProviderNames(), ", "))
		}
		groups[name] = append(groups[name], id)
	}

	st, err := w.OpenState(ctx, false, "reconcile", 0)
	if err != nil {
		return err
	}
	if err := st.LoadAll(); err != nil {
		st.Close()
		return err
	}
	rep, err := reconcile.Run(ctx, reconcile.Input{
		Snapshot:  st.Snapshot(),
		Providers: w.Config.ProviderNames(),
		Open:      w.OpenProvider,
		Grace:     func(name string) time.Duration { return w.Settings(name).LookupGrace },
		Now:       now,
		Since:     since,
		Groups:    groups,
	})
	st.Close()
	if err != nil {
		return err
	}

	alerts, stopAlerts := startNotifier(f, w, nil)
	defer stopAlerts()
	for _, fd := range rep.Findings {
		alerts.Notify(reconcileEvent(fd, now))
	}
	var recErr error
	if *record {
		if addrs := rep.Recordable(); len(addrs) > 0 {
			recErr = recordStatuses(ctx, w, addrs, *lockWait, rep)
		} else {
			rep.Recorded = new(int)
		}
	}
	switch {
	case *asJSON:
		err = rep.WriteJSON(e.Stdout)
	case *asMarkdown:
		err = rep.WriteMarkdown(e.Stdout)
	default:
		err = rep.WriteText(e.Stdout)
	}
	if err != nil {
		return err
	}
	if recErr != nil {
		return recErr
	}
	if n := len(rep.Findings); n > 0 {
		return withHint(fmt.Errorf("%d reconciliation finding(s)", n), "each finding above says what it means and what to do; `payctl reconcile -record` records the status changes the providers report")
	}
	return nil
}

// recordStatuses asks the providers about addrs again through refresh's
// own path, under the state's lock, and records what changed.
func recordStatuses(ctx context.Context, w *workspace.Workspace, addrs []string, wait time.Duration, rep *reconcile.Report) error {
	sess, err := apply.Open(ctx, w, apply.Options{Write: true, Op: "reconcile", LockWait: wait})
	if err != nil {
		return lockHint(err)
	}
	before := sess.State.Stats().Records
	_, cerr := sess.Engine.CheckAddresses(ctx, addrs)
	n := int(sess.State.Stats().Records - before)
	rep.Recorded = &n
	return errors.Join(cerr, sess.Close(ctx))
}

// parseSince reads -since: an RFC 3339 time, or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if t.After(now) {
			return time.Time{}, fmt.Errorf("-since %s is in the future", s)
		}
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, withHint(fmt.Errorf("-since %q is neither an RFC 3339 time nor a duration", esc(s)), "e.g. -since 2026-11-01T00:00:00Z or -since 72h")
}

// reconcileEvent is the alert of a finding; the same finding found again
// has the same idempotency key.
func reconcileEvent(fd reconcile.Finding, now time.Time) notify.Event {
	subject := fmt.Sprintf("%s|%s|%s|%d|%v|%s|%s|%s", fd.Kind, fd.Provider, fd.Address, fd.Attempt, fd.IDs, fd.Reference, fd.Field, fd.Reported)
	summary := fmt.Sprintf("reconcile: %s at %s", fd.Kind, fd.Provider)
	if fd.Address != "" {
		summary += " for " + fd.Address
	}
	if fd.Field != "" {
		summary += fmt.Sprintf(": %s is %s in the state, %s at the provider", fd.Field, fd.State, fd.Reported)
	} else if fd.Reported != "" {
		summary += ": " + fd.Reported
	}
	ev := notify.NewEvent(notify.Reconcile, subject, now, summary+"; "+fd.Meaning)
	ev.Address, ev.Provider = fd.Address, fd.Provider
	ev.Command = "payctl reconcile"
	ev.Details = map[string]string{"kind": string(fd.Kind)}
	for k, v := range fd.IDs {
		ev.Details["provider."+k] = v
	}
	if fd.Reference != "" {
		ev.Details["reference"] = fd.Reference
	}
	return ev
}
