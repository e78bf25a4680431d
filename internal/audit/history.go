package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/internal/safetext"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// Filter selects history entries; zero fields select everything.
type Filter struct {
	Address  string
	Batch    string
	Provider string
	Status   providers.Status
	// Since is inclusive, Until exclusive.
	Since, Until time.Time
}

// Entry is one line of the history: a journal record as it concerns one
// payout, or a record about the state or a provider payout as a whole
// (Address empty).
type Entry struct {
	FormatVersion int        `json:"format_version"`
	Seq           uint64     `json:"seq"`
	Time          time.Time  `json:"time"`
	Kind          state.Kind `json:"kind"`
	Op            string     `json:"op,omitempty"`
	By            string     `json:"by,omitempty"`
	Provider      string     `json:"provider,omitempty"`
	// Lineage is set on the record that created the state.
	Lineage string `json:"lineage,omitempty"`

	Address   string           `json:"address,omitempty"`
	Attempt   int              `json:"attempt,omitempty"`
	Status    providers.Status `json:"status,omitempty"`
	Key       string           `json:"key,omitempty"`
	Amount    *money.Amount    `json:"amount,omitempty"`
	Currency  string           `json:"currency,omitempty"`
	Recipient string           `json:"recipient,omitempty"`
	// Account is masked to its last four digits.
	Account string `json:"account,omitempty"`
	// Reference and Metadata are the payout's, on the intent that first
	// recorded them.
	Reference string            `json:"reference,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	// ApprovedBy are, on an intent, the people whose signed approvals of
	// the plan let it be sent.
	ApprovedBy []state.Approver `json:"approved_by,omitempty"`

	// Group is the provider payout (batch providers).
	Group string `json:"provider_payout,omitempty"`
	// Payouts is how many payouts a provider payout carries (its own line).
	Payouts    int           `json:"payouts,omitempty"`
	Token      string        `json:"token,omitempty"`
	PlannedFee *money.Amount `json:"planned_fee,omitempty"`
	QuotedFee  *money.Amount `json:"quoted_fee,omitempty"`

	// What the provider answered.
	IDs    map[string]string `json:"ids,omitempty"`
	Fee    *money.Amount     `json:"fee,omitempty"`
	Answer map[string]string `json:"answer,omitempty"`
	Reason string            `json:"reason,omitempty"`
	// Findings are where the answer differed from the plan.
	Findings []state.Finding `json:"findings,omitempty"`
}

// History streams the journal and calls fn with every entry the filter
// selects, oldest first. A torn final record is returned, not read.
func History(ctx context.Context, j Journal, f Filter, fn func(*Entry) error) (*state.Torn, error) {
	// Only later records of a payout lack its currency: remember it from
	// the first intent. This grows with payouts, not with the journal.
	currency := map[string]string{}
	return j.ReadJournal(ctx, func(e *state.Event) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, ep := range e.Payouts {
			if ep.Currency != "" {
				currency[ep.Address] = ep.Currency
			}
		}
		if (!f.Since.IsZero() && e.Time.Before(f.Since)) || (!f.Until.IsZero() && !e.Time.Before(f.Until)) {
			return nil
		}
		if f.Provider != "" && e.Provider != f.Provider {
			return nil
		}
		base := Entry{FormatVersion: FormatVersion, Seq: e.Seq, Time: e.Time.UTC(), Kind: e.Kind, Op: e.Op, By: e.By, Provider: e.Provider, ApprovedBy: e.Approvals}
		whole := f.Address == "" && f.Status == ""
		if e.Kind == state.KindCreate {
			if whole && f.Batch == "" && f.Provider == "" {
				en := base
				en.Lineage = e.Lineage
				return fn(&en)
			}
			return nil
		}
		var lines []*Entry
		batchSeen := false
		for _, ep := range e.Payouts {
			batch, _, _ := strings.Cut(ep.Address, "/")
			if f.Batch != "" && batch != f.Batch {
				continue
			}
			batchSeen = true
			if f.Address != "" && ep.Address != f.Address {
				continue
			}
			if f.Status != "" && ep.Status != f.Status {
				continue
			}
			en := base
			en.Address, en.Attempt, en.Status, en.Key = ep.Address, ep.Attempt, ep.Status, ep.Key
			en.Amount, en.Currency = ep.Amount, currency[ep.Address]
			if ep.Recipient != nil {
				en.Recipient, en.Account = ep.Recipient.Name, plan.MaskAccount(ep.Recipient.Account)
			}
			en.Reference, en.Metadata = ep.Reference, ep.Metadata
			en.Group = e.Group
			en.PlannedFee = ep.PlannedFee
			en.IDs, en.Fee, en.Answer, en.Reason, en.Findings = ep.IDs, ep.Fee, ep.Answer, ep.Reason, ep.Findings
			if en.Reason == "" {
				en.Reason = e.Reason
			}
			lines = append(lines, &en)
		}
		if e.Group != "" && whole && (f.Batch == "" || batchSeen) {
			en := base
			en.Group, en.Payouts, en.Token = e.Group, len(e.Payouts), e.Token
			en.PlannedFee, en.QuotedFee, en.Fee, en.IDs, en.Reason = e.PlannedFee, e.QuotedFee, e.Fee, e.GroupIDs, e.Reason
			if len(e.Payouts) > 0 {
				en.Currency = currency[e.Payouts[0].Address]
				if e.Kind == state.KindIntent {
					total := money.FromInt64(0)
					for _, ep := range e.Payouts {
						if ep.Amount != nil {
							total = total.Add(*ep.Amount)
						}
					}
					en.Amount = &total
				}
			}
			lines = append([]*Entry{&en}, lines...)
		}
		for _, en := range lines {
			if err := fn(en); err != nil {
				return err
			}
		}
		return nil
	})
}

// Text is the entry as one line of a timeline: when, which record, what
// kind, who (and with which command), the payout and its status, and what
// was sent or what the provider answered.
func (e *Entry) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  #%-4d %-8s %s  ", e.Time.UTC().Format(time.RFC3339), e.Seq, e.Kind, whoBy(e.By, e.Op))
	switch {
	case e.Kind == state.KindCreate:
		fmt.Fprintf(&b, "state created, lineage %s", e.Lineage)
	case e.Address == "":
		fmt.Fprintf(&b, "provider payout %s of %s: %d payouts", e.Group, e.Provider, e.Payouts)
		if e.Amount != nil {
			fmt.Fprintf(&b, ", %s %s", humanAmount(*e.Amount, e.Currency), e.Currency)
		}
		for _, f := range []struct {
			label string
			v     *money.Amount
		}{{"planned fee", e.PlannedFee}, {"quoted fee", e.QuotedFee}, {"fee", e.Fee}} {
			if f.v != nil {
				fmt.Fprintf(&b, ", %s %s %s", f.label, humanAmount(*f.v, e.Currency), e.Currency)
			}
		}
		if e.Token != "" && e.Kind == state.KindIntent {
			fmt.Fprintf(&b, ", token %s", e.Token)
		}
		if len(e.ApprovedBy) > 0 {
			fmt.Fprintf(&b, ", approved by %s", approverNames(e.ApprovedBy))
		}
		b.WriteString(answerText(e.IDs, nil, e.Currency, "", e.Reason))
	default:
		fmt.Fprintf(&b, "%s attempt %d  %s", e.Address, e.Attempt, e.Status)
		if e.Amount != nil {
			fmt.Fprintf(&b, ", %s %s", humanAmount(*e.Amount, e.Currency), e.Currency)
			if e.Recipient != "" {
				fmt.Fprintf(&b, " to %s (%s)", e.Recipient, e.Account)
			}
			fmt.Fprintf(&b, " via %s", e.Provider)
		}
		if e.Reference != "" {
			fmt.Fprintf(&b, ", reference %q", e.Reference)
		}
		if len(e.Metadata) > 0 {
			b.WriteString(", metadata")
			for _, k := range sortedKeys(e.Metadata) {
				fmt.Fprintf(&b, " %s=%q", k, e.Metadata[k])
			}
		}
		if e.Kind == state.KindIntent && e.Key != "" {
			fmt.Fprintf(&b, ", key %s", e.Key)
		}
		if len(e.ApprovedBy) > 0 {
			fmt.Fprintf(&b, ", approved by %s", approverNames(e.ApprovedBy))
		}
		b.WriteString(answerText(e.IDs, e.Fee, e.Currency, e.Answer["status"], e.Reason))
		for _, f := range e.Findings {
			b.WriteString("; differs from the plan: " + f.String())
		}
	}
	// One line, most of it from the journal: names, ids and reasons a
	// provider sent. Nothing in it may break the line or drive the
	// terminal.
	return safetext.Escape(b.String())
}

func whoBy(by, op string) string {
	if by == "" {
		by = "someone"
	}
	if op == "" {
		return by
	}
	return by + " (" + op + ")"
}

// HistoryWriter writes entries as a text timeline or as JSON lines.
type HistoryWriter struct {
	W    io.Writer
	JSON bool
	// Count is how many entries were written.
	Count int
	enc   *json.Encoder
	buf   bytes.Buffer
}

// Write writes one entry.
func (h *HistoryWriter) Write(e *Entry) error {
	h.Count++
	if h.JSON {
		if h.enc == nil {
			h.enc = json.NewEncoder(&h.buf)
			h.enc.SetEscapeHTML(false)
		}
		h.buf.Reset()
		if err := h.enc.Encode(e); err != nil {
			return err
		}
		_, err := h.W.Write(safetext.JSON(h.buf.Bytes()))
		return err
	}
	_, err := io.WriteString(h.W, e.Text()+"\n")
	return err
}

// approverNames are approvers' principals, "alice@example.com,
// bob@example.com".
func approverNames(a []state.Approver) string {
	names := make([]string, len(a))
	for i, ap := range a {
		names[i] = ap.Principal
	}
	return strings.Join(names, ", ")
}
