package plan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/internal/safetext"
	"github.com/payctl/payctl/internal/textable"
)

// amt is an amount for people: grouped by thousands (never in JSON, where
// WriteJSON writes the plain decimal that Parse reads back).
func amt(a money.Amount, c money.Currency) string { return a.Human(c) + " " + c.Code }

func (p *Plan) counts() (pay, retry, pending, unknown, unchanged int) {
	for _, it := range p.Payouts {
		switch it.Action {
		case Pay:
			pay++
		case Retry:
			retry++
		case Pending:
			pending++
		case Unknown:
			unknown++
		case Unchanged:
			unchanged++
		}
	}
	return
}

// Summary is the one-line summary of a plan.
func (p *Plan) Summary() string {
	pay, retry, pending, unknown, unchanged := p.counts()
	s := fmt.Sprintf("%d to pay, %d to retry, %d unchanged, %d pending, %d unknown", pay, retry, unchanged, pending, unknown)
	if n, c := p.Flagged(); n+c > 0 {
		s += fmt.Sprintf("; to check: %d new %s, %d %s changed", n, diag.Plural(n, "account", "accounts"), c, diag.Plural(c, "account", "accounts"))
	}
	return s
}

var marks = map[Action]string{Pay: "+", Retry: "~", Pending: " ", Unknown: "?", Unchanged: " "}

func recipientText(it *Item, mask bool) string {
	r := it.Recipient
	acct := r.Account
	if mask {
		acct = MaskAccount(acct)
	}
	bank := r.BankCode
	if r.Bank != "" {
		bank = r.Bank
	}
	// Built in one allocation: a plan writes it for every payout, twice.
	var b strings.Builder
	b.Grow(len(r.Name) + len(bank) + len(acct) + len(r.Country) + 6)
	b.WriteString(r.Name)
	if bank != "" {
		b.WriteString(", ")
		b.WriteString(bank)
	}
	b.WriteString(", ")
	b.WriteString(acct)
	if r.Country != "" {
		b.WriteString(", ")
		b.WriteString(r.Country)
	}
	return b.String()
}

// memoText is a payout's reference and metadata for a person to read,
// "" when it has neither (so plans of manifests without them read as
// before): `reference "Invoice 7"; metadata costCentre="ops" invoice="INV-7"`.
// Values are quoted: they are free text, and a reader must see where each
// ends.
func memoText(it *Item) string {
	var parts []string
	if it.Reference != "" {
		parts = append(parts, "reference "+strconv.Quote(it.Reference))
	}
	if len(it.Metadata) > 0 {
		keys := make([]string, 0, len(it.Metadata))
		for k := range it.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		b.WriteString("metadata")
		for _, k := range keys {
			b.WriteString(" " + k + "=" + strconv.Quote(it.Metadata[k]))
		}
		parts = append(parts, b.String())
	}
	return strings.Join(parts, "; ")
}

// MaskAccount keeps the last four characters of an account number.
func MaskAccount(a string) string {
	if len(a) <= 4 {
		return strings.Repeat("*", len(a))
	}
	return strings.Repeat("*", len(a)-4) + a[len(a)-4:]
}

func feeText(it *Item) string {
	if it.Fee != nil {
		return amt(*it.Fee, it.Currency)
	}
	if it.Group >= 0 && it.Action.Sends() {
		return fmt.Sprintf("in #%d", it.Group+1)
	}
	return "-"
}

// feePayerReading says how apply reads a provider's answer about fees
// (see apply.Compare): who bears the fee is read from the provider's total,
// since its published example labels "customer" a total of amount + fee.
const feePayerReading = `  Answers are checked against these figures: a provider's totalAmount of amount + fee
  (Cronos' published example) means the sender bears the fee, amount - fee (its sandbox)
  the recipient; feePayer "merchant" means the sender, "customer" alone decides nothing.
  Any other difference is recorded as a finding, the payout's status unchanged.
`

