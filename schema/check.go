package schema

import (
	"fmt"
	"strings"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"sort"
)

// Check applies the rules a schema cannot express, each error at the
// position of the value at fault:
//
//   - payout ids are unique in a batch (a repeat names the first);
//   - the provider is configured in payctl.yaml, and the batch currency is
//     known and is the one the provider's type pays in;
//   - amounts are positive, have no more decimal places than the
//     currency allows, and are not above policy.maxPayout;
//   - each payout passes its provider type's Rules.
//
// rules returns the Rules of a provider type, or nil for a type it does
// not know (its payouts are then not checked by type). d may be nil when
// there is no payctl.yaml: provider and policy checks are skipped and the
// rest still runs. Provider rules run only on payouts whose currency
// is the provider's, and are not repeated at a position that already has
// an error. The result is sorted.
func Check(batches []*Batch, d *Deployment, rules func(providerType string) providers.Rules) diag.List {
	var errs diag.List
	for _, b := range batches {
		errs = append(errs, checkBatch(b, d, rules)...)
	}
	errs.Sort()
	return errs
}

// Deployment is what checking manifests needs of payctl.yaml (the config
// package makes one from a loaded file).
type Deployment struct {
	// File names payctl.yaml in messages.
	File string
	// Providers maps each configured provider's name to its type.
	Providers map[string]string
	// MaxPayout is policy.maxPayout by currency, and MaxPayoutLine the
	// line of each in File (0 when not known).
	MaxPayout     map[string]money.Amount
	MaxPayoutLine map[string]int
}

func (d *Deployment) providerNames() []string {
	names := make([]string, 0, len(d.Providers))
	for n := range d.Providers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func checkBatch(b *Batch, d *Deployment, rules func(string) providers.Rules) diag.List {
	var errs diag.List
	cur, curOK := money.LookupCurrency(b.Currency)
	if !curOK {
		errs.Add(b.File, b.Pos.Currency, "unknown currency %q; payctl pays in %s", b.Currency, joinAnd(money.CurrencyCodes()))
	}
	var r providers.Rules
	if d != nil {
		typ, ok := d.Providers[b.Provider]
		switch {
		case !ok && len(d.Providers) == 0:
			errs.Add(b.File, b.Pos.Provider, "unknown provider %q; %s configures no providers", b.Provider, d.File)
		case !ok:
			errs.Add(b.File, b.Pos.Provider, "unknown provider %q; %s configures %s", b.Provider, d.File, joinAnd(d.providerNames()))
		case rules != nil:
			r = rules(typ)
		}
		if r != nil && curOK && r.Currency() != b.Currency {
			errs.Add(b.File, b.Pos.Currency, "currency %s cannot be paid through provider %q: a %s provider pays in %s", b.Currency, b.Provider, typ, r.Currency())
			r = nil
		}
	}
	if !curOK {
		r = nil
	}
	var (
		max    money.Amount
		hasMax bool
		maxAt  string
	)
	if d != nil {
		if m, ok := d.MaxPayout[b.Currency]; ok {
			max, hasMax = m, true
			maxAt = d.File
			if line := d.MaxPayoutLine[b.Currency]; line > 0 {
				maxAt = fmt.Sprintf("%s:%d", maxAt, line)
			}
		}
	}
	first := make(map[string]int, len(b.Payouts))
	for i := range b.Payouts {
		p := &b.Payouts[i]
		// Positions of this payout that already hold an error: provider
		// rules do not repeat what is said there.
		var taken [4]diag.Pos
		nTaken := 0
		add := func(pos diag.Pos, format string, args ...any) {
			errs.Add(b.File, pos, format, args...)
			if nTaken < len(taken) {
				taken[nTaken] = pos
				nTaken++
			}
		}
		if j, dup := first[p.ID]; dup {
			q := &b.Payouts[j]
			add(p.Pos.ID, "payout id %q is repeated; it is first used at %s (ids are unique in a batch: the address %s must name one payment)", p.ID, b.lineOf(q.Pos.ID), Address(b.Name, p.ID))
		} else {
			first[p.ID] = i
		}
		switch {
		case p.Amount.Sign() <= 0:
			add(p.Pos.Amount, "amount must be greater than zero, not %s", p.AmountText)
		case curOK && p.Amount.Places() > cur.Scale:
			add(p.Pos.Amount, "amount %s has %d decimal places; %s allows %d", p.AmountText, p.Amount.Places(), cur.Code, cur.Scale)
		case hasMax && p.Amount.Cmp(max) > 0:
			add(p.Pos.Amount, "amount %s %s is above the policy maximum %s %s set in %s", p.AmountText, b.Currency, max.String(), b.Currency, maxAt)
		}
		if r == nil {
			continue
		}
		fes := r.CheckPayout(providers.Payout{
			Address:   Address(b.Name, p.ID),
			Attempt:   1,
			Amount:    p.Amount,
			Currency:  cur,
			Recipient: p.Recipient,
		})
	rules:
		for _, fe := range fes {
			pos := p.Pos.Field(fe.Field)
			for _, t := range taken[:nTaken] {
				if t == pos {
					continue rules
				}
			}
			errs.Add(b.File, pos, "%s", fieldMessage(fe))
		}
	}
	return errs
}

// fieldMessage makes a provider rule's message name its field, unless the
// provider's own message already does.
func fieldMessage(fe providers.FieldError) string {
	if fe.Field == "" {
		return fe.Msg
	}
	last := fe.Field[strings.LastIndexByte(fe.Field, '.')+1:]
	if strings.HasPrefix(fe.Msg, fe.Field) || strings.HasPrefix(fe.Msg, last) {
		return fe.Msg
	}
	return fe.Field + ": " + fe.Msg
}

func joinAnd(words []string) string {
	switch len(words) {
	case 0:
		return "nothing"
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// lineOf names the line of a position as the batch's file has it: a
// table's rows are rows, a sheet's cells are cells.
func (b *Batch) lineOf(p diag.Pos) string {
	switch b.Format {
	case "csv":
		return fmt.Sprintf("row %d", p.Line)
	case "xlsx":
		return "cell " + diag.CellName(p)
	}
	return fmt.Sprintf("line %d", p.Line)
}
