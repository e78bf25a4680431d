package cronos

import (
	"context"
	"fmt"
	"time"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/cronos/internal/wire"
	"github.com/payctl/payctl/providers/cronos/phpjson"
)

var _ providers.Lister = (*Client)(nil)

// Retention is Cronos' documented 7 days.
func (c *Client) Retention() time.Duration { return wire.Retention }

// maxListDays bounds one listing's window: Cronos keeps 7 days, and a
// window longer than retention reads days that can only be empty.
const maxListDays = 9

// List reads GET /transactions for every day of the window in Cronos'
// zone (from the day before q.Since, as a request sent near midnight may
// be dated either side) and every status, each paged until an empty page
// (list, as lookups do). A disbursement met in two statuses while the
// lists were read is kept once, in the later status of its lifecycle
// (statuses are read in lifecycle order). The listing is Complete unless
// a day could not be read; such days are in Unanswered.
func (c *Client) List(ctx context.Context, q providers.ListQuery) (providers.Listing, error) {
	out := providers.Listing{Complete: true, Unanswered: map[string]string{}}
	first := q.Since.In(wire.Zone).Add(-clockSkew)
	last := q.Until.In(wire.Zone)
	start := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, wire.Zone)
	if last.Sub(start) > maxListDays*24*time.Hour {
		start = time.Date(last.Year(), last.Month(), last.Day(), 0, 0, 0, 0, wire.Zone).AddDate(0, 0, -(maxListDays - 1))
	}
	index := map[string]int{} // by Cronos id, into out.Payments
	for day := start; !day.After(last); day = day.AddDate(0, 0, 1) {
		date := day.Format(wire.DateLayout)
		for _, status := range scanStatuses {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			l, err := c.list(ctx, listKey{date, status})
			if err != nil {
				out.Complete = false
				out.Unanswered[date] = c.scrub(fmt.Sprintf("the %s transactions could not be read: %v", status, err))
				continue
			}
			for _, obj := range l.all {
				p, err := c.listed(obj, date)
				if err != nil {
					out.Complete = false
					out.Unanswered[date] = c.scrub(fmt.Sprintf("a %s transaction could not be read: %v", status, err))
					continue
				}
				if i, seen := index[p.IDs["id"]]; seen {
					out.Payments[i] = p
					continue
				}
				index[p.IDs["id"]] = len(out.Payments)
				out.Payments = append(out.Payments, p)
			}
		}
	}
	return out, nil
}

// listed reads one listed disbursement.
func (c *Client) listed(obj phpjson.Object, date string) (providers.Listed, error) {
	r, err := parseRecord(obj)
	if err != nil {
		return providers.Listed{}, err
	}
	st, _ := mapStatus(r.Status)
	amount := r.Amount
	p := providers.Listed{
		IDs:       map[string]string{"id": r.ID},
		Reference: r.MerchantRef,
		Status:    st,
		RawStatus: clip(r.Status),
		Amount:    &amount,
		Fee:       r.Fee,
		Account:   clip(r.Account),
		Date:      date,
	}
	if d, ok := obj.Lookup("disbursement"); ok {
		if d, ok := d.(phpjson.Object); ok {
			if b, ok := d.Lookup("bankCode"); ok {
				if b, ok := b.(phpjson.String); ok {
					p.BankCode = clip(string(b))
				}
			}
		}
	}
	return p, nil
}