// WriteText writes the plan for a terminal: aligned columns, every payout
// apply acts on or shows, the provider payouts, totals per provider and
// currency, and payouts gone from their manifests.
//
// The text is streamed: the payout table is measured in one pass over
// the plan and written in a second, so a plan of a million payouts is
// never held as text.
func (p *Plan) WriteText(w io.Writer) error {
	b := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(b, "Plan: %s.\n", p.Summary())
	p.writeDescriptions(b, "\n", "  %s: %s\n", "", safetext.Escape)
	listed := 0
	for _, it := range p.Payouts {
		if it.Action != Unchanged {
			listed++
		}
	}
	if listed > 0 {
		b.WriteString("\n")
		t := &textable.Table{Indent: "  ", Right: map[int]bool{3: true, 4: true, 6: true}}
		err := t.Stream(b, func(row func(...string), note func(string)) {
			row("", "ACTION", "ADDRESS", "AMOUNT", "FEE", "FEE BORNE BY", "RECIPIENT RECEIVES", "RECIPIENT")
			// One array for every row: cells passed one by one would make
			// a new slice per row, twice per payout.
			var cells [8]string
			for _, it := range p.Payouts {
				if it.Action == Unchanged {
					continue
				}
				cells = [8]string{marks[it.Action], string(it.Action), it.Address, amt(it.Amount, it.Currency), feeText(it),
					string(it.FeePayer), amt(it.Receives, it.Currency), recipientText(it, false)}
				row(cells[:]...)
				if it.Note != "" {
					note(it.Note)
				}
				if it.Review != "" {
					note(reviewNote(it, true))
				}
				if m := memoText(it); m != "" {
					note(m)
				}
			}
		})
		if err != nil {
			return err
		}
	}
	if _, _, _, _, unchanged := p.counts(); unchanged > 0 {
		if unchanged == 1 {
			fmt.Fprintf(b, "\n1 payout already paid is unchanged and not listed.\n")
		} else {
			fmt.Fprintf(b, "\n%d payouts already paid are unchanged and not listed.\n", unchanged)
		}
	}
	if len(p.Groups) > 0 {
		fmt.Fprintln(b, "\nFees charged per provider payout or batch:")
		t := &textable.Table{Indent: "  ", Right: map[int]bool{4: true, 5: true, 6: true}}
		err := t.Stream(b, func(row func(...string), _ func(string)) {
			row("#", "PROVIDER", "CHARGED PER", "BATCH", "PAYOUTS", "TOTAL", "FEE", "RULE")
			for i, g := range p.Groups {
				kind := "batch"
				if g.Request {
					kind = "provider payout"
				}
				row(fmt.Sprintf("#%d", i+1), g.Provider, kind, fmt.Sprintf("%s %d", g.Batch, g.Index),
					fmt.Sprint(len(g.Addresses)), amt(g.Total, g.Currency), amt(g.Fee, g.Currency), g.FeeRule)
			}
		})
		if err != nil {
			return err
		}
	}
	if p.Changes() {
		fmt.Fprintln(b, "\nTotals of what apply sends:")
		t := &textable.Table{Indent: "  ", Right: map[int]bool{2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true}}
		t.Row("PROVIDER", "CURRENCY", "PAY", "RETRY", "AMOUNT", "FEES", "BY SENDER", "BY RECIPIENTS", "RECIPIENTS RECEIVE", "BALANCE CHARGED")
		for _, tot := range p.Totals {
			if tot.Pay+tot.Retry == 0 {
				continue
			}
			c := money.CurrencyOf(tot.Currency)
			t.Row(tot.Provider, tot.Currency, fmt.Sprint(tot.Pay), fmt.Sprint(tot.Retry), tot.Amount.Human(c), tot.Fees.Human(c),
				tot.FeesSender.Human(c), tot.FeesRecipient.Human(c), tot.Receive.Human(c), tot.Charged.Human(c))
		}
		if _, err := t.WriteTo(b); err != nil {
			return err
		}
		if _, err := io.WriteString(b, feePayerReading); err != nil {
			return err
		}
	}
	if len(p.Gone) > 0 {
		fmt.Fprintln(b, "\nIn the state but gone from their manifests (payctl never undoes a payout):")
		t := &textable.Table{Indent: "  ", Right: map[int]bool{2: true}}
		err := t.Stream(b, func(row func(...string), _ func(string)) {
			for _, g := range p.Gone {
				row(g.Address, string(g.Status), amt(g.Amount, money.CurrencyOf(g.Currency)), g.Provider)
			}
		})
		if err != nil {
			return err
		}
	}
	return b.Flush()
}

// writeDescriptions lists the batches that have a description, one a line.
// lead and trail, around the list, are written only when there is one.
func (p *Plan) writeDescriptions(w io.Writer, lead, format, trail string, esc func(string) string) {
	first := true
	for _, m := range p.Manifests {
		if m.Description == "" {
			continue
		}
		if first {
			io.WriteString(w, lead)
			first = false
		}
		fmt.Fprintf(w, format, esc(m.Batch), esc(strings.Join(strings.Fields(m.Description), " ")))
	}
	if !first {
		io.WriteString(w, trail)
	}
}

// maxFlaggedMarkdown bounds the flagged payouts a Markdown plan lists
// outside the folded payout table.
const maxFlaggedMarkdown = 20

// MarkdownLimit is the size a Markdown plan stays under (GitHub's comment
// limit is 65,536 characters).
const MarkdownLimit = 65000

