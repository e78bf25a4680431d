package watch

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/schema"
)

// maxListed bounds how many payouts one policy reason names.
const maxListed = 5

// Judge says why paying p on its own, now, would be outside the
// auto-apply policy a; no reasons means watch may pay it. A plan that sends
// nothing is never outside the policy (a file dropped again). Only payouts the
// plan sends are judged, except for maxBatchTotal, which limits the batch's
// total as the manifest states it (every payout, paid before or not), so
// that a batch cannot pass the limit by arriving in parts.
//
// Where the policy is silent, watch does not pay: a policy with no
// autoApply pays nothing; a limit map (maxPayout, maxBatchTotal) that names
// some currencies and not the batch's holds the batch, since a forgotten
// limit must not read as "unlimited". A limit map that is absent sets no
// limit of its kind (policy.maxPayout still applies at validation).
func Judge(a *config.AutoApply, b *schema.Batch, p *plan.Plan, now time.Time) []string {
	if !p.Changes() {
		return nil
	}
	if a == nil {
		return []string{"payctl.yaml sets no policy.autoApply, so watch pays nothing on its own"}
	}
	var reasons []string
	if !slices.Contains(a.Providers, b.Provider) {
		reasons = append(reasons, fmt.Sprintf("provider %s is not in policy.autoApply.providers (%s)", b.Provider, strings.Join(a.Providers, ", ")))
	}
	if len(a.Currencies) > 0 && !slices.Contains(a.Currencies, b.Currency) {
		reasons = append(reasons, fmt.Sprintf("currency %s is not in policy.autoApply.currencies (%s)", b.Currency, strings.Join(a.Currencies, ", ")))
	}
	cur := money.CurrencyOf(b.Currency)
	if len(a.MaxPayout) > 0 {
		limit, ok := a.MaxPayout[b.Currency]
		if !ok {
			reasons = append(reasons, fmt.Sprintf("policy.autoApply.maxPayout sets no limit for %s", b.Currency))
		} else {
			var over []string
			for _, it := range p.Payouts {
				if it.Action.Sends() && it.Amount.Cmp(limit) > 0 {
					over = append(over, fmt.Sprintf("%s (%s)", it.Address, it.Amount.Format(cur)))
				}
			}
			if len(over) > 0 {
				verb := "payouts are"
				if len(over) == 1 {
					verb = "payout is"
				}
				reasons = append(reasons, fmt.Sprintf("%d %s above policy.autoApply.maxPayout.%s %s %s: %s", len(over), verb, b.Currency, limit.Format(cur), b.Currency, listed(over)))
			}
		}
	}
	if len(a.MaxBatchTotal) > 0 {
		limit, ok := a.MaxBatchTotal[b.Currency]
		if !ok {
			reasons = append(reasons, fmt.Sprintf("policy.autoApply.maxBatchTotal sets no limit for %s", b.Currency))
		} else {
			total := money.FromInt64(0)
			for _, mp := range b.Payouts {
				total = total.Add(mp.Amount)
			}
			if total.Cmp(limit) > 0 {
				reasons = append(reasons, fmt.Sprintf("batch %s totals %s %s, above policy.autoApply.maxBatchTotal.%s %s %s", b.Name, total.Format(cur), b.Currency, b.Currency, limit.Format(cur), b.Currency))
			}
		}
	}
	if h := a.Hours; h != nil && !h.Contains(now) {
		reasons = append(reasons, fmt.Sprintf("it is %s, outside policy.autoApply.hours (%s)", now.In(h.Location).Format("Mon 15:04 MST"), describeHours(h)))
	}
	return reasons
}

func listed(items []string) string {
	if len(items) <= maxListed {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:maxListed], ", "), len(items)-maxListed)
}

func describeHours(h *config.Hours) string {
	clock := func(d time.Duration) string {
		return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60)
	}
	days := "every day"
	if len(h.Days) > 0 {
		var names []string
		for _, d := range h.Days {
			names = append(names, strings.ToLower(d.String()[:3]))
		}
		days = strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s-%s %s, %s", clock(h.Start), clock(h.End), h.Location, days)
}
