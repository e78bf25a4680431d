package money

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" for an error
	}{
		{"0", "0"}, {"150000", "150000"}, {"75.25", "75.25"}, {"50.00", "50.00"},
		{"0.10", "0.10"}, {"1234567.89", "1234567.89"},
		{"", ""}, {"-5", ""}, {"+5", ""}, {"1e3", ""}, {"1,000", ""}, {" 5", ""},
		{"5 ", ""}, {"05", ""}, {"00.5", ""}, {".5", ""}, {"5.", ""}, {"1.2.3", ""},
		{"0x10", ""}, {"١٢", ""}, {"NaN", ""}, {"Infinity", ""},
		{strings.Repeat("9", 31), ""},
	} {
		a, err := Parse(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("Parse(%q) = %s, want an error", tc.in, a)
		case tc.want == "" && !errors.Is(err, ErrSyntax):
			t.Errorf("Parse(%q): error %v does not wrap ErrSyntax", tc.in, err)
		case tc.want != "" && err != nil:
			t.Errorf("Parse(%q): %v", tc.in, err)
		case tc.want != "" && a.String() != tc.want:
			t.Errorf("Parse(%q) = %s, want %s", tc.in, a, tc.want)
		}
	}
}

func TestParseIn(t *testing.T) {
	idr, _ := LookupCurrency("IDR")
	usd, _ := LookupCurrency("USD")
	for _, tc := range []struct {
		in  string
		c   Currency
		err error
	}{
		{"150000", idr, nil}, {"150000.5", idr, ErrScale}, {"150000.0", idr, ErrScale},
		{"75.25", usd, nil}, {"75.2", usd, nil}, {"75.255", usd, ErrScale}, {"75.250", usd, ErrScale},
	} {
		_, err := ParseIn(tc.in, tc.c)
		if !errors.Is(err, tc.err) {
			t.Errorf("ParseIn(%q, %s): got %v, want %v", tc.in, tc.c.Code, err, tc.err)
		}
	}
}

func TestRound(t *testing.T) {
	for _, tc := range []struct {
		in     string
		places int32
		mode   Rounding
		want   string
	}{
		{"0.125", 2, HalfEven, "0.12"}, {"0.125", 2, HalfUp, "0.13"},
		{"0.135", 2, HalfEven, "0.14"}, {"0.135", 2, HalfUp, "0.14"},
		{"4.875", 2, HalfEven, "4.88"}, {"4.875", 3, HalfEven, "4.875"},
		{"2.5", 0, HalfEven, "2"}, {"2.5", 0, HalfUp, "3"}, {"3.5", 0, HalfEven, "4"},
		{"1.2349", 2, HalfUp, "1.23"}, {"7", 2, HalfEven, "7.00"},
	} {
		if got := MustParse(tc.in).Round(tc.places, tc.mode).String(); got != tc.want {
			t.Errorf("Round(%s, %d, %s) = %s, want %s", tc.in, tc.places, tc.mode, got, tc.want)
		}
	}
}

func TestNormalAndFormat(t *testing.T) {
	usd, _ := LookupCurrency("USD")
	for _, tc := range []struct{ in, normal, format string }{
		{"50", "50", "50.00"}, {"50.00", "50", "50.00"}, {"50.10", "50.1", "50.10"},
		{"100", "100", "100.00"}, {"4.875", "4.875", "4.875"}, {"0.00", "0", "0.00"},
	} {
		a := MustParse(tc.in)
		if got := a.Normal(); got != tc.normal {
			t.Errorf("Normal(%s) = %s, want %s", tc.in, got, tc.normal)
		}
		if got := a.Format(usd); got != tc.format {
			t.Errorf("Format(%s, USD) = %s, want %s", tc.in, got, tc.format)
		}
	}
	if !MustParse("50").Equal(MustParse("50.00")) {
		t.Error("50 and 50.00 should be equal")
	}
}

