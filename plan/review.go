package plan

import (
	"strings"
	"time"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// Review marks. Changed bank details are the most common payout fraud (a
// mail from a "vendor" announcing a new account), so a payout to an
// account this state never paid stands out in every plan format.
const (
	// NewAccount: no payout of this state was accepted for this account.
	NewAccount = "new account"
	// AccountChanged: this recipient was paid before, but never to this
	// account. It takes precedence over NewAccount.
	AccountChanged = "account changed"
)

// Previous is where a recipient was last paid, for an AccountChanged
// payout.
type Previous struct {
	Address   string              `json:"address"`
	Recipient providers.Recipient `json:"recipient"`
	SentAt    time.Time           `json:"sent_at"`
}

// RecipientKey is who a recipient is, across batches (see
// state.RecipientKey).
func RecipientKey(r providers.Recipient) string { return state.RecipientKey(r) }

// AccountKey is which account a recipient's payout goes to (see
// state.AccountKey).
func AccountKey(r providers.Recipient) string { return state.AccountKey(r) }

// known indexes what a state has paid that a plan's payouts need to be
// compared with: of the accounts and recipients the plan sends to, which
// accounts had a payout accepted (paid or pending), and to which accounts
// each recipient was paid. Failed and unknown attempts never make an
// account known.
type known struct {
	accounts map[string]bool
	// byRecipient holds each recipient's accounts, and the latest payout to
	// each.
	byRecipient map[string]map[string]*state.AccountEntry
}

// wanted is what the items look for: their account numbers (as compared)
// and recipient keys.
type wanted struct {
	numbers    map[string]bool
	recipients map[string]bool
}

// index looks up what the items need in the state's accepted payouts (its
// account index, for a segmented state: not its whole history). who holds
// the items' recipient keys, in order.
func index(snap *state.Snapshot, items []*Item, who []string) (*known, error) {
	k := &known{accounts: map[string]bool{}, byRecipient: map[string]map[string]*state.AccountEntry{}}
	if snap == nil || len(items) == 0 || !snap.HasPayouts() {
		// A state that never paid anything knows no account.
		return k, nil
	}
	w := wanted{numbers: make(map[string]bool, len(items)), recipients: make(map[string]bool, len(items))}
	for i, it := range items {
		w.numbers[string(state.AppendAccountNumber(nil, it.Recipient.Account))] = true
		w.recipients[who[i]] = true
	}
	es, err := snap.AcceptedFor(func(who, account string) bool {
		return w.recipients[who] || w.numbers[state.AccountNumber(account)]
	})
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if w.numbers[state.AccountNumber(e.Account)] {
			k.accounts[e.Account] = true
		}
		if !w.recipients[e.Who] {
			continue
		}
		m := k.byRecipient[e.Who]
		if m == nil {
			m = map[string]*state.AccountEntry{}
			k.byRecipient[e.Who] = m
		}
		m[e.Account] = e
	}
	return k, nil
}

// review marks the payouts the plan sends whose account is new or changed.
func (p *Plan) review(snap *state.Snapshot) error {
	var sends []*Item
	for _, it := range p.Payouts {
		if it.Action.Sends() {
			sends = append(sends, it)
		}
	}
	// Each key once: normalising a name is most of the review's cost.
	var who []string
	if snap != nil && snap.HasPayouts() {
		who = make([]string, len(sends))
		for i, it := range sends {
			who[i] = RecipientKey(it.Recipient)
		}
	}
	k, err := index(snap, sends, who)
	if err != nil {
		return err
	}
	for i, it := range sends {
		var accounts map[string]*state.AccountEntry
		if len(k.byRecipient) > 0 {
			accounts = k.byRecipient[who[i]]
		}
		if len(accounts) == 0 && len(k.accounts) == 0 {
			// Neither this recipient nor any of the accounts was paid.
			it.Review = NewAccount
			continue
		}
		acct := AccountKey(it.Recipient)
		switch {
		case accounts[acct] != nil:
			// paid to this account before
		case len(accounts) > 0:
			it.Review = AccountChanged
			var last *state.AccountEntry
			for _, e := range accounts {
				if last == nil || e.Later(last) {
					last = e
				}
			}
			it.Previous = &Previous{Address: last.Address, Recipient: last.Recipient, SentAt: last.At.UTC()}
		case !k.accounts[acct]:
			it.Review = NewAccount
		}
	}
	return nil
}

// Flagged counts the payouts the plan sends to new accounts and to changed
// ones.
func (p *Plan) Flagged() (newAccounts, changed int) {
	for _, it := range p.Payouts {
		switch {
		case !it.Action.Sends():
		case it.Review == NewAccount:
			newAccounts++
		case it.Review == AccountChanged:
			changed++
		}
	}
	return
}

// CheckText says, for a payout marked NewAccount or AccountChanged, what
// to check, in one line: "new account: NAME, BANK ****1234" or "account
// changed: NAME was last paid to ...; now ...". Accounts are masked to
// their last four characters. It is "" for a payout not marked.
func (it *Item) CheckText() string {
	switch it.Review {
	case NewAccount:
		return "new account: " + it.Recipient.Name + ", " + accountText(it.Recipient, true)
	case AccountChanged:
		return strings.TrimPrefix(reviewNote(it, true), "! ")
	}
	return ""
}

// reviewNote is the line a plan shows under a flagged payout; mask hides
// all but the last four characters of account numbers.
func reviewNote(it *Item, mask bool) string {
	switch it.Review {
	case NewAccount:
		return "! new account: this state never paid it"
	case AccountChanged:
		s := "! account changed: " + it.Recipient.Name + " was last paid to " + accountText(it.Previous.Recipient, mask)
		if it.Previous.Recipient.Name != it.Recipient.Name {
			s += " as " + it.Previous.Recipient.Name
		}
		return s + " (" + it.Previous.Address + ", " + it.Previous.SentAt.Format("2006-01-02") + "); now " + accountText(it.Recipient, mask)
	}
	return ""
}

// accountText names an account: bank (or bank code), number, country.
func accountText(r providers.Recipient, mask bool) string {
	acct := r.Account
	if mask {
		acct = MaskAccount(acct)
	}
	var parts []string
	switch {
	case r.Bank != "" && r.BankCode != "":
		parts = append(parts, r.Bank+" ("+r.BankCode+")")
	case r.Bank != "":
		parts = append(parts, r.Bank)
	case r.BankCode != "":
		parts = append(parts, "bank "+r.BankCode)
	}
	parts = append(parts, acct)
	if r.Country != "" {
		parts = append(parts, r.Country)
	}
	return strings.Join(parts, " ")
}
