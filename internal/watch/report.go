package watch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/atomicfile"
	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/internal/safetext"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// ResultVersion is the format_version of NAME.result.json.
const ResultVersion = 1

// Outcomes of a file in done/.
const (
	// OutcomeApplied: payouts were sent; every payout of the batch has a
	// status the provider gave (paid, pending or failed).
	OutcomeApplied = "applied"
	// OutcomeNothingToPay: every payout was sent before (a file dropped
	// again); nothing was sent.
	OutcomeNothingToPay = "nothing-to-pay"
	// OutcomeIncomplete: some payouts stayed unknown or unsent after every
	// retry; Attention says what a person must do.
	OutcomeIncomplete = "incomplete"
)

// Result is NAME.result.json, the report of a file moved to done/.
type Result struct {
	FormatVersion int    `json:"format_version"`
	File          string `json:"file"` // the file's name as it was taken
	Batch         string `json:"batch"`
	Provider      string `json:"provider"`
	Currency      string `json:"currency"`
	Digest        string `json:"digest"`
	Outcome       string `json:"outcome"`
	Message       string `json:"message"`
	// Resumed: an earlier run was cut short while the file was in
	// processing/; what it sent is included (the journal has it).
	Resumed bool `json:"resumed"`
	// Sent is how many payouts watch sent for this file (over every pass
	// since the file was taken or found).
	Sent        int             `json:"sent"`
	State       plan.StateRef   `json:"state"` // after the run
	ProcessedAt time.Time       `json:"processed_at"`
	Totals      []*StatusTotal  `json:"totals"`
	Payouts     []*PayoutResult `json:"payouts"`
	Attention   []string        `json:"attention"`
}

// StatusTotal sums the batch's payouts of one status.
type StatusTotal struct {
	Status  providers.Status `json:"status"`
	Payouts int              `json:"payouts"`
	Amount  money.Amount     `json:"amount"`
}

// PayoutResult is one payout of the batch, as the state records it after
// the run.
type PayoutResult struct {
	Address string `json:"address"`
	ID      string `json:"id"`
	// Action is what this run's plan did with it (pay, retry, unchanged...).
	Action  plan.Action      `json:"action"`
	Status  providers.Status `json:"status"`
	Attempt int              `json:"attempt,omitempty"`
	Amount  money.Amount     `json:"amount"`
	// Fee as the provider returned it; PlannedFee as the plan estimated it.
	Fee        *money.Amount     `json:"fee,omitempty"`
	PlannedFee *money.Amount     `json:"planned_fee,omitempty"`
	FeePayer   fee.Payer         `json:"fee_payer,omitempty"`
	IDs        map[string]string `json:"provider_ids,omitempty"`
	Reason     string            `json:"reason,omitempty"`
}

// settled reports whether watch is done with a status: the provider gave
// it (paid, pending, failed). Unknown, sending, not-sent and "no record"
// mean a later pass may still settle it.
func settled(s providers.Status) bool {
	return s == providers.StatusPaid || s == providers.StatusPending || s == providers.StatusFailed
}

