package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/internal/safetext"
	"github.com/payctl/payctl/internal/textable"
)

// WriteJSON writes the diff as indented JSON (format_version 1).
func (d *Diff) WriteJSON(w io.Writer) error { return writeJSON(w, d) }

func writeJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	return write(w, safetext.JSON(b.Bytes()))
}

// WriteText writes the diff for a terminal: findings first, then the
// payouts added, the status changes with the journal records behind them,
// the resolutions, and the interval's totals.
func (d *Diff) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "State diff: %s (serial %d) -> %s (serial %d)\n", esc(d.Old.Name), d.Old.Serial, esc(d.New.Name), d.New.Serial)
	fmt.Fprintf(&b, "Lineage %s; %s.\n", esc(d.New.Lineage), esc(d.journalText()))
	b.WriteString("\n")
	if d.OK() {
		b.WriteString("Findings: none; every change is one payctl makes.\n")
	} else {
		fmt.Fprintf(&b, "Findings: %s payctl never makes:\n", plural(len(d.Findings), "change"))
		for _, f := range d.Findings {
			fmt.Fprintf(&b, "  ! %s\n", esc(f.Error()))
		}
	}
	if d.Old.Lineage != d.New.Lineage {
		return write(w, b.Bytes())
	}
	section := func(title string, list []*PayoutChange, mark string) {
		if len(list) == 0 {
			fmt.Fprintf(&b, "\n%s: none.\n", title)
			return
		}
		fmt.Fprintf(&b, "\n%s: %d\n", title, len(list))
		t := &textable.Table{Indent: "  ", Right: map[int]bool{2: true}, NoteIndent: "    "}
		for _, c := range list {
			status := c.To.String()
			if c.From != nil {
				status = c.From.String() + " -> " + status
			}
			t.Row(mark, c.Address, humanAmount(c.Amount, c.Currency)+" "+c.Currency, c.Provider, status)
			for _, e := range c.Events {
				t.Note(eventText(e, c.Currency))
			}
		}
		t.WriteTo(&b)
	}
	section("Added", d.Added, "+")
	section("Status changes", d.Changed, "~")
	if len(d.Resolved) == 0 {
		b.WriteString("\nResolved by a person: none.\n")
	} else {
		fmt.Fprintf(&b, "\nResolved by a person: %d\n", len(d.Resolved))
		for _, r := range d.Resolved {
			fmt.Fprintf(&b, "  ! %s attempt %d: %s, by %s%s: %s\n", esc(r.Address), r.Attempt, r.Status, esc(r.By), atText(r.At), esc(r.Reason))
		}
	}
	if len(d.Differing) > 0 {
		fmt.Fprintf(&b, "\nProvider answers that differ from the plan (statuses as the provider said): %d\n", len(d.Differing))
		for _, f := range d.Differing {
			fmt.Fprintf(&b, "  ! %s attempt %d (%s): %s\n", esc(f.Address), f.Attempt, f.Status, esc(f.Finding.String()))
		}
	}
	if len(d.Totals) == 0 {
		b.WriteString("\nTotals for the interval: nothing paid, charged or pending.\n")
	} else {
		b.WriteString("\nTotals for the interval:\n")
		t := &textable.Table{Indent: "  ", Right: map[int]bool{2: true, 3: true, 4: true, 5: true, 6: true}}
		t.Row("PROVIDER", "CURRENCY", "PAID", "FEES CHARGED", "RETURNED", "STILL PENDING", "UNKNOWN")
		for _, tt := range d.Totals {
			t.Row(tt.Provider, tt.Currency,
				counted(tt.Paid, tt.PaidCount, tt.Currency), humanAmount(tt.Fees, tt.Currency),
				counted(tt.Returned, tt.ReturnedCount, tt.Currency),
				counted(tt.Pending, tt.PendingCount, tt.Currency), counted(tt.Unknown, tt.UnknownCount, tt.Currency))
		}
		t.WriteTo(&b)
	}
	return write(w, b.Bytes())
}

func (d *Diff) journalText() string {
	switch {
	case d.Journal.Source == "":
		return "no journal read"
	case d.Journal.Note != "":
		return fmt.Sprintf("journal %s %s", d.Journal.Source, d.Journal.Note)
	}
	return fmt.Sprintf("%d journal records in between, from %s", d.Journal.Events, d.Journal.Source)
}

// plural is "1 finding", "2 findings".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "ch") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func write(w io.Writer, b []byte) error {
	_, err := w.Write(b)
	return err
}

// counted is "amount (n)", or "0" when nothing counted.
func counted(a money.Amount, n int, currency string) string {
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("%s (%d)", humanAmount(a, currency), n)
}

func atText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return " at " + t.UTC().Format(time.RFC3339)
}

// eventText is one journal record as it concerns one payout:
// "#7  2026-11-20T10:00:15Z  outcome (apply, ana@finance): pending, id=... fee 3000".
func eventText(e *EventRef, currency string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-6s %s  %s (%s): %s", fmt.Sprintf("#%d", e.Seq), e.Time.UTC().Format(time.RFC3339), e.Kind, whoText(e.Op, e.By), e.Status)
	if e.Attempt > 1 {
		fmt.Fprintf(&b, " (attempt %d)", e.Attempt)
	}
	b.WriteString(answerText(e.IDs, e.Fee, currency, e.ProviderStatus, e.Reason))
	return b.String()
}

func whoText(op, by string) string {
	switch {
	case op == "":
		return by
	case by == "":
		return op
	}
	return op + ", " + by
}

