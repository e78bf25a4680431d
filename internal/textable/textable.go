// Package textable writes aligned text tables for terminals: text columns
// left-aligned, number columns right-aligned, no trailing spaces (output
// is often pasted into reviews and diffed).
//
// Cells and notes are outside text as often as not (recipient names,
// provider answers): each is escaped with safetext.Escape, so a control
// or bidirectional character can neither move the cursor nor reorder a
// row, and columns are as wide as the escaped text is on a terminal
// (safetext.Width: CJK characters take two columns, combining marks none).
package textable

import (
	"io"
	"strings"

	"github.com/payctl/payctl/internal/safetext"
)

// Table is a table being built.
type Table struct {
	Indent string
	// Right marks the columns to right-align (numbers).
	Right map[int]bool
	// NoteIndent, when set, starts notes at Indent+NoteIndent instead of
	// under the second column.
	NoteIndent string
	rows       [][]string
	notes      map[int][]string // after row i, free lines that do not widen columns
}

// Row adds a row.
func (t *Table) Row(cells ...string) {
	for i, c := range cells {
		cells[i] = safetext.Escape(c) // c itself unless it needs escaping
	}
	t.rows = append(t.rows, cells)
}

// Note adds a line under the last row (after any it has), indented to its
// second column and not taken into account for column widths.
func (t *Table) Note(line string) {
	if t.notes == nil {
		t.notes = map[int][]string{}
	}
	t.notes[len(t.rows)-1] = append(t.notes[len(t.rows)-1], safetext.Escape(line))
}

// Len is the number of rows added.
func (t *Table) Len() int { return len(t.rows) }

// WriteTo writes the table.
func (t *Table) WriteTo(w io.Writer) (int64, error) {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], safetext.Width(c))
		}
	}
	var b strings.Builder
	for ri, r := range t.rows {
		var line strings.Builder
		line.WriteString(t.Indent)
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-safetext.Width(c))
			if i > 0 {
				line.WriteString("  ")
			}
			if t.Right[i] {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
		indent := t.Indent + t.NoteIndent
		if t.NoteIndent == "" {
			indent = t.Indent + "  "
			if len(widths) > 1 {
				indent += strings.Repeat(" ", widths[0]+2)
			}
		}
		for _, note := range t.notes[ri] {
			b.WriteString(indent + note + "\n")
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// Stream writes a table too large to hold in memory, byte for byte as
// WriteTo would write the same rows and notes. each adds them by calling
// row and note, in order, and is called twice: once to measure the
// columns, once to write. It must add the same rows both times. The
// table's own rows, if any, are not used.
func (t *Table) Stream(w io.Writer, each func(row func(cells ...string), note func(line string))) error {
	var widths []int
	each(func(cells ...string) {
		for i, c := range cells {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], safetext.Width(safetext.Escape(c)))
		}
	}, func(string) {})
	noteIndent := t.Indent + t.NoteIndent
	if t.NoteIndent == "" {
		noteIndent = t.Indent + "  "
		if len(widths) > 1 {
			noteIndent += strings.Repeat(" ", widths[0]+2)
		}
	}
	var (
		line []byte
		err  error
	)
	each(func(cells ...string) {
		if err != nil {
			return
		}
		line = append(line[:0], t.Indent...)
		for i, c := range cells {
			c = safetext.Escape(c)
			pad := widths[i] - safetext.Width(c)
			if i > 0 {
				line = append(line, "  "...)
			}
			if t.Right[i] {
				line = appendSpaces(line, pad)
				line = append(line, c...)
			} else {
				line = append(line, c...)
				line = appendSpaces(line, pad)
			}
		}
		for len(line) > 0 && line[len(line)-1] == ' ' {
			line = line[:len(line)-1]
		}
		line = append(line, '\n')
		_, err = w.Write(line)
	}, func(note string) {
		if err != nil {
			return
		}
		line = append(append(append(line[:0], noteIndent...), safetext.Escape(note)...), '\n')
		_, err = w.Write(line)
	})
	return err
}

func appendSpaces(b []byte, n int) []byte {
	for ; n > 0; n-- {
		b = append(b, ' ')
	}
	return b
}
