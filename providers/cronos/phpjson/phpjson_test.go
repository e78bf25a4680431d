package phpjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

func TestEncodeValues(t *testing.T) {
	tests := map[string]struct {
		in   Value
		want string
	}{
		// The first published Cronos signing vector's body, built in order.
		"published vector body": {
			in: Object{
				{"reference", String("12345678")},
				{"bankCode", String("014")},
				{"viewName", String("Guntur Brahmaputra")},
				{"type", String("ClosedAmount")},
				{"amount", Int(10000)},
				{"additionalInfo", Object{{"callback", String("https://google.com")}}},
			},
			want: `{"reference":"12345678","bankCode":"014","viewName":"Guntur Brahmaputra","type":"ClosedAmount","amount":10000,"additionalInfo":{"callback":"https:\/\/google.com"}}`,
		},
		"keys keep their order":     {Object{{"z", Int(1)}, {"a", Int(2)}}, `{"z":1,"a":2}`},
		"empty object":              {Object{}, `{}`},
		"empty list":                {List{}, `[]`},
		"nested list":               {List{Int(1), List{Bool(true), Null{}}, String("x")}, `[1,[true,null],"x"]`},
		"nil is null":               {nil, `null`},
		"false":                     {Bool(false), `false`},
		"negative int":              {Int(-42), `-42`},
		"max int":                   {Int(math.MaxInt64), `9223372036854775807`},
		"slash escaped":             {String("a/b"), `"a\/b"`},
		"html characters left":      {String(`<a href='x'>&amp;</a>`), `"<a href='x'>&amp;<\/a>"`},
		"quote and backslash":       {String(`"\`), `"\"\\"`},
		"short control escapes":     {String("\b\f\n\r\t"), `"\b\f\n\r\t"`},
		"other controls lowercase":  {String("\x00\x01\x1f"), `"\u0000\u0001\u001f"`},
		"delete left alone":         {String("\x7f"), "\"\x7f\""},
		"latin-1 escaped":           {String("é"), `"\u00e9"`},
		"bmp lowercase hex":         {String("\u20ac\uabcd"), `"\u20ac\uabcd"`},
		"astral as surrogate pair":  {String("😀"), `"\ud83d\ude00"`},
		"line separator":            {String("\u2028"), `"\u2028"`},
		"key escaped like a string": {Object{{"a/é", Int(1)}}, `{"a\/\u00e9":1}`},
		"number literal as int":     {Number("10500"), `10500`},
		"number literal minus zero": {Number("-0"), `0`},
		"number literal as float":   {Number("1.50"), `1.5`},
		"number beyond int64":       {Number("9223372036854775808"), `9.223372036854776e+18`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Encode(tc.in)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// The expected texts are what PHP >= 7.1 prints for json_encode(float)
// with serialize_precision -1 and default flags.
func TestEncodeFloats(t *testing.T) {
	tests := map[string]struct {
		in   float64
		want string
	}{
		"zero fraction dropped":      {10.0, "10"},
		"one tenth":                  {0.1, "0.1"},
		"shortest round trip":        {math.Nextafter(0.3, 1), "0.30000000000000004"},
		"negative":                   {-1.5, "-1.5"},
		"negative zero":              {math.Copysign(0, -1), "-0"},
		"zero":                       {0, "0"},
		"small fixed":                {0.0001, "0.0001"},
		"small exponent":             {0.00001, "1.0e-5"},
		"small exponent with digits": {0.000012345, "1.2345e-5"},
		"large fixed":                {1e16, "10000000000000000"},
		"large exponent":             {1e17, "1.0e+17"},
		"huge exponent":              {1.5e300, "1.5e+300"},
		"fraction digits":            {123.456, "123.456"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Encode(Float(tc.in))
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	deep := Value(Int(1))
	for range MaxDepth + 1 {
		deep = List{deep}
	}
	tests := map[string]struct {
		in   Value
		want error
	}{
		"invalid utf-8 value": {Object{{"a", String("ok\xffno")}}, ErrInvalidUTF8},
		"invalid utf-8 key":   {Object{{"\xc3", Int(1)}}, ErrInvalidUTF8},
		"nan":                 {Float(math.NaN()), ErrInfNaN},
		"infinity":            {List{Float(math.Inf(-1))}, ErrInfNaN},
		"overflowing number":  {Number("1e400"), ErrInfNaN},
		"too deep":            {deep, ErrDepth},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			prefix := []byte("keep")
			got, err := AppendEncode(prefix, tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got error %v, want %v", err, tc.want)
			}
			if string(got) != "keep" {
				t.Errorf("got output %q on error, want the prefix unchanged", got)
			}
		})
	}
}

func TestEncodeMaxDepthAllowed(t *testing.T) {
	v := Value(Int(1))
	for range MaxDepth {
		v = List{v}
	}
	got, err := Encode(v)
	if err != nil {
		t.Fatalf("Encode of depth %d: %v", MaxDepth, err)
	}
	if want := strings.Repeat("[", MaxDepth) + "1" + strings.Repeat("]", MaxDepth); string(got) != want {
		t.Errorf("got %d bytes, want %d", len(got), len(want))
	}
}

// referenceString derives json_encode's string form from Go's encoding/json
// (a different implementation): Go already escapes quotes, backslashes and
// controls the same way and, with HTML escaping off, leaves <>& alone; PHP
// additionally escapes "/" and writes all non-ASCII text as \u escapes.
func referenceString(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	goForm := strings.TrimSuffix(buf.String(), "\n")
	var out strings.Builder
	for _, r := range goForm {
		switch {
		case r == '/':
			out.WriteString(`\/`)
		case r < utf8.RuneSelf:
			out.WriteRune(r)
		default:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&out, `\u%04x`, u)
			}
		}
	}
	return out.String()
}

// randomString mixes the characters whose encoding differs between
// encoders: controls, "/", HTML characters, quotes, backslashes, DEL,
// Latin-1, BMP, the line separators and astral-plane characters.
func randomString(r *rand.Rand) string {
	pools := []func() rune{
		func() rune { return rune(r.IntN(0x20)) },
		func() rune { c := []rune(`/<>&'"\ `); return c[r.IntN(len(c))] },
		func() rune { return rune(0x20 + r.IntN(0x60)) },
		func() rune { return rune(0x80 + r.IntN(0x780)) },
		func() rune { return []rune{0x2028, 0x2029, 0xfeff, 0xfffd, 0xffff}[r.IntN(5)] },
		func() rune {
			for {
				c := rune(0x800 + r.IntN(0x10000-0x800))
				if !utf16.IsSurrogate(c) {
					return c
				}
			}
		},
		func() rune { return rune(0x10000 + r.IntN(0x100000)) },
	}
	n := r.IntN(24)
	rs := make([]rune, n)
	for i := range rs {
		rs[i] = pools[r.IntN(len(pools))]()
	}
	return string(rs)
}

func TestEncodeStringMatchesRules(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		s := randomString(r)
		got, err := Encode(String(s))
		if err != nil {
			t.Fatalf("case %d: Encode(%q): %v", i, s, err)
		}
		if want := referenceString(t, s); string(got) != want {
			t.Fatalf("case %d: Encode(%q) = %s, want %s", i, s, got, want)
		}
		for _, c := range got {
			if c < 0x20 || c > 0x7f {
				t.Fatalf("case %d: Encode(%q) = %s has byte %#x, want ASCII without controls (PHP leaves DEL alone)", i, s, got, c)
			}
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil || back != s {
			t.Fatalf("case %d: decoding %s gave %q, %v; want %q", i, got, back, err, s)
		}
		// Our own decoder reads the same text back too.
		v, err := Parse(got)
		if err != nil || v != String(s) {
			t.Fatalf("case %d: Parse(%s) = %#v, %v; want %q", i, got, v, err, s)
		}
	}
}

func TestEncodeFloatRoundTrips(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 5000 {
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		got, err := Encode(Float(f))
		if err != nil {
			t.Fatalf("case %d: Encode(%v): %v", i, f, err)
		}
		var back float64
		if err := json.Unmarshal(got, &back); err != nil || back != f {
			t.Fatalf("case %d: Encode(%v) = %s reads back as %v, %v", i, f, got, back, err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	v := Object{
		{"bankCode", String("014")},
		{"recipientAccount", String("0821837182312831")},
		{"reference", String("6f1c1bde-1f3e-5c55-9d6a-2a4a3e1c0b7d")},
		{"amount", Int(150000)},
		{"additionalInfo", Object{{"callback", String("https://payouts.example.com/callbacks/cronos")}}},
	}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendEncode(buf[:0], v); err != nil {
			b.Fatal(err)
		}
	}
}
