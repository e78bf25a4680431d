package state

import (
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/payctl/payctl/providers"
)

// RecipientKey is who a recipient is, across batches: "id:" and the
// manifest's recipient.id when it has one, otherwise "name:" and the name
// normalised (Unicode compatibility form, case folded, runs of spaces made
// one). Two payouts with the same key are the same recipient to payctl.
func RecipientKey(r providers.Recipient) string {
	if id := strings.TrimSpace(r.ID); id != "" {
		return "id:" + id
	}
	return "name:" + NormalName(r.Name)
}

var folder = cases.Fold()

// NormalName is a name as recipients are compared: compatibility form,
// case folded, runs of spaces made one.
func NormalName(s string) string {
	if b, ok := asciiName(s); ok {
		return b
	}
	s = folder.String(norm.NFKC.String(s))
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// asciiName is NormalName of a name in ASCII, where compatibility forms
// and case folding are lower case, without the cost of either (a state's
// account index is built from every payout ever paid). It reports false
// for a name with other characters.
func asciiName(name string) (string, bool) {
	var buf [128]byte
	b := buf[:0]
	space := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 0x80:
			return "", false
		case c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r':
			space = true
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		b = append(b, c)
	}
	return string(b), true
}

// AccountKey is which account a recipient's payout goes to: bank code,
// bank, country and account number, with spaces, dashes and dots dropped
// from the number and letters in one case (IBANs are written in groups).
func AccountKey(r providers.Recipient) string {
	return strings.ToUpper(strings.TrimSpace(r.BankCode)) + "\x00" + NormalName(r.Bank) + "\x00" +
		strings.ToUpper(r.Country) + "\x00" + string(AppendAccountNumber(nil, r.Account))
}

// AccountNumber is the account number part of an AccountKey.
func AccountNumber(accountKey string) string {
	return accountKey[strings.LastIndexByte(accountKey, 0)+1:]
}

// AppendAccountNumber appends an account number as accounts are compared:
// without spaces, dashes and dots, in upper case.
func AppendAccountNumber(b []byte, acct string) []byte {
	for _, c := range acct {
		if c == ' ' || c == '-' || c == '.' {
			continue
		}
		b = utf8.AppendRune(b, unicode.ToUpper(c))
	}
	return b
}

// AccountEntry says that a recipient was paid to an account: of the
// payouts of that recipient to that account that the provider accepted
// (paid or pending), the latest. Plans compare what they send with these,
// to mark new and changed accounts.
type AccountEntry struct {
	Who     string `json:"who"`     // RecipientKey
	Account string `json:"account"` // AccountKey
	// Address and At are the latest accepted payout's, and when its
	// accepted attempt was sent.
	Address   string              `json:"address"`
	At        time.Time           `json:"at"`
	Recipient providers.Recipient `json:"recipient"`
}

// pair is an entry's key: who, paid to which account.
type pair struct{ who, account string }

func (e *AccountEntry) key() pair { return pair{e.Who, e.Account} }

// SortAccounts sorts entries by recipient, then account: the account
// index's order.
func SortAccounts(es []*AccountEntry) {
	slices.SortFunc(es, func(a, b *AccountEntry) int {
		if c := strings.Compare(a.Who, b.Who); c != 0 {
			return c
		}
		return strings.Compare(a.Account, b.Account)
	})
}

// Later reports whether e is a later payment than o: by time, then
// address, so that the same entries give the same answer in any order.
func (e *AccountEntry) Later(o *AccountEntry) bool {
	if !e.At.Equal(o.At) {
		return e.At.After(o.At)
	}
	return e.Address > o.Address
}

// accepted returns when the latest attempt the provider accepted (paid or
// pending) was sent. Failed and unknown attempts never make an account
// known.
func accepted(p *Payout) (time.Time, bool) {
	for i := len(p.Attempts) - 1; i >= 0; i-- {
		a := p.Attempts[i]
		if a.Status == providers.StatusPaid || a.Status == providers.StatusPending {
			return a.SentAt, true
		}
	}
	return time.Time{}, false
}

// entryOf is the account entry a payout makes, if accepted.
func entryOf(p *Payout) (*AccountEntry, bool) {
	at, ok := accepted(p)
	e := &AccountEntry{Who: RecipientKey(p.Recipient), Account: AccountKey(p.Recipient), Address: p.Address, At: at, Recipient: p.Recipient}
	return e, ok
}

