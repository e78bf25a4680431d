// Package jsonnum is RFC 8259's number grammar, in one place.
//
// payctl checks number spellings itself in several places: the manifest
// scanner (to keep amounts as written, never through float64), the Cronos
// PHP-compatible JSON decoder, the schema layer and the Dinar Dragon
// answer parser. They must all agree on what a JSON number is.
package jsonnum

import "errors"

// The ways a spelling starting like a number fails to be one.
var (
	ErrNoDigits = errors.New("no digits")
	ErrFraction = errors.New("digits must follow the decimal point")
	ErrExponent = errors.New("the exponent has no digits")
)

// Scan returns the end of the number starting at s[i]. It stops at the
// first byte that cannot continue the number, which the caller judges: a
// digit there means a leading zero ("01"), since the grammar consumes
// every other digit.
func Scan[T ~string | ~[]byte](s T, i int) (int, error) {
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = digits(s, i)
	default:
		return i, ErrNoDigits
	}
	if i < len(s) && s[i] == '.' {
		start := i + 1
		if i = digits(s, start); i == start {
			return i, ErrFraction
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		if i = digits(s, start); i == start {
			return i, ErrExponent
		}
	}
	return i, nil
}

// Valid reports whether s is exactly one JSON number.
func Valid(s string) bool {
	end, err := Scan(s, 0)
	return err == nil && end == len(s)
}

func digits[T ~string | ~[]byte](s T, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
