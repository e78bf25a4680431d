package plan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/internal/names"
	"github.com/payctl/payctl/internal/textable"
	"github.com/payctl/payctl/providers"
)

// What a plan can ask providers without moving money: the bank's name for
// the accounts a review flags (plan -verify-accounts), and the balance
// each provider will be charged against (plan -json with credentials,
// doctor, and apply before it sends anything). The answers are shown with
// the plan and never saved in it: they describe the moment they were
// asked, not the payments.

// Opener opens a configured provider by name.
type Opener func(name string) (providers.Provider, error)

// AccountCheck is what a provider's bank said about one payout's account.
type AccountCheck struct {
	Address  string `json:"address"`
	Provider string `json:"provider"`
	// Review is why the account was asked about (NewAccount, AccountChanged).
	Review string `json:"review"`
	// Name is the manifest's recipient name; BankName the bank's.
	Name     string `json:"name"`
	BankName string `json:"bank_name,omitempty"`
	// Status is the provider's own status for the inquiry, as returned.
	Status string `json:"status,omitempty"`
	// Result is one of the Account constants.
	Result string `json:"result"`
	// Error says why the provider could not answer (Result AccountUnanswered).
	Error string `json:"error,omitempty"`
}

// The results of an account check.
const (
	// AccountSame: the bank's name is the manifest's, normalised.
	AccountSame = "same name"
	// AccountDiffers: the bank holds the account under another name.
	AccountDiffers = "name differs"
	// AccountNoName: the provider answered without a name (yet).
	AccountNoName = "no name given"
	// AccountUnanswered: the provider could not be asked or did not answer.
	AccountUnanswered = "not verified"
)

// VerifyConcurrency is how many account inquiries are in flight at once:
// a plan may flag hundreds of new accounts, and a provider's rate limits
// are not published.
const VerifyConcurrency = 4

// VerifyTimeout bounds one account inquiry: a provider that does not
// answer makes the payout's check unanswered, not the plan hang.
const VerifyTimeout = 20 * time.Second

// VerifyAccounts asks the providers that can (providers.AccountVerifier)
// who holds the account of each payout the review flags (new account,
// account changed), and compares the name with the manifest's. A payout
// whose provider cannot be opened, has no account inquiry or does not
// answer gets an AccountUnanswered check saying why; nothing fails
// silently, and no money moves. Results are in the plan's payout order.
func VerifyAccounts(ctx context.Context, p *Plan, open Opener) []*AccountCheck {
	var items []*Item
	for _, it := range p.Payouts {
		if it.Review != "" && it.Action.Sends() {
			items = append(items, it)
		}
	}
	out := make([]*AccountCheck, len(items))
	provs := map[string]providers.Provider{}
	openErrs := map[string]error{}
	for _, it := range items {
		if _, done := provs[it.Provider]; done {
			continue
		}
		if _, failed := openErrs[it.Provider]; failed {
			continue
		}
		pv, err := open(it.Provider)
		if err != nil {
			openErrs[it.Provider] = err
			continue
		}
		provs[it.Provider] = pv
	}
	sem := make(chan struct{}, VerifyConcurrency)
	var wg sync.WaitGroup
	for i, it := range items {
		c := &AccountCheck{Address: it.Address, Provider: it.Provider, Review: it.Review, Name: it.Recipient.Name, Result: AccountUnanswered}
		out[i] = c
		if err := openErrs[it.Provider]; err != nil {
			c.Error = "provider cannot be used: " + err.Error()
			continue
		}
		v, ok := provs[it.Provider].(providers.AccountVerifier)
		if !ok {
			c.Error = fmt.Sprintf("provider %s (%s) has no account inquiry", it.Provider, it.Type)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				c.Error = "not asked: " + context.Cause(ctx).Error()
				return
			}
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, VerifyTimeout)
			defer cancel()
			h, err := v.VerifyAccount(cctx, it.Recipient)
			switch {
			case errors.Is(cctx.Err(), context.DeadlineExceeded):
				c.Error = fmt.Sprintf("no answer within %s", VerifyTimeout)
			case err != nil:
				c.Error = err.Error()
			case h.Name == "":
				c.Result, c.Status = AccountNoName, h.Status
			case names.Same(it.Recipient.Name, h.Name):
				c.Result, c.Status, c.BankName = AccountSame, h.Status, h.Name
			default:
				c.Result, c.Status, c.BankName = AccountDiffers, h.Status, h.Name
			}
		}()
	}
	wg.Wait()
	return out
}

