package jsonnum

import (
	"encoding/json"
	"testing"
)

func TestValid(t *testing.T) {
	for _, s := range []string{"0", "-0", "7", "-12", "0.5", "10.25", "1e9", "1E+9", "2.5e-3", "-0.0e0"} {
		if !Valid(s) {
			t.Errorf("Valid(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"", "-", "+1", "01", "-01", ".5", "1.", "1.e5", "1e", "1e+", "0x10", "1 ", " 1", "NaN", "Infinity", "1_000", "١"} {
		if Valid(s) {
			t.Errorf("Valid(%q) = true, want false", s)
		}
	}
}

func TestScanSaysWhy(t *testing.T) {
	for _, tc := range []struct {
		s    string
		end  int
		want error
	}{
		{"12,", 2, nil},
		{"01", 1, nil}, // the caller sees the digit at end: a leading zero
		{"-x", 1, ErrNoDigits},
		{"1.x", 2, ErrFraction},
		{"1e+x", 3, ErrExponent},
	} {
		end, err := Scan(tc.s, 0)
		if end != tc.end || err != tc.want {
			t.Errorf("Scan(%q) = %d, %v; want %d, %v", tc.s, end, err, tc.end, tc.want)
		}
		if bend, berr := Scan([]byte(tc.s), 0); bend != end || berr != err {
			t.Errorf("Scan([]byte(%q)) = %d, %v; the string form gave %d, %v", tc.s, bend, berr, end, err)
		}
	}
}

// FuzzValid holds the grammar to encoding/json's: a spelling is valid
// exactly when encoding/json accepts it as a number.
func FuzzValid(f *testing.F) {
	for _, s := range []string{"0", "-1.5e+3", "01", "1.", "1e", "--1", "1e999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var n json.Number
		want := json.Unmarshal([]byte(s), &n) == nil && string(n) == s
		if got := Valid(s); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", s, got, want)
		}
	})
}
