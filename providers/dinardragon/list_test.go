package dinardragon

import (
	"testing"

	"github.com/payctl/payctl/providers"
)

// List asks /status about each provider payout it is given, and reports
// those it could not ask about; it never claims to be complete.
func TestListByPaymentID(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	rs := e.execute(t, ctx, e.quote(t, ctx, docsExample()))
	pid := rs[0].IDs[providers.IDGroup]
	if err := e.em.Amend(rs[1].IDs["uniqueid"], "status", "2"); err != nil {
		t.Fatal(err)
	}
	l, err := e.client.List(ctx, providers.ListQuery{Groups: []string{pid, pid, "0000000000000000", "bad id\n"}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Complete {
		t.Error("a listing by payment_id claims to be complete")
	}
	if len(l.Payments) != 3 {
		t.Fatalf("listed %d payments, want the 3 of %s once", len(l.Payments), pid)
	}
	got := map[string]providers.Status{}
	for _, p := range l.Payments {
		if p.IDs[providers.IDGroup] != pid || p.Amount != nil {
			t.Errorf("%+v: want payment_id %s and no amount (/status has none)", p, pid)
		}
		got[p.IDs["uniqueid"]] = p.Status
	}
	if got[rs[0].IDs["uniqueid"]] != providers.StatusPending || got[rs[1].IDs["uniqueid"]] != providers.StatusFailed {
		t.Errorf("statuses %v", got)
	}
	if len(l.Unanswered) != 2 || l.Unanswered["0000000000000000"] == "" {
		t.Errorf("unanswered %v, want the unknown and the malformed payment_id", l.Unanswered)
	}
}
