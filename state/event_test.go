package state

import (
	"reflect"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// Findings fold into the attempt: a later answer replaces a finding of
// the same kind, keeps the others, and never changes the status.
func TestFoldFindings(t *testing.T) {
	s := Empty()
	t0 := time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)
	amt := money.FromInt64(10000)
	rcp := providers.Recipient{Name: "Gentur", BankCode: "014", Account: "1"}
	d := Details{Provider: "idr", Currency: "IDR", Amount: amt, Recipient: rcp}
	events := []*Event{
		{Seq: 1, Time: t0, Kind: KindCreate, Lineage: "l"},
		{Seq: 2, Time: t0, Kind: KindIntent, Provider: "idr", Payouts: []EventPayout{{
			Address: "b/a", Attempt: 1, Key: Key("idr", "b/a", 1), Status: providers.StatusSending,
			Type: "cronos", Currency: "IDR", Amount: &amt, Recipient: &rcp, Digest: d.Digest()}}},
		{Seq: 3, Time: t0, Kind: KindOutcome, Provider: "idr", Payouts: []EventPayout{{
			Address: "b/a", Attempt: 1, Status: providers.StatusPending,
			Findings: []Finding{{Kind: FindingFee, Want: "3000", Got: "2500"}, {Kind: FindingName, Want: "Gentur", Got: "BUDI"}}}}},
		{Seq: 4, Time: t0, Kind: KindCheck, Provider: "idr", Payouts: []EventPayout{{
			Address: "b/a", Attempt: 1, Status: providers.StatusPaid,
			Findings: []Finding{{Kind: FindingFee, Want: "3000", Got: "3500"}}}}},
	}
	for _, e := range events {
		if err := s.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	a := s.Payouts["b/a"].Latest()
	want := []Finding{{Kind: FindingFee, Want: "3000", Got: "3500"}, {Kind: FindingName, Want: "Gentur", Got: "BUDI"}}
	if !reflect.DeepEqual(a.Findings, want) {
		t.Errorf("got %v, want %v", a.Findings, want)
	}
	if a.Status != providers.StatusPaid {
		t.Errorf("got status %s, want paid", a.Status)
	}
	// The event's own slice was not modified by the merge.
	if events[2].Payouts[0].Findings[0].Got != "2500" {
		t.Error("the fold modified an event's findings")
	}
}