// mergeAccepted folds payouts into entries by pair: an accepted payout
// later than its pair's entry replaces it; a payout that is its pair's
// entry but is no longer accepted (its funds came back) removes it. Another
// accepted payout of that pair may then be forgotten, which only makes a
// plan mark more accounts for review, never fewer.
func mergeAccepted(m map[pair]*AccountEntry, ps []*Payout) {
	for _, p := range ps {
		e, ok := entryOf(p)
		k := e.key()
		cur := m[k]
		switch {
		case ok && (cur == nil || cur.Address == p.Address || e.Later(cur)):
			m[k] = e
		case !ok && cur != nil && cur.Address == p.Address:
			delete(m, k)
		}
	}
}

// AccountsLoader reads a segmented state's account index, checking it
// against digest; with keep, only the entries keep accepts.
type AccountsLoader func(digest string, keep func(who, account string) bool) ([]*AccountEntry, error)

// AccountsIndex is what a segmented state's root says of its account
// index: how many entries, and the digest of the file.
type AccountsIndex struct {
	Entries int    `json:"entries"`
	Digest  string `json:"digest"`
}

// SetAccounts tells a segmented snapshot where its account index is.
func (s *Snapshot) SetAccounts(idx AccountsIndex, load AccountsLoader) {
	if s.seg == nil {
		return
	}
	s.seg.accountsIdx, s.seg.loadAccounts = idx, load
}

// AccountsIndexed returns the root's account index entry.
func (s *Snapshot) AccountsIndexed() AccountsIndex {
	if s.seg == nil {
		return AccountsIndex{}
	}
	return s.seg.accountsIdx
}

// Accepted returns an entry per recipient and account the state paid, in
// no particular order (SortAccounts sorts them). A snapshot held whole
// computes them; a segmented one reads its account index and folds in the
// batches changed since it was written (the index is rewritten only once
// these are many, so that a checkpoint does not rewrite it for every few
// payouts), so that a plan needs neither the whole history nor the
// batches it does not pay.
func (s *Snapshot) Accepted() ([]*AccountEntry, error) { return s.AcceptedFor(nil) }

// AcceptedFor is Accepted for the recipients and accounts keep accepts
// (nil: all), which is all a plan asks: a large index is then decoded
// without being held.
func (s *Snapshot) AcceptedFor(keep func(who, account string) bool) ([]*AccountEntry, error) {
	var m map[pair]*AccountEntry
	if s.seg == nil || !s.seg.hasIndex() {
		m = map[pair]*AccountEntry{}
		if err := s.LoadAll(); err != nil {
			return nil, err
		}
		// In any order: every payout is seen once, so the latest of each
		// pair wins whatever came first.
		ps := make([]*Payout, 0, len(s.Payouts))
		for _, p := range s.Payouts {
			ps = append(ps, p)
		}
		mergeAccepted(m, ps)
	} else {
		switch {
		case s.seg.accounts != nil:
			m = maps.Clone(s.seg.accounts)
		case keep != nil:
			// Entries of other pairs are not needed: the batches folded
			// in below only change the pairs of their own payouts.
			es, err := s.seg.loadAccounts(s.seg.accountsIdx.Digest, keep)
			if err != nil {
				return nil, err
			}
			m = make(map[pair]*AccountEntry, len(es))
			for _, e := range es {
				m[e.key()] = e
			}
		default:
			es, err := s.seg.loadAccounts(s.seg.accountsIdx.Digest, nil)
			if err != nil {
				return nil, err
			}
			s.seg.accounts = make(map[pair]*AccountEntry, len(es))
			for _, e := range es {
				s.seg.accounts[e.key()] = e
			}
			m = maps.Clone(s.seg.accounts)
		}
		un := s.Unindexed()
		if err := s.LoadBatches(un...); err != nil {
			return nil, err
		}
		for _, b := range un {
			ps, _ := s.BatchPayouts(b)
			mergeAccepted(m, ps)
		}
	}
	out := make([]*AccountEntry, 0, len(m))
	for _, e := range m {
		if keep == nil || keep(e.Who, e.Account) {
			out = append(out, e)
		}
	}
	return out, nil
}

// hasIndex reports whether the snapshot's account index can stand for the
// batches not read: a state written before the index existed has none
// (its next checkpoint writes one).
func (g *segments) hasIndex() bool {
	return g.loadAccounts != nil && g.accountsIdx.Digest != ""
}

// AccountsWritten records that the account index was written.
func (s *Snapshot) AccountsWritten(idx AccountsIndex, es []*AccountEntry) {
	if s.seg == nil {
		return
	}
	s.seg.accountsIdx = idx
	s.seg.accounts = make(map[pair]*AccountEntry, len(es))
	for _, e := range es {
		s.seg.accounts[e.key()] = e
	}
}
