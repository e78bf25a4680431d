package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/payctl/payctl/apply"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/internal/safetext"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

var stateCommands = []command{
	{"list", "list payouts with their status", runStateList},
	{"show", "show one payout: every attempt, provider ids, fees, answers", runStateShow},
	{"resolve", "record a person's decision about a payout whose outcome is unknown", runStateResolve},
	{"unlock", "clear a lock left by a host that is gone", runStateUnlock},
	{"migrate-schema", "create or upgrade payctl's tables in the postgres backend's database", runStateMigrateSchema},
	{"push", "copy a local state file into the postgres backend", runStatePush},
	{"pull", "write the postgres backend's state to a local state file", runStatePull},
	{"diff", "compare two snapshots: payouts added, status changes, totals, impossible changes", runStateDiff},
	{"verify", "check the journal's hash chain, that it folds to the snapshot, permissions and ids", runStateVerify},
	{"rebuild", "replace the snapshot with the journal folded from its start", runStateRebuild},
	{"migrate", "convert a single-file state into a segmented one (a root and a file per batch)", runStateMigrate},
	{"export", "one row per payout attempt, as CSV or JSON, for accounting", runStateExport},
}

func runState(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" {
		w := e.Stderr
		if len(args) > 0 {
			w = e.Stdout
		}
		fmt.Fprintln(w, "usage: payctl state SUBCOMMAND [flags] [args]")
		fmt.Fprintln(w)
		for _, c := range stateCommands {
			fmt.Fprintf(w, "  %-15s %s\n", c.name, c.summary)
		}
		if len(args) == 0 {
			return &reported{summary: "missing state subcommand"}
		}
		return nil
	}
	for _, c := range stateCommands {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	if s := suggestion(args[0], commandNames(stateCommands)); s != "" {
		return withHint(fmt.Errorf("unknown state subcommand %q", args[0]), "did you mean `payctl state %s`? `payctl state help` lists them all", s)
	}
	return withHint(fmt.Errorf("unknown state subcommand %q", args[0]), "run `payctl state help`")
}

func runStateList(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "state list", "[-config FILE] [-status S] [-provider NAME] [-json] [BATCH]", `
Lists the payouts in the state, sorted by address: status, amount, attempts and
the provider's ids. BATCH limits the list to one batch.`)
	status := f.String("status", "", "only payouts with this `status` (pending, paid, failed, unknown, sending, not-sent)")
	provider := f.String("provider", "", "only payouts of this provider")
	asJSON := f.Bool("json", false, "print JSON")
	if err := f.parse(args); err != nil {
		return err
	}
	w, err := f.workspace()
	if err != nil {
		return err
	}
	defer w.Close()
	st, err := w.OpenState(ctx, false, "state list", 0)
	if err != nil {
		return err
	}
	snap := st.Snapshot()
	var list []*state.Payout
	for _, addr := range snap.Addresses() {
		p := snap.Payouts[addr]
		if f.NArg() > 0 && p.Batch() != f.Arg(0) {
			continue
		}
		if *status != "" && string(p.Status) != *status {
			continue
		}
		if *provider != "" && p.Provider != *provider {
			continue
		}
		list = append(list, p)
	}
	if *asJSON {
		if list == nil {
			list = []*state.Payout{}
		}
		return writeJSON(e, map[string]any{"format_version": 1, "lineage": snap.Lineage, "serial": snap.Serial, "payouts": list})
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tSTATUS\tAMOUNT\tPROVIDER\tATTEMPTS\tPROVIDER IDS\t")
	for _, p := range list {
		c, _ := money.LookupCurrency(p.Currency)
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%d\t%s\t\n", esc(p.Address), p.Status, p.Amount.Human(c), esc(p.Currency), esc(p.Provider), len(p.Attempts), esc(cmp.Or(p.Latest().IDs.String(), "-")))
	}
	tw.Flush()
	fmt.Fprintf(e.Stdout, "%d payouts (state serial %d)\n", len(list), snap.Serial)
	return nil
}

// writeJSON writes v as indented JSON, unsafe characters in its strings
// as \uXXXX escapes (safetext.JSON).
func writeJSON(e *Env, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := e.Stdout.Write(safetext.JSON(b.Bytes()))
	return err
}