// buildResult reads the batch's payouts from the state after a run.
func buildResult(snap *state.Snapshot, p *plan.Plan, location string) *Result {
	r := &Result{FormatVersion: ResultVersion, Totals: []*StatusTotal{}, Payouts: []*PayoutResult{}, Attention: []string{}}
	r.State = plan.StateRef{Location: location, Lineage: snap.Lineage, Serial: snap.Serial}
	byStatus := map[providers.Status]*StatusTotal{}
	for _, it := range p.Payouts {
		_, id, _ := strings.Cut(it.Address, "/")
		pr := &PayoutResult{Address: it.Address, ID: id, Action: it.Action, Amount: it.Amount, FeePayer: it.FeePayer, Status: ""}
		if sp := snap.Payouts[it.Address]; sp != nil {
			a := sp.Latest()
			pr.Status, pr.Attempt, pr.IDs, pr.Fee, pr.Reason = a.Status, a.N, a.IDs.Map(), a.Fee, a.Reason
			pr.PlannedFee = sp.PlannedFee
			if sp.FeePayer != "" {
				pr.FeePayer = sp.FeePayer
			}
		} else {
			pr.Status = providers.StatusNotSent
			pr.Reason = "no record: not sent"
		}
		r.Payouts = append(r.Payouts, pr)
		t := byStatus[pr.Status]
		if t == nil {
			t = &StatusTotal{Status: pr.Status, Amount: money.FromInt64(0)}
			byStatus[pr.Status] = t
		}
		t.Payouts++
		t.Amount = t.Amount.Add(pr.Amount)
		switch pr.Status {
		case providers.StatusFailed:
			r.Attention = append(r.Attention, fmt.Sprintf("%s failed (%s): drop the file into inbox/ again, or run `payctl apply FILE`, to retry it with a new attempt", pr.Address, orNone(pr.Reason)))
		case providers.StatusUnknown, providers.StatusSending:
			r.Attention = append(r.Attention, fmt.Sprintf("%s: the outcome is unknown (%s): check the provider's dashboard, then record it with `payctl state resolve %s -paid|-failed -reason TEXT`", pr.Address, orNone(pr.Reason), pr.Address))
		case providers.StatusNotSent:
			r.Attention = append(r.Attention, fmt.Sprintf("%s was not sent (%s): drop the file into inbox/ again, or run `payctl apply FILE`, once the provider answers", pr.Address, orNone(pr.Reason)))
		}
	}
	for _, s := range []providers.Status{providers.StatusPaid, providers.StatusPending, providers.StatusFailed, providers.StatusUnknown, providers.StatusSending, providers.StatusNotSent} {
		if t := byStatus[s]; t != nil {
			r.Totals = append(r.Totals, t)
		}
	}
	return r
}

// orNone is a provider's reason as the attention lines show it: escaped
// (safetext.Escape), or "no reason given".
func orNone(s string) string {
	if s == "" {
		return "no reason given"
	}
	return safetext.Escape(s)
}

// counts says "3 paid, 1 pending" for a result's totals.
func (r *Result) counts() string {
	var parts []string
	for _, t := range r.Totals {
		parts = append(parts, fmt.Sprintf("%d %s", t.Payouts, t.Status))
	}
	if len(parts) == 0 {
		return "no payouts"
	}
	return strings.Join(parts, ", ")
}

func writeJSON(path string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, safetext.JSON(buf.Bytes()), atomicfile.Options{Perm: 0o600})
}

// errorsText is NAME.errors.txt: the positioned messages `payctl validate`
// prints, one per line, and what to do.
func errorsText(errs diag.List) []byte {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.Error())
		b.WriteByte('\n')
	}
	b.WriteString("\nNothing was paid. Fix the file and drop it into inbox/ again; `payctl validate FILE` shows these errors too.\n")
	return []byte(b.String())
}

// heldText is NAME.plan.txt: why the file waits for a person, what to
// run, and the plan.
func heldText(final, heldPath, planPath, configFile string, reasons []string, approvals int, p *plan.Plan) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s was not paid: it waits for a person, because\n", safetext.Escape(final))
	for _, r := range reasons {
		fmt.Fprintf(&b, "  - %s\n", safetext.Escape(r))
	}
	if approvals > 0 {
		fmt.Fprintf(&b, `
It needs %[3]d signed %[4]s: each approver reviews the plan below and runs

  payctl approve -config %[1]s %[2]s
`, configFile, planPath, approvals, diag.Plural(approvals, "approval", "approvals"))
	}
	fmt.Fprintf(&b, `
To pay it, review the plan below, then run:

  payctl apply -config %[1]s %[2]s

The saved plan pins the state (serial %[3]d). If the state changed since (watch
pays other files meanwhile), apply refuses the plan as stale; then plan again
and apply the new plan:

  payctl plan -config %[1]s -out %[4]s.new.plan.json %[4]s
  payctl apply -config %[1]s %[4]s.new.plan.json

Apply plans the held file again and pays only if that gives this very plan: a
plan file edited after this text was written is refused and pays nothing.

Dropping the file into inbox/ again parks it here again (unless the policy
changed); it never pays twice either way.

`, configFile, planPath, p.State.Serial, heldPath)
	if err := p.WriteText(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
