// Package providertest is the conformance suite every payctl provider runs
// against its emulator. It checks, through the providers interfaces only,
// the guarantees the apply engine's exactly-once promise rests on:
//
//   - a payout that is paid is answered pending or paid, with provider ids;
//   - Check reports the status the provider holds, and finds an attempt
//     whose answer was lost when the provider can look attempts up;
//   - an attempt that was never sent is never reported paid, pending or
//     failed;
//   - an answer lost after the provider committed (5xx, dropped connection,
//     timeout) is unknown, and neither that nor sending the same attempt
//     again pays twice;
//   - a connection dropped before the provider committed pays nothing and
//     is not-sent or unknown;
//   - no credential appears in a request, a result or an error;
//   - a provider that reads its balance (providers.BalanceReader) or asks
//     who holds an account (providers.AccountVerifier) moves no money
//     doing so, and a paid payout lowers the available balance.
//
// Single providers pay through Prepare and Send; Batch providers through
// Quote and Execute.
package providertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/providers"
)

// Harness is one provider opened against a fresh emulator.
type Harness struct {
	// Provider is opened against the emulator. Its request timeout must be
	// short (well under a second): the delay-after-commit case waits for it.
	Provider providers.Provider
	// Payout returns the i-th valid payout: a unique address, key and
	// account, attempt 1, an amount and recipient the emulator pays
	// (never one of its failure markers).
	Payout func(i int) providers.Payout
	// Now is the emulator's (and the provider's) clock.
	Now func() time.Time
	// Advance moves that clock.
	Advance func(d time.Duration)
	// Settle is how far Advance must move for a new payout to be paid.
	Settle time.Duration
	// Paid returns, by payout address, how many payments the emulator's
	// ledger holds for payouts made by Payout.
	Paid func() map[string]int
	// Fault injects one named emulator fault into the next request that
	// can move money: "5xx-after-commit", "drop-after-commit",
	// "delay-after-commit", "drop-before-commit".
	Fault func(name string)
	// Lookup is true when the provider can find an attempt without the
	// provider ids of its answer (Cronos scans by reference); when false,
	// such a Check must answer unknown.
	Lookup bool
	// Secrets are the credential values that must never show.
	Secrets []string
}

// Run runs the suite; newHarness is called once per case.
func Run(t *testing.T, newHarness func(t *testing.T) *Harness) {
	cases := []struct {
		name string
		run  func(s *session)
	}{
		{"pay", testPay},
		{"check after settle", testCheckAfterSettle},
		{"look up a created attempt without ids", testLookUpCreated},
		{"check an attempt never sent", testNeverSent},
		{"5xx-after-commit", func(s *session) { testLostAnswer(s, "5xx-after-commit") }},
		{"drop-after-commit", func(s *session) { testLostAnswer(s, "drop-after-commit") }},
		{"delay-after-commit", func(s *session) { testLostAnswer(s, "delay-after-commit") }},
		{"drop-before-commit", testDropBeforeCommit},
		{"balance and account inquiry move no money", testReadOnly},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			s := &session{t: t, h: h}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s.ctx = ctx
			c.run(s)
			s.checkSecrets()
		})
	}
}

// session runs one case and keeps every text the provider produced, for
// the secrets check.
type session struct {
	t    *testing.T
	h    *Harness
	ctx  context.Context
	seen []string
	// quote is a Batch provider's last executed quote.
	quote *providers.Quote
}

func (s *session) record(texts ...string) { s.seen = append(s.seen, texts...) }

func (s *session) recordResult(r providers.Result) {
	s.record(r.Address, string(r.Status), r.Reason)
	for k, v := range r.IDs {
		s.record(k, v)
	}
	for k, v := range r.Answer {
		s.record(k, v)
	}
	if r.Fee != nil {
		s.record(r.Fee.String())
	}
}

func (s *session) recordErr(err error) {
	if err != nil {
		s.record(err.Error(), fmt.Sprintf("%+v", err))
	}
}

func (s *session) checkSecrets() {
	s.t.Helper()
	for _, secret := range s.h.Secrets {
		if secret == "" {
			continue
		}
		for _, text := range s.seen {
			if strings.Contains(text, secret) {
				s.t.Errorf("a credential appears in %q", text)
			}
		}
	}
}

