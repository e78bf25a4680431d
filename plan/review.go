package plan

import (
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

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

// RecipientKey is who a recipient is, across batches: "id:" and the
// manifest's recipient.id when it has one, otherwise "name:" and the name
// normalised (Unicode compatibility form, case folded, runs of spaces made
// one). Two payouts with the same key are the same recipient to payctl.
func RecipientKey(r providers.Recipient) string {
	if id := strings.TrimSpace(r.ID); id != "" {
		return "id:" + id
	}
	return "name:" + normalName(r.Name)
}

var folder = cases.Fold()

func normalName(s string) string {
	s = folder.String(norm.NFKC.String(s))
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// AccountKey is which account a recipient's payout goes to: bank code,
// bank, country and account number, with spaces, dashes and dots dropped
// from the number and letters in one case (IBANs are written in groups).
func AccountKey(r providers.Recipient) string {
	acct := strings.Map(func(c rune) rune {
		if c == ' ' || c == '-' || c == '.' {
			return -1
		}
		return unicode.ToUpper(c)
	}, r.Account)
	return strings.ToUpper(strings.TrimSpace(r.BankCode)) + "\x00" + normalName(r.Bank) + "\x00" +
		strings.ToUpper(r.Country) + "\x00" + acct
}

// known indexes the accounts a state has paid: every payout with an
// accepted attempt (paid or pending). Failed and unknown attempts never
// make an account known.
type known struct {
	accounts map[string]bool
	// byRecipient holds each recipient's accounts, and the latest payout to
	// each.
	byRecipient map[string]map[string]*state.Payout
}

func accepted(sp *state.Payout) (time.Time, bool) {
	for i := len(sp.Attempts) - 1; i >= 0; i-- {
		a := sp.Attempts[i]
		if a.Status == providers.StatusPaid || a.Status == providers.StatusPending {
			return a.SentAt, true
		}
	}
	return time.Time{}, false
}

func index(snap *state.Snapshot) *known {
	k := &known{accounts: map[string]bool{}, byRecipient: map[string]map[string]*state.Payout{}}
	if snap == nil {
		return k
	}
	for _, sp := range snap.Payouts {
		at, ok := accepted(sp)
		if !ok {
			continue
		}
		acct := AccountKey(sp.Recipient)
		k.accounts[acct] = true
		who := RecipientKey(sp.Recipient)
		m := k.byRecipient[who]
		if m == nil {
			m = map[string]*state.Payout{}
			k.byRecipient[who] = m
		}
		if prev := m[acct]; prev == nil || laterThan(at, sp, prev) {
			m[acct] = sp
		}
	}
	return k
}

// laterThan orders payouts by acceptance time, then address, so that the
// "last paid to" shown is the same whatever the map order.
func laterThan(at time.Time, sp, prev *state.Payout) bool {
	pt, _ := accepted(prev)
	if !at.Equal(pt) {
		return at.After(pt)
	}
	return sp.Address > prev.Address
}

// review marks the payouts the plan sends whose account is new or changed.
func (p *Plan) review(snap *state.Snapshot) {
	var k *known
	for _, it := range p.Payouts {
		if !it.Action.Sends() {
			continue
		}
		if k == nil {
			k = index(snap)
		}
		acct := AccountKey(it.Recipient)
		accounts := k.byRecipient[RecipientKey(it.Recipient)]
		switch {
		case accounts[acct] != nil:
			// paid to this account before
		case len(accounts) > 0:
			it.Review = AccountChanged
			var last *state.Payout
			for _, sp := range accounts {
				if last == nil {
					last = sp
				} else if at, _ := accepted(sp); laterThan(at, sp, last) {
					last = sp
				}
			}
			at, _ := accepted(last)
			it.Previous = &Previous{Address: last.Address, Recipient: last.Recipient, SentAt: at.UTC()}
		case !k.accounts[acct]:
			it.Review = NewAccount
		}
	}
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
