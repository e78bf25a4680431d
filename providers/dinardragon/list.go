package dinardragon

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/payctl/payctl/providers"
)

var _ providers.Lister = (*Client)(nil)

// Retention is 0: Dinar Dragon publishes no limit on how long /status
// answers about a payment.
func (c *Client) Retention() time.Duration { return 0 }

// List asks POST /status about each provider payout of q.Groups (by
// payment_id) and returns its payments. Dinar Dragon has no listing and
// its /status answers carry only uniqueid and status, so the listing is
// never Complete and has no amounts, fees or accounts: a payment made
// under another payment_id can only be seen when its id is in q.Groups.
func (c *Client) List(ctx context.Context, q providers.ListQuery) (providers.Listing, error) {
	out := providers.Listing{Unanswered: map[string]string{}}
	groups := slices.Clone(q.Groups)
	slices.Sort(groups)
	for _, pid := range slices.Compact(groups) {
		if p := providers.IDProblem(pid); p != "" {
			out.Unanswered[clip(pid)] = "the payment_id " + p
			continue
		}
		l, err := c.status(ctx, "payment_id", pid)
		if err != nil {
			return out, fmt.Errorf("provider %s: status of payment_id %s: %w", c.name, pid, err)
		}
		if l.problem != "" {
			out.Unanswered[pid] = l.problem
			continue
		}
		uids := make([]string, 0, len(l.statuses))
		for uid := range l.statuses {
			uids = append(uids, uid)
		}
		slices.Sort(uids)
		for _, uid := range uids {
			r := withStatus(providers.Result{}, uid, l.statuses[uid])
			out.Payments = append(out.Payments, providers.Listed{
				IDs:       map[string]string{providers.IDGroup: pid, "uniqueid": uid},
				Status:    r.Status,
				RawStatus: l.statuses[uid],
			})
		}
	}
	return out, nil
}