// pay pays ps through the provider's shape and returns the results and
// the attempts to check them with.
func (s *session) pay(ps []providers.Payout) ([]providers.Result, []providers.Attempt, error) {
	s.t.Helper()
	sentAt := s.h.Now()
	var results []providers.Result
	var token string
	var stop error
	switch p := s.h.Provider.(type) {
	case providers.Batch:
		q, err := p.Quote(s.ctx, ps)
		s.recordErr(err)
		if err != nil {
			s.t.Fatalf("Quote: %v", err)
		}
		s.record(q.Request.Method, q.Request.Path, q.Request.Body, q.Token)
		token = q.Token
		s.quote = &q
		results, stop = p.Execute(s.ctx, q)
	case providers.Single:
		for _, po := range ps {
			req, err := p.Prepare(po)
			s.recordErr(err)
			if err != nil {
				s.t.Fatalf("Prepare(%s): %v", po.Address, err)
			}
			s.record(req.Method, req.Path, req.Body)
			res, err := p.Send(s.ctx, po, req)
			if err != nil && stop == nil {
				stop = err
			}
			results = append(results, res)
		}
	default:
		s.t.Fatalf("provider %T is neither a providers.Single nor a providers.Batch", s.h.Provider)
	}
	s.recordErr(stop)
	if len(results) != len(ps) {
		s.t.Fatalf("got %d results for %d payouts", len(results), len(ps))
	}
	attempts := make([]providers.Attempt, len(ps))
	for i, r := range results {
		s.recordResult(r)
		if r.Address != ps[i].Address {
			s.t.Errorf("result %d is for %q, want %q", i, r.Address, ps[i].Address)
		}
		attempts[i] = providers.Attempt{Payout: ps[i], IDs: r.IDs, Token: token, SentAt: sentAt, Status: r.Status}
	}
	return results, attempts, stop
}

// resend sends the same attempts again, as a confused engine might: the
// same prepared requests of a Single provider, the same quote of a Batch
// provider. The provider must not pay a second time; refusing with an
// error or answering with the original payment are both fine, and the
// caller's ledger count decides.
func (s *session) resend(ps []providers.Payout) {
	s.t.Helper()
	switch p := s.h.Provider.(type) {
	case providers.Batch:
		if s.quote == nil {
			s.t.Fatal("resend before pay")
		}
		rs, err := p.Execute(s.ctx, *s.quote)
		s.recordErr(err)
		for _, r := range rs {
			s.recordResult(r)
		}
	case providers.Single:
		for _, po := range ps {
			req, err := p.Prepare(po)
			s.recordErr(err)
			if err != nil {
				continue
			}
			r, err := p.Send(s.ctx, po, req)
			s.recordErr(err)
			s.recordResult(r)
		}
	}
}

func (s *session) check(as []providers.Attempt) []providers.Result {
	s.t.Helper()
	rs, err := s.h.Provider.Check(s.ctx, as)
	s.recordErr(err)
	if err != nil {
		s.t.Errorf("Check: %v", err)
	}
	if len(rs) != len(as) {
		s.t.Fatalf("Check returned %d results for %d attempts", len(rs), len(as))
	}
	for i, r := range rs {
		s.recordResult(r)
		if r.Address != as[i].Address {
			s.t.Errorf("check result %d is for %q, want %q", i, r.Address, as[i].Address)
		}
	}
	return rs
}

func (s *session) wantPaidCount(ps []providers.Payout, want int) {
	s.t.Helper()
	paid := s.h.Paid()
	for _, p := range ps {
		if got := paid[p.Address]; got != want {
			s.t.Errorf("emulator ledger holds %s %d times, want %d", p.Address, got, want)
		}
	}
}

func payouts(h *Harness, from, n int) []providers.Payout {
	ps := make([]providers.Payout, n)
	for i := range ps {
		ps[i] = h.Payout(from + i)
	}
	return ps
}

func accepted(st providers.Status) bool {
	return st == providers.StatusPending || st == providers.StatusPaid
}

func testPay(s *session) {
	ps := payouts(s.h, 0, 3)
	rs, _, err := s.pay(ps)
	if err != nil {
		s.t.Fatalf("pay: %v", err)
	}
	for i, r := range rs {
		if !accepted(r.Status) {
			s.t.Errorf("%s: got status %s (%s), want pending or paid", ps[i].Address, r.Status, r.Reason)
		}
		if len(r.IDs) == 0 {
			s.t.Errorf("%s: got no provider ids", ps[i].Address)
		}
		for k, v := range r.IDs {
			if v == "" {
				s.t.Errorf("%s: provider id %q is empty", ps[i].Address, k)
			}
		}
	}
	s.wantPaidCount(ps, 1)
}

func testCheckAfterSettle(s *session) {
	ps := payouts(s.h, 0, 2)
	_, as, err := s.pay(ps)
	if err != nil {
		s.t.Fatalf("pay: %v", err)
	}
	s.h.Advance(s.h.Settle)
	for i, r := range s.check(as) {
		if r.Status != providers.StatusPaid {
			s.t.Errorf("%s: got status %s (%s), want paid", ps[i].Address, r.Status, r.Reason)
		}
	}
	s.wantPaidCount(ps, 1)
}

