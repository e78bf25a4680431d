package dinardragon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/payctl/payctl/providers"
)

// OutcomeError is an execute whose outcome payctl cannot know or cannot
// trust: the answer was lost, late, a 5xx or 429, unreadable, or did not
// match the request. Dinar Dragon has no idempotency key and no lookup by
// authcode, so a person must check the dashboard and record the outcome.
// It wraps providers.ErrStop: continuing could pay twice.
type OutcomeError struct {
	Provider  string
	Authcode  string
	PaymentID string // when the answer carried one
	SentAt    time.Time
	Addresses []string
	Problem   string
}

func (e *OutcomeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "provider %s: execute of authcode %s", e.Provider, e.Authcode)
	if e.PaymentID != "" {
		fmt.Fprintf(&b, " (payment_id %s)", e.PaymentID)
	}
	fmt.Fprintf(&b, " sent at %s: %s; ", e.SentAt.UTC().Format(time.RFC3339), e.Problem)
	if e.PaymentID != "" {
		fmt.Fprintf(&b, "check payment_id %s on the Dinar Dragon dashboard", e.PaymentID)
	} else {
		b.WriteString("Dinar Dragon has no lookup by authcode, so payctl cannot tell whether it paid: check the dashboard for a payout made at that time")
	}
	b.WriteString(", then record each payout with payctl state resolve ADDRESS -paid|-failed -reason TEXT")
	fmt.Fprintf(&b, " (%s)", strings.Join(e.Addresses, ", "))
	return b.String()
}

// Unwrap makes errors.Is(err, providers.ErrStop) true.
func (e *OutcomeError) Unwrap() error { return providers.ErrStop }

// reason is the per-payout explanation recorded with an unknown result.
func (e *OutcomeError) reason(address string) string {
	where := "the Dinar Dragon dashboard"
	if e.PaymentID != "" {
		where = "payment_id " + e.PaymentID + " on the Dinar Dragon dashboard"
	}
	lookup := ""
	if e.PaymentID == "" {
		lookup = "no lookup by authcode exists; "
	}
	return fmt.Sprintf("execute of authcode %s sent at %s: %s; %scheck %s, then run payctl state resolve %s -paid|-failed -reason TEXT",
		e.Authcode, e.SentAt.UTC().Format(time.RFC3339), e.Problem, lookup, where, address)
}

