package fee

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/payctl/payctl/internal/money"
)

func amt(s string) *money.Amount { a := money.MustParse(s); return &a }

func TestCompute(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Schedule
		base string
		want string
	}{
		{"cronos flat", Schedule{Fixed: amt("3000")}, "150000", "3000"},
		{"dinar dragon docs example", Schedule{Percent: amt("2.5"), Places: 3}, "195", "4.875"},
		{"same at cents, half-even", Schedule{Percent: amt("2.5"), Places: 2, Rounding: money.HalfEven}, "195", "4.88"},
		{"tie at cents, half-even", Schedule{Percent: amt("2.5"), Places: 2, Rounding: money.HalfEven}, "0.2", "0.00"},
		{"tie at cents, half-up", Schedule{Percent: amt("2.5"), Places: 2, Rounding: money.HalfUp}, "0.2", "0.01"},
		{"percent plus fixed", Schedule{Percent: amt("1"), Fixed: amt("0.30"), Places: 2}, "100", "1.30"},
		{"min applies", Schedule{Percent: amt("1"), Min: amt("5000"), Places: 0}, "100000", "5000"},
		{"max applies", Schedule{Percent: amt("1"), Max: amt("25"), Places: 2}, "10000", "25.00"},
		{"between min and max", Schedule{Percent: amt("1"), Min: amt("1"), Max: amt("25"), Places: 2}, "1000", "10.00"},
		{"no fee", Schedule{Places: 2}, "1000", "0.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Compute(money.MustParse(tc.base)).String(); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// Per batch charges the total once, rounded once; per payout rounds each.
// They differ exactly by the rounding of the parts.
func TestPerBatchVersusPerPayout(t *testing.T) {
	s := Schedule{Percent: amt("2.5"), Places: 2, Rounding: money.HalfEven}
	parts := []string{"0.30", "0.30", "0.30"} // each 0.0075 -> 0.01
	perPayout := money.FromInt64(0)
	total := money.FromInt64(0)
	for _, p := range parts {
		perPayout = perPayout.Add(s.Compute(money.MustParse(p)))
		total = total.Add(money.MustParse(p))
	}
	if got := perPayout.String(); got != "0.03" {
		t.Errorf("per payout: got %s, want 0.03", got)
	}
	if got := s.Compute(total).String(); got != "0.02" { // 0.0225 -> 0.02
		t.Errorf("per batch: got %s, want 0.02", got)
	}
}

func ratOf(s string) *big.Rat { r, _ := new(big.Rat).SetString(s); return r }

// TestComputeAgainstBigRat recomputes random schedules exactly with
// rationals: percent × base / 100 + fixed, rounded once, then clamped.
func TestComputeAgainstBigRat(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	dec := func(maxInt int64, places int) string {
		s := big.NewInt(r.Int64N(maxInt)).String()
		if places > 0 {
			f := make([]byte, places)
			for i := range f {
				f[i] = byte('0' + r.IntN(10))
			}
			s += "." + string(f)
		}
		return s
	}
	for i := 0; i < 20000; i++ {
		base := dec(1e9, r.IntN(3))
		s := Schedule{Places: int32(r.IntN(4)), Rounding: money.Rounding(r.IntN(2))}
		if r.IntN(4) > 0 {
			s.Percent = amt(dec(10, r.IntN(3)))
		}
		if r.IntN(2) == 0 {
			s.Fixed = amt(dec(5000, r.IntN(3)))
		}
		if r.IntN(3) == 0 {
			s.Min = amt(dec(100, 0))
		}
		if r.IntN(3) == 0 {
			s.Max = amt(dec(100000, 0))
		}
		raw := new(big.Rat)
		if s.Percent != nil {
			raw.Mul(ratOf(base), ratOf(s.Percent.String()))
			raw.Quo(raw, big.NewRat(100, 1))
		}
		if s.Fixed != nil {
			raw.Add(raw, ratOf(s.Fixed.String()))
		}
		want := ratOf(roundRat(raw, s.Places, s.Rounding))
		if s.Min != nil && want.Cmp(ratOf(s.Min.String())) < 0 {
			want = ratOf(s.Min.String())
		}
		if s.Max != nil && want.Cmp(ratOf(s.Max.String())) > 0 {
			want = ratOf(s.Max.String())
		}
		got := s.Compute(money.MustParse(base))
		if ratOf(got.String()).Cmp(want) != 0 {
			t.Fatalf("case %d: %+v on %s: got %s, want %s", i, s, base, got, want.FloatString(6))
		}
	}
}

func roundRat(q *big.Rat, places int32, mode money.Rounding) string {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	x := new(big.Rat).Mul(q, new(big.Rat).SetInt(scale))
	quo, rem := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	switch c := new(big.Int).Mul(rem, big.NewInt(2)).Cmp(x.Denom()); {
	case c > 0, c == 0 && (mode == money.HalfUp || quo.Bit(0) == 1):
		quo.Add(quo, big.NewInt(1))
	}
	return new(big.Rat).SetFrac(quo, scale).FloatString(int(places))
}
