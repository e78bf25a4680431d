// Package review decides how many signed approvals a plan needs under
// payctl.yaml's policy.approvals, and whether the approvals it carries are
// enough. `apply` and `watch` both ask it, so that no way of paying skips
// the rules.
package review

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/state"
)

// Need is what a plan needs: the most approvals any of its rules asks,
// and why.
type Need struct {
	Approvals int
	// Rules are the rules that cover the plan, each with what made it
	// apply ("2 approvals ...: 1 payout to a changed account").
	Rules []string
}

// Required is what p needs under a. A plan that sends nothing needs
// nothing; a nil a (no policy.approvals) needs nothing.
func Required(a *config.Approvals, p *plan.Plan) Need {
	var n Need
	if a == nil || !p.Changes() {
		return n
	}
	newAccts, changed := p.Flagged()
	sent := map[string]money.Amount{}
	for _, t := range p.Totals {
		if t.Pay+t.Retry == 0 {
			continue
		}
		if s, ok := sent[t.Currency]; ok {
			sent[t.Currency] = s.Add(t.Amount)
		} else {
			sent[t.Currency] = t.Amount
		}
	}
	for _, r := range a.Rules {
		var why string
		switch {
		case r.Accounts == config.AccountsNew:
			if newAccts+changed > 0 {
				why = count(newAccts+changed, "payout") + " to a new or changed account"
			}
		case r.Accounts == config.AccountsChanged:
			if changed > 0 {
				why = count(changed, "payout") + " to a changed account"
			}
		case len(r.Above) > 0:
			var over []string
			for _, cur := range slices.Sorted(maps.Keys(r.Above)) {
				if s, ok := sent[cur]; ok && s.Cmp(r.Above[cur]) > 0 {
					c := money.CurrencyOf(cur)
					over = append(over, fmt.Sprintf("the plan pays %s %s", s.Format(c), cur))
				}
			}
			why = strings.Join(over, " and ")
		default:
			why = "the plan pays"
		}
		if why == "" {
			continue
		}
		n.Rules = append(n.Rules, r.String()+": "+why)
		n.Approvals = max(n.Approvals, r.Approvals)
	}
	return n
}

// Why is the rules as one phrase.
func (n Need) Why() string { return strings.Join(n.Rules, "; ") }

// Enough reports whether approvers satisfy the need.
func (n Need) Enough(approvers []state.Approver) bool { return len(approvers) >= n.Approvals }

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
