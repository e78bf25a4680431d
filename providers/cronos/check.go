package cronos

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/cronos/internal/wire"
	"github.com/payctl/payctl/providers/cronos/phpjson"
)

// How lookups without a Cronos id work. Cronos has no lookup by reference;
// the only way to learn whether a disbursement exists is to list
// GET /transactions for a date and a status, page by page, and look for
// merchantRef. The listing gives no paging metadata and is not a
// snapshot, so a "not found" is only returned when it is proven:
//
//   - every status is listed, in lifecycle order (pending, success,
//     failed, expired), so a disbursement that moves on during the scan is
//     met again in a later list;
//   - the dates listed are the day the request was sent in Cronos's zone,
//     the day after (a request sent near midnight may be dated by Cronos
//     the next day), and the day before when the request was sent within
//     clockSkew after midnight (our clock may run ahead of Cronos's);
//   - whether pages count from 0 or 1 is not documented, so page 0 is read
//     and then pages 1, 2, ... until an empty one;
//   - a disbursement that changes status while its list is being paged can
//     shift the pages and be skipped, so an absent reference is confirmed
//     by listing again: "not found" needs two consecutive listings that
//     hold the same disbursements (at most maxScanPasses);
//   - an attempt sent longer ago than Cronos's 7-day retention (less
//     clockSkew) is not looked up: Cronos may have forgotten it, so the
//     answer is unknown and a person decides with payctl state resolve.
//
// One listing per (date, status) serves every attempt of one Check call.
var scanStatuses = []string{"pending", "success", "failed", "expired"}

const (
	clockSkew     = time.Hour
	maxScanPasses = 3
	// maxPages bounds one listing; at 10 a page that is 100,000
	// disbursements a day, far more than a payctl state pays.
	maxPages = 10000
)

// Check looks attempts up at Cronos: by id when the attempt has one,
// otherwise by scanning the transaction lists for its reference. The error
// is non-nil when an answer contradicts the attempt (providers.ErrStop) or
// ctx ends; the results still say what is known.
func (c *Client) Check(ctx context.Context, as []providers.Attempt) ([]providers.Result, error) {
	results := make([]providers.Result, len(as))
	var stops []error
	var scan []int
	now := c.now()
	for i, a := range as {
		results[i] = providers.Result{Address: a.Address, Status: providers.StatusUnknown}
		switch {
		case a.IDs["id"] != "":
			res, err := c.checkByID(ctx, a, a.IDs["id"])
			results[i] = res
			if err != nil {
				stops = append(stops, err)
			}
		case a.SentAt.IsZero():
			results[i].Reason = fmt.Sprintf("payout %s has no Cronos id and no send time, so payctl cannot tell which day to look it up on; check the Cronos dashboard for reference %s and record the outcome with payctl state resolve %s", a.Address, a.Key, a.Address)
		case now.Sub(a.SentAt) >= wire.Retention-clockSkew:
			results[i].Reason = fmt.Sprintf("payout %s was sent %s, longer ago than the 7 days Cronos keeps transactions, so its absence proves nothing; check the Cronos dashboard or statement for reference %s and record the outcome with payctl state resolve %s",
				a.Address, a.SentAt.In(wire.Zone).Format(time.RFC3339), a.Key, a.Address)
		default:
			scan = append(scan, i)
		}
	}
	if len(scan) > 0 {
		stops = append(stops, c.lookUp(ctx, as, scan, results)...)
	}
	if err := ctx.Err(); err != nil {
		stops = append(stops, err)
	}
	for i := range results {
		results[i].Reason = c.scrub(results[i].Reason)
	}
	return results, errors.Join(stops...)
}

