// Package phpjson writes and reads JSON exactly as PHP does with default
// flags: json_encode($v) and json_decode($s, true).
//
// Cronos Engine signs requests with hash_hmac over key + json_encode(body),
// and (judging by working clients) its server re-encodes the decoded body
// before checking the signature. A client must therefore produce the bytes
// PHP would produce, byte for byte, and an emulator must re-encode what it
// receives the way PHP would. Go's encoding/json differs in every detail
// that matters here (it sorts map keys, escapes <, > and &, leaves / and
// non-ASCII text alone), so this package works over its own ordered value
// model instead of Go maps and structs.
//
// Encode guarantees, for default json_encode flags:
//   - compact output, object members in the given order;
//   - "/" written as "\/"; every non-ASCII character as a lowercase \uXXXX
//     escape, with UTF-16 surrogate pairs above U+FFFF; "<", ">", "&" and
//     "'" left alone; \b \f \n \r \t for those controls and \u00xx for the
//     other controls below U+0020;
//   - floats in PHP's shortest round-trip form (serialize_precision -1):
//     10.0 is "10", 1e25 is "1.0e+25", 0.00001 is "1.0e-5";
//   - an error, never output, for invalid UTF-8, NaN, infinities and
//     nesting deeper than 512, as json_encode returns false for them.
//
// Parse reads JSON strictly (RFC 8259, UTF-8 only, the same depth limit)
// into the literal model: every member in order, duplicates kept, numbers
// as written. Decode additionally applies what json_decode($s, true) does
// to the literal model, so Encode(Decode(s)) is what a PHP server would
// sign.
package phpjson

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/payctl/payctl/internal/jsonnum"
)

// Value is a JSON value: one of Null, Bool, Int, Float, Number, String,
// List or Object.
type Value interface{ phpValue() }

// Null is JSON null.
type Null struct{}

// Bool is true or false.
type Bool bool

// Int is a PHP integer (64 bits).
type Int int64

// Float is a PHP float.
type Float float64

// Number is a JSON number literal exactly as written. Parse produces it so
// that amounts can be read without passing through a float; Encode writes
// the value PHP's json_decode would have made of it.
type Number string

// String is a text value; it must be valid UTF-8 to be encoded.
type String string

// List is a JSON array (a PHP list).
type List []Value

// Object is a JSON object with its members in order.
type Object []Member

// Member is one key and value of an Object.
type Member struct {
	Key   string
	Value Value
}

func (Null) phpValue()   {}
func (Bool) phpValue()   {}
func (Int) phpValue()    {}
func (Float) phpValue()  {}
func (Number) phpValue() {}
func (String) phpValue() {}
func (List) phpValue()   {}
func (Object) phpValue() {}

// Lookup returns the value of the first member named key.
func (o Object) Lookup(key string) (Value, bool) {
	for _, m := range o {
		if m.Key == key {
			return m.Value, true
		}
	}
	return nil, false
}

// Duplicate returns the first key that occurs more than once in o, if any.
// Readers that must not guess between two values for one field use it.
func (o Object) Duplicate() (string, bool) {
	seen := make(map[string]bool, len(o))
	for _, m := range o {
		if seen[m.Key] {
			return m.Key, true
		}
		seen[m.Key] = true
	}
	return "", false
}

// MaxDepth is PHP's default nesting limit for json_encode and json_decode.
const MaxDepth = 512

// Errors Encode returns (wrapped with where they happened).
var (
	ErrInvalidUTF8 = errors.New("malformed UTF-8 characters")
	ErrInfNaN      = errors.New("inf and nan cannot be JSON encoded")
	ErrDepth       = errors.New("maximum nesting depth exceeded")
)

// Encode returns json_encode(v) with default flags.
func Encode(v Value) ([]byte, error) {
	return AppendEncode(nil, v)
}

// AppendEncode appends json_encode(v) to dst. On error dst is returned
// unchanged, so a caller never sends half a body.
func AppendEncode(dst []byte, v Value) ([]byte, error) {
	out, err := appendValue(dst, v, 0)
	if err != nil {
		return dst, err
	}
	return out, nil
}