func runStateShow(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "state show", "[-config FILE] [-json] ADDRESS", `
Shows everything the state holds about one payout: its details (with its
reference and metadata, when its manifest had them), and every attempt
with its idempotency key, status, the provider's ids, fees and answer fields as
returned, timestamps, and who resolved it if a person did.`)
	asJSON := f.Bool("json", false, "print JSON")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := needArgs(f, "an address (batch/id)"); err != nil {
		return err
	}
	w, err := f.workspace()
	if err != nil {
		return err
	}
	defer w.Close()
	// Only the payout's batch is read, however long the history.
	batch, _, _ := strings.Cut(f.Arg(0), "/")
	st, err := w.Open(ctx, state.Options{Op: "state show", Partial: true, Batches: []string{batch}})
	if err != nil {
		return err
	}
	snap := st.Snapshot()
	p := snap.Payouts[f.Arg(0)]
	if p == nil {
		return withHint(fmt.Errorf("%s is not in the state", f.Arg(0)), "addresses are batch/id; `payctl state list` shows them")
	}
	if *asJSON {
		return writeJSON(e, map[string]any{"format_version": 1, "payout": p})
	}
	c, _ := money.LookupCurrency(p.Currency)
	out := e.Stdout
	fmt.Fprintf(out, "%s\n  status     %s\n  provider   %s (%s)\n  amount     %s %s\n", esc(p.Address), p.Status, esc(p.Provider), esc(p.Type), p.Amount.Human(c), esc(p.Currency))
	r := p.Recipient
	fmt.Fprintf(out, "  recipient  %s, account %s", esc(r.Name), esc(r.Account))
	for _, kv := range [][2]string{{"bank code", r.BankCode}, {"bank", r.Bank}, {"country", r.Country}, {"recipient id", r.ID}} {
		if kv[1] != "" {
			fmt.Fprintf(out, ", %s %s", kv[0], esc(kv[1]))
		}
	}
	fmt.Fprintln(out)
	if p.Reference != "" {
		fmt.Fprintf(out, "  reference  %s\n", esc(strconv.Quote(p.Reference)))
	}
	for _, m := range p.Metadata {
		fmt.Fprintf(out, "  metadata   %s %s\n", esc(m.Name), esc(strconv.Quote(m.Value)))
	}
	if p.PlannedFee != nil {
		fmt.Fprintf(out, "  fee        %s %s planned, borne by %s\n", p.PlannedFee.Human(c), p.Currency, p.FeePayer)
	}
	for _, a := range p.Attempts {
		fmt.Fprintf(out, "  attempt %d  %s, key %s, sent %s", a.N, a.Status, esc(a.Key), a.SentAt.Format(time.RFC3339))
		if a.Sends > 1 {
			fmt.Fprintf(out, " (sent %d times: earlier sends never arrived)", a.Sends)
		}
		fmt.Fprintln(out)
		if len(a.IDs) > 0 {
			fmt.Fprintf(out, "             provider ids: %s\n", escv(a.IDs))
		}
		if a.Fee != nil {
			fmt.Fprintf(out, "             fee as charged: %s %s\n", a.Fee.String(), p.Currency)
		}
		if g := snap.Groups[a.Group]; g != nil {
			fmt.Fprintf(out, "             provider payout %s, token %s, %d payouts, total %s", esc(g.ID), esc(g.Token), len(g.Addresses), g.Total.Human(c))
			if g.PlannedFee != nil {
				fmt.Fprintf(out, ", fee planned %s", g.PlannedFee)
			}
			if g.Fee != nil {
				fmt.Fprintf(out, ", charged %s", g.Fee)
			}
			fmt.Fprintln(out)
		}
		if len(a.Answer) > 0 {
			fmt.Fprintf(out, "             answer: %s\n", escv(a.Answer))
		}
		if a.Reason != "" {
			fmt.Fprintf(out, "             %s\n", esc(a.Reason))
		}
		if name := a.Answer.Get(providers.AnswerBankName); name != "" {
			fmt.Fprintf(out, "             bank's name for the account: %s\n", esc(name))
		}
		for _, f := range a.Findings {
			fmt.Fprintf(out, "             ! differs from the plan: %s\n", esc(f.String()))
		}
		if a.ResolvedBy != "" {
			fmt.Fprintf(out, "             resolved by %s\n", esc(a.ResolvedBy))
		}
		for _, ap := range a.ApprovedBy {
			fmt.Fprintf(out, "             approved by %s (key %s)\n", esc(ap.Principal), esc(ap.Key))
		}
		if a.FinalAt != nil {
			fmt.Fprintf(out, "             final at %s\n", a.FinalAt.Format(time.RFC3339))
		}
	}
	return nil
}

