package plan

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/money"
)

// ErrMismatch is wrapped by every refusal to apply a saved plan that is not
// the plan its own manifests, config and state give.
//
// A saved plan is a claim, not an authority: its digests and keys follow
// documented formulas and hold no secret, so anyone who can write the file
// can make them consistent. Apply therefore plans again from what the file
// pins and pays only when the result is the file, payout for payout.
var ErrMismatch = errors.New("saved plan does not match its manifests")

// Mismatch is one difference between a saved plan and the plan derived
// again from its manifests.
type Mismatch struct {
	// Address is the payout address concerned, or "" (a group, a total, a
	// manifest).
	Address string
	// Pointer is the JSON pointer of the value in the saved plan, or ""
	// when the saved plan has no such value.
	Pointer string
	// Field is the name of the differing value below the payout, group or
	// total (e.g. "recipient/account"), or "".
	Field string
	// What says what differs.
	What string
}

// String reads "payout ADDRESS (POINTER): WHAT", "payout ADDRESS: WHAT"
// or "POINTER: WHAT".
func (m Mismatch) String() string {
	switch {
	case m.Address != "" && m.Pointer != "":
		return fmt.Sprintf("payout %s (%s): %s", m.Address, m.Pointer, m.What)
	case m.Address != "":
		return fmt.Sprintf("payout %s: %s", m.Address, m.What)
	case m.Pointer != "":
		return m.Pointer + ": " + m.What
	}
	return m.What
}

// MismatchError lists how a saved plan differs from the plan derived again
// from its manifests. Nothing of the saved plan is paid.
type MismatchError struct {
	File       string
	Mismatches []Mismatch
}

// maxShown bounds how many mismatches the error's text names.
const maxShown = 5

// Error names the first differences; the fields of one payout that differ
// are named together.
func (e *MismatchError) Error() string {
	var parts []string
	ms := e.Mismatches
	i := 0
	for i < len(ms) && len(parts) < maxShown {
		m := ms[i]
		if m.Address == "" || m.Field == "" {
			parts = append(parts, m.String())
			i++
			continue
		}
		var fields []string
		for ; i < len(ms) && ms[i].Address == m.Address && ms[i].Field != ""; i++ {
			fields = append(fields, ms[i].Field+" "+ms[i].What)
		}
		parts = append(parts, fmt.Sprintf("payout %s (%s): %s", m.Address, strings.TrimSuffix(m.Pointer, "/"+m.Field), strings.Join(fields, ", ")))
	}
	if n := len(ms) - i; n > 0 {
		parts = append(parts, fmt.Sprintf("and %d more differences", n))
	}
	return fmt.Sprintf("%s: the plan file was edited or does not come from these manifests, so nothing was paid: %s", e.File, strings.Join(parts, "; "))
}

func (e *MismatchError) Unwrap() error { return ErrMismatch }

// Matches checks that the saved plan p (read from file) is derived, the plan
// made again from the manifests, config and state p pins: the same
// manifests (by digest), the same payouts with every field alike (action,
// attempt, key, provider, type, currency, amount, fee, fee payer, what the
// recipient receives, every recipient field, digest, status, group, note,
// position), the same groups (which payouts go together, their totals and
// fees) and the same totals. Payouts in the state but gone from a
// manifest are informational and not compared.
//
// It returns nil or a *MismatchError; callers then pay derived, never p.
func (p *Plan) Matches(file string, derived *Plan) error {
	var ms []Mismatch
	add := func(addr, ptr, format string, args ...any) {
		ms = append(ms, Mismatch{Address: addr, Pointer: ptr, What: fmt.Sprintf(format, args...)})
	}
	if n := len(derived.Errors); n > 0 {
		add("", "", "planning its manifests again gives %d errors, the first: %s", n, derived.Errors[0])
	}
	field := func(addr, ptr, name, got, want string) {
		if got != want {
			ms = append(ms, Mismatch{Address: addr, Pointer: ptr + "/" + name, Field: name,
				What: fmt.Sprintf("%q in the plan file but %q from the manifests", got, want)})
		}
	}
	matchManifests(p, derived, add, field)
	matchPayouts(p, derived, add, field)
	matchGroups(p, derived, add, field)
	matchTotals(p, derived, add, field)
	if len(ms) == 0 {
		return nil
	}
	return &MismatchError{File: file, Mismatches: ms}
}

type addFunc func(addr, ptr, format string, args ...any)

type fieldFunc func(addr, ptr, name, got, want string)

func matchManifests(p, derived *Plan, add addFunc, field fieldFunc) {
	if len(p.Manifests) != len(derived.Manifests) {
		add("", "/manifests", "%d manifests in the plan file, %d read", len(p.Manifests), len(derived.Manifests))
		return
	}
	for i, m := range p.Manifests {
		d := derived.Manifests[i]
		ptr := fmt.Sprintf("/manifests/%d", i)
		f := func(name, got, want string) { field("", ptr, name, got, want) }
		f("file", m.File, d.File)
		f("digest", m.Digest, d.Digest)
		f("batch", m.Batch, d.Batch)
		f("provider", m.Provider, d.Provider)
		f("currency", m.Currency, d.Currency)
		f("payouts", fmt.Sprint(m.Payouts), fmt.Sprint(d.Payouts))
	}
}