func appendValue(b []byte, v Value, depth int) ([]byte, error) {
	switch v := v.(type) {
	case nil, Null:
		return append(b, "null"...), nil
	case Bool:
		if v {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case Int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case Float:
		return appendFloat(b, float64(v))
	case Number:
		pv, err := numberValue(string(v))
		if err != nil {
			return b, err
		}
		return appendValue(b, pv, depth)
	case String:
		return appendString(b, string(v))
	case List:
		if depth+1 > MaxDepth {
			return b, ErrDepth
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e, depth+1); err != nil {
				return b, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return append(b, ']'), nil
	case Object:
		if depth+1 > MaxDepth {
			return b, ErrDepth
		}
		b = append(b, '{')
		for i, m := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendString(b, m.Key); err != nil {
				return b, fmt.Errorf("key %q: %w", m.Key, err)
			}
			b = append(b, ':')
			if b, err = appendValue(b, m.Value, depth+1); err != nil {
				return b, fmt.Errorf("%s: %w", m.Key, err)
			}
		}
		return append(b, '}'), nil
	}
	return b, fmt.Errorf("phpjson: unsupported value %T", v)
}

const hexDigits = "0123456789abcdef"

// appendString follows php_json_escape_string with default flags.
func appendString(b []byte, s string) ([]byte, error) {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch c {
			case '"':
				b = append(b, '\\', '"')
			case '\\':
				b = append(b, '\\', '\\')
			case '/':
				b = append(b, '\\', '/')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				if c < 0x20 {
					b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
				} else {
					b = append(b, c)
				}
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return b, fmt.Errorf("byte offset %d: %w", i, ErrInvalidUTF8)
		}
		i += size
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			b = appendU(b, r1)
			b = appendU(b, r2)
		} else {
			b = appendU(b, r)
		}
	}
	return append(b, '"'), nil
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// appendFloat follows php_gcvt with serialize_precision -1 (mode 0, shortest
// round trip, precision 17) as json_encode uses it, without
// JSON_PRESERVE_ZERO_FRACTION.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, ErrInfNaN
	}
	if math.Signbit(f) {
		b = append(b, '-')
		f = -f
	}
	if f == 0 {
		return append(b, '0'), nil
	}
	// Go's shortest 'e' form has the same digits as zend_dtoa mode 0.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, expText, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expText)
	decpt := exp + 1 // the point sits after decpt digits
	const precision = 17
	switch {
	case decpt < -3 || decpt > precision:
		b = append(b, digits[0], '.')
		if len(digits) == 1 {
			b = append(b, '0')
		} else {
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		x := decpt - 1
		if x < 0 {
			b = append(b, '-')
			x = -x
		} else {
			b = append(b, '+')
		}
		return strconv.AppendInt(b, int64(x), 10), nil
	case decpt <= 0:
		b = append(b, '0', '.')
		for range -decpt {
			b = append(b, '0')
		}
		return append(b, digits...), nil
	default:
		for i := range decpt {
			if i < len(digits) {
				b = append(b, digits[i])
			} else {
				b = append(b, '0')
			}
		}
		if len(digits) > decpt {
			b = append(b, '.')
			b = append(b, digits[decpt:]...)
		}
		return b, nil
	}
}

// numberValue is what PHP's JSON scanner makes of a number literal: an int
// when it has no fraction or exponent and fits 64 bits, else a float.
func numberValue(lit string) (Value, error) {
	if !jsonnum.Valid(lit) {
		return nil, fmt.Errorf("phpjson: %q is not a JSON number", lit)
	}
	if !strings.ContainsAny(lit, ".eE") {
		if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return Int(n), nil
		}
	}
	// zend_strtod gives ±inf on overflow, which json_encode then refuses;
	// ParseFloat's ±Inf with ErrRange is the same value.
	f, _ := strconv.ParseFloat(lit, 64)
	return Float(f), nil
}