// Execute sends the quote's execute request, once, and reports per payout
// in the order of q.Payouts.
//
//   - Not written (connection refused, DNS, TLS, cancelled before sending):
//     every payout StatusNotSent and a nil error; the authcode is untouched
//     and may be executed again.
//   - Refused as documented (code 400: authcode invalid or expired; 401 or
//     403: the key): every payout StatusFailed, nothing was paid. 401/403
//     also return an error wrapping ErrAuth, since the run cannot go on.
//   - Anything else that is not a well-formed success matching the request
//     (no answer, timeout, 5xx, 429, truncated, unparsable, an account
//     missing, extra, duplicated or with another amount): every payout
//     StatusUnknown and an *OutcomeError (wrapping providers.ErrStop).
//   - Success (code 200 or 201, both documented): every payout
//     StatusPending with IDs payment_id and uniqueid; funds arrive within
//     15 minutes and Check reports the final status.
//
// A 429 is not retried: Dinar Dragon documents no rate limit, so a 429
// comes from something payctl knows nothing about, and whether the
// execute went through behind it cannot be known. Sending it again could
// pay twice; an unknown costs a person a look at the dashboard.
//
// Execute never sends a second request for an authcode whose request may
// have reached the provider, even if called again.
func (c *Client) Execute(ctx context.Context, q providers.Quote) ([]providers.Result, error) {
	if err := checkQuote(q); err != nil {
		return all(q, providers.StatusNotSent, err.Error()), fmt.Errorf("provider %s: %w", c.name, err)
	}

	sentAt := c.now()
	if e := c.claim(q, sentAt); e != nil {
		return unknowns(q, e), e
	}

	a, wrote, err := c.send(ctx, q.Request.Path, []byte(q.Request.Body))
	if err != nil && !wrote {
		// Nothing left this process: the provider cannot have seen it.
		c.release(q)
		return all(q, providers.StatusNotSent, fmt.Sprintf("execute of authcode %s was not sent: %v", q.Token, err)), nil
	}
	lost := func(problem string) ([]providers.Result, error) {
		e := &OutcomeError{Provider: c.name, Authcode: q.Token, SentAt: sentAt, Addresses: addrs(q.Payouts), Problem: problem}
		c.log.Warn("dinardragon execute outcome unknown", "provider", c.name, "authcode", q.Token, "problem", problem)
		return unknowns(q, e), e
	}
	if err != nil {
		return lost(fmt.Sprintf("no answer (%v)", err))
	}

	switch {
	case a.status >= 500:
		return lost("the answer was " + failureText(a))
	case a.status == http.StatusTooManyRequests:
		return lost("the answer was " + failureText(a) + ", a rate limit Dinar Dragon does not document")
	}
	if f, ferr := parseFailure(a.body); ferr == nil && documentedRefusal(a.status, f.Code) {
		// Nothing was paid: the attempts may be quoted again. The
		// authcode stays claimed; it is spent or dead either way.
		c.releaseKeys(q)
		reason := fmt.Sprintf("Dinar Dragon refused the execute of authcode %s (code %d) and nothing was paid; it said: %s", q.Token, f.Code, providers.Clip(f.Msg, 200))
		res := all(q, providers.StatusFailed, reason)
		if f.Code == http.StatusUnauthorized || f.Code == http.StatusForbidden {
			return res, fmt.Errorf("provider %s: execute of authcode %s: %w", c.name, q.Token, ErrAuth)
		}
		return res, nil
	}
	if a.status < 200 || a.status > 299 {
		return lost("the answer was " + failureText(a) + ", which the docs do not describe")
	}
	ans, err := parseExecuteAnswer(a.body)
	if err != nil {
		return lost(fmt.Sprintf("the answer cannot be read (%v)", err))
	}
	order, problem := match(q.Payouts, ans.Accounts)
	if problem != "" {
		e := &OutcomeError{Provider: c.name, Authcode: q.Token, PaymentID: ans.PaymentID, SentAt: sentAt, Addresses: addrs(q.Payouts),
			Problem: "the answer does not match the request: " + problem + "; the payout may have been made in part or in full"}
		c.log.Warn("dinardragon execute answer does not match", "provider", c.name, "authcode", q.Token, "payment_id", ans.PaymentID, "problem", problem)
		return unknowns(q, e), e
	}
	if ans.Charge.Cmp(q.Fee) != 0 {
		c.log.Warn("dinardragon charged other than quoted", "provider", c.name, "payment_id", ans.PaymentID, "quoted", q.Fee.String(), "charged", ans.ChargeText)
	}
	out := make([]providers.Result, len(q.Payouts))
	for i, p := range q.Payouts {
		acc := ans.Accounts[order[i]]
		answer := map[string]string{"amount": acc.AmountText, "charge_in_usd": ans.ChargeText, providers.AnswerGroupFee: ans.Charge.String()}
		for k, v := range acc.Fields {
			answer[k] = v
		}
		out[i] = providers.Result{
			Address: p.Address,
			Status:  providers.StatusPending,
			IDs:     map[string]string{providers.IDGroup: ans.PaymentID, "uniqueid": acc.UniqueID},
			// The charge is per provider payout, not per payout: it is in
			// every result's Answer (as returned, and under
			// providers.AnswerGroupFee for the engine, which records it once
			// on the provider payout).
			Fee:    nil,
			Answer: answer,
		}
	}
	return out, nil
}

// claim records q as possibly sent, unless its authcode or one of its
// attempts was in an execute that may have reached the provider.
func (c *Client) claim(q providers.Quote, now time.Time) *OutcomeError {
	c.mu.Lock()
	defer c.mu.Unlock()
	if at, ok := c.sent[q.Token]; ok {
		return &OutcomeError{Provider: c.name, Authcode: q.Token, SentAt: at, Addresses: addrs(q.Payouts),
			Problem: "refused to send it again: this client already sent it once and never sends an authcode twice"}
	}
	if e := c.keyClash(q.Payouts); e != nil {
		return e
	}
	c.sent[q.Token] = now
	for _, p := range q.Payouts {
		if p.Key != "" {
			c.keys[p.Key] = q.Token
		}
	}
	return nil
}

// keyClash reports a payout whose attempt was in an execute that may have
// reached the provider. Callers hold mu.
func (c *Client) keyClash(ps []providers.Payout) *OutcomeError {
	for _, p := range ps {
		if auth, ok := c.keys[p.Key]; ok && p.Key != "" {
			return &OutcomeError{Provider: c.name, Authcode: auth, SentAt: c.sent[auth], Addresses: []string{p.Address},
				Problem: fmt.Sprintf("payout %s (attempt %d, key %s) was in it, and Dinar Dragon has no idempotency key to stop it being paid again; payctl refuses to send it in another payout", p.Address, p.Attempt, p.Key)}
		}
	}
	return nil
}

