package apply

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// Which attempts a lookup covers.
type scope int

const (
	scopeUnknown scope = iota // sending and unknown: recovery
	scopeOpen                 // also pending: refresh
	scopeAll                  // also paid (a bank may return funds): refresh -all
)

// Recover looks up every attempt whose outcome is not known. It records
// what the providers say and returns the attempts it looked up. Attempts of
// providers that cannot be opened stay as they are and are reported.
func (e *Engine) Recover(ctx context.Context) ([]*Outcome, error) {
	return e.check(ctx, scopeUnknown, nil)
}

// Refresh asks providers for the status of every attempt that is not final
// (and of paid ones too with all), recording every change as an event.
func (e *Engine) Refresh(ctx context.Context, all bool) ([]*Outcome, error) {
	sc := scopeOpen
	if all {
		sc = scopeAll
	}
	return e.check(ctx, sc, nil)
}

// CheckAddresses refreshes the given addresses only (a callback's hint).
func (e *Engine) CheckAddresses(ctx context.Context, addrs []string) ([]*Outcome, error) {
	return e.check(ctx, scopeAll, setOf(addrs))
}

// RecoverAddresses is Recover for the given addresses only (the payouts of
// the files watch is about to pay).
func (e *Engine) RecoverAddresses(ctx context.Context, addrs []string) ([]*Outcome, error) {
	return e.check(ctx, scopeUnknown, setOf(addrs))
}

func setOf(addrs []string) map[string]bool {
	set := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		set[a] = true
	}
	return set
}

// covers reports whether a lookup of this scope asks about an attempt with
// status st.
func (sc scope) covers(st providers.Status) bool {
	switch st {
	case providers.StatusSending, providers.StatusUnknown:
		return true
	case providers.StatusPending:
		return sc >= scopeOpen
	case providers.StatusPaid:
		return sc >= scopeAll
	}
	return false
}

type lookup struct {
	attempt providers.Attempt
	status  providers.Status // as recorded
	ids     state.Fields
	payout  *state.Payout
}

func (e *Engine) check(ctx context.Context, sc scope, only map[string]bool) ([]*Outcome, error) {
	byProvider := map[string][]lookup{}
	e.State.View(func(s *state.Snapshot) {
		// A few addresses (a callback, a dropped file) are looked up
		// without sorting every address of a large state.
		var candidates []string
		switch {
		case only != nil:
			for addr := range only {
				if s.Payouts[addr] != nil {
					candidates = append(candidates, addr)
				}
			}
			sort.Strings(candidates)
		case sc >= scopeAll:
			candidates = s.Addresses()
		default:
			candidates = s.OpenAddresses()
		}
		var wanted []string
		for _, addr := range candidates {
			if sc.covers(s.Payouts[addr].Latest().Status) {
				wanted = append(wanted, addr)
			}
		}
		for _, addr := range wanted {
			p := s.Payouts[addr]
			byProvider[p.Provider] = append(byProvider[p.Provider], lookupOf(s, p))
		}
	})
	var names []string
	for n := range byProvider {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []*Outcome
	var firstErr error
	for _, name := range names {
		ls := byProvider[name]
		prov, err := e.provider(name)
		if err != nil {
			for _, l := range ls {
				out = append(out, &Outcome{Address: l.attempt.Address, Provider: name, Attempt: l.attempt.Attempt, Status: l.status, Currency: l.attempt.Currency, Amount: l.attempt.Amount,
					Reason: fmt.Sprintf("not looked up: provider %s cannot be used: %v", name, err)})
			}
			if firstErr == nil {
				firstErr = fmt.Errorf("provider %s: %w", name, err)
			}
			continue
		}
		as := make([]providers.Attempt, len(ls))
		for i, l := range ls {
			as[i] = l.attempt
		}
		results, err := prov.Check(ctx, as)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("look up payouts at %s: %w", name, err)
			}
			continue
		}
		ev := &state.Event{Kind: state.KindCheck, Provider: name}
		for i, l := range ls {
			if i >= len(results) {
				break
			}
			ep, o := e.judge(name, l, results[i])
			out = append(out, o)
			if ep != nil {
				ev.Payouts = append(ev.Payouts, *ep)
			}
		}
		if len(ev.Payouts) > 0 {
			if err := e.State.Record(ctx, ev); err != nil {
				return out, err
			}
		}
	}
	return out, firstErr
}

