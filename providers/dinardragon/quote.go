package dinardragon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// Quote prices paying ps as one provider payout with POST /get-authcode.
// It moves no money. The returned Quote holds the authcode in Token, the
// charge in Fee and the exact execute request in Request. The authcode is
// not a credential (it only works with the private key), so it may be
// journaled, and it is the one thing a person can look up on the
// dashboard when an execute answer is lost.
//
// At is taken before the request is sent, so Expires (At + 15 minutes) is
// never later than the provider's own expiry.
//
// A payout whose attempt (idempotency key) was in an execute this client
// sent is refused with an *OutcomeError (wrapping providers.ErrStop), since
// nothing at Dinar Dragon would stop it being paid twice; a new attempt
// has a new key.
func (c *Client) Quote(ctx context.Context, ps []providers.Payout) (providers.Quote, error) {
	accounts, total, err := c.accounts(ps)
	if err != nil {
		return providers.Quote{}, err
	}
	c.mu.Lock()
	clash := c.keyClash(ps)
	c.mu.Unlock()
	if clash != nil {
		return providers.Quote{}, clash
	}
	at := c.now()
	a, err := c.call(ctx, "/get-authcode", quoteBody(total, accounts))
	if err != nil {
		return providers.Quote{}, fmt.Errorf("provider %s: get-authcode for %s: %w", c.name, describe(ps), err)
	}
	if err := refusal(a); err != nil {
		return providers.Quote{}, fmt.Errorf("provider %s: get-authcode for %s was refused (%w); nothing was paid", c.name, describe(ps), err)
	}
	ans, err := parseAuthcodeAnswer(a.body)
	if err != nil {
		return providers.Quote{}, fmt.Errorf("provider %s: get-authcode for %s: the answer cannot be used (%v); nothing was paid, and the authcode, if any, lapses by itself", c.name, describe(ps), err)
	}
	return providers.Quote{
		Payouts: append([]providers.Payout(nil), ps...),
		Total:   total,
		Fee:     ans.Charge,
		Token:   ans.Authcode,
		Request: providers.Request{Method: http.MethodPost, Path: "/execute", Body: executeBody(ans.Authcode)},
		At:      at,
		Expires: at.Add(AuthcodeLifetime),
	}, nil
}

// accounts checks ps (the provider's rules again, so a payout that skipped
// validation is never sent) and turns them into request accounts.
func (c *Client) accounts(ps []providers.Payout) ([]account, money.Amount, error) {
	if len(ps) == 0 {
		return nil, money.Amount{}, fmt.Errorf("provider %s: a quote needs at least one payout", c.name)
	}
	if len(ps) > c.maxBatch {
		return nil, money.Amount{}, fmt.Errorf("provider %s: %d payouts exceed maxBatch %d; split them over several quotes", c.name, len(ps), c.maxBatch)
	}
	total := money.FromInt64(0)
	seen := map[string]bool{}
	var problems []string
	accounts := make([]account, 0, len(ps))
	for _, p := range ps {
		if seen[p.Address] {
			problems = append(problems, fmt.Sprintf("payout %s appears twice in one quote", p.Address))
		}
		seen[p.Address] = true
		if p.Currency.Code != Rules.Currency() {
			problems = append(problems, fmt.Sprintf("payout %s: currency %q; Dinar Dragon pays USD only", p.Address, p.Currency.Code))
		}
		for _, fe := range Rules.CheckPayout(p) {
			problems = append(problems, fmt.Sprintf("payout %s: %s: %s", p.Address, fe.Field, fe.Msg))
		}
		total = total.Add(p.Amount)
		accounts = append(accounts, account{
			Acc:     p.Recipient.Account,
			Amount:  p.Amount,
			Bank:    p.Recipient.Bank,
			Country: p.Recipient.Country,
			Name:    p.Recipient.Name,
		})
	}
	if len(problems) > 0 {
		return nil, money.Amount{}, fmt.Errorf("provider %s: cannot quote: %s", c.name, strings.Join(problems, "; "))
	}
	return accounts, total, nil
}

// refusal returns the provider's refusal when a is one, nil when it looks
// like a success. 401 and 403 wrap ErrAuth.
func refusal(a answer) error {
	f, ferr := parseFailure(a.body)
	switch {
	case ferr == nil && (f.Code == http.StatusUnauthorized || f.Code == http.StatusForbidden),
		a.status == http.StatusUnauthorized || a.status == http.StatusForbidden:
		return fmt.Errorf("%s: %w", failureText(a), ErrAuth)
	case ferr == nil && f.Code >= 300:
		return errors.New(failureText(a))
	case a.status < 200 || a.status > 299:
		return errors.New(failureText(a))
	}
	return nil
}

// describe names the payouts of a request for a message.
func describe(ps []providers.Payout) string {
	if len(ps) == 1 {
		return "payout " + ps[0].Address
	}
	return fmt.Sprintf("%d payouts (%s)", len(ps), strings.Join(addrs(ps), ", "))
}
