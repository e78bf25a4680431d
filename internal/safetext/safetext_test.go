package safetext

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestUnsafe(t *testing.T) {
	refused := []rune{0, '\t', '\n', '\r', 0x1b, 0x7f, 0x80, 0x85, 0x9b, 0x9f,
		0xad, 0x61c, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x2028, 0x2029,
		0x202a, 0x202e, 0x2060, 0x2064, 0x2066, 0x2069, 0xfeff, 0xe000, 0xf8ff,
		0xfdd0, 0xfffe, 0xffff, 0x1fffe, 0xe0001, 0xe0041, 0xfe0f, 0xe0100,
		0x34f, 0x115f, 0x3164, 0xf0000, 0x10fffd}
	for _, r := range refused {
		if !Unsafe(r) {
			t.Errorf("Unsafe(%U) = false", r)
		}
	}
	allowed := []rune{' ', 'a', '~', 0xa0, 0xe9, 0x301, 0x4e2d, 0x627, 0x915, 0x94d,
		0x3000, 0xfffd, 0x1f600, 0xac00, 0x5d0}
	for _, r := range allowed {
		if Unsafe(r) {
			t.Errorf("Unsafe(%U) = true", r)
		}
	}
}

func TestFind(t *testing.T) {
	for _, tc := range []struct {
		in string
		i  int
		r  rune
		ok bool
	}{
		{"Bob", 0, 0, false},
		{"Budi Santoso", 0, 0, false},
		{"José 中文 محمد", 0, 0, false},
		{"Bob\rMallory", 3, '\r', true},
		{"é\u202eabc", 2, 0x202e, true},
		{"ab\xffc", 2, utf8.RuneError, true},
		{"a\ufffd", 0, 0, false},
	} {
		i, r, ok := Find(tc.in)
		if i != tc.i || r != tc.r || ok != tc.ok {
			t.Errorf("Find(%q) = %d, %U, %v; want %d, %U, %v", tc.in, i, r, ok, tc.i, tc.r, tc.ok)
		}
	}
}

func TestName(t *testing.T) {
	for r, want := range map[rune]string{
		0x202e:  "U+202E RIGHT-TO-LEFT OVERRIDE",
		0x1b:    "U+001B ESCAPE",
		'\n':    "U+000A LINE FEED",
		'\r':    "U+000D CARRIAGE RETURN",
		0:       "U+0000 NULL",
		'\t':    "U+0009 CHARACTER TABULATION",
		0x85:    "U+0085 NEXT LINE",
		0x81:    "U+0081 (a control character)",
		0xe000:  "U+E000 (a private-use character)",
		0x2065:  "U+2065 (an invisible character)",
		0xe0041: "U+E0041 (an invisible tag character)",
		0x600:   "U+0600 (an invisible format character)",
		0xfe0f:  "U+FE0F VARIATION SELECTOR-16",
		0xe0100: "U+E0100 VARIATION SELECTOR-17",
		0xfdd0:  "U+FDD0 (a noncharacter)",
	} {
		if got := Name(r); got != want {
			t.Errorf("Name(%U) = %q, want %q", r, got, want)
		}
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "",
		"Bob":                  "Bob",
		"José 中文":              "José 中文",
		"Bob\rMallory":         `Bob\u000DMallory`,
		"a\x1b[2Jb":            `a\u001B[2Jb`,
		"evil\u202Egnp.exe":    `evil\u202Egnp.exe`,
		"line\nbreak":          `line\u000Abreak`,
		"del\x7f":              `del\u007F`,
		"c1\u0085":             `c1\u0085`,
		"tag\U000E0001":        `tag\uDB40\uDC01`,
		"bad\xff\xfe":          `bad\xFF\xFE`,
		"cut\xe4\xb8":          `cut\xE4\xB8`,
		"a\u200bb":             `a\u200Bb`,
		`back\slash`:           `back\slash`,
		"e\u0301 combining ok": "e\u0301 combining ok",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
	s := "Budi Santoso"
	if n := testing.AllocsPerRun(100, func() { _ = Escape(s) }); n != 0 {
		t.Errorf("Escape of safe text allocates %v times", n)
	}
}

func TestJSON(t *testing.T) {
	v := map[string]string{"name": "Bob\u202eX\x7f\u0085\U000E0001", "ok": "中文"}
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out := JSON(raw)
	if i, r, bad := Find(strings.ReplaceAll(string(out), "\n", "")); bad {
		t.Fatalf("JSON left %U at %d: %s", r, i, out)
	}
	if !strings.Contains(string(out), `Bob\u202EX\u007F\u0085\uDB40\uDC01`) {
		t.Errorf("JSON = %s", out)
	}
	var back map[string]string
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if back["name"] != v["name"] || back["ok"] != v["ok"] {
		t.Errorf("round trip: %q", back)
	}
	safe := []byte(`{"a": "中文"}`)
	if got := JSON(safe); &got[0] != &safe[0] {
		t.Error("JSON copied safe input")
	}
}

func TestWidth(t *testing.T) {
	for s, want := range map[string]int{
		"Bob":          3,
		"José":         4,
		"Jose\u0301":   4,
		"中文":           4,
		"ｈｉ":           4,
		"محمد":         4,
		"देवनागरी":     7, // two spacing vowel signs (Mc) take a column each
		"한국":           4,
		`Bob\u202EX`:   10,
		"\u1100\u1161": 2,
	} {
		if got := Width(s); got != want {
			t.Errorf("Width(%q) = %d, want %d", s, got, want)
		}
	}
}

// escapeKeepNL is what Writer writes for s.
func escapeKeepNL(s string) string {
	parts := strings.Split(s, "\n")
	for i, p := range parts {
		crlf := i < len(parts)-1 && strings.HasSuffix(p, "\r")
		if crlf {
			p = p[:len(p)-1]
		}
		tabs := strings.Split(p, "\t")
		for j, t := range tabs {
			tabs[j] = Escape(t)
		}
		parts[i] = strings.Join(tabs, "\t")
		if crlf {
			parts[i] += "\r"
		}
	}
	return strings.Join(parts, "\n")
}

func TestWriter(t *testing.T) {
	in := "ok\r\nBob\rMallory\t中文\x1b[2J\u202e\U000E0001 end\xff\n\r"
	for split := 0; split <= len(in); split++ {
		for split2 := split; split2 <= len(in); split2++ {
			var out bytes.Buffer
			w := NewWriter(&out)
			for _, part := range []string{in[:split], in[split:split2], in[split2:]} {
				n, err := w.Write([]byte(part))
				if n != len(part) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			w.Flush()
			if want := escapeKeepNL(in); out.String() != want {
				t.Fatalf("split %d,%d: %q, want %q", split, split2, out.String(), want)
			}
		}
	}
	var out bytes.Buffer
	w := NewWriter(&out)
	w.Write([]byte("a\xe4\xb8"))
	if out.String() != "a" {
		t.Errorf("before flush: %q", out.String())
	}
	w.Close()
	if out.String() != `a\xE4\xB8` {
		t.Errorf("after flush: %q", out.String())
	}
}

func TestWriterJSON(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	v := map[string]any{"reason": "\x1b[2J\r\u202e\n\U000E0001"}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(out.Bytes(), &back); err != nil {
		t.Fatalf("%v: %s", err, out.Bytes())
	}
	if back["reason"] != v["reason"] {
		t.Errorf("round trip: %q", back["reason"])
	}
	if strings.ContainsAny(out.String(), "\x1b\r\u202e") {
		t.Errorf("raw bytes: %q", out.String())
	}
}
