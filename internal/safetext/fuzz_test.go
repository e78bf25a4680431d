package safetext

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "Bob", "Bob\rMallory", "\x1b[2J", "evil\u202eexe", "中文\u0301",
		"\xff\xfe", "a\U000E0001b", "a\nb\tc", "\u200b\ufeff\u00ad", "x\xe4\xb8", "\"quoted\"\\"} {
		f.Add(s, uint8(3), uint8(7))
	}
	f.Fuzz(func(t *testing.T, s string, a, b uint8) {
		e := Escape(s)
		if !utf8.ValidString(e) {
			t.Fatalf("Escape(%q) = %q is not UTF-8", s, e)
		}
		if i, r, bad := Find(e); bad {
			t.Fatalf("Escape(%q) = %q holds %U at %d", s, e, r, i)
		}
		if _, _, bad := Find(s); !bad && e != s {
			t.Fatalf("Escape changed safe %q to %q", s, e)
		}
		if Escape(e) != e {
			t.Fatalf("Escape is not idempotent on %q", s)
		}

		// JSON of valid JSON is valid JSON of the same value.
		raw, err := json.Marshal(map[string]string{"k" + s: s})
		if err != nil {
			t.Fatal(err)
		}
		j := JSON(raw)
		if i, r, bad := Find(string(j)); bad {
			t.Fatalf("JSON(%s) holds %U at %d", raw, r, i)
		}
		var x, y any
		if err := json.Unmarshal(raw, &x); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(j, &y); err != nil {
			t.Fatalf("JSON(%s) = %s: %v", raw, j, err)
		}
		if !jsonEqual(x, y) {
			t.Fatalf("JSON changed the value of %s: %s", raw, j)
		}

		// Writer, any split points, is Escape except for line feeds.
		var out bytes.Buffer
		w := NewWriter(&out)
		i1 := int(a) % (len(s) + 1)
		i2 := i1 + int(b)%(len(s)-i1+1)
		for _, part := range []string{s[:i1], s[i1:i2], s[i2:]} {
			if n, err := w.Write([]byte(part)); n != len(part) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		w.Flush()
		if want := escapeKeepNL(s); out.String() != want {
			t.Fatalf("Writer(%q split %d,%d) = %q, want %q", s, i1, i2, out.String(), want)
		}
		if strings.Count(out.String(), "\n") != strings.Count(s, "\n") {
			t.Fatalf("Writer changed line feeds")
		}
	})
}

func jsonEqual(x, y any) bool {
	a, _ := json.Marshal(x)
	b, _ := json.Marshal(y)
	return bytes.Equal(a, b)
}
