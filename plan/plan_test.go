package plan

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/schema"
)

func batch(n int) *schema.Batch {
	b := &schema.Batch{File: "b.yaml", Name: "big", Provider: "idr", Currency: "IDR"}
	for i := 0; i < n; i++ {
		b.Payouts = append(b.Payouts, schema.Payout{
			ID: fmt.Sprintf("p%05d", i), Amount: money.FromInt64(int64(1000 + i)),
			Recipient: providers.Recipient{Name: fmt.Sprintf("Person %d", i), BankCode: "014", Account: fmt.Sprintf("0%09d", i)},
			Pos:       schema.PayoutPos{Item: diag.Pos{Line: i + 8, Col: 5}, Amount: diag.Pos{Line: i + 8, Col: 20}},
		})
	}
	return b
}

var idr, _ = money.LookupCurrency("IDR")

func provs() map[string]*Provider {
	f := money.FromInt64(3000)
	return map[string]*Provider{"idr": {Name: "idr", Type: "cronos", Currency: idr,
		Fees: fee.Schedule{Fixed: &f, Payer: fee.Sender, Basis: fee.PerPayout}}}
}

func TestMarkdownStaysUnderTheCommentLimit(t *testing.T) {
	for _, n := range []int{3, 400, 5000} {
		p := Make(Input{Batches: []*schema.Batch{batch(n)}, Providers: provs()})
		var b bytes.Buffer
		if err := p.WriteMarkdown(&b); err != nil {
			t.Fatal(err)
		}
		if b.Len() > MarkdownLimit {
			t.Errorf("%d payouts: %d characters, over %d", n, b.Len(), MarkdownLimit)
		}
		cut := strings.Contains(b.String(), "more payouts: too many for a comment")
		if (n == 5000) != cut {
			t.Errorf("%d payouts: cut=%v", n, cut)
		}
		if !strings.Contains(b.String(), fmt.Sprintf("**%d to pay, 0 to retry", n)) {
			t.Errorf("%d payouts: summary missing", n)
		}
		if strings.Contains(b.String(), "0821837") || strings.Contains(b.String(), fmt.Sprintf("0%09d", n-1)) {
			t.Errorf("%d payouts: an account number is not masked", n)
		}
	}
}

func TestTotalsAndBalanceCharged(t *testing.T) {
	b := batch(3) // 1000 + 1001 + 1002
	p := Make(Input{Batches: []*schema.Batch{b}, Providers: provs()})
	tot := p.Totals[0]
	for _, c := range []struct{ name, got, want string }{
		{"amount", tot.Amount.String(), "3003"},
		{"fees", tot.Fees.String(), "9000"},
		{"charged", tot.Charged.String(), "12003"},
		{"receive", tot.Receive.String(), "3003"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, c.got, c.want)
		}
	}
	// The same with the recipient bearing the fee: the balance is charged
	// the amounts, and 1000 - 3000 would leave the recipient nothing.
	pv := provs()
	pv["idr"].Fees.Payer = fee.Recipient
	p = Make(Input{Batches: []*schema.Batch{b}, Providers: pv})
	if len(p.Errors) != 3 || !strings.Contains(p.Errors[0].Error(), "the recipient would receive nothing") {
		t.Fatalf("errors: %v", p.Errors)
	}
	if got := p.Errors[0].Pos; got != (diag.Pos{Line: 8, Col: 20}) {
		t.Errorf("error position: got %v, want the amount's, 8:20", got)
	}
	// validate's check, which needs no state, says the same in the same
	// places.
	if got, want := fmt.Sprint(CheckFees([]*schema.Batch{b}, pv)), fmt.Sprint(p.Errors); got != want {
		t.Errorf("CheckFees: got %s, want %s", got, want)
	}
	if errs := CheckFees([]*schema.Batch{b}, provs()); len(errs) != 0 {
		t.Errorf("CheckFees with the sender bearing the fee: got %v, want none", errs)
	}
}

func TestBatchProviderChunks(t *testing.T) {
	pct := money.MustParse("2.5")
	pv := map[string]*Provider{"idr": {Name: "idr", Type: "x", Batch: true, MaxBatch: 4, Currency: idr,
		Fees: fee.Schedule{Percent: &pct, Basis: fee.PerBatch, Places: 3}}}
	p := Make(Input{Batches: []*schema.Batch{batch(10)}, Providers: pv})
	if len(p.Groups) != 3 {
		t.Fatalf("groups: %d, want 3 (4+4+2)", len(p.Groups))
	}
	sizes := []int{len(p.Groups[0].Addresses), len(p.Groups[1].Addresses), len(p.Groups[2].Addresses)}
	if fmt.Sprint(sizes) != "[4 4 2]" {
		t.Errorf("sizes: %v", sizes)
	}
	// 1000..1003 = 4006 * 2.5% = 100.15
	if got := p.Groups[0].Fee.String(); got != "100.150" {
		t.Errorf("first provider payout's fee: %s", got)
	}
	for _, it := range p.Payouts {
		if it.Fee != nil || it.Group < 0 {
			t.Errorf("%s: per-batch fee on the payout (%v) or no group (%d)", it.Address, it.Fee, it.Group)
		}
	}
}

// FuzzRead: a saved plan file either reads (and then its keys and digests
// are payctl's own) or is refused; never a panic.
func FuzzRead(f *testing.F) {
	p := Make(Input{Batches: []*schema.Batch{batch(2)}, Providers: provs()})
	var b bytes.Buffer
	p.WriteJSON(&b)
	f.Add(b.Bytes())
	f.Add([]byte(`{"format_version": 1}`))
	f.Add([]byte(`{"format_version": 2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := t.TempDir() + "/plan.json"
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := Read(path)
		if err != nil {
			return
		}
		if got.check(path) != nil {
			t.Fatal("Read returned a plan that fails its own checks")
		}
	})
}