// checkByID asks GET /check/{id}.
func (c *Client) checkByID(ctx context.Context, a providers.Attempt, id string) (providers.Result, error) {
	res := providers.Result{Address: a.Address, Status: providers.StatusUnknown, IDs: map[string]string{"id": id}}
	rep := c.roundTrip(ctx, c.read, http.MethodGet, "/check/"+url.PathEscape(id), url.Values{"resendCallback": {"false"}}, nil)
	if rep.err != nil {
		res.Reason = fmt.Sprintf("could not ask cronos about disbursement %s: %v", id, rep.err)
		return res, nil
	}
	env, err := parseEnvelope(rep.body)
	if err != nil {
		res.Reason = fmt.Sprintf("cronos's answer about disbursement %s (HTTP %d) could not be read: %v", id, rep.status, err)
		return res, nil
	}
	switch {
	case rep.status == http.StatusNotFound || env.Code == http.StatusNotFound:
		res.Reason = fmt.Sprintf("cronos answered HTTP 404 (%s) about disbursement %s; it keeps transactions for 7 days, so an old one may be gone: check the Cronos dashboard and record the outcome with payctl state resolve %s",
			clip(env.Message), id, a.Address)
		return res, nil
	case rep.status != http.StatusOK || env.Code != http.StatusOK:
		res.Reason = fmt.Sprintf("cronos answered HTTP %d, responseCode %d (%s) about disbursement %s; try again later", rep.status, env.Code, clip(env.Message), id)
		return res, nil
	}
	rec, err := parseRecord(env.Data)
	if err != nil {
		res.Reason = fmt.Sprintf("cronos's answer about disbursement %s could not be read: %v", id, err)
		return res, nil
	}
	if rec.ID != id {
		res.Reason = fmt.Sprintf("cronos answered about disbursement %s when asked about %s", rec.ID, id)
		return res, fmt.Errorf("payout %s: %s; check the Cronos dashboard: %w", a.Address, res.Reason, providers.ErrStop)
	}
	if err := c.contradiction(a.Payout, rec); err != nil {
		res.Reason = "cronos's record does not match the attempt"
		return res, err
	}
	keepEnvelopeExtras(&rec, env)
	return c.result(a.Address, rec), nil
}

// listKey names one transaction listing.
type listKey struct{ date, status string }

// listing is one complete read of a listing.
type listing struct {
	ids   map[string]bool
	byRef map[string][]phpjson.Object
	// all holds every disbursement listed, in the order read.
	all []phpjson.Object
}

// lookUp finds the attempts as[idx...] by reference.
func (c *Client) lookUp(ctx context.Context, as []providers.Attempt, idx []int, results []providers.Result) []error {
	var stops []error
	lists := map[listKey]*listing{}
	keysOf := func(a providers.Attempt) []listKey {
		var ks []listKey
		for _, d := range scanDates(a.SentAt) {
			for _, s := range scanStatuses {
				ks = append(ks, listKey{d, s})
			}
		}
		return ks
	}
	// resolve decides an attempt from the listings it needs; it reports
	// false when the reference is absent from all of them.
	resolve := func(i int, ls map[listKey]*listing) bool {
		a := as[i]
		seen := map[string]bool{}
		var found []phpjson.Object
		for _, k := range keysOf(a) {
			for _, obj := range ls[k].byRef[a.Key] {
				id, _ := recordID(obj)
				if !seen[id] {
					seen[id] = true
					found = append(found, obj)
				}
			}
		}
		switch len(found) {
		case 0:
			return false
		case 1:
			rec, err := parseRecord(found[0])
			if err != nil {
				results[i].Reason = fmt.Sprintf("cronos lists a disbursement with reference %s that could not be read: %v", a.Key, err)
				return true
			}
			if err := c.contradiction(a.Payout, rec); err != nil {
				results[i].IDs = map[string]string{"id": rec.ID}
				results[i].Reason = "cronos's record does not match the attempt"
				stops = append(stops, err)
				return true
			}
			results[i] = c.result(a.Address, rec)
		default:
			ids := slices.Sorted(maps.Keys(seen))
			results[i].Reason = fmt.Sprintf("cronos lists %d disbursements with reference %s (%v)", len(ids), a.Key, ids)
			stops = append(stops, fmt.Errorf("payout %s: %s: check them on the Cronos dashboard and record the outcome with payctl state resolve %s: %w", a.Address, results[i].Reason, a.Address, providers.ErrStop))
		}
		return true
	}
	// fetch fills ls with the listings of the given attempts and returns
	// the attempts whose listings could all be read. A listing that could
	// not be read is not asked for again in the same pass.
	fetch := func(ls map[listKey]*listing, pending []int) []int {
		var ok []int
		failed := map[listKey]error{}
	attempts:
		for _, i := range pending {
			for _, k := range keysOf(as[i]) {
				if _, done := ls[k]; done {
					continue
				}
				err := failed[k]
				if err == nil {
					var l *listing
					if l, err = c.list(ctx, k); err == nil {
						ls[k] = l
						continue
					}
					failed[k] = err
				}
				results[i].Reason = fmt.Sprintf("could not look reference %s up at cronos: %v", as[i].Key, err)
				continue attempts
			}
			ok = append(ok, i)
		}
		return ok
	}

	var absent []int
	for _, i := range fetch(lists, idx) {
		if !resolve(i, lists) {
			absent = append(absent, i)
		}
	}
	for pass := 2; pass <= maxScanPasses && len(absent) > 0; pass++ {
		fresh := map[listKey]*listing{}
		absent = fetch(fresh, absent)
		changed := false
		for k, l := range fresh {
			if !maps.Equal(l.ids, lists[k].ids) {
				changed = true
			}
			lists[k] = l
		}
		var still []int
		for _, i := range absent {
			if !resolve(i, fresh) {
				still = append(still, i)
			}
		}
		absent = still
		if changed {
			continue
		}
		for _, i := range absent {
			a := as[i]
			results[i].Status = providers.StatusNotFound
			results[i].Reason = fmt.Sprintf("cronos lists no disbursement with reference %s on %v in any status (read twice)", a.Key, scanDates(a.SentAt))
		}
		absent = nil
	}
	for _, i := range absent {
		results[i].Reason = fmt.Sprintf("cronos's transaction lists kept changing while payctl looked for reference %s; run the check again", as[i].Key)
	}
	return stops
}

