package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/schema"
	"github.com/payctl/payctl/state"
)

// verifyInput plans a per-payout batch (idr) and a batch provider's batch
// (bat: provider payouts of two) against a state where big/p00001 failed.
func verifyInput(t *testing.T) Input {
	t.Helper()
	pv := provs()
	f := money.FromInt64(500)
	pv["bat"] = &Provider{Name: "bat", Type: "dinardragon", Batch: true, MaxBatch: 2, Currency: idr,
		Fees: fee.Schedule{Fixed: &f, Payer: fee.Recipient, Basis: fee.PerPayout}}
	g := batch(3)
	g.Name, g.File, g.Provider = "grp", "g.yaml", "bat"
	b := batch(3)
	b.Digest, g.Digest = "sha256:b", "sha256:g"
	snap := &state.Snapshot{Lineage: "l", Serial: 4, Payouts: map[string]*state.Payout{}}
	mp := b.Payouts[1]
	addr := schema.Address(b.Name, mp.ID)
	snap.Payouts[addr] = &state.Payout{
		Address: addr, Provider: "idr", Currency: "IDR", Amount: mp.Amount, Recipient: mp.Recipient,
		Digest:   state.Details{Provider: "idr", Currency: "IDR", Amount: mp.Amount, Recipient: mp.Recipient}.Digest(),
		Status:   providers.StatusFailed,
		Attempts: []*state.Attempt{{N: 1, Key: state.Key("idr", addr, 1), Status: providers.StatusFailed, Reason: "closed account"}},
	}
	return Input{Batches: []*schema.Batch{b, g}, Providers: pv, State: snap}
}