// release forgets q after its request was proven not sent.
func (c *Client) release(q providers.Quote) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sent, q.Token)
	c.releaseKeysLocked(q)
}

// releaseKeys frees q's attempts after a refusal that paid nothing.
func (c *Client) releaseKeys(q providers.Quote) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.releaseKeysLocked(q)
}

func (c *Client) releaseKeysLocked(q providers.Quote) {
	for _, p := range q.Payouts {
		if c.keys[p.Key] == q.Token {
			delete(c.keys, p.Key)
		}
	}
}

// documentedRefusal reports whether an error answer is one the docs say
// means nothing was paid: code 400 (authcode invalid or expired) or 403,
// and 401 (the "Missing API key" answer). The HTTP status must agree with
// the body's code, or be 200 (the body's code is documented as the HTTP
// code, so a server may send every answer with 200).
func documentedRefusal(status, code int) bool {
	switch code {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
		return status == code || status == http.StatusOK
	}
	return false
}

// checkQuote makes sure the request about to be sent is exactly the
// execute of q's authcode and nothing else: q.Request comes back from a
// journal or a plan file, and only this shape is safe to send.
func checkQuote(q providers.Quote) error {
	if len(q.Payouts) == 0 {
		return errors.New("the quote has no payouts")
	}
	if !isLowerHex(q.Token, authcodeLen) {
		return fmt.Errorf("the quote's authcode %q is not %d lower-case hex digits", clip(q.Token), authcodeLen)
	}
	if q.Request.Method != http.MethodPost || q.Request.Path != "/execute" || q.Request.Body != executeBody(q.Token) {
		return fmt.Errorf("the quote's request is not the execute of authcode %s; get a new quote", q.Token)
	}
	return nil
}

// match pairs each payout with the answered account of the same account
// number and amount, taking the first unused one so that two payouts to
// one account with one amount pair in order. It returns, per payout, the
// index of its account in ans, or a description of every mismatch: a
// payout not answered, answered with another amount, or an answered
// account that was not sent (an extra or a duplicate).
func match(ps []providers.Payout, ans []answeredAccount) ([]int, string) {
	used := make([]bool, len(ans))
	order := make([]int, len(ps))
	var problems []string
	for i, p := range ps {
		order[i] = -1
		for j, a := range ans {
			if !used[j] && a.Acc == p.Recipient.Account && a.Amount.Equal(p.Amount) {
				used[j], order[i] = true, j
				break
			}
		}
	}
	for i, p := range ps {
		if order[i] >= 0 {
			continue
		}
		other := ""
		for j, a := range ans {
			if !used[j] && a.Acc == p.Recipient.Account {
				other = fmt.Sprintf(" (account %s was answered with amount %s instead of %s)", a.Acc, a.AmountText, p.Amount.String())
				break
			}
		}
		problems = append(problems, fmt.Sprintf("payout %s to account %s for %s is not in the answer%s", p.Address, p.Recipient.Account, p.Amount.String(), other))
	}
	for j, a := range ans {
		if !used[j] {
			problems = append(problems, fmt.Sprintf("the answer has account %s for %s (uniqueid %s) that was not sent", a.Acc, a.AmountText, a.UniqueID))
		}
	}
	return order, strings.Join(problems, "; ")
}

func all(q providers.Quote, s providers.Status, reason string) []providers.Result {
	out := make([]providers.Result, len(q.Payouts))
	for i, p := range q.Payouts {
		out[i] = providers.Result{Address: p.Address, Status: s, Reason: reason}
	}
	return out
}

func unknowns(q providers.Quote, e *OutcomeError) []providers.Result {
	out := make([]providers.Result, len(q.Payouts))
	for i, p := range q.Payouts {
		r := providers.Result{Address: p.Address, Status: providers.StatusUnknown, Reason: e.reason(p.Address)}
		if e.PaymentID != "" {
			r.IDs = map[string]string{providers.IDGroup: e.PaymentID}
		}
		out[i] = r
	}
	return out
}

func addrs(ps []providers.Payout) []string {
	as := make([]string, len(ps))
	for i, p := range ps {
		as[i] = p.Address
	}
	return as
}
