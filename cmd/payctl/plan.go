package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/payctl/payctl/apply"
	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/reserved"
	"github.com/payctl/payctl/internal/review"
	"github.com/payctl/payctl/internal/safetext"
	"github.com/payctl/payctl/internal/workspace"
	"github.com/payctl/payctl/plan"
)

func runPlan(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "plan", "[-config FILE] [-out FILE] [-json | -markdown] [-detailed-exitcode] PATH...", `
Shows what apply would do with the manifests at PATH: per payout the action
(pay, retry, pending, unknown, unchanged), the amount, the estimated fee and who
bears it, and what the recipient receives; totals per provider and currency, and
the balance each provider will be charged. Reads the state without locking it
and needs no credentials.

With -out, the plan is saved; "payctl apply FILE" then pays exactly it, and
refuses if the state, payctl.yaml or a manifest changed since, or if planning
the manifests again does not give the saved plan (the file was edited).`)
	out := f.String("out", "", "save the plan to `FILE` for `payctl apply FILE`")
	asJSON := f.Bool("json", false, "print the plan as JSON (format_version 1)")
	asMD := f.Bool("markdown", false, "print the plan as Markdown for a pull-request comment")
	detailed := f.Bool("detailed-exitcode", false, "exit 0 when nothing would be sent, 2 when something would, 1 on error")
	if err := f.parse(args); err != nil {
		return err
	}
	if *asJSON && *asMD {
		return errors.New("-json and -markdown cannot be used together")
	}
	if err := needArgs(f, "manifest paths"); err != nil {
		return err
	}
	w, err := f.workspace()
	if err != nil {
		return err
	}
	defer w.Close()
	p, err := makePlan(ctx, w, f.Args())
	// On stderr, so that -json and -markdown stay what they are.
	switch pin := w.Config.State.Lineage; {
	case err != nil || p.State.Lineage != "":
	case pin != "":
		fmt.Fprintf(e.Stderr, "payctl: warning: no state at %s, but %s pins lineage %s: every payout is planned as new, and apply refuses to pay without that state; restore it\n", w.StateLocation(), w.Config.File, pin)
	default:
		fmt.Fprintf(e.Stderr, "payctl: warning: no state yet at %s, so every payout is planned as new: run `payctl init` to create it, or restore the state if it exists elsewhere\n", w.StateLocation())
	}
	if err != nil {
		var l diag.List
		if *asMD && errors.As(err, &l) {
			// A pull-request comment shows the errors too.
			(&plan.Plan{Errors: l}).WriteMarkdown(e.Stdout)
		}
		return err
	}
	if *out != "" {
		own := reserved.NewSet(w.OwnFiles()...)
		for _, m := range p.Manifests {
			own.Add(reserved.File{Path: m.File, What: "an input manifest of this plan"})
		}
		if err := checkOutput("-out "+*out, *out, own); err != nil {
			return err
		}
	}
	var need review.Need
	if w.Config != nil {
		need = review.Required(w.Config.Policy.Approvals, p)
	}
	var buf bytes.Buffer
	switch {
	case *asJSON:
		if err = p.WriteJSON(&buf); err == nil {
			e.Stdout.Write(safetext.JSON(buf.Bytes()))
		}
	case *asMD:
		err = p.WriteMarkdown(&buf)
		if need.Approvals > 0 && err == nil {
			fmt.Fprintf(&buf, "\n**Needs %d signed %s** (%s): `payctl approve PLANFILE` by allowed signers.\n",
				need.Approvals, diag.Plural(need.Approvals, "approval", "approvals"), need.Why())
		}
		if err == nil {
			e.Stdout.Write(buf.Bytes())
		}
	default:
		// Streamed: the text of a large plan is never held whole.
		err = p.WriteText(e.Stdout)
		if need.Approvals > 0 && err == nil {
			_, err = fmt.Fprintf(e.Stdout, "\nNeeds %d signed %s before it is paid: %s.\n", need.Approvals, diag.Plural(need.Approvals, "approval", "approvals"), need.Why())
		}
	}
	if err != nil {
		return err
	}
	if len(p.Errors) > 0 {
		return p.Errors
	}
	if *out != "" {
		if err := p.Save(*out); err != nil {
			return err
		}
		if !*asJSON {
			if need.Approvals > 0 {
				fmt.Fprintf(e.Stderr, "payctl: saved the plan to %s; it needs %d signed %s: each approver runs `payctl approve %s`, then pay exactly it with: payctl apply %s\n",
					*out, need.Approvals, diag.Plural(need.Approvals, "approval", "approvals"), *out, *out)
			} else {
				fmt.Fprintf(e.Stderr, "payctl: saved the plan to %s; pay exactly it with: payctl apply %s\n", *out, *out)
			}
		}
	}
	if *detailed && p.Changes() {
		return exitCode(2)
	}
	return nil
}

// makePlan loads and checks manifests, then plans them against the state
// read without a lock: manifest errors are reported whatever the state.
func makePlan(ctx context.Context, w *workspace.Workspace, paths []string) (*plan.Plan, error) {
	batches, errs := w.LoadManifests(paths)
	if len(errs) > 0 {
		return nil, errs
	}
	sess, err := apply.Open(ctx, w, apply.Options{Op: "plan"})
	if err != nil {
		return nil, err
	}
	defer sess.Close(ctx)
	return sess.Plan(batches...), nil
}