// randomDecimal returns a decimal string and its exact rational value.
func randomDecimal(r *rand.Rand, maxInt, maxPlaces int) (string, *big.Rat) {
	ip := r.Int64N(int64(maxInt))
	places := r.IntN(maxPlaces + 1)
	s := big.NewInt(ip).String()
	if places > 0 {
		frac := make([]byte, places)
		for i := range frac {
			frac[i] = byte('0' + r.IntN(10))
		}
		s += "." + string(frac)
	}
	q, _ := new(big.Rat).SetString(s)
	return s, q
}

// roundRat rounds q to places with the given mode, exactly.
func roundRat(q *big.Rat, places int32, mode Rounding) string {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	x := new(big.Rat).Mul(q, new(big.Rat).SetInt(scale))
	num, den := x.Num(), x.Denom()
	quo, rem := new(big.Int).QuoRem(num, den, new(big.Int))
	twice := new(big.Int).Mul(rem, big.NewInt(2))
	switch c := twice.Cmp(den); {
	case c > 0:
		quo.Add(quo, big.NewInt(1))
	case c == 0 && (mode == HalfUp || quo.Bit(0) == 1):
		quo.Add(quo, big.NewInt(1))
	}
	return new(big.Rat).SetFrac(quo, scale).FloatString(int(places))
}

func TestArithmeticAgainstBigRat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		as, aq := randomDecimal(r, 1e12, 4)
		bs, bq := randomDecimal(r, 1e6, 4)
		a, b := MustParse(as), MustParse(bs)
		check := func(op string, got Amount, want *big.Rat) {
			g, ok := new(big.Rat).SetString(got.String())
			if !ok || g.Cmp(want) != 0 {
				t.Fatalf("%s %s %s = %s, want %s", as, op, bs, got, want.FloatString(8))
			}
		}
		check("+", a.Add(b), new(big.Rat).Add(aq, bq))
		check("-", a.Sub(b), new(big.Rat).Sub(aq, bq))
		check("*", a.Mul(b), new(big.Rat).Mul(aq, bq))
		if got, want := a.Cmp(b), aq.Cmp(bq); got != want {
			t.Fatalf("Cmp(%s, %s) = %d, want %d", as, bs, got, want)
		}
		places := int32(r.IntN(4))
		for _, mode := range []Rounding{HalfEven, HalfUp} {
			if got, want := a.Round(places, mode).String(), roundRat(aq, places, mode); got != want {
				t.Fatalf("Round(%s, %d, %s) = %s, want %s", as, places, mode, got, want)
			}
		}
	}
}

// The int64 fast path and apd's parser must agree on every spelling.
func TestParseFastPathAgreesWithApd(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 50000; i++ {
		s, _ := randomDecimal(r, 1e12, 6)
		if r.IntN(10) == 0 {
			s = "9223372036854775807"[:1+r.IntN(19)]
		}
		got := MustParse(s)
		var want Amount
		if _, _, err := want.d.SetString(s); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() || got.Cmp(want) != 0 || got.Places() != want.Places() {
			t.Fatalf("%s: fast path %s, apd %s", s, got, want)
		}
	}
}

func TestGroup(t *testing.T) {
	for in, want := range map[string]string{
		"0": "0", "999": "999", "1000": "1,000", "-1000": "-1,000", "12345.67": "12,345.67",
		"1250000.00": "1,250,000.00", "100000": "100,000", "-999.5": "-999.5",
		"123456789012": "123,456,789,012", "0.12345": "0.12345",
		// Not a plain decimal: left alone.
		"1e5": "1e5", "abc1234": "abc1234", "": "",
	} {
		if got := Group(in); got != want {
			t.Errorf("Group(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHuman(t *testing.T) {
	idr, _ := LookupCurrency("IDR")
	usd, _ := LookupCurrency("USD")
	if got := MustParse("2500000").Human(idr); got != "2,500,000" {
		t.Errorf("IDR: got %q, want 2,500,000", got)
	}
	if got := MustParse("1234.5").Human(usd); got != "1,234.50" {
		t.Errorf("USD: got %q, want 1,234.50", got)
	}
	// What Human writes is for people: Parse refuses it, so it cannot
	// leak into a file payctl reads back.
	if _, err := Parse(MustParse("1234").Human(usd)); err == nil {
		t.Error("Parse accepted a grouped amount")
	}
}