func testLookUpCreated(s *session) {
	ps := payouts(s.h, 0, 1)
	rs, as, err := s.pay(ps)
	if err != nil {
		s.t.Fatalf("pay: %v", err)
	}
	as[0].IDs = nil
	got := s.check(as)[0]
	s.wantLookup(got, rs[0].IDs)
}

// wantLookup checks a Check without ids of an attempt the provider holds.
func (s *session) wantLookup(got providers.Result, wantIDs map[string]string) {
	s.t.Helper()
	if !s.h.Lookup {
		if got.Status != providers.StatusUnknown {
			s.t.Errorf("got status %s (%s) for an attempt without ids, want unknown: the provider cannot look it up", got.Status, got.Reason)
		}
		return
	}
	if !accepted(got.Status) {
		s.t.Errorf("got status %s (%s), want pending or paid: the provider holds the payment", got.Status, got.Reason)
	}
	if len(got.IDs) == 0 {
		s.t.Errorf("got no ids from the lookup")
	}
	for k, v := range wantIDs {
		if got.IDs[k] != v {
			s.t.Errorf("lookup found %s %q, want %q", k, got.IDs[k], v)
		}
	}
}

func testNeverSent(s *session) {
	p := s.h.Payout(0)
	got := s.check([]providers.Attempt{{Payout: p, SentAt: s.h.Now(), Status: providers.StatusSending}})[0]
	if got.Status != providers.StatusNotFound && got.Status != providers.StatusUnknown {
		s.t.Errorf("got status %s (%s) for an attempt never sent, want not-found or unknown", got.Status, got.Reason)
	}
	s.wantPaidCount([]providers.Payout{p}, 0)
}

func testLostAnswer(s *session, fault string) {
	ps := payouts(s.h, 0, 1)
	s.h.Fault(fault)
	rs, as, _ := s.pay(ps)
	if rs[0].Status != providers.StatusUnknown {
		s.t.Errorf("got status %s (%s) after %s, want unknown", rs[0].Status, rs[0].Reason, fault)
	}
	s.wantPaidCount(ps, 1)

	as[0].IDs = nil
	s.wantLookup(s.check(as)[0], nil)

	s.resend(ps)
	s.wantPaidCount(ps, 1)
}

func testDropBeforeCommit(s *session) {
	ps := payouts(s.h, 0, 1)
	s.h.Fault("drop-before-commit")
	rs, as, _ := s.pay(ps)
	if st := rs[0].Status; st != providers.StatusNotSent && st != providers.StatusUnknown {
		s.t.Errorf("got status %s (%s), want not-sent or unknown", st, rs[0].Reason)
	}
	s.wantPaidCount(ps, 0)
	as[0].IDs = nil
	if got := s.check(as)[0]; got.Status != providers.StatusNotFound && got.Status != providers.StatusUnknown {
		s.t.Errorf("check after drop-before-commit: got %s (%s), want not-found or unknown", got.Status, got.Reason)
	}
}

func testReadOnly(s *session) {
	br, isBalance := s.h.Provider.(providers.BalanceReader)
	av, isVerifier := s.h.Provider.(providers.AccountVerifier)
	if !isBalance && !isVerifier {
		s.t.Skipf("provider type %s reads no balance and verifies no account", s.h.Provider.Type())
	}
	ps := payouts(s.h, 0, 2)
	var before providers.Balance
	if isBalance {
		b, err := br.Balance(s.ctx)
		s.recordErr(err)
		if err != nil {
			s.t.Fatalf("balance: %v", err)
		}
		s.record(b.Available.String())
		before = b
	}
	if isVerifier {
		for _, p := range ps {
			h, err := av.VerifyAccount(s.ctx, p.Recipient)
			s.recordErr(err)
			s.record(h.Name, h.Status)
			if err != nil {
				s.t.Errorf("%s: verify account: %v", p.Address, err)
			}
		}
	}
	s.wantPaidCount(ps, 0)
	if !isBalance {
		return
	}
	if _, _, err := s.pay(ps[:1]); err != nil {
		s.t.Fatalf("pay: %v", err)
	}
	s.h.Advance(s.h.Settle)
	after, err := br.Balance(s.ctx)
	s.recordErr(err)
	if err != nil {
		s.t.Fatalf("balance after paying: %v", err)
	}
	if after.Available.Cmp(before.Available.Sub(ps[0].Amount)) > 0 {
		s.t.Errorf("available balance went from %s to %s after paying %s, want it lower by at least the amount", before.Available, after.Available, ps[0].Amount)
	}
}