// answerText is what a provider answered: ids, fee, its own status word,
// the reason; with a leading separator, or "" when there is nothing.
func answerText(ids map[string]string, fee *money.Amount, currency, providerStatus, reason string) string {
	var parts []string
	if len(ids) > 0 {
		var kv []string
		for _, k := range sortedKeys(ids) {
			kv = append(kv, k+"="+ids[k])
		}
		parts = append(parts, strings.Join(kv, " "))
	}
	if fee != nil {
		parts = append(parts, "fee "+humanAmount(*fee, currency)+" "+currency)
	}
	if providerStatus != "" {
		parts = append(parts, fmt.Sprintf("provider said %q", providerStatus))
	}
	if reason != "" {
		parts = append(parts, reason)
	}
	if len(parts) == 0 {
		return ""
	}
	return ", " + strings.Join(parts, "; ")
}

// WriteMarkdown writes the diff for a pull request comment: findings first,
// totals, then the payouts with their journal records. Accounts do not
// appear; findings about them show only their last four digits.
func (d *Diff) WriteMarkdown(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString("### payctl state diff\n\n")
	fmt.Fprintf(&b, "`%s` (serial %d) → `%s` (serial %d), lineage `%s`; %s.\n\n", mdCode(d.Old.Name), d.Old.Serial, mdCode(d.New.Name), d.New.Serial, d.New.Lineage, mdText(d.journalText()))
	if d.OK() {
		b.WriteString("**No findings:** every change is one payctl makes.\n\n")
	} else {
		fmt.Fprintf(&b, "**%s: changes payctl never makes.**\n\n", plural(len(d.Findings), "finding"))
		for _, f := range d.Findings {
			fmt.Fprintf(&b, "- `%s`: %s\n", mdCode(f.Where()), mdText(f.Message))
		}
		b.WriteString("\n")
	}
	if d.Old.Lineage != d.New.Lineage {
		return write(w, b.Bytes())
	}
	if len(d.Totals) > 0 {
		b.WriteString("| Provider | Currency | Paid | Fees charged | Returned | Still pending | Unknown |\n")
		b.WriteString("|---|---|--:|--:|--:|--:|--:|\n")
		for _, tt := range d.Totals {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", mdText(tt.Provider), tt.Currency,
				counted(tt.Paid, tt.PaidCount, tt.Currency), humanAmount(tt.Fees, tt.Currency),
				counted(tt.Returned, tt.ReturnedCount, tt.Currency),
				counted(tt.Pending, tt.PendingCount, tt.Currency), counted(tt.Unknown, tt.UnknownCount, tt.Currency))
		}
		b.WriteString("\n")
	}
	section := func(title string, list []*PayoutChange) {
		if len(list) == 0 {
			return
		}
		fmt.Fprintf(&b, "#### %s (%d)\n\n", title, len(list))
		b.WriteString("| Address | Amount | Provider | Status | Journal |\n|---|--:|---|---|---|\n")
		for _, c := range list {
			status := mdText(c.To.String())
			if c.From != nil {
				status = mdText(c.From.String()) + " → " + status
			}
			var evs []string
			for _, e := range c.Events {
				evs = append(evs, fmt.Sprintf("#%d %s %s (%s): %s", e.Seq, e.Time.UTC().Format(time.RFC3339), e.Kind, mdText(whoText(e.Op, e.By)), mdText(string(e.Status)+answerText(e.IDs, e.Fee, c.Currency, e.ProviderStatus, e.Reason))))
			}
			fmt.Fprintf(&b, "| `%s` | %s %s | %s | %s | %s |\n", mdCode(c.Address), humanAmount(c.Amount, c.Currency), c.Currency, mdText(c.Provider), status, strings.Join(evs, "<br>"))
		}
		b.WriteString("\n")
	}
	section("Added", d.Added)
	section("Status changes", d.Changed)
	if len(d.Resolved) > 0 {
		fmt.Fprintf(&b, "#### Resolved by a person (%d)\n\n", len(d.Resolved))
		b.WriteString("| Address | Attempt | Decision | By | At | Reason |\n|---|--:|---|---|---|---|\n")
		for _, r := range d.Resolved {
			at := ""
			if r.At != nil {
				at = r.At.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(&b, "| `%s` | %d | %s | %s | %s | %s |\n", mdCode(r.Address), r.Attempt, r.Status, mdText(r.By), at, mdText(r.Reason))
		}
		b.WriteString("\n")
	}
	if len(d.Differing) > 0 {
		fmt.Fprintf(&b, "#### Provider answers that differ from the plan (%d)\n\n", len(d.Differing))
		b.WriteString("| Address | Attempt | Status | Difference |\n|---|--:|---|---|\n")
		for _, f := range d.Differing {
			fmt.Fprintf(&b, "| `%s` | %d | %s | %s |\n", mdCode(f.Address), f.Attempt, f.Status, mdText(f.Finding.String()))
		}
		b.WriteString("\n")
	}
	return write(w, b.Bytes())
}

var mdReplacer = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", "&lt;", ">", "&gt;", "|", `\|`, "#", `\#`, "\n", " ", "\r", " ",
)

// mdText escapes free text (reasons, names) for Markdown table cells.
func mdText(s string) string { return mdReplacer.Replace(safetext.Escape(s)) }

// mdCode makes s safe inside a `code span` in a table cell.
func mdCode(s string) string { return mdCodeReplacer.Replace(safetext.Escape(s)) }

// esc is how text from outside (names, file names, provider answers, who
// resolved what) appears in text output: unsafe characters as \uXXXX.
func esc(s string) string { return safetext.Escape(s) }

var mdCodeReplacer = strings.NewReplacer("`", "'", "|", `\|`, "\n", " ", "\r", " ")
