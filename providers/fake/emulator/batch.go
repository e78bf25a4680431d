package emulator

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// MemoryBatch is an in-memory batch provider with a quote step, shaped like
// Dinar Dragon: a quote token, one irreversible execute, lookups only by the
// ids the execute answer carries.
type MemoryBatch struct {
	NameValue string
	Ledger    *Ledger
	Max       int
	// FeePercent is the quoted charge, in percent of the total.
	FeePercent money.Amount
	// ExecuteFault, if set, is applied to the next Execute and cleared.
	ExecuteFault Fault
	// QuoteExpires, if set, gives the expiry of the n-th quote (from 1);
	// otherwise quotes have none.
	QuoteExpires func(n int) time.Time

	mu       sync.Mutex
	quotes   int
	executed map[string]int
}

var _ providers.Batch = (*MemoryBatch)(nil)

// Name is the provider name.
func (m *MemoryBatch) Name() string { return m.NameValue }

// Type is "fake".
func (m *MemoryBatch) Type() string { return "fake" }

// MaxBatch is the most payouts per provider payout.
func (m *MemoryBatch) MaxBatch() int { return m.Max }

// Quote prices the payouts.
func (m *MemoryBatch) Quote(ctx context.Context, ps []providers.Payout) (providers.Quote, error) {
	m.mu.Lock()
	m.quotes++
	n := m.quotes
	tok := fmt.Sprintf("tok-%03d", n)
	m.mu.Unlock()
	var expires time.Time
	if m.QuoteExpires != nil {
		expires = m.QuoteExpires(n)
	}
	total := money.FromInt64(0)
	for _, p := range ps {
		total = total.Add(p.Amount)
	}
	f := total.Mul(m.FeePercent)
	d := f.Decimal()
	d.Exponent -= 2
	return providers.Quote{
		Payouts: ps, Total: total, Fee: money.FromDecimal(d), Token: tok,
		Request: providers.Request{Method: "POST", Path: "/execute", Body: `{"authcode":"` + tok + `"}`},
		At:      time.Now(), Expires: expires,
	}, nil
}

// Executes is how many times a token was executed.
func (m *MemoryBatch) Executes(tok string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.executed[tok]
}

// Execute pays the quote's payouts.
func (m *MemoryBatch) Execute(ctx context.Context, q providers.Quote) ([]providers.Result, error) {
	m.mu.Lock()
	if m.executed == nil {
		m.executed = map[string]int{}
	}
	m.executed[q.Token]++
	f := m.ExecuteFault
	m.ExecuteFault = ""
	m.mu.Unlock()
	m.Ledger.nextFault()
	out := make([]providers.Result, len(q.Payouts))
	if f == Refuse {
		for i, p := range q.Payouts {
			out[i] = providers.Result{Address: p.Address, Status: providers.StatusNotSent, Reason: "connection refused"}
		}
		return out, nil
	}
	pid := fmt.Sprintf("pay-%s", q.Token)
	for i, p := range q.Payouts {
		pay := m.Ledger.create(q.Token, p.Address, p.Amount.String(), p.Currency.Code, p.Recipient.Account)
		if f != "" {
			out[i] = providers.Result{Address: p.Address, Status: providers.StatusUnknown, Reason: fmt.Sprintf("execute answer lost (%s) for authcode %s", f, q.Token)}
			continue
		}
		out[i] = providers.Result{
			Address: p.Address, Status: providers.StatusPending,
			IDs:    map[string]string{providers.IDGroup: pid, "uniqueid": pay.ID},
			Answer: map[string]string{providers.AnswerGroupFee: q.Fee.String()},
		}
	}
	return out, nil
}

// Check looks payments up by uniqueid; without one it cannot tell.
func (m *MemoryBatch) Check(ctx context.Context, as []providers.Attempt) ([]providers.Result, error) {
	out := make([]providers.Result, len(as))
	for i, a := range as {
		id := a.IDs["uniqueid"]
		p, ok := m.Ledger.byID(id)
		if id == "" || !ok {
			out[i] = providers.Result{Address: a.Address, Status: providers.StatusUnknown, Reason: "no lookup by authcode exists"}
			continue
		}
		out[i] = p.Result(a.Address)
	}
	return out, nil
}
