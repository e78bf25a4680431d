package state

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// Version is the snapshot format payctl writes. Older versions are read and
// upgraded; newer ones are refused.
const Version = 1

// Snapshot is the folded state. In memory and on disk (version 1) it is the
// same structure; a future version 2 would be read into its own types and
// converted, so that old files stay readable.
type Snapshot struct {
	Version int    `json:"version"`
	Lineage string `json:"lineage"`
	Serial  uint64 `json:"serial"`
	// Journal is how far the journal has been folded into this snapshot.
	Journal JournalMark `json:"journal"`
	// Groups are provider payouts of batch providers, by group id.
	Groups map[string]*Group `json:"-"`
	// Payouts by address.
	Payouts map[string]*Payout `json:"-"`

	// Indexes kept while events are folded (nil in a snapshot built by
	// hand, where the methods that use them scan instead): the addresses
	// of each batch, and those of open payouts (sending, pending or
	// unknown). A state may hold millions of payouts; a plan wants one
	// batch's, recovery the few open ones.
	byBatch map[string][]string
	open    map[string]bool

	// seg is a segmented snapshot's table of batches, nil for a snapshot
	// held whole (version 1, or built by hand).
	seg *segments
}

// JournalMark points just past the last journal record folded in.
type JournalMark struct {
	Offset int64  `json:"offset"`
	Hash   string `json:"hash"`
}

// Payout is everything known about one payout address.
type Payout struct {
	Address   string              `json:"address"`
	Provider  string              `json:"provider"`
	Type      string              `json:"type"`
	Currency  string              `json:"currency"`
	Amount    money.Amount        `json:"amount"`
	Recipient providers.Recipient `json:"recipient"`
	// Reference and Metadata are the manifest's free text and own facts
	// about the payout; they are never sent to a provider, but are part
	// of its details (and digest) all the same.
	Reference string `json:"reference,omitempty"`
	Metadata  Fields `json:"metadata,omitempty"`
	// Digest of the payout's details; a paid payout's details never change.
	Digest string `json:"digest"`
	// PlannedFee is the fee estimated for this payout when it was sent
	// (absent for per-batch schedules: see the group).
	PlannedFee *money.Amount `json:"plannedFee,omitempty"`
	FeePayer   fee.Payer     `json:"feePayer,omitempty"`
	// Status is the latest attempt's status.
	Status   providers.Status `json:"status"`
	Attempts []*Attempt       `json:"attempts"`
}

// Latest is the latest attempt.
func (p *Payout) Latest() *Attempt {
	if len(p.Attempts) == 0 {
		return nil
	}
	return p.Attempts[len(p.Attempts)-1]
}

// Batch and ID split the address.
func (p *Payout) Batch() string { b, _, _ := strings.Cut(p.Address, "/"); return b }

// ID is the payout id within its batch.
func (p *Payout) ID() string { _, id, _ := strings.Cut(p.Address, "/"); return id }

