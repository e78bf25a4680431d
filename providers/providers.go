package providers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/payctl/payctl/internal/money"
)

// Status is what is known about one payout attempt.
type Status string

// The statuses an attempt can have. Final ones are Paid, Failed and NotSent;
// Paid can still change (a bank may return funds) and such a change is
// recorded as an event, never overwritten silently.
const (
	// StatusSending: the intent is durable and the request may be on its
	// way; no outcome is recorded. Read as unknown after a crash.
	StatusSending Status = "sending"
	// StatusPending: the provider accepted the payout; not final yet.
	StatusPending Status = "pending"
	// StatusPaid: the provider says the money arrived (or will, irrevocably).
	StatusPaid Status = "paid"
	// StatusFailed: the provider says this attempt did not and will not pay;
	// a new attempt with a new idempotency key may be made.
	StatusFailed Status = "failed"
	// StatusUnknown: the request may have reached the provider and its
	// outcome is not known. Never re-sent automatically.
	StatusUnknown Status = "unknown"
	// StatusNotSent: the request cannot have reached the provider, or the
	// provider proved no payment exists for it. The same attempt (same
	// idempotency key) may be sent again.
	StatusNotSent Status = "not-sent"
	// StatusNotFound is only returned by Check: the provider's records
	// prove it never received the attempt. The engine decides what that
	// means (it waits a grace period before trusting it).
	StatusNotFound Status = "not-found"
)

// Final reports whether no further change is expected without action.
func (s Status) Final() bool {
	return s == StatusPaid || s == StatusFailed || s == StatusNotSent
}

// Open reports whether a payout in this status may still be paid or not
// by the provider: sent or being sent, with no final answer yet. Lookups
// and people resolve open payouts. (Not found is neither open nor final.)
func (s Status) Open() bool {
	return s == StatusSending || s == StatusPending || s == StatusUnknown
}

// Recipient is who receives a payout. Which fields a provider needs is in
// its Rules.
type Recipient struct {
	// ID is the sender's own identifier of the recipient (manifest
	// recipient.id): it identifies a recipient across batches and is never
	// sent to a provider.
	ID       string `json:"id,omitempty"`
	Name     string `json:"name"`
	BankCode string `json:"bankCode,omitempty"`
	Bank     string `json:"bank,omitempty"`
	Account  string `json:"account"`
	Country  string `json:"country,omitempty"`
}

// Payout is one attempt to pay one payout address.
type Payout struct {
	Address   string // <batch>/<id>
	Attempt   int    // 1 for the first attempt
	Key       string // idempotency key of this attempt
	Amount    money.Amount
	Currency  money.Currency
	Recipient Recipient
}

// Request is the exact request a provider sends for an intent. It holds no
// secret: signatures and credentials are added when sending.
type Request struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Body   string `json:"body,omitempty"`
}

// Result is what a provider said about one attempt.
type Result struct {
	Address string
	Status  Status
	// IDs are the provider's identifiers for the attempt, by the provider's
	// own field names (Cronos "id"; Dinar Dragon "payment_id", "uniqueid").
	IDs map[string]string
	// Fee as the provider returned it, if it did.
	Fee *money.Amount
	// Answer holds the other fields of the provider's answer, as returned,
	// for the record (amounts, dates, fee payer, recipient name).
	Answer map[string]string
	// Reason is a short human explanation for failed, unknown and not-sent.
	Reason string
}

// Single is a provider that pays one payout per request.
type Single interface {
	// Prepare builds the exact request for p. It is deterministic and does
	// no I/O, so its result can be journaled before it is sent.
	Prepare(p Payout) (Request, error)
	// Send sends a prepared request and interprets the answer. The error is
	// non-nil only for a stop-the-run condition (an answer contradicting the
	// request, a configuration problem); the Result still says what is
	// known about the attempt.
	Send(ctx context.Context, p Payout, r Request) (Result, error)
}

// Quote is a batch provider's priced, not yet executed, provider payout.
type Quote struct {
	Payouts []Payout
	Total   money.Amount
	// Fee is the provider's quoted charge for the whole provider payout.
	Fee money.Amount
	// Token identifies the quote at the provider (Dinar Dragon's authcode).
	Token string
	// Request is the exact request Execute will send.
	Request Request
	At      time.Time
	// Expires is when the provider forgets the quote, if known.
	Expires time.Time
}

// Batch is a provider that pays many payouts with one request.
type Batch interface {
	// MaxBatch is the most payouts one provider payout may carry.
	MaxBatch() int
	// Quote prices paying ps together. It moves no money.
	Quote(ctx context.Context, ps []Payout) (Quote, error)
	// Execute sends the quote's request, once. Results are per payout, in
	// the order of q.Payouts. The error is non-nil for a stop-the-run
	// condition; the results still say what is known (unknown for all when
	// the answer was lost or does not match).
	Execute(ctx context.Context, q Quote) ([]Result, error)
}

// Attempt is a recorded attempt the engine asks a provider about.
type Attempt struct {
	Payout
	IDs    map[string]string
	Token  string
	SentAt time.Time
	Status Status
}

// Checker looks attempts up at the provider.
type Checker interface {
	// Check returns one Result per attempt, in order. A result's Status is
	// StatusUnknown when the provider cannot tell.
	Check(ctx context.Context, as []Attempt) ([]Result, error)
}

