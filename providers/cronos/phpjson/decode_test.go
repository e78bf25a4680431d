package phpjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseKeepsLiterals(t *testing.T) {
	got, err := Parse([]byte(` {"b": 1.50, "a": [true, null, "x\/y\u00e9\ud83d\ude00"], "b": -0} `))
	if err != nil {
		t.Fatal(err)
	}
	want := Object{
		{"b", Number("1.50")},
		{"a", List{Bool(true), Null{}, String("x/yé😀")}},
		{"b", Number("-0")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
	if k, ok := got.(Object).Duplicate(); !ok || k != "b" {
		t.Errorf("Duplicate() = %q, %v; want \"b\", true", k, ok)
	}
}

func TestDecodeLikePHP(t *testing.T) {
	tests := map[string]struct {
		in   string
		want Value
		// reencoded is json_encode(json_decode(in, true)).
		reencoded string
	}{
		"duplicate keeps last value at first position": {
			in:        `{"a":1,"b":2,"a":3}`,
			want:      Object{{"a", Int(3)}, {"b", Int(2)}},
			reencoded: `{"a":3,"b":2}`,
		},
		"empty object becomes empty array": {
			in:        `{"additionalInfo":{}}`,
			want:      Object{{"additionalInfo", List{}}},
			reencoded: `{"additionalInfo":[]}`,
		},
		"sequential numeric keys become a list": {
			in:        `{"0":"a","1":"b"}`,
			want:      List{String("a"), String("b")},
			reencoded: `["a","b"]`,
		},
		"numeric keys out of order stay an object": {
			in:        `{"1":"a","0":"b"}`,
			want:      Object{{"1", String("a")}, {"0", String("b")}},
			reencoded: `{"1":"a","0":"b"}`,
		},
		"non-canonical numeric key stays a string": {
			in:        `{"00":"a"}`,
			want:      Object{{"00", String("a")}},
			reencoded: `{"00":"a"}`,
		},
		"integers and floats": {
			in:        `[10500, -0, 1.0, 1e2, 0.1, 12345678901234567890]`,
			want:      List{Int(10500), Int(0), Float(1), Float(100), Float(0.1), Float(12345678901234567890)},
			reencoded: `[10500,0,1,100,0.1,1.2345678901234567e+19]`,
		},
		"go default encoding of a url and text is re-encoded": {
			in:        `{"callback":"https://x.test/a?b=1\u0026c=<d>","name":"Agus Salim é"}`,
			want:      Object{{"callback", String("https://x.test/a?b=1&c=<d>")}, {"name", String("Agus Salim é")}},
			reencoded: `{"callback":"https:\/\/x.test\/a?b=1&c=<d>","name":"Agus Salim \u00e9"}`,
		},
		"top-level scalar": {
			in:        ` "x" `,
			want:      String("x"),
			reencoded: `"x"`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Decode([]byte(tc.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
			b, err := Encode(got)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if string(b) != tc.reencoded {
				t.Errorf("re-encoded %s, want %s", b, tc.reencoded)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := map[string]string{
		"empty":                   "",
		"only space":              "  ",
		"trailing comma":          `[1,]`,
		"trailing object comma":   `{"a":1,}`,
		"leading zero":            `01`,
		"bare point":              `1.`,
		"leading point":           `.5`,
		"plus sign":               `+1`,
		"exponent without digits": `1e+`,
		"nan":                     `NaN`,
		"upper case literal":      `TRUE`,
		"single quotes":           `'a'`,
		"unterminated string":     `"abc`,
		"raw newline in string":   "\"a\nb\"",
		"raw nul in string":       "\"a\x00b\"",
		"invalid utf-8":           "\"\xff\"",
		"utf-8 surrogate":         "\"\xed\xa0\x80\"",
		"overlong utf-8":          "\"\xc0\xaf\"",
		"lone high surrogate":     `"\ud800"`,
		"high then non-low":       `"\ud800\u0041"`,
		"lone low surrogate":      `"\udc00"`,
		"bad escape":              `"\x"`,
		"short unicode escape":    `"\u12"`,
		"trailing data":           `{} {}`,
		"missing colon":           `{"a" 1}`,
		"non-string key":          `{1:2}`,
		"unclosed array":          `[1`,
		"too deep":                strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			v, err := Parse([]byte(in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %#v, %v; want a *SyntaxError", in, v, err)
			}
			if se.Offset < 0 || se.Offset > len(in) {
				t.Errorf("offset %d outside the input of %d bytes", se.Offset, len(in))
			}
		})
	}
}

func TestParseMaxDepthAllowed(t *testing.T) {
	in := strings.Repeat(`{"a":`, MaxDepth-1) + "[]" + strings.Repeat("}", MaxDepth-1)
	if _, err := Parse([]byte(in)); err != nil {
		t.Fatalf("depth %d: %v", MaxDepth, err)
	}
}

// FuzzDecode checks that everything Parse accepts is JSON to encoding/json
// too, and that a PHP re-encode is a fixed point: what a PHP server
// re-encodes and signs, decoded and re-encoded again, gives the same bytes.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"bankCode":"014","recipientAccount":"7700173383","reference":"1719308808","amount":10500,"additionalInfo":{"callback":"http:\/\/tester.com\/secure\/callback\/demo"}}`,
		`{"a":1,"a":{}}`, `{"0":1,"1":[]}`, `[1e400]`, `-0.0e-7`, `"\ud83d\ude00"`, `[[[]]]`, `{"1":"a","0":"b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("Decode accepted %q, which encoding/json rejects", data)
		}
		once, err := Encode(v)
		if err != nil {
			// Only values json_encode refuses may fail: infinities.
			if !errors.Is(err, ErrInfNaN) {
				t.Fatalf("Encode(Decode(%q)): %v", data, err)
			}
			return
		}
		twice := reencode(t, once)
		// PHP writes the float -0.0 as "-0", which it reads back as the
		// integer 0: only then may a second round differ, and a third
		// round must not.
		if !bytes.Equal(once, twice) && !bytes.Contains(once, []byte("-0")) {
			t.Fatalf("re-encoding is not stable: %s then %s", once, twice)
		}
		if thrice := reencode(t, twice); !bytes.Equal(twice, thrice) {
			t.Fatalf("re-encoding is not stable: %s then %s", twice, thrice)
		}
	})
}

func reencode(t *testing.T, b []byte) []byte {
	t.Helper()
	v, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode(%s): %v", b, err)
	}
	out, err := Encode(v)
	if err != nil {
		t.Fatalf("Encode(Decode(%s)): %v", b, err)
	}
	return out
}
