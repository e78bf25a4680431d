package watch

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/schema"
)

func TestJudge(t *testing.T) {
	jakarta, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		t.Fatal(err)
	}
	idr := func(s string) money.Amount { return money.MustParse(s) }
	// A batch of three payouts; the first was paid before (unchanged).
	batch := func(amounts ...string) (*schema.Batch, *plan.Plan) {
		b := &schema.Batch{Name: "nov", Provider: "idr-main", Currency: "IDR"}
		p := &plan.Plan{}
		for i, a := range amounts {
			b.Payouts = append(b.Payouts, schema.Payout{ID: fmt.Sprint(i), Amount: idr(a)})
			action := plan.Pay
			if i == 0 {
				action = plan.Unchanged
			}
			p.Payouts = append(p.Payouts, &plan.Item{Address: schema.Address("nov", fmt.Sprint(i)), Action: action, Amount: idr(a)})
		}
		return b, p
	}
	base := func() *config.AutoApply {
		return &config.AutoApply{
			Providers:     []string{"idr-main"},
			MaxPayout:     map[string]money.Amount{"IDR": idr("5000000")},
			MaxBatchTotal: map[string]money.Amount{"IDR": idr("9000000")},
		}
	}
	monday10 := time.Date(2026, 11, 2, 10, 0, 0, 0, jakarta)
	tests := []struct {
		name    string
		policy  func() *config.AutoApply
		amounts []string
		now     time.Time
		want    []string
	}{
		{"within", base, []string{"100", "5000000", "200"}, monday10, nil},
		{"no policy", func() *config.AutoApply { return nil }, []string{"100", "200"}, monday10,
			[]string{"payctl.yaml sets no policy.autoApply, so watch pays nothing on its own"}},
		{"a payout above the limit", base, []string{"100", "5000001", "200"}, monday10,
			[]string{"1 payout is above policy.autoApply.maxPayout.IDR 5000000 IDR: nov/1 (5000001)"}},
		{"an unchanged payout above the limit is not judged", base, []string{"7000000", "100"}, monday10, nil},
		{"the batch total counts every payout", base, []string{"5000000", "4000000", "1"}, monday10,
			[]string{"batch nov totals 9000001 IDR, above policy.autoApply.maxBatchTotal.IDR 9000000 IDR"}},
		{"nothing to send is never held", func() *config.AutoApply { return nil }, []string{"100"}, monday10, nil},
		{"provider not allowed", func() *config.AutoApply { a := base(); a.Providers = []string{"usd-main"}; return a }, []string{"1", "2"}, monday10,
			[]string{"provider idr-main is not in policy.autoApply.providers (usd-main)"}},
		{"currency not allowed", func() *config.AutoApply { a := base(); a.Currencies = []string{"USD"}; return a }, []string{"1", "2"}, monday10,
			[]string{"currency IDR is not in policy.autoApply.currencies (USD)"}},
		{"limits that forget the currency", func() *config.AutoApply {
			a := base()
			a.MaxPayout = map[string]money.Amount{"USD": idr("50")}
			a.MaxBatchTotal = map[string]money.Amount{"USD": idr("50")}
			return a
		}, []string{"1", "2"}, monday10,
			[]string{"policy.autoApply.maxPayout sets no limit for IDR", "policy.autoApply.maxBatchTotal sets no limit for IDR"}},
		{"no limit maps at all", func() *config.AutoApply { return &config.AutoApply{Providers: []string{"idr-main"}} }, []string{"1", "900000000"}, monday10, nil},
		{"inside business hours", func() *config.AutoApply {
			a := base()
			a.Hours = &config.Hours{Days: []time.Weekday{time.Monday}, Start: 9 * time.Hour, End: 17 * time.Hour, Location: jakarta}
			return a
		}, []string{"1", "2"}, monday10, nil},
		{"after business hours", func() *config.AutoApply {
			a := base()
			a.Hours = &config.Hours{Days: []time.Weekday{time.Monday}, Start: 9 * time.Hour, End: 17 * time.Hour, Location: jakarta}
			return a
		}, []string{"1", "2"}, monday10.Add(8 * time.Hour),
			[]string{"it is Mon 18:00 WIB, outside policy.autoApply.hours (09:00-17:00 Asia/Jakarta, mon)"}},
		{"the wrong day", func() *config.AutoApply {
			a := base()
			a.Hours = &config.Hours{Days: []time.Weekday{time.Monday}, Start: 9 * time.Hour, End: 17 * time.Hour, Location: jakarta}
			return a
		}, []string{"1", "2"}, monday10.Add(24 * time.Hour),
			[]string{"it is Tue 10:00 WIB, outside policy.autoApply.hours (09:00-17:00 Asia/Jakarta, mon)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, p := batch(tt.amounts...)
			got := Judge(tt.policy(), b, p, tt.now)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestJudgeListsAtMostFivePayouts(t *testing.T) {
	b := &schema.Batch{Name: "n", Provider: "p", Currency: "IDR"}
	p := &plan.Plan{}
	for i := range 8 {
		p.Payouts = append(p.Payouts, &plan.Item{Address: fmt.Sprintf("n/%d", i), Action: plan.Pay, Amount: money.MustParse("10")})
	}
	got := Judge(&config.AutoApply{Providers: []string{"p"}, MaxPayout: map[string]money.Amount{"IDR": money.MustParse("5")}}, b, p, time.Now())
	want := "8 payouts are above policy.autoApply.maxPayout.IDR 5 IDR: n/0 (10), n/1 (10), n/2 (10), n/3 (10), n/4 (10) and 3 more"
	if len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
