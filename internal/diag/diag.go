// Package diag holds payctl's positioned diagnostics: errors that name the
// file and line:column (or a JSON pointer) of what is wrong and say what was
// expected. Every reader of outside input (manifests, config, state, plan
// files) reports through it, so users see one format everywhere:
//
//	payouts/nov.yaml:12:15: amount must be a string such as "150000"; quote it
//
// A List collects all errors of an input so that a user fixes them in one
// pass; its Err is nil when the list is empty.
package diag

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/payctl/payctl/internal/safetext"
)

// Pos is a 1-based line and column. The zero Pos means "no position".
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"column"`
}

// IsValid reports whether p names a place.
func (p Pos) IsValid() bool { return p.Line > 0 }

func (p Pos) String() string {
	if !p.IsValid() {
		return "-"
	}
	return fmt.Sprintf("%d:%d", p.Line, p.Col)
}

// Error is one problem with one input.
type Error struct {
	File    string `json:"file,omitempty"`
	Pos     Pos    `json:"pos"`
	Pointer string `json:"pointer,omitempty"` // JSON pointer, when there is no line
	Msg     string `json:"message"`
	// More, when positive, makes this the last entry of File's errors:
	// it stands for that many more errors that are not listed (see
	// List.Limit).
	More int `json:"more,omitempty"`
}

// Error is the error as one line. File and Msg are escaped with
// safetext.Escape: a file name is whatever was dropped into a folder, and
// messages quote manifests and provider answers.
func (e *Error) Error() string {
	if e.More > 0 {
		return fmt.Sprintf("… and %d more errors in %s", e.More, safetext.Escape(e.File))
	}
	var b strings.Builder
	b.WriteString(safetext.Escape(e.File))
	switch {
	case e.Pos.IsValid():
		if sheet, ok := SheetOf(e.File); ok {
			fmt.Fprintf(&b, "!%s!%s", safetext.Escape(sheet), CellName(e.Pos))
			break
		}
		fmt.Fprintf(&b, ":%d:%d", e.Pos.Line, e.Pos.Col)
	case e.Pointer != "":
		fmt.Fprintf(&b, ":%s", e.Pointer)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(safetext.Escape(e.Msg))
	return b.String()
}

// Errorf makes an Error at a position.
func Errorf(file string, pos Pos, format string, args ...any) *Error {
	return &Error{File: file, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// List is a list of errors; it sorts by file, line, column, then message.
type List []*Error

// Add appends an error at a position.
func (l *List) Add(file string, pos Pos, format string, args ...any) {
	*l = append(*l, Errorf(file, pos, format, args...))
}

// Append appends other lists.
func (l *List) Append(others ...List) {
	for _, o := range others {
		*l = append(*l, o...)
	}
}

func (l List) Len() int      { return len(l) }
func (l List) Swap(i, j int) { l[i], l[j] = l[j], l[i] }
func (l List) Less(i, j int) bool {
	a, b := l[i], l[j]
	if a.File != b.File {
		return a.File < b.File
	}
	if (a.More > 0) != (b.More > 0) {
		return b.More > 0
	}
	if a.Pos.Line != b.Pos.Line {
		return a.Pos.Line < b.Pos.Line
	}
	if a.Pos.Col != b.Pos.Col {
		return a.Pos.Col < b.Pos.Col
	}
	if a.Pointer != b.Pointer {
		return a.Pointer < b.Pointer
	}
	return a.Msg < b.Msg
}

// Sort sorts the list and drops exact duplicates.
func (l *List) Sort() {
	sort.Stable(*l)
	out := (*l)[:0]
	for i, e := range *l {
		if i > 0 && *e == *(*l)[i-1] {
			continue
		}
		out = append(out, e)
	}
	*l = out
}

// MaxPerFile is how many errors of one file are listed: a file with
// thousands of mistakes is usually one mistake repeated, and a list past a
// screenful helps no one. Limit replaces the rest with one count.
const MaxPerFile = 100

// Limit sorts the list and keeps at most max errors per file; the rest of
// a file's errors become one last entry, "… and N more errors in FILE".
// Limit can be applied again to a list it produced, or to several such
// lists appended together: earlier counts are added up.
func (l *List) Limit(max int) {
	l.Sort()
	out := (*l)[:0]
	var (
		file  string
		kept  int
		more  int
		first = true
	)
	flush := func() {
		if more > 0 {
			out = append(out, &Error{File: file, More: more, Msg: fmt.Sprintf("%d more errors not listed", more)})
		}
	}
	for _, e := range *l {
		if first || e.File != file {
			flush()
			file, kept, more, first = e.File, 0, 0, false
		}
		switch {
		case e.More > 0:
			more += e.More
		case kept < max:
			out = append(out, e)
			kept++
		default:
			more++
		}
	}
	flush()
	clear((*l)[len(out):])
	*l = out
}

// Total is how many errors the list stands for, counting those that
// Limit left out.
func (l List) Total() int {
	n := 0
	for _, e := range l {
		n += max(e.More, 1)
	}
	return n
}

// Error prints the first error and how many more there are; callers that
// show all errors range over the list.
func (l List) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	return fmt.Sprintf("%s (and %d more errors)", l[0], l.Total()-1)
}

// Err returns nil for an empty list, else the sorted list as an error.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	return l
}

// WithHint returns err with what to do about it, for the person reading
// the error: the command line prints it after the error as a hint.
func WithHint(err error, format string, args ...any) error {
	return &hinted{err: err, hint: fmt.Sprintf(format, args...)}
}

// HintOf returns the hint of the outermost error in err's chain that has
// one.
func HintOf(err error) (string, bool) {
	var h *hinted
	if errors.As(err, &h) {
		return h.hint, true
	}
	return "", false
}

type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

// Plural picks the word for n things: one when n is 1, else many.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
