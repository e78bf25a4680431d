// Package money is payctl's exact decimal amount type and currency table.
//
// Amounts are never float64: they are parsed from decimal strings, held as
// apd decimals, and written back as plain decimal strings. An Amount is an
// immutable value; every operation returns a new one, so copies never alias.
//
// Parsing is strict on purpose. Payout files are reviewed by people, and a
// form that some readers would interpret differently ("1e3", "+5", "1,000",
// " 5", "05") is rejected rather than guessed at.
package money

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cockroachdb/apd/v3"
)

// Currency is an ISO 4217 code with the number of decimal places payctl
// accepts in amounts of it.
type Currency struct {
	Code  string
	Scale int32
}

// The currencies the providers payctl supports can move. A currency is added
// here with its provider, never guessed, because its scale decides which
// amounts are valid.
var currencies = map[string]Currency{
	"IDR": {Code: "IDR", Scale: 0},
	"USD": {Code: "USD", Scale: 2},
}

// LookupCurrency returns the currency with the given code.
func LookupCurrency(code string) (Currency, bool) {
	c, ok := currencies[code]
	return c, ok
}

// CurrencyOf returns the currency with the given code, or for a code
// payctl does not know, a currency of that code with no decimal places
// (for showing amounts that checks elsewhere have already refused).
func CurrencyOf(code string) Currency {
	if c, ok := currencies[code]; ok {
		return c
	}
	return Currency{Code: code}
}

// String is the currency's code.
func (c Currency) String() string { return c.Code }

// MarshalText writes the code: in files a currency is its code.
func (c Currency) MarshalText() ([]byte, error) { return []byte(c.Code), nil }

// UnmarshalText reads a known currency's code.
func (c *Currency) UnmarshalText(b []byte) error {
	k, ok := currencies[string(b)]
	if !ok {
		return fmt.Errorf("unknown currency %q", b)
	}
	*c = k
	return nil
}

// CurrencyCodes returns the known currency codes, sorted.
func CurrencyCodes() []string {
	return slices.Sorted(maps.Keys(currencies))
}

// Amount is an exact, non-negative or negative decimal amount.
// The zero Amount is zero.
type Amount struct {
	d apd.Decimal
}

// ctx has enough precision that additions and multiplications of payout
// amounts are exact; rounding only ever happens in Round.
var ctx = apd.Context{
	Precision:   100,
	MaxExponent: apd.MaxExponent,
	MinExponent: apd.MinExponent,
	Traps:       apd.DefaultTraps,
}

// Sentinel errors of Parse, for callers that phrase their own messages.
var (
	ErrSyntax = errors.New("not a plain decimal number")
	ErrScale  = errors.New("too many decimal places")
)

// maxDigits bounds the digits an amount may have; nothing payctl pays needs
// more, and the bound keeps hostile input from costing time.
const maxDigits = 30

// Parse reads a plain decimal string: digits, optionally a point and more
// digits. No sign, exponent, separators, spaces or leading zeros (except a
// single zero before the point).
func Parse(s string) (Amount, error) {
	if err := checkSyntax(s); err != nil {
		return Amount{}, err
	}
	var a Amount
	// Most amounts fit an int64 coefficient (18 digits always do): build
	// the decimal directly
	// rather than through apd's general parser (loading a large state
	// parses millions of amounts).
	if len(s) <= 18 {
		var c int64
		places := int32(0)
		for i := 0; i < len(s); i++ {
			if s[i] == '.' {
				places = int32(len(s) - i - 1)
				continue
			}
			c = c*10 + int64(s[i]-'0')
		}
		a.d.SetFinite(c, -places)
		return a, nil
	}
	if _, _, err := a.d.SetString(s); err != nil {
		return Amount{}, fmt.Errorf("%q: %w", s, ErrSyntax)
	}
	return a, nil
}