// list reads one listing completely.
func (c *Client) list(ctx context.Context, k listKey) (*listing, error) {
	l := &listing{ids: map[string]bool{}, byRef: map[string][]phpjson.Object{}}
	for page := 0; ; page++ {
		if page > maxPages {
			return nil, fmt.Errorf("%s transactions of %s have more than %d pages", k.status, k.date, maxPages)
		}
		q := url.Values{"type": {"cashOut"}, "date": {k.date}, "status": {k.status}, "page": {strconv.Itoa(page)}}
		rep := c.roundTrip(ctx, c.read, http.MethodGet, "/transactions", q, nil)
		if rep.err != nil {
			return nil, rep.err
		}
		where := fmt.Sprintf("page %d of the %s transactions of %s", page, k.status, k.date)
		env, err := parseEnvelope(rep.body)
		if err != nil {
			return nil, fmt.Errorf("%s (HTTP %d) could not be read: %v", where, rep.status, err)
		}
		if rep.status != http.StatusOK || env.Code != http.StatusOK {
			return nil, fmt.Errorf("cronos answered HTTP %d, responseCode %d (%s) for %s", rep.status, env.Code, clip(env.Message), where)
		}
		items, ok := env.Data.(phpjson.List)
		if !ok {
			return nil, fmt.Errorf("%s: responseData is not a list", where)
		}
		if len(items) == 0 && page > 0 {
			return l, nil
		}
		for n, it := range items {
			obj, ok := it.(phpjson.Object)
			if !ok {
				return nil, fmt.Errorf("%s: item %d is not an object", where, n)
			}
			if k, dup := obj.Duplicate(); dup {
				return nil, fmt.Errorf("%s: item %d has two %q fields", where, n, k)
			}
			id, err := recordID(obj)
			if err != nil {
				return nil, fmt.Errorf("%s: item %d: %v", where, n, err)
			}
			if l.ids[id] {
				continue // page 0 repeats page 1 when pages count from 1
			}
			l.ids[id] = true
			l.all = append(l.all, obj)
			// Disbursements made outside payctl may have no reference;
			// they cannot be ours.
			if ref, ok := obj.Lookup("merchantRef"); ok {
				switch ref := ref.(type) {
				case phpjson.String:
					l.byRef[string(ref)] = append(l.byRef[string(ref)], obj)
				case phpjson.Number: // an all-digit reference, as parseHead reads it
					l.byRef[string(ref)] = append(l.byRef[string(ref)], obj)
				}
			}
		}
	}
}

// scanDates are the dates, in Cronos's zone, on which a request sent at
// sent may be listed.
func scanDates(sent time.Time) []string {
	t := sent.In(wire.Zone)
	ds := []string{
		t.Add(-clockSkew).Format(wire.DateLayout),
		t.Format(wire.DateLayout),
		t.AddDate(0, 0, 1).Format(wire.DateLayout),
	}
	return slices.Compact(ds)
}