func matchPayouts(p, derived *Plan, add addFunc, field fieldFunc) {
	want := make(map[string]*Item, len(derived.Payouts))
	for _, it := range derived.Payouts {
		want[it.Address] = it
	}
	seen := make(map[string]bool, len(p.Payouts))
	for i, it := range p.Payouts {
		ptr := fmt.Sprintf("/payouts/%d", i)
		if seen[it.Address] {
			add(it.Address, ptr, "listed twice in the plan file")
			continue
		}
		seen[it.Address] = true
		d := want[it.Address]
		if d == nil {
			add(it.Address, ptr, "in the plan file (%s %s %s to %s, account %s) but in none of its manifests",
				it.Action, it.Amount, it.Currency, it.Recipient.Name, it.Recipient.Account)
			continue
		}
		matchItem(field, ptr, it, d)
	}
	for _, d := range derived.Payouts {
		if !seen[d.Address] {
			add(d.Address, "", "in the manifests (%s %s %s) but missing from the plan file", d.Action, d.Amount, d.Currency)
		}
	}
}

// metadataText spells metadata for a comparison and a message: its
// entries sorted, quoted.
func metadataText(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+strconv.Quote(m[k]))
	}
	return strings.Join(parts, " ")
}

// matchItem compares every field of a saved payout with the derived one.
func matchItem(field fieldFunc, ptr string, it, d *Item) {
	a := it.Address
	f := func(name, got, want string) { field(a, ptr, name, got, want) }
	f("action", string(it.Action), string(d.Action))
	f("provider", it.Provider, d.Provider)
	f("type", it.Type, d.Type)
	f("attempt", fmt.Sprint(it.Attempt), fmt.Sprint(d.Attempt))
	f("key", it.Key, d.Key)
	f("currency", it.Currency.Code, d.Currency.Code)
	f("amount", it.Amount.String(), d.Amount.String())
	f("fee", optAmount(it.Fee), optAmount(d.Fee))
	f("fee_payer", string(it.FeePayer), string(d.FeePayer))
	f("receives", it.Receives.String(), d.Receives.String())
	f("recipient/id", it.Recipient.ID, d.Recipient.ID)
	f("recipient/name", it.Recipient.Name, d.Recipient.Name)
	f("recipient/bankCode", it.Recipient.BankCode, d.Recipient.BankCode)
	f("recipient/bank", it.Recipient.Bank, d.Recipient.Bank)
	f("recipient/account", it.Recipient.Account, d.Recipient.Account)
	f("recipient/country", it.Recipient.Country, d.Recipient.Country)
	f("reference", it.Reference, d.Reference)
	f("metadata", metadataText(it.Metadata), metadataText(d.Metadata))
	f("digest", it.Digest, d.Digest)
	f("status", string(it.Status), string(d.Status))
	f("group", fmt.Sprint(it.Group), fmt.Sprint(d.Group))
	f("note", it.Note, d.Note)
	f("review", it.Review, d.Review)
	f("previous", previousText(it.Previous), previousText(d.Previous))
	f("file", it.File, d.File)
	f("line", fmt.Sprint(it.Line), fmt.Sprint(d.Line))
}

func matchGroups(p, derived *Plan, add addFunc, field fieldFunc) {
	if len(p.Groups) != len(derived.Groups) {
		add("", "/groups", "%d groups in the plan file, %d from the manifests", len(p.Groups), len(derived.Groups))
		return
	}
	for i, g := range p.Groups {
		d := derived.Groups[i]
		ptr := fmt.Sprintf("/groups/%d", i)
		f := func(name, got, want string) { field("", ptr, name, got, want) }
		f("provider", g.Provider, d.Provider)
		f("batch", g.Batch, d.Batch)
		f("index", fmt.Sprint(g.Index), fmt.Sprint(d.Index))
		if !slices.Equal(g.Addresses, d.Addresses) {
			f("addresses", strings.Join(g.Addresses, " "), strings.Join(d.Addresses, " "))
		}
		f("currency", g.Currency.Code, d.Currency.Code)
		f("total", g.Total.String(), d.Total.String())
		f("fee", g.Fee.String(), d.Fee.String())
		f("fee_rule", g.FeeRule, d.FeeRule)
		f("fee_payer", string(g.FeePayer), string(d.FeePayer))
		f("provider_payout", fmt.Sprint(g.Request), fmt.Sprint(d.Request))
	}
}

func matchTotals(p, derived *Plan, add addFunc, field fieldFunc) {
	if len(p.Totals) != len(derived.Totals) {
		add("", "/totals", "%d totals in the plan file, %d from the manifests", len(p.Totals), len(derived.Totals))
		return
	}
	for i, t := range p.Totals {
		d := derived.Totals[i]
		ptr := fmt.Sprintf("/totals/%d", i)
		f := func(name, got, want string) { field("", ptr, name, got, want) }
		f("provider", t.Provider, d.Provider)
		f("currency", t.Currency, d.Currency)
		counts := func(t *Total) string {
			return fmt.Sprintf("pay %d, retry %d, pending %d, unknown %d, unchanged %d", t.Pay, t.Retry, t.Pending, t.Unknown, t.Unchanged)
		}
		f("counts", counts(t), counts(d))
		f("amount", t.Amount.String(), d.Amount.String())
		f("fees", t.Fees.String(), d.Fees.String())
		f("fees_sender", t.FeesSender.String(), d.FeesSender.String())
		f("fees_recipient", t.FeesRecipient.String(), d.FeesRecipient.String())
		f("recipients_receive", t.Receive.String(), d.Receive.String())
		f("balance_charged", t.Charged.String(), d.Charged.String())
	}
}

func optAmount(a *money.Amount) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// ManifestFiles lists the manifest files the plan pins, as it names them.
func (p *Plan) ManifestFiles() []string {
	out := make([]string, len(p.Manifests))
	for i, m := range p.Manifests {
		out[i] = m.File
	}
	return out
}

func previousText(p *Previous) string {
	if p == nil {
		return ""
	}
	r := p.Recipient
	return strings.Join([]string{p.Address, p.SentAt.UTC().Format(time.RFC3339Nano), r.ID, r.Name, r.BankCode, r.Bank, r.Account, r.Country}, "|")
}
