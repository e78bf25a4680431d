package doc

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dump writes one line per node: path, kind, text, value position and,
// for mapping values, the key position.
func dump(n *Node) string {
	var b strings.Builder
	var walk func(n *Node, path string)
	walk = func(n *Node, path string) {
		fmt.Fprintf(&b, "%s %s", path, n.Kind)
		if n.IsScalar() {
			fmt.Fprintf(&b, " %q", n.Text)
		}
		fmt.Fprintf(&b, " @%s", n.Pos())
		if n.KeyPos().IsValid() {
			fmt.Fprintf(&b, " key@%s", n.KeyPos())
		}
		b.WriteByte('\n')
		for i := range n.Kids {
			k := &n.Kids[i]
			if n.Kind == Mapping {
				walk(k, strings.TrimSuffix(path, "/")+"/"+k.Key)
			} else {
				walk(k, fmt.Sprintf("%s/%d", strings.TrimSuffix(path, "/"), i))
			}
		}
	}
	walk(n, "/")
	return b.String()
}

func decodeOK(t *testing.T, f Format, src string) *Node {
	t.Helper()
	n, errs := Decode("in."+string(f), []byte(src), f, 1<<20)
	if len(errs) > 0 {
		t.Fatalf("Decode: %v", errs)
	}
	return n
}

