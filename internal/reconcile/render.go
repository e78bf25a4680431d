package reconcile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/safetext"
)

// Everything a provider reported (ids, references, statuses, accounts,
// reasons) is text payctl did not write: text and Markdown escape it with
// safetext, JSON with safetext.JSON.

// WriteText writes the report for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Reconciled from %s to %s.\n", r.Since.Format(time.RFC3339), r.Until.Format(time.RFC3339))
	for _, p := range r.Providers {
		b.WriteString(providerLine(p, esc))
		b.WriteString("\n")
	}
	if len(r.Findings) > 0 {
		b.WriteString("\n")
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%-11s %s %s\n", f.Kind, esc(f.Provider), esc(subject(f)))
		if d := detail(f); d != "" {
			fmt.Fprintf(&b, "  %s\n", esc(d))
		}
		fmt.Fprintf(&b, "  %s\n", esc(f.Meaning))
	}
	fmt.Fprintf(&b, "%s.\n", summary(r))
	if r.Recorded != nil {
		fmt.Fprintf(&b, "Recorded %d changes in the state, as payctl refresh does.\n", *r.Recorded)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteJSON writes the report as JSON (format_version 1).
func (r *Report) WriteJSON(w io.Writer) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return err
	}
	_, err := w.Write(safetext.JSON(b.Bytes()))
	return err
}

// WriteMarkdown writes the report for a pull request or an issue.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "### Reconciliation from %s to %s\n\n", r.Since.Format(time.RFC3339), r.Until.Format(time.RFC3339))
	for _, p := range r.Providers {
		fmt.Fprintf(&b, "- %s\n", providerLine(p, mdText))
	}
	b.WriteString("\n")
	if len(r.Findings) > 0 {
		b.WriteString("| Finding | Provider | Payment | Difference | What it means |\n")
		b.WriteString("|---|---|---|---|---|\n")
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", f.Kind, mdText(f.Provider), mdCode(subject(f)), mdText(detail(f)), mdText(f.Meaning))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "**%s.**\n", summary(r))
	if r.Recorded != nil {
		fmt.Fprintf(&b, "\nRecorded %d changes in the state, as payctl refresh does.\n", *r.Recorded)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func providerLine(p Provider, q func(string) string) string {
	head := fmt.Sprintf("%s (%s)", q(p.Name), q(p.Type))
	if p.Skipped != "" {
		return fmt.Sprintf("%s: not reconciled: %s", head, q(p.Skipped))
	}
	var s string
	if p.Complete {
		s = fmt.Sprintf("%s: %d payments listed since %s, %d attempts of the state in the window", head, p.Listed, p.Since.Format(time.RFC3339), p.Attempts)
	} else {
		s = fmt.Sprintf("%s: %d payments reported for the provider payouts asked about, %d attempts of the state since %s (payments under other provider payouts cannot be seen: name them with -payment-id)", head, p.Listed, p.Attempts, p.Since.Format(time.RFC3339))
	}
	for _, k := range slices.Sorted(maps.Keys(p.Unanswered)) {
		s += fmt.Sprintf("; %s not read: %s", q(k), q(p.Unanswered[k]))
	}
	return s
}

// subject names the payment: the payout address if any, and the
// provider's ids.
func subject(f Finding) string {
	var parts []string
	if f.Address != "" {
		parts = append(parts, fmt.Sprintf("%s attempt %d", f.Address, f.Attempt))
	}
	for _, k := range slices.Sorted(maps.Keys(f.IDs)) {
		parts = append(parts, k+"="+f.IDs[k])
	}
	if f.Reference != "" {
		parts = append(parts, "reference "+f.Reference)
	}
	return strings.Join(parts, " ")
}

func detail(f Finding) string {
	switch f.Kind {
	case Differs:
		return fmt.Sprintf("%s: the state says %s, the provider %s", f.Field, f.State, f.Reported)
	case Unexplained:
		return "the provider reports " + f.Reported
	case Missing:
		return "the state says " + f.State
	}
	return ""
}

func summary(r *Report) string {
	switch n := len(r.Findings); n {
	case 0:
		return "No findings: the providers' records match the state"
	case 1:
		return "1 finding"
	default:
		return fmt.Sprintf("%d findings", n)
	}
}

func esc(s string) string { return safetext.Escape(s) }

var mdReplacer = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", "&lt;", ">", "&gt;", "|", `\|`, "#", `\#`, "\n", " ", "\r", " ",
)

func mdText(s string) string { return mdReplacer.Replace(safetext.Escape(s)) }

var mdCodeReplacer = strings.NewReplacer("`", "'", "|", `\|`, "\n", " ", "\r", " ")

func mdCode(s string) string { return "`" + mdCodeReplacer.Replace(safetext.Escape(s)) + "`" }