// roundTrip is p as `payctl apply` reads it back from its file.
func roundTrip(t *testing.T, p *Plan) *Plan {
	t.Helper()
	var buf bytes.Buffer
	if err := p.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var out Plan
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func TestMatches(t *testing.T) {
	in := verifyInput(t)
	derived := Make(in)
	if len(derived.Errors) > 0 || len(derived.Groups) != 2 {
		t.Fatalf("the test plan has errors %v and %d groups, want none and 2", derived.Errors, len(derived.Groups))
	}
	if err := roundTrip(t, derived).Matches("p.json", Make(in)); err != nil {
		t.Fatalf("an unedited saved plan: got %v, want it to match", err)
	}
	item := func(p *Plan, addr string) *Item {
		for _, it := range p.Payouts {
			if it.Address == addr {
				return it
			}
		}
		t.Fatalf("no payout %s", addr)
		return nil
	}
	amt := func(s string) money.Amount {
		a, err := money.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name    string
		edit    func(p *Plan)
		pointer string // of the first mismatch
		what    string // in the first mismatch
	}{
		{"payout added", func(p *Plan) {
			c := *item(p, "big/p00000")
			c.Address, c.Amount = "zzz/mallory", amt("900000000000")
			p.Payouts = append(p.Payouts, &c)
		}, "/payouts/6", "in the plan file (pay 900000000000 IDR to Person 0, account 0000000000) but in none of its manifests"},
		{"payout removed", func(p *Plan) { p.Payouts = p.Payouts[1:] }, "", "in the manifests (pay 1000 IDR) but missing from the plan file"},
		{"payout twice", func(p *Plan) { p.Payouts = append(p.Payouts, p.Payouts[0]) }, "/payouts/6", "listed twice in the plan file"},
		{"action", func(p *Plan) { item(p, "big/p00001").Action = Pay }, "/payouts/1/action", `"pay" in the plan file but "retry" from the manifests`},
		{"attempt", func(p *Plan) { item(p, "big/p00001").Attempt = 3 }, "/payouts/1/attempt", `"3" in the plan file but "2" from the manifests`},
		{"key", func(p *Plan) { item(p, "big/p00001").Key = state.Key("idr", "big/p00001", 1) }, "/payouts/1/key", `"` + state.Key("idr", "big/p00001", 1) + `" in the plan file but "` + state.Key("idr", "big/p00001", 2) + `" from the manifests`},
		{"provider", func(p *Plan) { item(p, "big/p00000").Provider = "bat" }, "/payouts/0/provider", `"bat" in the plan file but "idr" from the manifests`},
		{"type", func(p *Plan) { item(p, "big/p00000").Type = "fake" }, "/payouts/0/type", `"fake"`},
		{"currency", func(p *Plan) { item(p, "big/p00000").Currency = money.CurrencyOf("USD") }, "/payouts/0/currency", `"USD"`},
		{"amount", func(p *Plan) { item(p, "big/p00000").Amount = amt("450000000") }, "/payouts/0/amount", `"450000000" in the plan file but "1000" from the manifests`},
		{"amount written otherwise", func(p *Plan) { item(p, "big/p00000").Amount = amt("1000.00") }, "/payouts/0/amount", `"1000.00"`},
		{"fee", func(p *Plan) { f := amt("1"); item(p, "big/p00000").Fee = &f }, "/payouts/0/fee", `"1" in the plan file but "3000" from the manifests`},
		{"fee dropped", func(p *Plan) { item(p, "big/p00000").Fee = nil }, "/payouts/0/fee", `"" in the plan file but "3000"`},
		{"fee payer", func(p *Plan) { item(p, "big/p00000").FeePayer = fee.Recipient }, "/payouts/0/fee_payer", `"recipient"`},
		{"receives", func(p *Plan) { item(p, "grp/p00000").Receives = amt("1000") }, "/payouts/3/receives", `"1000" in the plan file but "500" from the manifests`},
		{"recipient name", func(p *Plan) { item(p, "big/p00000").Recipient.Name = "Mallory" }, "/payouts/0/recipient/name", `"Mallory"`},
		{"recipient bank code", func(p *Plan) { item(p, "big/p00000").Recipient.BankCode = "009" }, "/payouts/0/recipient/bankCode", `"009"`},
		{"recipient bank", func(p *Plan) { item(p, "big/p00000").Recipient.Bank = "Other Bank" }, "/payouts/0/recipient/bank", `"Other Bank"`},
		{"recipient account", func(p *Plan) { item(p, "big/p00000").Recipient.Account = "9999999" }, "/payouts/0/recipient/account", `"9999999" in the plan file but "0000000000" from the manifests`},
		{"recipient country", func(p *Plan) { item(p, "big/p00000").Recipient.Country = "SG" }, "/payouts/0/recipient/country", `"SG"`},
		{"digest", func(p *Plan) { item(p, "big/p00000").Digest = "sha256:00" }, "/payouts/0/digest", `"sha256:00"`},
		{"status", func(p *Plan) { item(p, "big/p00001").Status = providers.StatusPaid }, "/payouts/1/status", `"paid" in the plan file but "failed"`},
		{"group", func(p *Plan) { item(p, "grp/p00002").Group = 0 }, "/payouts/5/group", `"0" in the plan file but "1"`},
		{"note", func(p *Plan) { item(p, "big/p00001").Note = "" }, "/payouts/1/note", `"" in the plan file but "attempt 1 failed: closed account"`},
		{"file", func(p *Plan) { item(p, "big/p00000").File = "x.yaml" }, "/payouts/0/file", `"x.yaml"`},
		{"line", func(p *Plan) { item(p, "big/p00000").Line = 1 }, "/payouts/0/line", `"1" in the plan file but "8"`},
		{"group members", func(p *Plan) {
			p.Groups[0].Addresses = []string{"grp/p00000", "grp/p00001", "grp/p00002"}
		}, "/groups/0/addresses", `"grp/p00000 grp/p00001 grp/p00002" in the plan file but "grp/p00000 grp/p00001" from the manifests`},
		{"group dropped", func(p *Plan) { p.Groups = p.Groups[:1] }, "/groups", "1 groups in the plan file, 2 from the manifests"},
		{"group provider", func(p *Plan) { p.Groups[1].Provider = "idr" }, "/groups/1/provider", `"idr"`},
		{"group batch", func(p *Plan) { p.Groups[1].Batch = "big" }, "/groups/1/batch", `"big"`},
		{"group index", func(p *Plan) { p.Groups[1].Index = 1 }, "/groups/1/index", `"1" in the plan file but "2"`},
		{"group currency", func(p *Plan) { p.Groups[0].Currency = money.CurrencyOf("USD") }, "/groups/0/currency", `"USD"`},
		{"group total", func(p *Plan) { p.Groups[0].Total = amt("1") }, "/groups/0/total", `"1" in the plan file but "2001"`},
		{"group fee", func(p *Plan) { p.Groups[0].Fee = amt("0") }, "/groups/0/fee", `"0" in the plan file but "1000"`},
		{"group fee rule", func(p *Plan) { p.Groups[0].FeeRule = "free" }, "/groups/0/fee_rule", `"free"`},
		{"group fee payer", func(p *Plan) { p.Groups[0].FeePayer = fee.Sender }, "/groups/0/fee_payer", `"sender"`},
		{"provider payout", func(p *Plan) { p.Groups[0].Request = false }, "/groups/0/provider_payout", `"false" in the plan file but "true"`},
		{"total", func(p *Plan) { p.Totals[1].Amount = amt("1") }, "/totals/1/amount", `"1"`},
		{"total counts", func(p *Plan) { p.Totals[1].Pay = 9 }, "/totals/1/counts", `"pay 9, retry 1`},
		{"total charged", func(p *Plan) { p.Totals[0].Charged = amt("1") }, "/totals/0/balance_charged", `"1"`},
		{"manifest digest", func(p *Plan) { p.Manifests[0].Digest = "sha256:x" }, "/manifests/0/digest", `"sha256:x" in the plan file but "sha256:b"`},
		{"manifest payouts", func(p *Plan) { p.Manifests[1].Payouts = 2 }, "/manifests/1/payouts", `"2" in the plan file but "3" from the manifests`},
		{"manifest added", func(p *Plan) { p.Manifests = append(p.Manifests, p.Manifests[0]) }, "/manifests", "3 manifests in the plan file, 2 read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saved := roundTrip(t, Make(in))
			tt.edit(saved)
			err := saved.Matches("p.json", Make(in))
			var me *MismatchError
			if !errors.As(err, &me) || !errors.Is(err, ErrMismatch) {
				t.Fatalf("got %v, want a *MismatchError wrapping ErrMismatch", err)
			}
			first := me.Mismatches[0]
			if first.Pointer != tt.pointer || !strings.Contains(first.What, tt.what) {
				t.Errorf("got first mismatch %q at %q, want %q at %q", first.What, first.Pointer, tt.what, tt.pointer)
			}
			if !strings.HasPrefix(err.Error(), "p.json: the plan file was edited or does not come from these manifests, so nothing was paid: ") {
				t.Errorf("got message %q", err)
			}
		})
	}
}