// Attempt is one attempt to pay an address, with what the provider said.
type Attempt struct {
	N      int              `json:"n"`
	Key    string           `json:"key"`
	Status providers.Status `json:"status"`
	// Group is the provider payout this attempt was part of (batch providers).
	Group string `json:"group,omitempty"`
	// IDs the provider gave the attempt.
	IDs Fields `json:"ids,omitempty"`
	// Fee as the provider returned it.
	Fee *money.Amount `json:"fee,omitempty"`
	// Answer holds the provider's other answer fields, as returned.
	Answer Fields `json:"answer,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Findings are where the provider's answers about this attempt differ
	// from the plan (fee, fee payer, total, the bank's name for the
	// account). They never change the status: the provider's word about
	// the money stands, and a person looks at the difference.
	Findings []Finding `json:"findings,omitempty"`
	// ResolvedBy is the person who decided the outcome, if one did.
	ResolvedBy string `json:"resolvedBy,omitempty"`
	// ApprovedBy are the people whose signed approvals of the plan let
	// this attempt be sent (see policy.approvals).
	ApprovedBy []Approver `json:"approvedBy,omitempty"`
	SentAt     time.Time  `json:"sentAt"`
	FinalAt    *time.Time `json:"finalAt,omitempty"`
	// Sends counts how many times this attempt's request was sent; more
	// than one only after a send proven not to have arrived.
	Sends int `json:"sends"`
}

// Finding is one difference between what the plan expected of an attempt
// and what the provider answered.
type Finding struct {
	// Kind is what differs, one of the Finding constants.
	Kind string `json:"kind"`
	// Want is what the plan expected; Got is what the provider said.
	Want string `json:"want"`
	Got  string `json:"got"`
}

// The kinds of finding.
const (
	// FindingFee: the provider's fee is not the fee planned for the payout.
	FindingFee = "fee"
	// FindingFeePayer: the provider's answer shows the other party bearing
	// the fee (Want is payctl.yaml's payer, Got the answer's, with why).
	FindingFeePayer = "feePayer"
	// FindingTotal: the provider's total is neither amount + fee nor
	// amount - fee.
	FindingTotal = "totalAmount"
	// FindingName: the bank's name for the account is not the manifest's
	// recipient name, even normalised.
	FindingName = "recipientName"
)

// String says what differs, in words, e.g. "fee: the provider charged
// 2500, the plan 3000". Want and Got are as recorded: callers that print
// it escape it like any text payctl did not write.
func (f Finding) String() string {
	switch f.Kind {
	case FindingFee:
		return "fee: the provider charged " + f.Got + ", the plan " + f.Want
	case FindingFeePayer:
		return "fee payer: the provider's answer has " + payerWords(f.Got) + " bear the fee, payctl.yaml " + payerWords(f.Want)
	case FindingTotal:
		return "total: the provider says " + f.Got + ", expected " + f.Want
	case FindingName:
		return "name: the bank says " + strconv.Quote(f.Got) + " for the account, the manifest " + strconv.Quote(f.Want)
	}
	return f.Kind + ": the provider says " + f.Got + ", expected " + f.Want
}

// payerWords names who bears a fee: payctl's word (perhaps with the
// evidence after it), or a provider's.
func payerWords(p string) string {
	word, why, _ := strings.Cut(p, " ")
	switch word {
	case "sender", "merchant":
		word = "the sender"
	case "recipient", "customer":
		word = "the recipient"
	default:
		return strconv.Quote(p)
	}
	if why != "" {
		return word + " " + why
	}
	return word
}

// MergeFindings returns have with each of got added, replacing a finding of
// the same kind (the latest answer is what stands). have is not modified.
func MergeFindings(have, got []Finding) []Finding {
	if len(got) == 0 {
		return have
	}
	out := append([]Finding(nil), have...)
next:
	for _, g := range got {
		for i := range out {
			if out[i].Kind == g.Kind {
				out[i] = g
				continue next
			}
		}
		out = append(out, g)
	}
	return out
}

// Approver is one person who approved a plan by signing it: the principal
// payctl.yaml's allowed signers name for the key, and the key's
// fingerprint.
type Approver struct {
	Principal string `json:"principal"`
	Key       string `json:"key"`
}

// Group is one provider payout of a batch provider: several addresses paid
// by one irreversible request.
type Group struct {
	ID       string `json:"id"`
	Provider string `json:"provider"`
	// Token is the provider's handle on the quote (Dinar Dragon's authcode).
	Token      string           `json:"token,omitempty"`
	Addresses  []string         `json:"addresses"`
	Total      money.Amount     `json:"total"`
	Currency   string           `json:"currency"`
	PlannedFee *money.Amount    `json:"plannedFee,omitempty"`
	QuotedFee  *money.Amount    `json:"quotedFee,omitempty"`
	Fee        *money.Amount    `json:"fee,omitempty"` // charged, as returned
	IDs        Fields           `json:"ids,omitempty"`
	SentAt     time.Time        `json:"sentAt"`
	Status     providers.Status `json:"status"`
}

// New returns an empty snapshot of a new lineage.
func New() *Snapshot {
	s := Empty()
	s.Lineage = uuid.NewString()
	return s
}

// Empty returns a snapshot before any event, lineage unknown until the
// create event is folded: what a journal is folded into, and what a
// snapshot file is read into.
func Empty() *Snapshot {
	return &Snapshot{Version: Version, Groups: map[string]*Group{}, Payouts: map[string]*Payout{},
		byBatch: map[string][]string{}, open: map[string]bool{}}
}

// Add puts a payout not yet in the snapshot into it and its indexes.
func (s *Snapshot) Add(p *Payout) {
	s.Payouts[p.Address] = p
	if s.byBatch != nil {
		b := p.Batch()
		s.byBatch[b] = append(s.byBatch[b], p.Address)
	}
	s.setStatus(p, p.Status)
}

// setStatus sets a payout's status and keeps the open index.
func (s *Snapshot) setStatus(p *Payout, st providers.Status) {
	p.Status = st
	if s.open == nil {
		return
	}
	if st.Open() {
		s.open[p.Address] = true
	} else {
		delete(s.open, p.Address)
	}
}

// BatchAddresses returns the addresses of one batch's payouts, sorted.
func (s *Snapshot) BatchAddresses(batch string) []string {
	if s.byBatch == nil {
		return s.selectAddresses(func(p *Payout) bool { return p.Batch() == batch })
	}
	out := append([]string(nil), s.byBatch[batch]...)
	sort.Strings(out)
	return out
}

// OpenAddresses returns the addresses of payouts that are sending, pending
// or unknown, sorted.
func (s *Snapshot) OpenAddresses() []string {
	if s.open == nil {
		return s.selectAddresses(func(p *Payout) bool { return p.Status.Open() })
	}
	out := make([]string, 0, len(s.open))
	for a := range s.open {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// selectAddresses returns the addresses of the payouts keep accepts, sorted. It
// sorts only what it selects: a state can hold millions of payouts, and
// most commands care about a few.
func (s *Snapshot) selectAddresses(keep func(*Payout) bool) []string {
	var out []string
	for a, p := range s.Payouts {
		if keep(p) {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// Addresses returns the payout addresses, sorted.
func (s *Snapshot) Addresses() []string {
	out := make([]string, 0, len(s.Payouts))
	for a := range s.Payouts {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// keyNamespace is payctl's UUIDv5 namespace for idempotency keys. Fixed
// forever: a lost state must reproduce the same keys.
var keyNamespace = uuid.MustParse("29361f84-f7a8-4663-b003-db64572debea")

// Key is the idempotency key of an attempt: a UUIDv5 of the provider name,
// the address and the attempt number.
func Key(provider, address string, attempt int) string {
	return uuid.NewSHA1(keyNamespace, []byte(provider+"\n"+address+"\n"+strconv.Itoa(attempt))).String()
}

// isKey reports whether key is Key(provider, address, attempt), without
// allocating: loading a large state checks every attempt's key.
func isKey(key, provider, address string, attempt int) bool {
	if len(key) != 36 {
		return false
	}
	var buf [256]byte
	b := append(buf[:0], keyNamespace[:]...)
	b = append(b, provider...)
	b = append(b, '\n')
	b = append(b, address...)
	b = append(b, '\n')
	b = strconv.AppendInt(b, int64(attempt), 10)
	sum := sha1.Sum(b)
	// As uuid.NewSHA1: version 5, RFC 4122 variant.
	sum[6] = (sum[6] & 0x0f) | 0x50
	sum[8] = (sum[8] & 0x3f) | 0x80
	var text [36]byte
	hex.Encode(text[0:8], sum[0:4])
	text[8] = '-'
	hex.Encode(text[9:13], sum[4:6])
	text[13] = '-'
	hex.Encode(text[14:18], sum[6:8])
	text[18] = '-'
	hex.Encode(text[19:23], sum[8:10])
	text[23] = '-'
	hex.Encode(text[24:], sum[10:16])
	return string(text[:]) == key
}

// Details are the facts of a payout that make it the payment it is. Once
// any attempt has been sent they never change: a different payment needs a
// new id.
type Details struct {
	Provider  string
	Currency  string
	Amount    money.Amount
	Recipient providers.Recipient
	Reference string
	Metadata  Fields // sorted by name
}

// Details are the payout's details, as its digest covers them.
func (p *Payout) Details() Details {
	return Details{Provider: p.Provider, Currency: p.Currency, Amount: p.Amount, Recipient: p.Recipient, Reference: p.Reference, Metadata: p.Metadata}
}

// Digest is a stable hash of the details; the amount is compared by value.
func (d Details) Digest() string {
	sum := d.sum()
	return "sha256:" + hex.EncodeToString(sum[:])
}

// matches reports whether digest is d's Digest, without allocating.
func (d Details) matches(digest string) bool {
	if len(digest) != 7+64 || digest[:7] != "sha256:" {
		return false
	}
	sum := d.sum()
	var text [64]byte
	hex.Encode(text[:], sum[:])
	return string(text[:]) == digest[7:]
}

func (d Details) sum() [32]byte {
	var buf [256]byte
	b := buf[:0]
	for _, f := range [...]string{
		d.Provider, d.Currency, d.Amount.Normal(),
		d.Recipient.Name, d.Recipient.BankCode, d.Recipient.Bank,
		d.Recipient.Account, d.Recipient.Country,
	} {
		b = strconv.AppendInt(b, int64(len(f)), 10)
		b = append(b, ':')
		b = append(b, f...)
		b = append(b, ';')
	}
	// recipient.id came after the first payouts were recorded: it joins
	// the digest only when set, so that the digests of payouts without one
	// stay what they were.
	if id := d.Recipient.ID; id != "" {
		b = append(b, "id="...)
		b = strconv.AppendInt(b, int64(len(id)), 10)
		b = append(b, ':')
		b = append(b, id...)
		b = append(b, ';')
	}
	// So did reference and metadata, on the same terms. Every part is
	// length-prefixed and the names sorted, so no two sets of details
	// spell the same bytes.
	if r := d.Reference; r != "" {
		b = appendPart(b, "ref=", r)
	}
	if len(d.Metadata) > 0 {
		b = append(b, "meta="...)
		b = strconv.AppendInt(b, int64(len(d.Metadata)), 10)
		b = append(b, ';')
		for _, f := range d.Metadata {
			b = appendPart(b, "", f.Name)
			b = appendPart(b, "", f.Value)
		}
	}
	return sha256.Sum256(b)
}

func appendPart(b []byte, tag, s string) []byte {
	b = append(b, tag...)
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	b = append(b, s...)
	return append(b, ';')
}
