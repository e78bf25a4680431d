package apply

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// ErrProviderDisagrees is returned when a person would record as failed a
// payout that its provider reports paid or pending, or that the provider
// could not be asked about: the next apply would pay it again.
var ErrProviderDisagrees = errors.New("the provider disagrees")

// DisagreeError says what the provider answered (or why it could not be
// asked) about a payout a person would record as failed. It unwraps to
// ErrProviderDisagrees.
type DisagreeError struct {
	Address  string
	Provider string
	Attempt  int
	// Answer is the provider's answer; Err, when not nil, why there is none.
	Answer providers.Result
	Err    error
}

func (e *DisagreeError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s attempt %d: could not ask provider %s whether it paid it (%v); recording it as failed would let the next apply pay it again", e.Address, e.Attempt, e.Provider, e.Err)
	}
	return fmt.Sprintf("%s attempt %d: provider %s reports it %s; recording it as failed would let the next apply pay it again", e.Address, e.Attempt, e.Provider, describeAnswer(e.Answer))
}

func (e *DisagreeError) Unwrap() error { return ErrProviderDisagrees }

// describeAnswer is a provider's answer in one line: status, ids, reason.
func describeAnswer(r providers.Result) string {
	var b strings.Builder
	b.WriteString(string(r.Status))
	var fields []string
	for _, k := range slices.Sorted(maps.Keys(r.IDs)) {
		fields = append(fields, providers.Clip(k+"="+r.IDs[k], 100))
	}
	if len(fields) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(fields, " "))
	}
	if r.Reason != "" {
		fmt.Fprintf(&b, ": %s", providers.Clip(r.Reason, 400))
	}
	return b.String()
}

// Decision is a person's ruling on a payout whose outcome is open
// (unknown, sending or pending).
type Decision struct {
	Address string
	Paid    bool // the money left; false: it did not, and the next apply retries
	Reason  string
	// Force records a failure the provider contradicts (paid, pending) or
	// could not be asked about; the provider's answer goes into the reason.
	Force bool
}

// Resolution is what Resolve recorded and what the provider said.
type Resolution struct {
	Status providers.Status
	// Asked is true when the provider was asked; Answer is then its answer.
	Asked  bool
	Answer providers.Result
	Reason string // as recorded, after "resolved by a person: "
}

// Resolve records a person's decision. Before recording a failure, which
// makes the next apply pay again, it asks the provider: a payout the
// provider reports paid or pending is refused with a *DisagreeError, as is
// one the provider cannot be asked about, unless d.Force. When the
// provider answers that it cannot tell (Dinar Dragon after a lost
// execute) or has no record of it, the person's word stands. A payout
// recorded as paid is not looked up: that never sends money.
func (e *Engine) Resolve(ctx context.Context, d Decision) (*Resolution, error) {
	if d.Reason == "" {
		return nil, fmt.Errorf("a reason is required: say how you know (e.g. -reason \"dashboard shows payment 9f2c... completed\")")
	}
	res := &Resolution{Status: providers.StatusPaid, Reason: d.Reason}
	if d.Paid {
		return res, Resolve(ctx, e.State, d.Address, true, d.Reason)
	}
	res.Status = providers.StatusFailed
	var (
		l   lookup
		err error
	)
	e.State.View(func(s *state.Snapshot) {
		p := s.Payouts[d.Address]
		switch {
		case p == nil:
			err = fmt.Errorf("%s is not in the state; `payctl state list` shows the addresses", d.Address)
		case !p.Latest().Status.Open():
			err = fmt.Errorf("%s attempt %d is %s, as the provider said; only unknown or pending payouts are resolved by a person (`payctl refresh` asks the provider again)", d.Address, p.Latest().N, p.Latest().Status)
		default:
			l = lookupOf(s, p)
		}
	})
	if err != nil {
		return nil, err
	}
	name := l.payout.Provider
	answer, askErr := e.ask(ctx, name, l.attempt)
	disagree := &DisagreeError{Address: d.Address, Provider: name, Attempt: l.attempt.Attempt, Answer: answer, Err: askErr}
	switch {
	case askErr != nil:
		if !d.Force {
			return nil, disagree
		}
		res.Reason = fmt.Sprintf("%s (forced: provider %s could not be asked: %v)", d.Reason, name, askErr)
	case answer.Status == providers.StatusPaid || answer.Status == providers.StatusPending:
		res.Asked, res.Answer = true, answer
		if !d.Force {
			return nil, disagree
		}
		res.Reason = fmt.Sprintf("%s (forced: provider %s reported it %s)", d.Reason, name, describeAnswer(answer))
	default:
		res.Asked, res.Answer = true, answer
		res.Reason = fmt.Sprintf("%s (provider %s reported it %s)", d.Reason, name, describeAnswer(answer))
	}
	return res, Resolve(ctx, e.State, d.Address, false, res.Reason)
}

// ask looks one attempt up at its provider, recording nothing.
func (e *Engine) ask(ctx context.Context, name string, a providers.Attempt) (providers.Result, error) {
	prov, err := e.provider(name)
	if err != nil {
		return providers.Result{}, err
	}
	results, err := prov.Check(ctx, []providers.Attempt{a})
	if err != nil {
		return providers.Result{}, err
	}
	if len(results) != 1 {
		return providers.Result{}, fmt.Errorf("the provider answered %d results for one lookup", len(results))
	}
	return results[0], nil
}