func runStateResolve(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "state resolve", "[-config FILE] ADDRESS (-paid | -failed [-force]) -reason TEXT", `
Records a person's decision about a payout whose outcome payctl could not learn
from the provider (status unknown), or that stays pending at the provider: -paid
if the money left (check the provider's dashboard or the recipient's bank), or
-failed if it did not, in which case the next plan retries it with a new attempt.
The decision, who made it and the reason are kept in the journal.

Before recording -failed, payctl asks the provider (the emulator too), and
refuses if the provider reports the payout paid or pending, or cannot be asked:
the retry would pay it twice. -force records it anyway, with the provider's
answer in the reason. When the provider cannot tell (Dinar Dragon after a lost
execute has no lookup), or has no record of the payout, your decision stands.`)
	paid := f.Bool("paid", false, "the money was paid")
	failed := f.Bool("failed", false, "the money was not paid; the next apply retries")
	force := f.Bool("force", false, "with -failed: record it even if the provider reports it paid or pending, or cannot be asked")
	reason := f.String("reason", "", "how you know, for the audit trail (required)")
	lockWait := f.Duration("lock-timeout", 0, "wait up to `D` for another payctl holding the state's lock")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := needArgs(f, "an address (batch/id)"); err != nil {
		return err
	}
	if *paid == *failed {
		return errors.New("say what happened: exactly one of -paid or -failed")
	}
	if *force && *paid {
		return errors.New("-force goes with -failed: -paid is recorded without asking the provider")
	}
	if strings.TrimSpace(*reason) == "" {
		return withHint(errors.New("-reason is required"), `say how you know, e.g. -reason "dashboard shows payment 4f1c... refunded"`)
	}
	w, err := f.workspace()
	if err != nil {
		return err
	}
	defer w.Close()
	batch, _, _ := strings.Cut(f.Arg(0), "/")
	st, err := w.Open(ctx, state.Options{Write: true, Op: "state resolve", LockWait: *lockWait, Partial: true, Batches: []string{batch}})
	if err != nil {
		return lockHint(err)
	}
	defer st.Close()
	res, err := w.Engine(st).Resolve(ctx, apply.Decision{Address: f.Arg(0), Paid: *paid, Reason: strings.TrimSpace(*reason), Force: *force})
	var de *apply.DisagreeError
	if errors.As(err, &de) {
		if de.Err != nil {
			return withHint(err, "retry when the provider can be reached; -force records it as failed without its answer, if you are sure nothing was paid")
		}
		return withHint(err, "`payctl refresh` records the provider's answer; -force records it as failed anyway, with the provider's answer in the reason")
	}
	if err != nil {
		return err
	}
	if err := st.Checkpoint(ctx); err != nil {
		return err
	}
	if *paid {
		fmt.Fprintf(e.Stdout, "Recorded %s as paid.\n", esc(f.Arg(0)))
		return nil
	}
	fmt.Fprintf(e.Stdout, "Recorded %s as failed; the next apply pays it with a new attempt.\n", esc(f.Arg(0)))
	fmt.Fprintf(e.Stdout, "Reason recorded: %s\n", esc(res.Reason))
	return nil
}

func runStateUnlock(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "state unlock", "[-config FILE] LOCK-ID", `
Clears a lock left by a payctl on another host that is gone (a lock left by a
dead process on this host is taken over automatically). The lock's ID is in the
error message of the command that found the lock. A lock held by a running
process cannot be cleared.`)
	if err := f.parse(args); err != nil {
		return err
	}
	if err := needArgs(f, "the lock ID"); err != nil {
		return err
	}
	w, err := f.workspace()
	if err != nil {
		return err
	}
	defer w.Close()
	b, err := w.Backend()
	if err != nil {
		return err
	}
	if err := b.ForceUnlock(ctx, f.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "Unlocked %s.\n", b.Describe())
	return nil
}