func TestDecodeTrees(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		src    string
		want   string
	}{
		{
			name:   "yaml scalars keep their text and kind",
			format: YAML,
			src:    "a: 012345\nb: \"014\"\nc: 1e3\nd: true\ne: ~\nf:\ng: 2025-01-31\nh: >-\n  text\ni: 0x1F\nj: !!str 012\n",
			want: `/ mapping @1:1
/a number "012345" @1:4 key@1:1
/b string "014" @2:4 key@2:1
/c number "1e3" @3:4 key@3:1
/d bool "true" @4:4 key@4:1
/e null "~" @5:4 key@5:1
/f null "" @6:3 key@6:1
/g string "2025-01-31" @7:4 key@7:1
/h string "text" @8:4 key@8:1
/i number "0x1F" @10:4 key@10:1
/j string "012" @11:4 key@11:1
`,
		},
		{
			name:   "yaml sequence items start at their dash",
			format: YAML,
			src:    "list:\n  - id: a\n    b: c\n  -   id: d\n  - [1, 2]\n  - x\n",
			want: `/ mapping @1:1
/list sequence @2:3 key@1:1
/list/0 mapping @2:3
/list/0/id string "a" @2:9 key@2:5
/list/0/b string "c" @3:8 key@3:5
/list/1 mapping @4:3
/list/1/id string "d" @4:11 key@4:7
/list/2 sequence @5:3
/list/2/0 number "1" @5:6
/list/2/1 number "2" @5:9
/list/3 string "x" @6:3
`,
		},
		{
			name:   "yaml columns count characters, not bytes",
			format: YAML,
			src:    "\"é€\": x\n",
			want: `/ mapping @1:1
/é€ string "x" @1:7 key@1:1
`,
		},
		{
			name:   "json tree",
			format: JSON,
			src:    "{\"a\": [1.50, -0, 2E+3, true, null],\n \"b\": {\"c\": \"x\\u00e9\\ud83d\\ude00\"}, \"é\": \"€\", \"d\": \"y\"}",
			want: `/ mapping @1:1
/a sequence @1:7 key@1:2
/a/0 number "1.50" @1:8
/a/1 number "-0" @1:14
/a/2 number "2E+3" @1:18
/a/3 bool "true" @1:24
/a/4 null "null" @1:30
/b mapping @2:7 key@2:2
/b/c string "xé😀" @2:13 key@2:8
/é string "€" @2:42 key@2:37
/d string "y" @2:52 key@2:47
`,
		},
		{
			name:   "json minified on one line with multibyte text",
			format: JSON,
			src:    `{"n":"Nguyễn Trần","m":"李","k":1}`,
			want: `/ mapping @1:1
/n string "Nguyễn Trần" @1:6 key@1:2
/m string "李" @1:24 key@1:20
/k number "1" @1:32 key@1:28
`,
		},
		{
			name:   "json empty containers and crlf",
			format: JSON,
			src:    "{\r\n\"a\": {},\r\n\"b\": []\r\n}",
			want: `/ mapping @1:1
/a mapping @2:6 key@2:1
/b sequence @3:6 key@3:1
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dump(decodeOK(t, tt.format, tt.src))
			if got != tt.want {
				t.Errorf("got tree\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		src    string
		want   []string
	}{
		{"empty", JSON, "", []string{"f:1:1: file is empty"}},
		{"blank json", JSON, " \n\t\n", []string{"f:1:1: file is empty"}},
		{"comments only yaml", YAML, "# nothing\n  # here\n", []string{"f:1:1: file is empty"}},
		{"document marker only", YAML, "---\n", []string{"f:1:1: file is empty"}},
		{"bom", JSON, "\xef\xbb\xbf{}", []string{"f:1:1: file starts with a UTF-8 byte order mark; save it as UTF-8 without one"}},
		{"invalid utf-8", YAML, "a: b\nname: Jos\xe9\n", []string{"f:2:10: invalid UTF-8 (byte 0xe9 at offset 14); save the file as UTF-8"}},
		{"invalid utf-8 after multibyte", JSON, "{\"é\": \"\xff\"}", []string{"f:1:8: invalid UTF-8 (byte 0xff at offset 8); save the file as UTF-8"}},

		{"json duplicate keys all reported", JSON, "{\"a\": 1,\n \"b\": 2,\n \"a\": 3, \"b\": {\"c\": 1, \"c\": 2}}", []string{
			`f:3:2: duplicate key "a"; first at line 1, column 2`,
			`f:3:10: duplicate key "b"; first at line 2, column 2`,
			`f:3:24: duplicate key "c"; first at line 3, column 16`,
		}},
		{"json trailing data", JSON, "{}\n{}", []string{`f:2:1: unexpected character '{' after the top-level value; a file holds one JSON value`}},
		{"json trailing comma in object", JSON, "{\"a\": 1,\n}", []string{`f:2:1: trailing comma before '}'`}},
		{"json trailing comma in array", JSON, "[1, 2, ]", []string{`f:1:8: trailing comma before ']'`}},
		{"json leading zero", JSON, `{"account": 0821}`, []string{`f:1:13: number 0821 has a leading zero; JSON numbers cannot have one (quote it if it is an account or code)`}},
		{"json bad number", JSON, `[1.]`, []string{`f:1:2: invalid number 1.: digits must follow the decimal point`}},
		{"json bad exponent", JSON, `[1e]`, []string{`f:1:2: invalid number 1e: the exponent has no digits`}},
		{"json number glued to letters", JSON, `[12ab]`, []string{`f:1:2: invalid number 12ab`}},
		{"json unclosed object", JSON, "{\n  \"a\": {\"b\": 1", []string{`f:2:15: unexpected end of file; the object opened at line 2, column 8 is not closed`}},
		{"json unclosed string", JSON, `{"a": "b`, []string{`f:1:7: string is not closed; expected a closing '"'`}},
		{"json newline in string", JSON, "{\"a\": \"b\nc\"}", []string{`f:1:9: string is not closed at the end of the line; JSON strings cannot span lines (write \n)`}},
		{"json control character", JSON, "[\"a\tb\"]", []string{`f:1:4: control character U+0009 in a string; escape it`}},
		{"json bad escape", JSON, `["a\x"]`, []string{`f:1:4: invalid escape \x in a string`}},
		{"json short unicode escape", JSON, `["\u12"]`, []string{`f:1:3: invalid escape \u12"]; \u needs four hex digits`}},
		{"json lone surrogate", JSON, `["\ud800x"]`, []string{`f:1:3: invalid escape \ud800: a lone UTF-16 surrogate is not a character`}},
		{"json single quotes", JSON, `{'a': 1}`, []string{`f:1:2: unexpected character '\''; expected a key in double quotes`}},
		{"json single-quoted value", JSON, `{"a": 'b'}`, []string{`f:1:7: unexpected character '\''; JSON strings use double quotes`}},
		{"json bare word", JSON, `{"a": yes}`, []string{`f:1:7: unexpected character 'y'; expected a value`}},
		{"json truncated literal", JSON, `[tru]`, []string{`f:1:2: unexpected "tru"; expected a value (strings need double quotes)`}},
		{"json missing colon", JSON, `{"a" 1}`, []string{`f:1:6: unexpected character '1'; expected ':' after key "a"`}},
		{"json missing comma", JSON, `{"a": 1 "b": 2}`, []string{`f:1:9: unexpected character '"'; expected ',' or '}' after the value of "a"`}},
		{"json too deep", JSON, strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), []string{fmt.Sprintf("f:1:%d: nesting is deeper than %d levels", MaxDepth+1, MaxDepth)}},

		{"yaml anchor and alias", YAML, "a: &x 1\nb: *x\n", []string{
			"f:1:4: YAML anchors (&x) are not allowed; write the value out in full",
			"f:2:4: YAML aliases (*x) are not allowed; write the value out in full",
		}},
		{"yaml merge key", YAML, "base: {a: 1}\nc:\n  <<: {a: 2}\n  b: 1\n", []string{"f:3:3: YAML merge keys (<<) are not allowed; write the fields out in full"}},
		{"yaml duplicate keys", YAML, "a: 1\nb: 2\na: 3\n", []string{`f:3:1: duplicate key "a"; first at line 1, column 1`}},
		{"yaml duplicate keys in a large mapping", YAML, largeMapping(20) + "k3: again\n", []string{`f:21:1: duplicate key "k3"; first at line 4, column 1`}},
		{"yaml two documents", YAML, "a: 1\n---\nb: 2\n", []string{"f:2:1: a second YAML document starts here; a file holds exactly one"}},
		{"yaml custom tag", YAML, "a: !money 5\nb: !!binary aGk=\n", []string{
			"f:1:4: YAML tag !money is not allowed; remove it",
			"f:2:4: YAML tag !!binary is not allowed; remove it",
		}},
		{"yaml non-string keys", YAML, "1: a\ntrue: b\n~: c\n? [x]\n: d\n", []string{
			`f:1:1: key 1 is a number; keys must be strings (quote it: "1")`,
			`f:2:1: key true is a boolean; keys must be strings (quote it: "true")`,
			`f:3:1: key ~ is null; keys must be strings (quote it: "~")`,
			`f:4:3: keys must be plain strings, not a mapping or list`,
		}},
		{"yaml syntax error has a line", YAML, "a: b\n c: d\n", []string{"f:2:1: invalid YAML: mapping values are not allowed in this context"}},
		// yaml.v3 names the line where the unclosed construct starts.
		{"yaml unclosed flow sequence", YAML, "x: 1\na: [1, 2\nb: c\n", []string{"f:2:1: invalid YAML: did not find expected ',' or ']'"}},
		{"yaml unclosed flow sequence on the first line", YAML, "a: [1, 2\nb: c\n", []string{"f:2:1: invalid YAML: did not find expected ',' or ']'"}},
		{"yaml error on the first line", YAML, "key: value: x\n", []string{"f:1:1: invalid YAML: mapping values are not allowed in this context"}},
		{"yaml bad block sequence", YAML, "x: 1\na:\n  - b\n  c: d\n", []string{"f:3:1: invalid YAML: did not find expected '-' indicator"}},
		{"yaml tab indentation", YAML, "a:\n\tb: 1\n", []string{"f:2:1: invalid YAML: found character that cannot start any token"}},
		{"yaml control character", YAML, "a: b\x01c\n", []string{"f:1:5: control character U+0001 is not allowed in YAML"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, errs := Decode("f", []byte(tt.src), tt.format, 1<<20)
			if n != nil {
				t.Errorf("got a tree, want nil on error")
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
				if !e.Pos.IsValid() {
					t.Errorf("error %q has no position", e)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func largeMapping(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "k%d: %d\n", i, i)
	}
	return b.String()
}

func TestDecodeSizeCap(t *testing.T) {
	for _, f := range []Format{JSON, YAML} {
		data := []byte(`{"a": "` + strings.Repeat("x", 100) + `"}`)
		if _, errs := Decode("f", data, f, len(data)); len(errs) > 0 {
			t.Errorf("%s: at the cap: got %v, want no error", f, errs)
		}
		_, errs := Decode("f", data, f, len(data)-1)
		want := fmt.Sprintf("f:1:1: file is larger than the %d byte limit", len(data)-1)
		if len(errs) != 1 || errs[0].Error() != want {
			t.Errorf("%s: over the cap: got %v, want %s", f, errs, want)
		}
	}
}

func TestFormatOf(t *testing.T) {
	tests := map[string]struct {
		want Format
		ok   bool
	}{
		"a.json":      {JSON, true},
		"dir/a.yaml":  {YAML, true},
		"a.yml":       {YAML, true},
		"A.YAML":      {YAML, true},
		"a.txt":       {"", false},
		"payctl":      {"", false},
		"a.json.bak":  {"", false},
		"a.yaml.orig": {"", false},
	}
	for name, tt := range tests {
		got, ok := FormatOf(name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("FormatOf(%q) = %q, %v; want %q, %v", name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.yaml")
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(small, []byte("a: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, bytes.Repeat([]byte("#"), 2<<10+1), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"fits", small, ""},
		{"one byte over the cap", big, big + ": file is larger than the 2 KiB limit"},
		{"missing", filepath.Join(dir, "nope.yaml"), filepath.Join(dir, "nope.yaml") + ": no such file or directory"},
		{"directory", dir, dir + ": it is a directory, not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := ReadFile(tt.path, 2<<10)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got error %v, want none", err)
			case tt.want == "" && string(data) != "a: 1\n":
				t.Fatalf("got %q, want the file's bytes", data)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Fatalf("got error %v, want %s", err, tt.want)
			}
		})
	}
}

// TestJSONColumnsMatchOffsets checks the incremental column counting
// against a direct count, on a long line with multibyte text.
func TestJSONColumnsMatchOffsets(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := range 300 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"n%d":"Łukasz €%d 李","v":%d}`, i, i, i)
		if i%97 == 0 {
			b.WriteString("\n")
		}
	}
	b.WriteString("]")
	src := []byte(b.String())
	root := decodeOK(t, JSON, string(src))
	for i := range root.Kids {
		v := root.Kids[i].Field("v")
		// The value's text is i; find its offset: after `"v":`.
		needle := fmt.Sprintf(`"v":%d}`, i)
		off := bytes.Index(src, []byte(needle))
		if off < 0 {
			t.Fatalf("item %d not found", i)
		}
		if want := PosAt(src, off+4); v.Pos() != want {
			t.Fatalf("item %d: got %s, want %s", i, v.Pos(), want)
		}
	}
}

func TestNodeAt(t *testing.T) {
	root := decodeOK(t, YAML, "a:\n  b:\n    - x\n    - y: z\n")
	tests := []struct {
		path []string
		want string
	}{
		{[]string{"a", "b", "1", "y"}, "z"},
		{[]string{"a", "b", "0"}, "x"},
		{[]string{"a", "b", "2"}, ""},
		{[]string{"a", "b", "-1"}, ""},
		{[]string{"a", "c"}, ""},
		{[]string{"a", "b", "0", "q"}, ""},
	}
	for _, tt := range tests {
		n := root.At(tt.path)
		got := ""
		if n != nil {
			got = n.Text
		}
		if got != tt.want {
			t.Errorf("At(%v): got %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestDecodeRefusesUnsafeText(t *testing.T) {
	for _, tt := range []struct {
		format Format
		src    string
		want   []string
	}{
		{YAML, "spec:\n  payouts:\n    - recipient:\n        name: \"Bob\\rMallory\"\n        bank: \"x\\u202Ey\"\n",
			[]string{
				"in.yaml:4:15: recipient.name contains U+000D CARRIAGE RETURN (character 4): " + UnsafeTextAdvice,
				"in.yaml:5:15: recipient.bank contains U+202E RIGHT-TO-LEFT OVERRIDE (character 2): " + UnsafeTextAdvice,
			}},
		{YAML, "a: [ok, \"\\0\"]\n\"k\\e\": x\nd: \"\\N\"\n",
			[]string{
				"in.yaml:1:9: a[1] contains U+0000 NULL (character 1): " + UnsafeTextAdvice,
				"in.yaml:2:1: a key of the document contains U+001B ESCAPE (character 2): " + UnsafeTextAdvice,
				"in.yaml:3:4: d contains U+0085 NEXT LINE (character 1): " + UnsafeTextAdvice,
			}},
		{JSON, `{"metadata": {"description": "tab\there", "name": "a\u2066b\u200b"}}`,
			[]string{
				"in.json:1:30: metadata.description contains U+0009 CHARACTER TABULATION (character 4): " + UnsafeTextAdvice,
				"in.json:1:51: metadata.name contains U+2066 LEFT-TO-RIGHT ISOLATE (character 2): " + UnsafeTextAdvice,
			}},
	} {
		_, errs := Decode("in."+string(tt.format), []byte(tt.src), tt.format, 1<<20)
		var got []string
		for _, e := range errs {
			got = append(got, e.Error())
		}
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("Decode(%q):\n%s\nwant\n%s", tt.src, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
	// Many bad strings: the first 100 and a count.
	var b strings.Builder
	for i := range 150 {
		fmt.Fprintf(&b, "k%d: \"\\t\"\n", i)
	}
	_, errs := Decode("in.yaml", []byte(b.String()), YAML, 1<<20)
	if len(errs) != 101 || errs[100].More != 50 {
		t.Errorf("got %d errors, last %v", len(errs), errs[len(errs)-1])
	}
}
