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
	"github.com/payctl/payctl/providers"
)

func runPlan(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "plan", "[-config FILE] [-out FILE] [-json | -markdown] [-detailed-exitcode] PATH...", `
Shows what apply would do with the manifests at PATH: per payout the action
(pay, retry, pending, unknown, unchanged), the amount, the estimated fee and who
bears it, and what the recipient receives; totals per provider and currency, and
the balance each provider will be charged. Reads the state without locking it
and needs no credentials.

With -verify-accounts, payctl asks each provider that offers an account inquiry
(Cronos) who holds the accounts the review flags (new account, account changed),
and shows the bank's name beside the manifest's, flagging names that differ
(case, spaces, accents and titles such as Mr. or Ibu aside). No money moves. It
opens the providers as apply does: credentials are needed, except with an
emulator. With -json and credentials in the environment, the plan also carries
each provider's balance against what the plan charges it. Neither is saved with
-out.

With -out, the plan is saved; "payctl apply FILE" then pays exactly it, and
refuses if the state, payctl.yaml or a manifest changed since, or if planning
the manifests again does not give the saved plan (the file was edited).`)
	out := f.String("out", "", "save the plan to `FILE` for `payctl apply FILE`")
	asJSON := f.Bool("json", false, "print the plan as JSON (format_version 1)")
	asMD := f.Bool("markdown", false, "print the plan as Markdown for a pull-request comment")
	detailed := f.Bool("detailed-exitcode", false, "exit 0 when nothing would be sent, 2 when something would, 1 on error")
	verify := f.Bool("verify-accounts", false, "ask the providers who holds each new or changed account (no money moves)")
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
	if *verify {
		p.AccountChecks = plan.VerifyAccounts(ctx, p, w.OpenProvider)
		if n := unverified(p.AccountChecks); n > 0 {
			fmt.Fprintf(e.Stderr, "payctl: warning: %d %s could not be verified with the provider; see the plan\n", n, diag.Plural(n, "account", "accounts"))
		}
	}
	if *asJSON {
		p.Balances = credentialedBalances(ctx, w, p)
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
		if *verify && err == nil {
			err = plan.WriteAccountChecks(&buf, p.AccountChecks, true)
		}
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
		if *verify && err == nil {
			err = plan.WriteAccountChecks(e.Stdout, p.AccountChecks, false)
		}
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
	sess, err := apply.Open(ctx, w, apply.Options{Op: "plan", Partial: true})
	if err != nil {
		return nil, err
	}
	defer sess.Close(ctx)
	for _, b := range batches {
		b.Once = true // nothing here reads them after the plan
	}
	return sess.Plan(batches...), nil
}

// unverified counts the account checks the providers did not answer.
func unverified(cs []*plan.AccountCheck) int {
	n := 0
	for _, c := range cs {
		if c.Result == plan.AccountUnanswered {
			n++
		}
	}
	return n
}

// credentialedBalances reads the balances of the plan's providers whose
// credentials are in the environment: a plan needs none, and reading a
// balance must not make it open an emulator or ask for a secret.
func credentialedBalances(ctx context.Context, w *workspace.Workspace, p *plan.Plan) []*plan.BalanceCheck {
	open := func(name string) (providers.Provider, error) {
		if !w.HasCredentials(name) {
			return nil, errNoCredentials
		}
		return w.OpenProvider(name)
	}
	var out []*plan.BalanceCheck
	for _, c := range plan.Balances(ctx, p, open) {
		if !errors.Is(c.Err, errNoCredentials) {
			out = append(out, c)
		}
	}
	return out
}

var errNoCredentials = errors.New("no credentials in the environment")
