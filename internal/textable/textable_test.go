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

func TestWideAndHostileCells(t *testing.T) {
	tb := &Table{Right: map[int]bool{2: true}}
	tb.Row("add", "José Gonza\u0301lez", "100")
	tb.Row("add", "王小明", "2000")
	tb.Row("add", "محمد علي", "3")
	tb.Row("add", "Bob\rMallory\u202e", "40")
	tb.Note("reason: \x1b[2Jgone\nnext")
	var b strings.Builder
	tb.WriteTo(&b)
	// Columns line up on a terminal: 王小明 takes six columns, the
	// combining accent none, escapes their printed length.
	want := "" +
		"add  José Gonza\u0301lez            100\n" +
		"add  王小明                  2000\n" +
		"add  محمد علي                   3\n" +
		"add  Bob\\u000DMallory\\u202E    40\n" +
		"       reason: \\u001B[2Jgone\\u000Anext\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// Stream writes what WriteTo writes.
func TestStreamIsWriteTo(t *testing.T) {
	rows := [][]string{
		{"+", "pay", "batch/a", "1.00 USD", "", "Bob\rMallory\u202e"},
		{"", "unchanged", "batch/王小明", "2000.00 USD", "x", ""},
		{"?", "unknown", "b", "3 USD", "José Gonza\u0301lez", "  "},
	}
	notes := map[int][]string{0: {"reason: \x1b[2Jgone\nnext", "second"}, 2: {"last"}}
	for _, tb := range []func() *Table{
		func() *Table { return &Table{Indent: "  ", Right: map[int]bool{3: true}} },
		func() *Table { return &Table{NoteIndent: "    ", Right: map[int]bool{0: true, 5: true}} },
	} {
		whole := tb()
		for i, r := range rows {
			whole.Row(append([]string(nil), r...)...)
			for _, n := range notes[i] {
				whole.Note(n)
			}
		}
		var want, got strings.Builder
		whole.WriteTo(&want)
		err := tb().Stream(&got, func(row func(...string), note func(string)) {
			for i, r := range rows {
				row(r...)
				for _, n := range notes[i] {
					note(n)
				}
			}
		})
		if err != nil || got.String() != want.String() {
			t.Errorf("got\n%q (%v)\nwant\n%q", got.String(), err, want.String())
		}
	}
}