func checkSyntax(s string) error {
	if s == "" {
		return fmt.Errorf("empty amount: %w", ErrSyntax)
	}
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if intPart == "" || (hasPoint && frac == "") || !allDigits(intPart) || !allDigits(frac) {
		return fmt.Errorf("%q: %w", s, ErrSyntax)
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return fmt.Errorf("%q has a leading zero: %w", s, ErrSyntax)
	}
	if len(intPart)+len(frac) > maxDigits {
		return fmt.Errorf("%q has more than %d digits: %w", s, maxDigits, ErrSyntax)
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseIn parses s and checks it has no more decimal places than c allows.
func ParseIn(s string, c Currency) (Amount, error) {
	a, err := Parse(s)
	if err != nil {
		return Amount{}, err
	}
	if a.Places() > c.Scale {
		return Amount{}, fmt.Errorf("%q has %d decimal places, %s allows %d: %w", s, a.Places(), c.Code, c.Scale, ErrScale)
	}
	return a, nil
}

// MustParse is Parse for constants in code and tests.
func MustParse(s string) Amount {
	a, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return a
}

// FromInt64 returns the whole amount n.
func FromInt64(n int64) Amount {
	var a Amount
	a.d.SetInt64(n)
	return a
}

// Places is the number of digits after the decimal point as written.
func (a Amount) Places() int32 {
	if a.d.Exponent >= 0 {
		return 0
	}
	return -a.d.Exponent
}

// String is the plain decimal form, keeping the places as written or computed.
func (a Amount) String() string {
	return a.d.Text('f')
}

// Format writes a with exactly c's decimal places when it has no more;
// an amount with more places (a fee quoted in mills) keeps its own.
func (a Amount) Format(c Currency) string {
	if a.Places() >= c.Scale {
		return a.String()
	}
	var d apd.Decimal
	if _, err := ctx.Quantize(&d, &a.d, -c.Scale); err != nil {
		return a.String()
	}
	return d.Text('f')
}

// Decimal returns a copy of the underlying decimal.
func (a Amount) Decimal() *apd.Decimal {
	return new(apd.Decimal).Set(&a.d)
}

// FromDecimal wraps an apd decimal.
func FromDecimal(d *apd.Decimal) Amount {
	var a Amount
	a.d.Set(d)
	return a
}

// Add returns a+b, exactly.
func (a Amount) Add(b Amount) Amount {
	var r Amount
	_, err := ctx.Add(&r.d, &a.d, &b.d)
	must(err)
	return r
}

// Sub returns a-b, exactly.
func (a Amount) Sub(b Amount) Amount {
	var r Amount
	_, err := ctx.Sub(&r.d, &a.d, &b.d)
	must(err)
	return r
}

// Mul returns a*b, exactly.
func (a Amount) Mul(b Amount) Amount {
	var r Amount
	_, err := ctx.Mul(&r.d, &a.d, &b.d)
	must(err)
	return r
}

// Cmp compares a and b by value: -1, 0 or +1.
func (a Amount) Cmp(b Amount) int {
	return a.d.Cmp(&b.d)
}

// Equal reports whether a and b have the same value (50 equals 50.00).
func (a Amount) Equal(b Amount) bool { return a.Cmp(b) == 0 }

// Sign is -1, 0 or +1.
func (a Amount) Sign() int { return a.d.Sign() }

// IsZero reports whether a is zero.
func (a Amount) IsZero() bool { return a.d.IsZero() }

// Rounding is how Round breaks ties.
type Rounding int

// The rounding modes a fee schedule may name.
const (
	HalfEven Rounding = iota // banker's rounding: 0.125 -> 0.12
	HalfUp                   // 0.125 -> 0.13
)

func (r Rounding) String() string {
	switch r {
	case HalfEven:
		return "half-even"
	case HalfUp:
		return "half-up"
	}
	return fmt.Sprintf("Rounding(%d)", int(r))
}

// ParseRounding reads "half-even" or "half-up".
func ParseRounding(s string) (Rounding, error) {
	switch s {
	case "half-even":
		return HalfEven, nil
	case "half-up":
		return HalfUp, nil
	}
	return 0, fmt.Errorf("unknown rounding %q: use half-even or half-up", s)
}

// Round returns a rounded to the given number of decimal places, always
// written with exactly that many places.
func (a Amount) Round(places int32, mode Rounding) Amount {
	c := ctx
	switch mode {
	case HalfUp:
		c.Rounding = apd.RoundHalfUp
	default:
		c.Rounding = apd.RoundHalfEven
	}
	var r Amount
	_, err := c.Quantize(&r.d, &a.d, -places)
	must(err)
	return r
}

// Normal returns the canonical spelling of a's value for digests: trailing
// fractional zeros dropped, so "50", "50.0" and "50.00" agree.
func (a Amount) Normal() string {
	if a.d.Exponent == 0 {
		return a.d.Text('f')
	}
	var d apd.Decimal
	d.Reduce(&a.d)
	if d.Exponent > 0 {
		// Reduce turns 100 into 1E+2; plain form wants the zeros back.
		_, err := ctx.Quantize(&d, &d, 0)
		must(err)
	}
	return d.Text('f')
}

// MarshalText writes the plain decimal string.
func (a Amount) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText accepts what Parse accepts, and a leading minus sign, since
// stored differences (fee deltas) may be negative.
func (a *Amount) UnmarshalText(b []byte) error {
	s := string(b)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	v, err := Parse(s)
	if err != nil {
		return err
	}
	if neg {
		v.d.Neg(&v.d)
	}
	*a = v
	return nil
}

func must(err error) {
	if err != nil {
		// Only an exhausted 100-digit precision can get here, and Parse
		// bounds inputs far below it.
		panic(fmt.Sprintf("money: %v", err))
	}
}

// Human is Format with the integer part grouped by thousands with commas
// ("1,250,000.00"), for people reading text. Files and output that tools
// read (JSON, CSV, YAML, plan files) keep Format's plain form, which
// Parse reads back.
func (a Amount) Human(c Currency) string { return Group(a.Format(c)) }

// Group inserts a comma between each group of three digits of the integer
// part of a plain decimal such as String or Format return; anything else is
// returned as it is.
func Group(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		sign, s = s[:1], s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if len(intPart) <= 3 || !allDigits(intPart) || (hasFrac && !allDigits(frac)) {
		return sign + s
	}
	var b strings.Builder
	b.Grow(len(s) + len(intPart)/3 + 1)
	b.WriteString(sign)
	head := len(intPart) % 3
	if head == 0 {
		head = 3
	}
	b.WriteString(intPart[:head])
	for i := head; i < len(intPart); i += 3 {
		b.WriteByte(',')
		b.WriteString(intPart[i : i+3])
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}
