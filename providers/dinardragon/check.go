package dinardragon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/payctl/payctl/providers"
)

// lookup is one /status answer: statuses by uniqueid, or why there are none.
type lookup struct {
	statuses map[string]string
	problem  string
}

// Check asks Dinar Dragon for the status of each attempt: one POST /status
// per distinct payment_id, then by uniqueid for an attempt the payout's
// answer did not cover. Status 0 is pending, 1 paid, 2 failed (Dinar Dragon
// refunds the amount to the dashboard balance).
//
// An attempt without a payment_id or uniqueid is one whose execute answer
// was lost: Dinar Dragon has no lookup by authcode, so it stays unknown and
// the reason says a person must check the dashboard and resolve it. Check
// never returns StatusNotFound: no documented answer proves a payment
// does not exist.
//
// The error is non-nil only when the run cannot go on: the key was refused
// (ErrAuth) or ctx ended.
func (c *Client) Check(ctx context.Context, as []providers.Attempt) ([]providers.Result, error) {
	out := make([]providers.Result, len(as))
	cache := map[string]lookup{} // by "payment_id:..." or "uniqueid:..."
	var stop error
	look := func(field, id string) lookup {
		k := field + ":" + id
		if l, ok := cache[k]; ok {
			return l
		}
		if stop != nil {
			// The key was refused or ctx ended: asking again is futile.
			return lookup{problem: "not asked: " + stop.Error()}
		}
		l, err := c.status(ctx, field, id)
		if err != nil && stop == nil {
			stop = err
		}
		cache[k] = l
		return l
	}
	for i, a := range as {
		pid, uid := a.IDs[providers.IDGroup], a.IDs["uniqueid"]
		r := providers.Result{Address: a.Address, IDs: maps.Clone(a.IDs)}
		switch {
		case pid == "" && uid == "":
			r.Status, r.Reason = providers.StatusUnknown, noLookup(a)
		case pid != "" && providers.IDProblem(pid) != "", uid != "" && providers.IDProblem(uid) != "":
			r.Status = providers.StatusUnknown
			r.Reason = fmt.Sprintf("the recorded ids (payment_id %q, uniqueid %q) are not Dinar Dragon ids; check the dashboard, then run payctl state resolve %s -paid|-failed -reason TEXT", clip(pid), clip(uid), a.Address)
		default:
			r = c.checkOne(a, r, pid, uid, look)
		}
		out[i] = r
	}
	if stop == nil {
		stop = ctx.Err()
	}
	if stop != nil {
		return out, fmt.Errorf("provider %s: status: %w", c.name, stop)
	}
	return out, nil
}

func (c *Client) checkOne(a providers.Attempt, r providers.Result, pid, uid string, look func(field, id string) lookup) providers.Result {
	if uid == "" {
		// The execute answer did not match the request: which payment
		// inside payment_id is this payout's is exactly what is unknown.
		r.Status = providers.StatusUnknown
		r.Reason = fmt.Sprintf("no uniqueid was recorded for this payout, so its payment within payment_id %s cannot be told apart; check payment_id %s on the Dinar Dragon dashboard, then run payctl state resolve %s -paid|-failed -reason TEXT", pid, pid, a.Address)
		return r
	}
	var problems []string
	if pid != "" {
		l := look("payment_id", pid)
		if st, ok := l.statuses[uid]; ok {
			return withStatus(r, uid, st)
		}
		if l.problem != "" {
			problems = append(problems, fmt.Sprintf("status of payment_id %s: %s", pid, l.problem))
		} else {
			problems = append(problems, fmt.Sprintf("payment_id %s's answer does not list uniqueid %s", pid, uid))
		}
	}
	l := look("uniqueid", uid)
	if st, ok := l.statuses[uid]; ok {
		return withStatus(r, uid, st)
	}
	if l.problem != "" {
		problems = append(problems, fmt.Sprintf("status of uniqueid %s: %s", uid, l.problem))
	} else {
		problems = append(problems, fmt.Sprintf("the answer for uniqueid %s does not list it", uid))
	}
	r.Status = providers.StatusUnknown
	r.Reason = fmt.Sprintf("%s; try again later", strings.Join(problems, "; "))
	return r
}

func withStatus(r providers.Result, uid, st string) providers.Result {
	r.Answer = map[string]string{"status": st}
	switch st {
	case "0":
		r.Status = providers.StatusPending
	case "1":
		r.Status = providers.StatusPaid
	case "2":
		r.Status = providers.StatusFailed
		r.Reason = fmt.Sprintf("Dinar Dragon reports payment %s failed (status 2) and its amount refunded to the dashboard balance", uid)
	default:
		r.Status = providers.StatusUnknown
		r.Reason = fmt.Sprintf("Dinar Dragon reports status %s for payment %s, which the docs do not define; check the dashboard", clip(st), uid)
	}
	return r
}

// noLookup is the reason for an attempt whose execute answer was lost.
func noLookup(a providers.Attempt) string {
	if a.Token == "" {
		return fmt.Sprintf("no payment_id or uniqueid was recorded for this payout and Dinar Dragon has no other lookup; check the dashboard, then run payctl state resolve %s -paid|-failed -reason TEXT", a.Address)
	}
	return fmt.Sprintf("the answer to the execute of authcode %s sent at %s was lost and Dinar Dragon has no lookup by authcode; check the dashboard for a payout made at that time, then run payctl state resolve %s -paid|-failed -reason TEXT",
		a.Token, a.SentAt.UTC().Format(time.RFC3339), a.Address)
}

// status runs one POST /status. A problem with the answer is reported in
// the lookup, for the results' reasons; the error is only for what stops
// the run (a refused key, a cancelled context).
func (c *Client) status(ctx context.Context, field, id string) (lookup, error) {
	a, err := c.call(ctx, "/status", statusBody(field, id))
	if err != nil {
		if ctx.Err() != nil {
			return lookup{problem: "cancelled"}, ctx.Err()
		}
		return lookup{problem: fmt.Sprintf("no answer (%v)", err)}, nil
	}
	if err := refusal(a); err != nil {
		if errors.Is(err, ErrAuth) {
			return lookup{problem: err.Error()}, ErrAuth
		}
		return lookup{problem: err.Error()}, nil
	}
	ps, err := parseStatusAnswer(a.body)
	if err != nil {
		return lookup{problem: fmt.Sprintf("the answer cannot be read (%v)", err)}, nil
	}
	l := lookup{statuses: map[string]string{}}
	for _, p := range ps {
		l.statuses[p.UniqueID] = p.Status
	}
	return l, nil
}