// Provider is an opened, configured provider. It is a Single or a Batch,
// and always a Checker.
type Provider interface {
	Checker
	// Name is the provider's name in payctl.yaml.
	Name() string
	// Type is the provider type, e.g. "cronos".
	Type() string
}

// FieldError is a provider rule violated by one field of a payout. Field is
// the manifest path under the payout, e.g. "recipient.account" or "amount".
type FieldError struct {
	Field string
	Msg   string
}

// Rules are a provider type's requirements on payouts, checked at
// validation, before any provider is contacted.
type Rules interface {
	// Currency is the currency code the provider type pays in.
	Currency() string
	// CheckPayout returns every rule p violates.
	CheckPayout(p Payout) []FieldError
}

// ErrStop marks an error that must stop an apply: continuing could lose a
// record or pay twice. Provider packages wrap it.
var ErrStop = errors.New("stop")

// AnswerGroupFee is the Result.Answer key under which a batch provider
// reports the fee charged for the whole provider payout (the same value on
// every payout of it), as an exact decimal string.
const AnswerGroupFee = "group_fee"

// IDGroup is the Result.IDs key under which a batch provider reports the
// id of the whole provider payout (the same on every payout of it). Its
// value is Dinar Dragon's field name, which states already record.
const IDGroup = "payment_id"

// Result.Answer keys the engine compares with the plan when a provider
// returns them. They are Cronos' field names, which states already record;
// another provider maps its own fields to them.
const (
	// AnswerFeePayer is who the provider says bears the fee: "customer"
	// (the recipient) or "merchant" (the sender), as returned.
	AnswerFeePayer = "feePayer"
	// AnswerTotal is the provider's total for the payout, as returned.
	AnswerTotal = "totalAmount"
	// AnswerBankName is the account holder's name as the bank reports it.
	AnswerBankName = "recipientName"
)

// AccountHolder is what a provider's bank says about an account, asked
// without moving money.
type AccountHolder struct {
	// Name is the holder's name as the bank knows it; "" when the
	// provider gave none (yet).
	Name string
	// Status is the provider's own status for the inquiry, as returned.
	Status string
}

// AccountVerifier is a provider that can ask the bank who holds an
// account (Cronos' account inquiry). It moves no money.
type AccountVerifier interface {
	VerifyAccount(ctx context.Context, r Recipient) (AccountHolder, error)
}

// Balance is a prefunded provider's balance, in its currency.
type Balance struct {
	// Available is what payouts can be charged against now.
	Available money.Amount
	// Pending is held for payouts not final yet, when the provider says.
	Pending *money.Amount
	// Total as the provider reports it, when it does.
	Total *money.Amount
}

// BalanceReader is a provider that publishes its balance (Cronos'
// GET /balance). Dinar Dragon publishes none.
type BalanceReader interface {
	Balance(ctx context.Context) (Balance, error)
}

// MaxIDLen bounds an id a provider gives a payout. Providers document
// their ids loosely ("unique identifier", "string"), and an id arrives in
// the answer that proves a payment: refusing an unusual spelling would
// turn a made payment into an unknown one. So any non-empty printable text
// is accepted, up to a length no identifier needs. The bound and the
// character rule exist because ids are journaled, shown to people and
// sent back in lookups: no control or invisible characters (which could
// forge terminal or log output) and no surrounding spaces (which would
// make two ids look alike).
const MaxIDLen = 128

// IDProblem says what makes s unusable as a provider's id, or "".
func IDProblem(s string) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > MaxIDLen:
		return fmt.Sprintf("is longer than %d bytes", MaxIDLen)
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.TrimSpace(s) != s:
		return "has surrounding spaces"
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return "has a control or invisible character"
		}
	}
	return ""
}

// Listed is one payment as a provider's own records show it, read for
// reconciliation. Fields the provider does not report are empty (nil
// amounts, "" text, zero time): an empty field is never a difference.
type Listed struct {
	// IDs are the provider's identifiers, by its own field names (as in
	// Result.IDs).
	IDs map[string]string
	// Reference is the reference the payment was made with (Cronos'
	// merchantRef, payctl's idempotency key); "" when the provider keeps
	// none.
	Reference string
	Status    Status
	// RawStatus is the provider's own word for the status, as returned.
	RawStatus string
	Amount    *money.Amount
	Fee       *money.Amount
	Account   string
	BankCode  string
	// Date is the day the provider lists the payment under, in its own
	// zone (YYYY-MM-DD), when it lists by day.
	Date string
}

// ListQuery asks a Lister for the payments of a window.
type ListQuery struct {
	Since, Until time.Time
	// Groups are ids of provider payouts to ask about, for a provider
	// that cannot list a window and answers only about ids it is given
	// (Dinar Dragon's payment_id).
	Groups []string
}

// Listing is what a Lister found.
type Listing struct {
	Payments []Listed
	// Complete is true when Payments holds every payment the provider
	// made in the window; false when the provider could only be asked
	// about Groups, so a payment outside them cannot be seen.
	Complete bool
	// Unanswered are the groups (or days) the provider could not be asked
	// about, with why: their payments are missing from Payments.
	Unanswered map[string]string
}

// Lister is a provider whose records can be read back over a window, for
// reconciliation. It moves no money.
type Lister interface {
	// Retention is how long the provider keeps its records; 0 when it
	// publishes no limit.
	Retention() time.Duration
	List(ctx context.Context, q ListQuery) (Listing, error)
}