// A plan whose manifests plan with errors is never a match.
func TestMatchesRefusesDerivedErrors(t *testing.T) {
	in := verifyInput(t)
	saved := roundTrip(t, Make(in))
	in.Providers["bat"].Fees.Fixed = new(money.Amount)
	*in.Providers["bat"].Fees.Fixed = money.FromInt64(5000) // above the amounts, borne by the recipient
	err := saved.Matches("p.json", Make(in))
	if err == nil || !strings.Contains(err.Error(), "planning its manifests again gives 3 errors") {
		t.Fatalf("got %v, want a refusal naming the errors", err)
	}
}

func TestMismatchErrorNamesFiveDifferences(t *testing.T) {
	e := &MismatchError{File: "p.json"}
	for i := 0; i < 7; i++ {
		e.Mismatches = append(e.Mismatches, Mismatch{Address: "b/x", Pointer: "/payouts/0/amount", What: "amount differs"})
	}
	got := e.Error()
	if !strings.HasSuffix(got, "; and 2 more differences") || strings.Count(got, "payout b/x (/payouts/0/amount): amount differs") != 5 {
		t.Errorf("got %q", got)
	}
}

// policy.maxPayout is a plan error for a payout that sends, whoever
// validated the manifests; a payout paid before is only listed.
func TestMakeRefusesAboveMaxPayout(t *testing.T) {
	cfg := &config.Config{Policy: config.Policy{MaxPayout: map[string]money.Amount{"IDR": money.FromInt64(1001)}}}
	in := verifyInput(t)
	in.Config = cfg
	p := Make(in)
	var got []string
	for _, e := range p.Errors {
		got = append(got, e.Error())
	}
	want := []string{
		"b.yaml:10:20: payout big/p00002: amount 1002 IDR is above the policy maximum 1001 IDR; it is never sent",
		"g.yaml:10:20: payout grp/p00002: amount 1002 IDR is above the policy maximum 1001 IDR; it is never sent",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The fields of one payout that differ are named together, first.
func TestMismatchErrorGroupsAPayoutsFields(t *testing.T) {
	in := verifyInput(t)
	saved := roundTrip(t, Make(in))
	it := saved.Payouts[0]
	it.Amount, _ = money.Parse("450000000")
	it.Recipient.Account = "6660006660"
	it.Digest = state.Details{Provider: it.Provider, Currency: it.Currency.Code, Amount: it.Amount, Recipient: it.Recipient}.Digest()
	err := saved.Matches("p.json", Make(in))
	want := `p.json: the plan file was edited or does not come from these manifests, so nothing was paid: payout big/p00000 (/payouts/0): amount "450000000" in the plan file but "1000" from the manifests, recipient/account "6660006660" in the plan file but "0000000000" from the manifests, digest "` + it.Digest + `" in the plan file but "` + Make(in).Payouts[0].Digest + `" from the manifests`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}
