package plan

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	return strings.ToUpper(strings.TrimSpace(r.BankCode)) + "\x00" + normalName(r.Bank) + "\x00" +
		strings.ToUpper(r.Country) + "\x00" + string(accountNumber(nil, r.Account))
}

// known indexes what a state has paid that a plan's payouts need to be
// compared with: of the accounts and recipients the plan sends to, which
// accounts had a payout accepted (paid or pending), and to which accounts
// each recipient was paid. Failed and unknown attempts never make an
// account known.
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

// wanted is what the items look for: their account numbers (as compared)
// and recipient keys. Scanning a state of millions of payouts then costs a
// map lookup or two per payout, without normalising every name.
type wanted struct {
	numbers    map[string]bool
	recipients map[string]bool
}

// index scans the state for what the items need.
func index(snap *state.Snapshot, items []*Item) *known {
	k := &known{accounts: map[string]bool{}, byRecipient: map[string]map[string]*state.Payout{}}
	if snap == nil || len(items) == 0 {
		return k
	}
	w := wanted{numbers: map[string]bool{}, recipients: map[string]bool{}}
	for _, it := range items {
		w.numbers[string(accountNumber(nil, it.Recipient.Account))] = true
		w.recipients[RecipientKey(it.Recipient)] = true
	}
	var buf [64]byte
	for _, sp := range snap.Payouts {
		num := accountNumber(buf[:0], sp.Recipient.Account)
		numHit := w.numbers[string(num)]
		who, whoHit := w.recipient(sp.Recipient)
		if !numHit && !whoHit {
			continue
		}
		at, ok := accepted(sp)
		if !ok {
			continue
		}
		acct := AccountKey(sp.Recipient)
		if numHit {
			k.accounts[acct] = true
		}
		if !whoHit {
			continue
		}
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

// recipient reports whether r is a recipient w looks for, and its key. A
// name in ASCII is compared without building its key unless it matches.
func (w wanted) recipient(r providers.Recipient) (string, bool) {
	if id := strings.TrimSpace(r.ID); id != "" {
		key := "id:" + id
		return key, w.recipients[key]
	}
	var buf [128]byte
	if b, ok := asciiName(buf[:0], r.Name); ok {
		if !w.recipients[string(b)] {
			return "", false
		}
		return string(b), true
	}
	key := RecipientKey(r)
	return key, w.recipients[key]
}

// asciiName appends "name:" and an ASCII name as normalName gives it (for
// ASCII, compatibility forms and case folding are lower case), or reports
// false for a name with other characters.
func asciiName(b []byte, name string) ([]byte, bool) {
	b = append(b, "name:"...)
	space := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 0x80:
			return nil, false
		case c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r':
			space = true
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if space && len(b) > len("name:") {
			b = append(b, ' ')
		}
		space = false
		b = append(b, c)
	}
	return b, true
}

// accountNumber appends an account number as accounts are compared: without
// spaces, dashes and dots, in upper case.
func accountNumber(b []byte, acct string) []byte {
	for _, c := range acct {
		if c == ' ' || c == '-' || c == '.' {
			continue
		}
		b = utf8.AppendRune(b, unicode.ToUpper(c))
	}
	return b
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
	var sends []*Item
	for _, it := range p.Payouts {
		if it.Action.Sends() {
			sends = append(sends, it)
		}
	}
	k := index(snap, sends)
	for _, it := range sends {
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