// WriteMarkdown writes the plan for a pull-request comment. Account numbers
// are masked (comments are mailed to watchers); the totals always fit, and
// the payout table is cut with a note when the whole would not.
func (p *Plan) WriteMarkdown(w io.Writer) error {
	var head, tail bytes.Buffer
	fmt.Fprintf(&head, "### payctl plan\n\n**%s**\n\n", p.Summary())
	p.writeDescriptions(&head, "", "- `%s`: %s\n", "\n", mdEscape)
	if len(p.Errors) > 0 {
		fmt.Fprintf(&head, "**%d errors: this plan cannot be applied.**\n\n", len(p.Errors))
		for i, e := range p.Errors {
			if i == 20 {
				fmt.Fprintf(&head, "- … and %d more (run `payctl validate`)\n", len(p.Errors)-20)
				break
			}
			fmt.Fprintf(&head, "- `%s`\n", mdEscape(e.Error()))
		}
		head.WriteString("\n")
	}
	if n, c := p.Flagged(); n+c > 0 {
		fmt.Fprintf(&head, "**Check these payouts before approving: %d to %s this state never paid, %d to %s whose account changed.**\n\n",
			n, diag.Plural(n, "an account", "accounts"), c, diag.Plural(c, "a recipient", "recipients"))
		shown := 0
		for _, it := range p.Payouts {
			if it.Review == "" || !it.Action.Sends() {
				continue
			}
			if shown == maxFlaggedMarkdown {
				fmt.Fprintf(&head, "- … and %d more (run `payctl plan` for all)\n", n+c-shown)
				break
			}
			shown++
			fmt.Fprintf(&head, "- `%s` %s: %s\n", mdEscape(it.Address), amt(it.Amount, it.Currency), mdEscape(it.CheckText()))
		}
		head.WriteString("\n")
	}
	if len(p.Totals) > 0 {
		head.WriteString("| Provider | Currency | Pay | Retry | Amount | Fees | Borne by sender | Borne by recipients | Recipients receive | Balance charged |\n")
		head.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, t := range p.Totals {
			c := money.CurrencyOf(t.Currency)
			fmt.Fprintf(&head, "| %s | %s | %d | %d | %s | %s | %s | %s | %s | %s |\n", t.Provider, t.Currency, t.Pay, t.Retry,
				t.Amount.Human(c), t.Fees.Human(c), t.FeesSender.Human(c), t.FeesRecipient.Human(c), t.Receive.Human(c), t.Charged.Human(c))
		}
		head.WriteString("\n")
		if p.Changes() {
			// The reviewers of a pull request read this, not the terminal's.
			head.WriteString(strings.Join(strings.Fields(feePayerReading), " ") + "\n\n")
		}
	}
	if len(p.Groups) > 0 {
		head.WriteString("| # | Provider | Charged per | Batch | Payouts | Total | Fee | Rule |\n|--:|---|---|---|--:|--:|--:|---|\n")
		for i, g := range p.Groups {
			kind := "batch"
			if g.Request {
				kind = "provider payout"
			}
			fmt.Fprintf(&head, "| %d | %s | %s | %s %d | %d | %s | %s | %s |\n", i+1, g.Provider, kind, mdEscape(g.Batch), g.Index,
				len(g.Addresses), amt(g.Total, g.Currency), amt(g.Fee, g.Currency), mdEscape(g.FeeRule))
		}
		head.WriteString("\n")
	}
	if len(p.Gone) > 0 {
		fmt.Fprintf(&tail, "<details><summary>%d payouts in the state but gone from their manifests (never undone)</summary>\n\n", len(p.Gone))
		for _, g := range p.Gone {
			fmt.Fprintf(&tail, "- `%s` %s %s\n", g.Address, g.Status, amt(g.Amount, money.CurrencyOf(g.Currency)))
		}
		tail.WriteString("\n</details>\n")
	}
	var rows []string
	for _, it := range p.Payouts {
		if it.Action == Unchanged {
			continue
		}
		note := ""
		if it.Note != "" {
			note = " — " + mdEscape(it.Note)
		}
		switch it.Review {
		case NewAccount:
			note += " — **new account**"
		case AccountChanged:
			note += " — **" + mdEscape(strings.TrimPrefix(reviewNote(it, true), "! ")) + "**"
		}
		if m := memoText(it); m != "" {
			note += " — " + mdEscape(m)
		}
		rows = append(rows, fmt.Sprintf("| %s %s | `%s` | %s | %s | %s | %s | %s%s |\n", marks[it.Action], it.Action, it.Address,
			amt(it.Amount, it.Currency), feeText(it), it.FeePayer, amt(it.Receives, it.Currency), mdEscape(recipientText(it, true)), note))
	}
	var body bytes.Buffer
	if len(rows) > 0 {
		tableHead := fmt.Sprintf("<details><summary>Payouts apply acts on (%d)</summary>\n\n| | Address | Amount | Fee | Fee borne by | Recipient receives | Recipient |\n|---|---|--:|--:|---|--:|---|\n", len(rows))
		closing := "\n</details>\n\n"
		budget := MarkdownLimit - head.Len() - tail.Len() - len(tableHead) - len(closing) - 200
		body.WriteString(tableHead)
		for i, r := range rows {
			if body.Len()+len(r) > budget+len(tableHead) {
				fmt.Fprintf(&body, "\n… and %d more payouts: too many for a comment; run `payctl plan` for the full list.\n", len(rows)-i)
				break
			}
			body.WriteString(r)
		}
		body.WriteString(closing)
	}
	_, err := fmt.Fprintf(w, "%s%s%s", head.String(), body.String(), tail.String())
	return err
}

var mdReplacer = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "`", "'", "\n", " ")

// mdEscape makes outside text inert in Markdown: unsafe characters
// become \uXXXX (safetext.Escape), then Markdown's own specials are
// neutralised.
func mdEscape(s string) string { return mdReplacer.Replace(safetext.Escape(s)) }

// WriteJSON writes the plan as indented JSON; it is also the saved-plan
// format.
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}
