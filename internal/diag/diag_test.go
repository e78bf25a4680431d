package diag

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func errs(file string, n int) List {
	var l List
	for i := n; i > 0; i-- {
		l.Add(file, Pos{Line: i, Col: 1}, "bad")
	}
	return l
}

func lines(l List) string {
	var b strings.Builder
	for _, e := range l {
		fmt.Fprintln(&b, e)
	}
	return b.String()
}

func TestLimit(t *testing.T) {
	var l List
	l.Append(errs("b.yaml", 5), errs("a.yaml", 2))
	l.Limit(3)
	want := "a.yaml:1:1: bad\na.yaml:2:1: bad\nb.yaml:1:1: bad\nb.yaml:2:1: bad\nb.yaml:3:1: bad\n… and 2 more errors in b.yaml\n"
	if got := lines(l); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
	if got := l.Total(); got != 7 {
		t.Errorf("Total: got %d, want 7", got)
	}
	// Limiting again, or after appending more errors of the same file,
	// adds the counts up and keeps the summary last.
	l.Add("b.yaml", Pos{Line: 1, Col: 1}, "worse")
	l.Limit(3)
	want = "a.yaml:1:1: bad\na.yaml:2:1: bad\nb.yaml:1:1: bad\nb.yaml:1:1: worse\nb.yaml:2:1: bad\n… and 3 more errors in b.yaml\n"
	if got := lines(l); got != want {
		t.Errorf("after a second Limit: got\n%swant\n%s", got, want)
	}
	if got := l.Total(); got != 8 {
		t.Errorf("Total: got %d, want 8", got)
	}
	if got, want := l.Error(), "a.yaml:1:1: bad (and 7 more errors)"; got != want {
		t.Errorf("Error: got %q, want %q", got, want)
	}
}

func TestErrorEscapesOutsideText(t *testing.T) {
	e := &Error{File: "inbox/\x1b[2Jnov.yaml", Pos: Pos{Line: 3, Col: 5}, Msg: "provider said \"Bob\rMallory\u202e\nx\""}
	want := `inbox/\u001B[2Jnov.yaml:3:5: provider said "Bob\u000DMallory\u202E\u000Ax"`
	if got := e.Error(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	more := &Error{File: "a\u202eb.yaml", More: 3}
	if got := more.Error(); got != `… and 3 more errors in a\u202Eb.yaml` {
		t.Errorf("got %s", got)
	}
}

func TestSheetPositions(t *testing.T) {
	for col, want := range map[int]string{1: "A", 3: "C", 26: "Z", 27: "AA", 52: "AZ", 703: "AAA"} {
		if got := ColumnName(col); got != want {
			t.Errorf("ColumnName(%d) = %q, want %q", col, got, want)
		}
	}
	SetSheet("book.xlsx", "Vendors")
	e := &Error{File: "book.xlsx", Pos: Pos{Line: 12, Col: 3}, Msg: "bad"}
	if got, want := e.Error(), "book.xlsx!Vendors!C12: bad"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	e = &Error{File: "book.xlsx", Msg: "bad"}
	if got, want := e.Error(), "book.xlsx: bad"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	e = &Error{File: "other.xlsx", Pos: Pos{Line: 12, Col: 3}, Msg: "bad"}
	if got, want := e.Error(), "other.xlsx:12:3: bad"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSheetJSON(t *testing.T) {
	SetSheet("j.xlsx", "Pay")
	b, err := json.Marshal(List{{File: "j.xlsx", Pos: Pos{Line: 2, Col: 28}, Msg: "m"}, {File: "j.yaml", Pos: Pos{Line: 2, Col: 1}, Msg: "m"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"file":"j.xlsx","pos":{"line":2,"column":28},"message":"m","cell":"Pay!AB2"},{"file":"j.yaml","pos":{"line":2,"column":1},"message":"m"}]`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
	if got := Where("j.xlsx", Pos{Line: 3, Col: 1}); got != "j.xlsx!Pay!A3" {
		t.Errorf("Where %q", got)
	}
}
