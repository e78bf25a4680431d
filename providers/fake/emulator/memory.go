package emulator

import (
	"context"
	"fmt"
	"time"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/fake"
)

// Memory is the fake provider called in memory, for engine tests that need
// no HTTP: the same ledger and faults, minus the network. Hooks run before
// each call and may block or fail it.
type Memory struct {
	NameValue string
	Ledger    *Ledger
	// BeforeSend runs before a create reaches the ledger.
	BeforeSend func(p providers.Payout)
	// Contradict, if it returns true for a payout, makes its answer
	// contradict the request: unknown, and an error wrapping ErrStop.
	Contradict func(p providers.Payout) bool
	Latency    time.Duration
}

var _ providers.Single = (*Memory)(nil)

// Name is the provider name.
func (m *Memory) Name() string { return m.NameValue }

// Type is "fake".
func (m *Memory) Type() string { return "fake" }

// Prepare builds the same request as the HTTP client.
func (m *Memory) Prepare(p providers.Payout) (providers.Request, error) {
	return (&fake.Client{}).Prepare(p)
}

// Send applies the ledger's next fault and records the payment.
func (m *Memory) Send(ctx context.Context, p providers.Payout, r providers.Request) (providers.Result, error) {
	if m.BeforeSend != nil {
		m.BeforeSend(p)
	}
	if m.Latency > 0 {
		time.Sleep(m.Latency)
	}
	res := providers.Result{Address: p.Address}
	f := m.Ledger.nextFault()
	switch f {
	case Refuse:
		res.Status, res.Reason = providers.StatusNotSent, "connection refused"
		return res, nil
	case Fail500Before, DropBefore:
		// The request was written; only a lookup can tell nothing happened.
		res.Status, res.Reason = providers.StatusUnknown, string(f)
		return res, nil
	case Reject:
		res.Status, res.Reason = providers.StatusFailed, "rejected: account closed"
		return res, nil
	}
	pay := m.Ledger.create(p.Key, p.Address, p.Amount.String(), p.Currency.Code, p.Recipient.Account)
	if f != "" {
		res.Status, res.Reason = providers.StatusUnknown, string(f)
		return res, nil
	}
	if m.Contradict != nil && m.Contradict(p) {
		res.Status = providers.StatusUnknown
		return res, fmt.Errorf("%w: the answer for %s names another reference", providers.ErrStop, p.Address)
	}
	return pay.Result(p.Address), nil
}

// Check looks attempts up in the ledger.
func (m *Memory) Check(ctx context.Context, as []providers.Attempt) ([]providers.Result, error) {
	out := make([]providers.Result, len(as))
	for i, a := range as {
		if id := a.IDs["id"]; id != "" {
			if p, ok := m.Ledger.byID(id); ok {
				out[i] = p.Result(a.Address)
				continue
			}
		}
		if m.Ledger.LookupsBlind {
			out[i] = providers.Result{Address: a.Address, Status: providers.StatusUnknown, Reason: "provider cannot tell"}
			continue
		}
		switch ps := m.Ledger.byReference(a.Key); len(ps) {
		case 0:
			out[i] = providers.Result{Address: a.Address, Status: providers.StatusNotFound}
		case 1:
			out[i] = ps[0].Result(a.Address)
		default:
			out[i] = providers.Result{Address: a.Address, Status: providers.StatusUnknown, Reason: "several payments carry this reference"}
		}
	}
	return out, nil
}
