package state

import (
	"fmt"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// Kind is the kind of a journal event.
type Kind string

// The event kinds. Every change to a state is one of them.
const (
	// KindCreate starts a lineage; it is always the first event.
	KindCreate Kind = "create"
	// KindIntent: the listed attempts are about to be sent. Written and
	// fsynced before the request leaves.
	KindIntent Kind = "intent"
	// KindOutcome: what the provider answered to an intent's request.
	KindOutcome Kind = "outcome"
	// KindCheck: a status learned later from the provider (refresh,
	// recovery lookup, confirmed callback).
	KindCheck Kind = "check"
	// KindResolve: a person decided the outcome of an unknown attempt.
	KindResolve Kind = "resolve"
	// KindQuote: a batch provider's quote was refused (its fee exceeded the
	// plan); nothing was sent. Kept for the audit trail.
	KindQuote Kind = "quote"
	// KindCheckpoint: the snapshot was rewritten. It carries the SHA-256
	// of the snapshot file's bytes, so that a load can prove the snapshot
	// is the one payctl wrote (and not one edited or merged by hand)
	// without folding the journal from its start. It changes no payout.
	KindCheckpoint Kind = "checkpoint"
)

// Event is one journal record. Seq, Prev and Hash are set by the journal.
type Event struct {
	Seq  uint64    `json:"seq"`
	Prev string    `json:"prev"`
	Time time.Time `json:"time"`
	Kind Kind      `json:"kind"`
	// Op is the command that wrote the event ("apply", "refresh", ...).
	Op string `json:"op,omitempty"`
	// By is who ran it, user@host.
	By      string `json:"by,omitempty"`
	Lineage string `json:"lineage,omitempty"`

	Provider string `json:"provider,omitempty"`
	// Group, Token and the fees describe a batch provider's provider payout.
	Group      string             `json:"group,omitempty"`
	Token      string             `json:"token,omitempty"`
	Request    *providers.Request `json:"request,omitempty"`
	PlannedFee *money.Amount      `json:"plannedFee,omitempty"`
	QuotedFee  *money.Amount      `json:"quotedFee,omitempty"`
	Fee        *money.Amount      `json:"fee,omitempty"`
	GroupIDs   map[string]string  `json:"groupIds,omitempty"`
	Reason     string             `json:"reason,omitempty"`
	// Snapshot is a checkpoint's "sha256:<hex>" of the snapshot file.
	Snapshot string `json:"snapshot,omitempty"`
	// Approvals are, on an intent, the people whose signed approvals of
	// the plan let it be sent.
	Approvals []Approver `json:"approvals,omitempty"`

	Payouts []EventPayout `json:"payouts,omitempty"`

	// Hash is the record's own hash, filled when read back.
	Hash string `json:"-"`
}

// EventPayout is one attempt's part of an event.
type EventPayout struct {
	Address string           `json:"address"`
	Attempt int              `json:"attempt"`
	Key     string           `json:"key,omitempty"`
	Status  providers.Status `json:"status"`

	// Intent only: the payout's details, so that folding the journal alone
	// rebuilds a lost snapshot.
	Type       string               `json:"type,omitempty"`
	Currency   string               `json:"currency,omitempty"`
	Amount     *money.Amount        `json:"amount,omitempty"`
	Recipient  *providers.Recipient `json:"recipient,omitempty"`
	Reference  string               `json:"reference,omitempty"`
	Metadata   map[string]string    `json:"metadata,omitempty"`
	Digest     string               `json:"digest,omitempty"`
	PlannedFee *money.Amount        `json:"plannedFee,omitempty"`
	FeePayer   fee.Payer            `json:"feePayer,omitempty"`
	// Request is the exact request of a single-payout provider.
	Request *providers.Request `json:"request,omitempty"`

	IDs    map[string]string `json:"ids,omitempty"`
	Fee    *money.Amount     `json:"fee,omitempty"`
	Answer map[string]string `json:"answer,omitempty"`
	Reason string            `json:"reason,omitempty"`
	// Findings are where this answer differs from the plan (outcome and
	// check events); folded into the attempt's, replacing one of the same
	// kind.
	Findings []Finding `json:"findings,omitempty"`
}

// FoldError is an event that does not fit the state it is folded into: the
// journal is damaged or was written by something else.
type FoldError struct {
	Seq uint64
	Msg string
}

func (e *FoldError) Error() string {
	return fmt.Sprintf("journal record %d: %s", e.Seq, e.Msg)
}

// Apply folds one event into the snapshot. The snapshot's serial becomes
// the event's sequence number.
func (s *Snapshot) Apply(e *Event) error {
	bad := func(format string, args ...any) error {
		return &FoldError{Seq: e.Seq, Msg: fmt.Sprintf(format, args...)}
	}
	if e.Seq != s.Serial+1 {
		return bad("sequence %d follows serial %d", e.Seq, s.Serial)
	}
	if e.Kind != KindCreate && s.Lineage == "" {
		return bad("%s event before the create event", e.Kind)
	}
	if err := s.need(e); err != nil {
		return err
	}
	switch e.Kind {
	case KindCreate:
		if s.Lineage != "" || e.Seq != 1 {
			return bad("create event in the middle of a lineage")
		}
		if e.Lineage == "" {
			return bad("create event without a lineage")
		}
		s.Lineage = e.Lineage
	case KindIntent:
		if err := s.applyIntent(e, bad); err != nil {
			return err
		}
	case KindOutcome, KindCheck, KindResolve:
		touched := map[string]bool{}
		for _, ep := range e.Payouts {
			p := s.Payouts[ep.Address]
			if p == nil {
				return bad("%s for %s, which has no intent", e.Kind, ep.Address)
			}
			a := p.attempt(ep.Attempt)
			if a == nil {
				return bad("%s for attempt %d of %s, which has no intent", e.Kind, ep.Attempt, ep.Address)
			}
			if !validStatus(ep.Status) || ep.Status == providers.StatusSending {
				return bad("%s for %s with status %q", e.Kind, ep.Address, ep.Status)
			}
			a.Status = canonicalStatus(ep.Status)
			for k, v := range ep.IDs {
				a.IDs = a.IDs.With(k, v)
			}
			if len(ep.IDs) > 0 {
				a.IDs = ownFields(a.IDs)
			}
			if ep.Fee != nil {
				a.Fee = ep.Fee
			}
			for k, v := range ep.Answer {
				a.Answer = a.Answer.With(k, v)
			}
			if len(ep.Answer) > 0 {
				a.Answer = ownFields(a.Answer)
			}
			a.Reason = ep.Reason
			own(&a.Reason)
			a.Findings = MergeFindings(a.Findings, ep.Findings)
			if e.Kind == KindResolve {
				a.ResolvedBy = e.By
				own(&a.ResolvedBy)
			}
			if ep.Status.Final() {
				t := e.Time
				a.FinalAt = &t
			} else {
				a.FinalAt = nil
			}
			if p.Latest() == a {
				s.setStatus(p, a.Status)
			}
			if a.Group != "" {
				touched[a.Group] = true
			}
		}
		// A provider payout's status follows its payouts, whichever event
		// changed them (a check or a person's resolution carries no group).
		for id := range touched {
			if g := s.Groups[id]; g != nil {
				g.Status = groupStatus(s, g)
			}
		}
		if e.Group != "" {
			g := s.Groups[e.Group]
			if g == nil {
				return bad("%s for provider payout %s, which has no intent", e.Kind, e.Group)
			}
			if e.Fee != nil {
				g.Fee = e.Fee
			}
			for k, v := range e.GroupIDs {
				g.IDs = g.IDs.With(k, v)
			}
			g.Status = groupStatus(s, g)
		}
	case KindQuote:
		// Audit only: a refused quote changes no payout.
	case KindCheckpoint:
		if !strings.HasPrefix(e.Snapshot, "sha256:") || !isHash(strings.TrimPrefix(e.Snapshot, "sha256:")) {
			return bad("checkpoint without a snapshot digest")
		}
	default:
		return bad("unknown event kind %q", e.Kind)
	}
	s.Serial = e.Seq
	return nil
}

func (s *Snapshot) applyIntent(e *Event, bad func(string, ...any) error) error {
	if len(e.Payouts) == 0 {
		return bad("intent without payouts")
	}
	for _, ep := range e.Payouts {
		if ep.Status != providers.StatusSending {
			return bad("intent for %s with status %q", ep.Address, ep.Status)
		}
		p := s.Payouts[ep.Address]
		if p == nil {
			if ep.Amount == nil || ep.Recipient == nil || ep.Currency == "" || ep.Digest == "" {
				return bad("first intent for %s lacks the payout's details", ep.Address)
			}
			p = &Payout{
				Address:   ep.Address,
				Provider:  e.Provider,
				Type:      ep.Type,
				Currency:  ep.Currency,
				Amount:    *ep.Amount,
				Recipient: *ep.Recipient,
				Reference: ep.Reference,
				Metadata:  FieldsOf(ep.Metadata),
				Digest:    ep.Digest,
				Status:    providers.StatusSending,
			}
			r := &p.Recipient
			own(&p.Address, &p.Provider, &p.Type, &p.Currency, &p.Reference, &p.Digest,
				&r.ID, &r.Name, &r.BankCode, &r.Bank, &r.Account, &r.Country)
			p.Metadata = ownFields(p.Metadata)
			s.Add(p)
		} else if ep.Digest != "" && ep.Digest != p.Digest {
			return bad("intent for %s with details that differ from its earlier attempts", ep.Address)
		}
		if ep.PlannedFee != nil {
			p.PlannedFee = ep.PlannedFee
		}
		if ep.FeePayer != "" && ep.FeePayer != p.FeePayer {
			fp := string(ep.FeePayer)
			own(&fp)
			p.FeePayer = fee.Payer(fp)
		}
		a := p.attempt(ep.Attempt)
		switch {
		case a != nil && a.Status == providers.StatusNotSent:
			// The same attempt sent again after proof it never arrived.
		case a != nil:
			return bad("intent for attempt %d of %s, which was already sent and is %s", ep.Attempt, ep.Address, a.Status)
		case ep.Attempt != len(p.Attempts)+1:
			return bad("intent for attempt %d of %s, which has %d attempts", ep.Attempt, ep.Address, len(p.Attempts))
		case len(p.Attempts) > 0 && p.Latest().Status != providers.StatusFailed:
			return bad("new attempt for %s while attempt %d is %s", ep.Address, p.Latest().N, p.Latest().Status)
		default:
			a = &Attempt{N: ep.Attempt, Key: ep.Key}
			own(&a.Key)
			p.Attempts = append(p.Attempts, a)
		}
		if ep.Key != a.Key {
			return bad("intent for attempt %d of %s with key %s, expected %s", ep.Attempt, ep.Address, ep.Key, a.Key)
		}
		a.Status = providers.StatusSending
		a.Group = e.Group
		own(&a.Group)
		a.ApprovedBy = ownApprovers(e.Approvals)
		a.SentAt = e.Time
		a.FinalAt = nil
		a.Reason = ""
		a.Sends++
		s.setStatus(p, providers.StatusSending)
	}
	if e.Group != "" {
		if s.seg != nil {
			// A segment holds its batch's provider payouts: one spanning
			// batches would belong to none (plans group by batch).
			first, _, _ := strings.Cut(e.Payouts[0].Address, "/")
			for _, ep := range e.Payouts[1:] {
				if b, _, _ := strings.Cut(ep.Address, "/"); b != first {
					return bad("provider payout %s spans batches %s and %s", e.Group, first, b)
				}
			}
		}
		if _, dup := s.Groups[e.Group]; dup {
			return bad("second intent for provider payout %s", e.Group)
		}
		g := &Group{
			ID: e.Group, Provider: e.Provider, Token: e.Token,
			PlannedFee: e.PlannedFee, QuotedFee: e.QuotedFee,
			SentAt: e.Time, Status: providers.StatusSending,
		}
		total := money.FromInt64(0)
		for _, ep := range e.Payouts {
			g.Addresses = append(g.Addresses, ep.Address)
			p := s.Payouts[ep.Address]
			total = total.Add(p.Amount)
			g.Currency = p.Currency
		}
		g.Total = total
		s.Groups[e.Group] = g
	}
	return nil
}

func (p *Payout) attempt(n int) *Attempt {
	if n < 1 || n > len(p.Attempts) {
		return nil
	}
	return p.Attempts[n-1]
}

// groupStatus summarises a provider payout: the status its attempts share,
// or pending while they differ.
func groupStatus(s *Snapshot, g *Group) providers.Status {
	var st providers.Status
	for i, addr := range g.Addresses {
		p := s.Payouts[addr]
		var as providers.Status
		for _, a := range p.Attempts {
			if a.Group == g.ID {
				as = a.Status
			}
		}
		if i == 0 {
			st = as
		} else if as != st {
			return providers.StatusPending
		}
	}
	return st
}

func validStatus(s providers.Status) bool {
	switch s {
	case providers.StatusSending, providers.StatusPending, providers.StatusPaid,
		providers.StatusFailed, providers.StatusUnknown, providers.StatusNotSent:
		return true
	}
	return false
}
