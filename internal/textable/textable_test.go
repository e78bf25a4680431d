package textable

import (
	"strings"
	"testing"
)

func TestNotes(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    *Table
		want string
	}{
		// Notes sit two spaces into the second column.
		{"under the second column", &Table{Indent: " "}, " ok    a   1\n         hint one\n         hint two\n fail  bb  22\n"},
		{"at a fixed indent", &Table{Indent: " ", NoteIndent: "    "}, " ok    a   1\n     hint one\n     hint two\n fail  bb  22\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.t.Row("ok", "a", "1")
			tc.t.Note("hint one")
			tc.t.Note("hint two")
			tc.t.Row("fail", "bb", "22")
			var b strings.Builder
			tc.t.WriteTo(&b)
			if b.String() != tc.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tc.want)
			}
		})
	}
}
