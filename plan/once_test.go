package plan

import (
	"bytes"
	"testing"
	"time"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/schema"
	"github.com/payctl/payctl/state"
)

// render is a plan in every format it is shown or saved in.
func render(t *testing.T, p *Plan) string {
	t.Helper()
	var b bytes.Buffer
	for _, w := range []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return p.WriteJSON(b) },
		func(b *bytes.Buffer) error { return p.WriteText(b) },
		func(b *bytes.Buffer) error { return p.WriteMarkdown(b) },
	} {
		if err := w(&b); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// A batch read to be planned once gives the same plan, and Make drops its
// payouts; any other batch is left as it was given.
func TestMakeDropsPayoutsOfBatchesPlannedOnce(t *testing.T) {
	s := state.New()
	kept := batch(40)
	// Paid before: the plan shows one unchanged, one gone from its batch,
	// and a changed account.
	for _, i := range []int{3, 5} {
		mp := kept.Payouts[i]
		addr := schema.Address(kept.Name, mp.ID)
		d := state.Details{Provider: "idr", Currency: "IDR", Amount: mp.Amount, Recipient: mp.Recipient}
		s.Add(&state.Payout{Address: addr, Provider: "idr", Type: "cronos", Currency: "IDR", Amount: mp.Amount, Recipient: mp.Recipient, Digest: d.Digest(),
			Status: providers.StatusPaid, Attempts: []*state.Attempt{{N: 1, Key: state.Key("idr", addr, 1), Status: providers.StatusPaid, SentAt: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}}})
	}
	kept.Payouts[7].Recipient.Name = kept.Payouts[5].Recipient.Name
	kept.Payouts = append(kept.Payouts[:5], kept.Payouts[6:]...)
	other := batch(3)
	other.Name, other.Provider = "other", "nowhere" // not in payctl.yaml

	planOf := func(once bool) (*Plan, []*schema.Batch) {
		bs := []*schema.Batch{other, kept}
		for i, b := range bs {
			c := *b
			c.Payouts = append([]schema.Payout(nil), b.Payouts...)
			c.Once = once
			bs[i] = &c
		}
		return Make(Input{Batches: bs, Providers: provs(), State: s}), bs
	}
	want, given := planOf(false)
	got, once := planOf(true)
	if a, b := render(t, want), render(t, got); a != b {
		t.Fatalf("planned once:\n%s\nplanned as before:\n%s", b, a)
	}
	if len(want.Payouts) != 39 || len(want.Gone) != 1 || len(want.Errors) != 1 {
		t.Fatalf("plan: %d payouts, %d gone, errors %v", len(want.Payouts), len(want.Gone), want.Errors)
	}
	if n, c := want.Flagged(); n != 37 || c != 1 {
		t.Errorf("flagged: %d new, %d changed; want 37 and 1", n, c)
	}
	for i, b := range once {
		if b.Payouts != nil {
			t.Errorf("batch %s planned once still holds %d payouts", b.Name, len(b.Payouts))
		}
		if n := len(given[i].Payouts); n != []int{3, 39}[i] {
			t.Errorf("batch %s not planned once holds %d payouts", given[i].Name, n)
		}
	}
}

// A state that paid none of the plan's recipients nor accounts (or
// nothing at all) makes every account the plan sends to new.
func TestReviewAgainstUnrelatedPayouts(t *testing.T) {
	b := batch(5)
	b.Name = "dec"
	for _, s := range []*state.Snapshot{nil, state.New(), func() *state.Snapshot {
		s := state.New()
		paid(s, "nov/1", providers.Recipient{Name: "Someone Else", BankCode: "014", Account: "99"}, providers.StatusPaid, time.Now())
		return s
	}()} {
		p := Make(Input{Batches: []*schema.Batch{b}, Providers: provs(), State: s})
		if n, c := p.Flagged(); n != 5 || c != 0 {
			t.Errorf("state %v: %d new, %d changed; want 5 and 0", s != nil, n, c)
		}
		for _, it := range p.Payouts {
			if it.Review != NewAccount || it.Previous != nil {
				t.Errorf("%s: review %q, previous %v", it.Address, it.Review, it.Previous)
			}
		}
	}
}