// BalanceCheck compares what a plan charges a provider's balance with the
// balance the provider reports.
type BalanceCheck struct {
	Provider string `json:"provider"`
	Currency string `json:"currency"`
	// Needed is what the plan charges the balance (Total.Charged).
	Needed money.Amount `json:"needed"`
	// Available and Pending as the provider reported them; nil when it
	// was not asked or could not answer (see Note).
	Available *money.Amount `json:"available,omitempty"`
	Pending   *money.Amount `json:"pending,omitempty"`
	// Short is Needed minus Available when the balance does not cover
	// the plan.
	Short *money.Amount `json:"short,omitempty"`
	// Note says why there is no balance: the provider publishes no
	// balance endpoint, credentials are missing, or the call failed.
	Note string `json:"note,omitempty"`
	// Err is the failure behind a Note, when the provider was asked.
	Err error `json:"-"`
}

// NoBalanceEndpoint is the note of a provider that publishes no balance.
const NoBalanceEndpoint = "the provider publishes no balance endpoint; check its dashboard"

// BalanceTimeout bounds one balance request.
const BalanceTimeout = 20 * time.Second

// Balances asks each provider the plan charges (Totals with payouts to
// send) for its balance, and compares. A provider that cannot be opened
// or asked gets a Note; the caller decides what that means (apply
// refuses, plan shows it). Sorted by provider and currency.
func Balances(ctx context.Context, p *Plan, open Opener) []*BalanceCheck {
	var out []*BalanceCheck
	for _, t := range p.Totals {
		if t.Pay+t.Retry == 0 {
			continue
		}
		out = append(out, &BalanceCheck{Provider: t.Provider, Currency: t.Currency, Needed: t.Charged})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].Currency < out[j].Currency
	})
	for _, c := range out {
		pv, err := open(c.Provider)
		if err != nil {
			c.Note, c.Err = "balance not read: "+err.Error(), err
			continue
		}
		c.Ask(ctx, pv)
	}
	return out
}

// Ask reads pv's balance into c (when pv publishes one) and compares it
// with c.Needed.
func (c *BalanceCheck) Ask(ctx context.Context, pv providers.Provider) {
	br, ok := pv.(providers.BalanceReader)
	if !ok {
		c.Note = NoBalanceEndpoint
		return
	}
	cctx, cancel := context.WithTimeout(ctx, BalanceTimeout)
	defer cancel()
	b, err := br.Balance(cctx)
	if err != nil {
		c.Note, c.Err = "balance not read: "+err.Error(), err
		return
	}
	avail := b.Available
	c.Available, c.Pending = &avail, b.Pending
	if avail.Cmp(c.Needed) < 0 {
		short := c.Needed.Sub(avail)
		c.Short = &short
	}
}

// WriteAccountChecks writes the account checks for a terminal, or for a
// pull-request comment with markdown.
func WriteAccountChecks(w io.Writer, checks []*AccountCheck, markdown bool) error {
	var b bytes.Buffer
	unanswered, differ := 0, 0
	for _, c := range checks {
		switch c.Result {
		case AccountUnanswered:
			unanswered++
		case AccountDiffers:
			differ++
		}
	}
	head := fmt.Sprintf("Accounts asked of the providers (no money moves): %d; names differ: %d; not verified: %d", len(checks), differ, unanswered)
	if markdown {
		fmt.Fprintf(&b, "\n**%s**\n\n", head)
		if len(checks) > 0 {
			b.WriteString("| | Address | Manifest's name | Bank's name | Result |\n|---|---|---|---|---|\n")
		}
	} else {
		fmt.Fprintf(&b, "\n%s.\n", head)
	}
	t := &textable.Table{Indent: "  ", NoteIndent: "    "}
	for _, c := range checks {
		mark, bank := " ", c.BankName
		result := c.Result
		switch c.Result {
		case AccountDiffers, AccountUnanswered:
			mark = "!"
		}
		if c.Result == AccountUnanswered {
			result += ": " + c.Error
		}
		if bank == "" {
			bank = "-"
		}
		if markdown {
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", mark, mdEscape(c.Address), mdEscape(c.Name), mdEscape(bank), mdEscape(result))
			continue
		}
		t.Row(mark, c.Address, "manifest: "+c.Name, "bank: "+bank, result)
	}
	if !markdown && t.Len() > 0 {
		t.WriteTo(&b)
	}
	_, err := w.Write(b.Bytes())
	return err
}
