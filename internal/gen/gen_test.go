package gen

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/schema"
)

func generate(t *testing.T, n int, format string, o Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Manifest(&b, n, format, o); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDeterministic(t *testing.T) {
	for _, f := range []string{"json", "yaml"} {
		a := generate(t, 500, f, Options{Seed: 42})
		b := generate(t, 500, f, Options{Seed: 42})
		c := generate(t, 500, f, Options{Seed: 43})
		if !bytes.Equal(a, b) {
			t.Errorf("%s: same seed gave different bytes", f)
		}
		if bytes.Equal(a, c) {
			t.Errorf("%s: different seeds gave the same bytes", f)
		}
	}
}

// TestCronosValid: every generated payout parses and satisfies what a
// Cronos batch needs, and the batch has the awkward cases it is meant to
// have: accounts with leading zeros and non-ASCII names.
func TestCronosValid(t *testing.T) {
	for _, f := range []string{"json", "yaml"} {
		const n = 2000
		b, errs := schema.Parse("gen."+f, generate(t, n, f, Options{Seed: 1, Name: "load-test", Provider: "idr-sandbox"}))
		if len(errs) > 0 {
			t.Fatalf("%s: %v", f, errs)
		}
		if b.Name != "load-test" || b.Provider != "idr-sandbox" || b.Currency != "IDR" || len(b.Payouts) != n {
			t.Fatalf("%s: got %s %s %s with %d payouts", f, b.Name, b.Provider, b.Currency, len(b.Payouts))
		}
		if errs := schema.Check([]*schema.Batch{b}, nil, nil); len(errs) > 0 {
			t.Fatalf("%s: %v", f, errs)
		}
		minAmount := money.FromInt64(10000)
		var leadingZeros, nonASCII int
		for _, p := range b.Payouts {
			acct := p.Recipient.Account
			if len(acct) < 10 || len(acct) > 16 || strings.Trim(acct, "0123456789") != "" {
				t.Fatalf("%s: payout %s: account %q is not 10 to 16 digits", f, p.ID, acct)
			}
			if p.Recipient.BankCode != "014" || p.Amount.Places() != 0 || p.Amount.Cmp(minAmount) < 0 {
				t.Fatalf("%s: payout %s: got bank %q amount %s", f, p.ID, p.Recipient.BankCode, p.Amount)
			}
			if acct[0] == '0' {
				leadingZeros++
			}
			if utf8.RuneCountInString(p.Recipient.Name) != len(p.Recipient.Name) {
				nonASCII++
			}
		}
		if leadingZeros < n/10 || nonASCII < n/10 {
			t.Errorf("%s: got %d accounts with leading zeros and %d non-ASCII names in %d, want at least a tenth each", f, leadingZeros, nonASCII, n)
		}
	}
}

func TestBadArguments(t *testing.T) {
	var b bytes.Buffer
	if err := Manifest(&b, 1, "toml", Options{}); err == nil {
		t.Error("format toml: got no error")
	}
	if err := Manifest(&b, -1, "json", Options{}); err == nil {
		t.Error("n = -1: got no error")
	}
}
