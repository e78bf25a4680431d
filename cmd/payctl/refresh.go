package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/payctl/payctl/apply"
	"github.com/payctl/payctl/internal/notify"
	"github.com/payctl/payctl/internal/safetext"
)

func runRefresh(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "refresh", "[-config FILE] [-all] [-json] [-lock-timeout D]", `
Asks the providers for the status of every payout that is not final (pending,
or unknown after a lost answer) and records every change in the state's journal.
With -all, paid payouts are asked about too: a bank can return funds after a
payout succeeded, and that change is recorded, never silently overwritten.`)
	all := f.Bool("all", false, "also check payouts already paid")
	asJSON := f.Bool("json", false, "print the results as JSON")
	lockWait := f.Duration("lock-timeout", 0, "wait up to `D` for another payctl holding the state's lock")
	if err := f.parse(args); err != nil {
		return err
	}
	w, err := f.workspace()
	if err != nil {
		return err
	}
	defer w.Close()
	alerts, stopAlerts := startNotifier(f, w, nil)
	defer stopAlerts()
	sess, err := apply.Open(ctx, w, apply.Options{Write: true, Op: "refresh", LockWait: *lockWait, Partial: !*all})
	if err != nil {
		return lockHint(err)
	}
	before := sess.State.Stats().Records
	outs, rerr := sess.Engine.Refresh(ctx, *all)
	changes := int(sess.State.Stats().Records - before)
	cerr := sess.Close(ctx)
	for _, o := range outs {
		if ev, ok := notify.ForOutcome(o, w.Now()); ok {
			alerts.Notify(ev)
		}
	}
	if *asJSON {
		if outs == nil {
			outs = []*apply.Outcome{}
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"format_version": 1, "checked": outs, "events_recorded": changes})
		e.Stdout.Write(safetext.JSON(b.Bytes()))
	} else {
		for _, o := range outs {
			fmt.Fprintf(e.Stdout, "%s attempt %d: %s", esc(o.Address), o.Attempt, o.Status)
			if o.Reason != "" {
				fmt.Fprintf(e.Stdout, " (%s)", esc(o.Reason))
			}
			fmt.Fprintln(e.Stdout)
			for _, f := range o.Findings {
				fmt.Fprintf(e.Stdout, "  ! differs from the plan: %s\n", esc(f.String()))
			}
		}
		fmt.Fprintf(e.Stdout, "Checked %d payouts; %d changes recorded.\n", len(outs), changes)
	}
	return errors.Join(rerr, cerr)
}