// lookupOf is what a provider is asked about p's latest attempt.
func lookupOf(s *state.Snapshot, p *state.Payout) lookup {
	a := p.Latest()
	c, _ := money.LookupCurrency(p.Currency)
	token := ""
	if g := s.Groups[a.Group]; g != nil {
		token = g.Token
	}
	return lookup{
		attempt: providers.Attempt{
			Payout: providers.Payout{Address: p.Address, Attempt: a.N, Key: a.Key, Amount: p.Amount, Currency: c, Recipient: p.Recipient},
			IDs:    a.IDs.Map(), Token: token, SentAt: a.SentAt, Status: a.Status,
		},
		status: a.Status, ids: a.IDs, payout: p,
	}
}

// judge decides what a lookup result means for the state: the event to
// record (nil when nothing changed) and the outcome to report.
func (e *Engine) judge(name string, l lookup, r providers.Result) (*state.EventPayout, *Outcome) {
	a := l.attempt
	o := &Outcome{Address: a.Address, Provider: name, Attempt: a.Attempt, Currency: a.Currency, Amount: a.Amount, IDs: r.IDs, Fee: r.Fee, Reason: r.Reason}
	ep := &state.EventPayout{Address: a.Address, Attempt: a.Attempt, IDs: r.IDs, Fee: r.Fee, Answer: r.Answer, Reason: r.Reason}
	switch r.Status {
	case providers.StatusPending, providers.StatusPaid, providers.StatusFailed:
		ep.Status = r.Status
	case providers.StatusNotFound:
		grace := e.settings(name).LookupGrace
		age := e.now().Sub(a.SentAt)
		if l.status == providers.StatusPending || l.status == providers.StatusPaid {
			// The provider once answered for it: "not found" now is the
			// provider's records expiring or failing, not proof of absence.
			ep.Status = l.status
			o.Reason = "the provider no longer finds it; its last known status stands"
			break
		}
		if age >= grace {
			ep.Status = providers.StatusNotSent
			ep.Reason = fmt.Sprintf("the provider has no record of it %s after it was sent: it never arrived", age.Round(time.Second))
		} else {
			ep.Status = providers.StatusUnknown
			ep.Reason = fmt.Sprintf("not found at the provider yet; trusted only %s after sending (at %s)", grace, a.SentAt.Add(grace).UTC().Format(time.RFC3339))
		}
	default:
		ep.Status = providers.StatusUnknown
		if l.status == providers.StatusPending || l.status == providers.StatusPaid {
			// A failed lookup of a known attempt changes nothing.
			ep.Status = l.status
		}
		if ep.Reason == "" {
			ep.Reason = "the provider cannot tell what became of it"
		}
	}
	o.Status = ep.Status
	o.Reason = ep.Reason
	// A refresh compares the provider's answer with the plan again: an
	// answer can change (a name filled in once the bank replied).
	r.Status = ep.Status
	ep.Findings = findingsOf(expectedOf(l.payout), r)
	o.Findings = ep.Findings
	if ep.Status == l.status && sameIDs(l.ids, r.IDs) && !newFindings(l.payout.Latest().Findings, ep.Findings) &&
		(ep.Status != providers.StatusUnknown || l.payout.Latest().Reason == ep.Reason) {
		return nil, o
	}
	return ep, o
}

// newFindings reports whether got holds a finding have does not.
func newFindings(have, got []state.Finding) bool {
next:
	for _, g := range got {
		for _, h := range have {
			if h == g {
				continue next
			}
		}
		return true
	}
	return false
}

func sameIDs(have state.Fields, got map[string]string) bool {
	for k, v := range got {
		if have.Get(k) != v {
			return false
		}
	}
	return true
}

// Resolve records a person's decision about an attempt whose outcome is
// not known: paid (money left) or failed (it did not; the next plan
// retries with a new attempt).
func Resolve(ctx context.Context, st *state.State, address string, paid bool, reason string) error {
	if reason == "" {
		return fmt.Errorf("a reason is required: say how you know (e.g. -reason \"dashboard shows payment 9f2c... completed\")")
	}
	var ev *state.Event
	var err error
	st.View(func(s *state.Snapshot) {
		p := s.Payouts[address]
		if p == nil {
			err = fmt.Errorf("%s is not in the state; `payctl state list` shows the addresses", address)
			return
		}
		a := p.Latest()
		if !a.Status.Open() {
			err = fmt.Errorf("%s attempt %d is %s, as the provider said; only unknown or pending payouts are resolved by a person (`payctl refresh` asks the provider again)", address, a.N, a.Status)
			return
		}
		status := providers.StatusFailed
		if paid {
			status = providers.StatusPaid
		}
		ev = &state.Event{Kind: state.KindResolve, Provider: p.Provider, Reason: reason, Payouts: []state.EventPayout{{
			Address: address, Attempt: a.N, Status: status, Reason: "resolved by a person: " + reason,
		}}}
	})
	if err != nil {
		return err
	}
	return st.Record(ctx, ev)
}
