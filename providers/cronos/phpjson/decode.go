package phpjson

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/payctl/payctl/internal/jsonnum"
)

// SyntaxError is input that is not JSON as PHP's json_decode reads it.
type SyntaxError struct {
	Offset int // byte offset of the problem
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("json syntax error at byte %d: %s", e.Offset, e.Msg)
}

// Parse reads one JSON value, with optional surrounding whitespace, into the
// literal model: objects keep every member in order (duplicates included)
// and numbers stay as written. It rejects what PHP's json_decode rejects:
// invalid UTF-8, raw control characters in strings, unpaired UTF-16
// surrogate escapes, nesting deeper than MaxDepth, trailing data.
func Parse(data []byte) (Value, error) {
	p := parser{s: data}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return nil, p.errorf("unexpected data after the value")
	}
	return v, nil
}

// Decode is json_decode($s, true) followed by the conversion to this
// package's model: duplicate keys keep the last value at the first key's
// position, an empty object becomes an empty list, an object whose keys are
// exactly "0", "1", ... in order becomes a list (PHP stores both as the same
// array), and numbers become Int or Float as PHP's scanner makes them.
func Decode(data []byte) (Value, error) {
	v, err := Parse(data)
	if err != nil {
		return nil, err
	}
	return asPHP(v)
}

func asPHP(v Value) (Value, error) {
	switch v := v.(type) {
	case Number:
		return numberValue(string(v))
	case List:
		out := make(List, len(v))
		for i, e := range v {
			pe, err := asPHP(e)
			if err != nil {
				return nil, err
			}
			out[i] = pe
		}
		return out, nil
	case Object:
		out := make(Object, 0, len(v))
		index := make(map[string]int, len(v))
		for _, m := range v {
			pv, err := asPHP(m.Value)
			if err != nil {
				return nil, err
			}
			if i, ok := index[m.Key]; ok {
				out[i].Value = pv
				continue
			}
			index[m.Key] = len(out)
			out = append(out, Member{Key: m.Key, Value: pv})
		}
		if isList(out) {
			l := make(List, len(out))
			for i, m := range out {
				l[i] = m.Value
			}
			return l, nil
		}
		return out, nil
	}
	return v, nil
}

// isList reports whether PHP would hold o as a packed list: keys "0".."n-1"
// in order (PHP turns canonical integer keys into integers).
func isList(o Object) bool {
	for i, m := range o {
		if m.Key != strconv.Itoa(i) {
			return false
		}
	}
	return true
}

type parser struct {
	s []byte
	i int
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: p.i, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (Value, error) {
	if p.i >= len(p.s) {
		return nil, p.errorf("unexpected end of input")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.list(depth + 1)
	case c == '"':
		s, err := p.str()
		return String(s), err
	case c == '-' || (c >= '0' && c <= '9'):
		end, err := jsonnum.Scan(p.s, p.i)
		if err != nil {
			return nil, p.errorf("malformed number")
		}
		v := Number(p.s[p.i:end])
		p.i = end
		return v, nil
	case p.literal("true"):
		return Bool(true), nil
	case p.literal("false"):
		return Bool(false), nil
	case p.literal("null"):
		return Null{}, nil
	}
	return nil, p.errorf("unexpected character %q", rune(p.s[p.i]))
}

func (p *parser) literal(word string) bool {
	if len(p.s)-p.i >= len(word) && string(p.s[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return true
	}
	return false
}

func (p *parser) object(depth int) (Value, error) {
	if depth > MaxDepth {
		return nil, p.errorf("nesting deeper than %d", MaxDepth)
	}
	p.i++ // {
	o := Object{}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return o, nil
	}
	for {
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, p.errorf("expected a string key")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, p.errorf("expected ':' after key")
		}
		p.i++
		p.skipSpace()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		o = append(o, Member{Key: k, Value: v})
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, p.errorf("unexpected end of input in object")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return o, nil
		default:
			return nil, p.errorf("expected ',' or '}' in object")
		}
	}
}

func (p *parser) list(depth int) (Value, error) {
	if depth > MaxDepth {
		return nil, p.errorf("nesting deeper than %d", MaxDepth)
	}
	p.i++ // [
	l := List{}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return l, nil
	}
	for {
		p.skipSpace()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		l = append(l, v)
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, p.errorf("unexpected end of input in array")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return l, nil
		default:
			return nil, p.errorf("expected ',' or ']' in array")
		}
	}
}

// str reads a string token starting at its opening quote.
func (p *parser) str() (string, error) {
	p.i++ // "
	var out []byte
	for {
		if p.i >= len(p.s) {
			return "", p.errorf("unterminated string")
		}
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), nil
		case c == '\\':
			r, err := p.escape()
			if err != nil {
				return "", err
			}
			out = utf8.AppendRune(out, r)
		case c < 0x20:
			return "", p.errorf("control character %#02x in string", c)
		case c < utf8.RuneSelf:
			out = append(out, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.s[p.i:])
			if r == utf8.RuneError && size == 1 {
				return "", p.errorf("malformed UTF-8")
			}
			out = append(out, p.s[p.i:p.i+size]...)
			p.i += size
		}
	}
}

// escape reads one escape sequence (a surrogate pair counts as one).
func (p *parser) escape() (rune, error) {
	if p.i+1 >= len(p.s) {
		return 0, p.errorf("unterminated escape")
	}
	c := p.s[p.i+1]
	p.i += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, err := p.hex4()
		if err != nil {
			return 0, err
		}
		if !utf16.IsSurrogate(r) {
			return r, nil
		}
		if r >= 0xdc00 || p.i+1 >= len(p.s) || p.s[p.i] != '\\' || p.s[p.i+1] != 'u' {
			return 0, p.errorf("unpaired UTF-16 surrogate")
		}
		p.i += 2
		r2, err := p.hex4()
		if err != nil {
			return 0, err
		}
		if r2 < 0xdc00 || r2 > 0xdfff {
			return 0, p.errorf("unpaired UTF-16 surrogate")
		}
		return utf16.DecodeRune(r, r2), nil
	}
	p.i -= 1
	return 0, p.errorf("invalid escape '\\%c'", c)
}

func (p *parser) hex4() (rune, error) {
	if p.i+4 > len(p.s) {
		return 0, p.errorf("short \\u escape")
	}
	var r rune
	for _, c := range p.s[p.i : p.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, p.errorf("bad hex digit in \\u escape")
		}
	}
	p.i += 4
	return r, nil
}
