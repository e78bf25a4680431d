package cronos

import (
	"github.com/payctl/payctl/providers"
	"testing"
	"time"
)

// List reads every day of the window, every status, and pages past the
// emulator's page size; a disbursement is listed once, in its latest
// status, with its reference, amount, fee, account and bank code.
func TestListWindowPagesStatuses(t *testing.T) {
	e := newEnv(t)
	const n = 23 // more than two pages of 10 on the first day
	for i := range n {
		if _, err := e.send(t, payout(i)); err != nil {
			t.Fatal(err)
		}
	}
	// Three days later, two more; the first day's have settled by then.
	e.clock.Advance(3 * 24 * time.Hour)
	for i := n; i < n+2; i++ {
		if _, err := e.send(t, payout(i)); err != nil {
			t.Fatal(err)
		}
	}
	l, err := e.client.List(t.Context(), listQuery(start.Add(-time.Hour), e.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if !l.Complete || len(l.Unanswered) != 0 {
		t.Fatalf("complete %v, unanswered %v", l.Complete, l.Unanswered)
	}
	if len(l.Payments) != n+2 {
		t.Fatalf("listed %d, want %d", len(l.Payments), n+2)
	}
	byRef := map[string]int{}
	for i, p := range l.Payments {
		byRef[p.Reference] = i
	}
	for i := range n + 2 {
		want := payout(i)
		j, ok := byRef[want.Key]
		if !ok {
			t.Fatalf("payout %d (reference %s) not listed", i, want.Key)
		}
		p := l.Payments[j]
		wantStatus := "paid"
		if i >= n {
			wantStatus = "pending"
		}
		if p.Amount == nil || !p.Amount.Equal(want.Amount) || p.Account != want.Recipient.Account || p.BankCode != "014" ||
			p.Fee == nil || p.Fee.String() != "3000" || string(p.Status) != wantStatus || p.IDs["id"] == "" {
			t.Errorf("payout %d listed as %+v (amount %v, fee %v), want amount %s account %s, %s", i, p, p.Amount, p.Fee, want.Amount, want.Recipient.Account, wantStatus)
		}
	}
	// A window that starts after the first day's payouts leaves them out.
	l, err = e.client.List(t.Context(), listQuery(e.clock.Now().Add(-time.Hour), e.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Payments) != 2 {
		t.Errorf("a one-hour window listed %d payments, want 2", len(l.Payments))
	}
}

// A day that cannot be read makes the listing incomplete, so that nothing
// is reported missing from it.
func TestListIncompleteWhenADayFails(t *testing.T) {
	e := newEnv(t)
	if _, err := e.send(t, payout(0)); err != nil {
		t.Fatal(err)
	}
	e.client.token = "wrong" // every request is refused: 401
	l, err := e.client.List(t.Context(), listQuery(start.Add(-time.Hour), e.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if l.Complete || len(l.Unanswered) == 0 || len(l.Payments) != 0 {
		t.Fatalf("complete %v, unanswered %v, %d payments: want an incomplete, empty listing", l.Complete, l.Unanswered, len(l.Payments))
	}
}

func listQuery(since, until time.Time) providers.ListQuery {
	return providers.ListQuery{Since: since, Until: until}
}
