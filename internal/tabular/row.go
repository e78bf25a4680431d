package tabular

import (
	"strings"
	"unicode"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/doc"
)

// fieldNode is one field of a payout as the columns lay it out: a column
// (col >= 0) or a group of dotted names ("recipient" of recipient.name).
type fieldNode struct {
	key  string
	col  int
	kids []*fieldNode
	buf  []doc.Node // the group's values of the current row
}

// buildFields lays out the payout's tree once, from the columns, so that
// each row only fills it: a hundred thousand rows then cost no lookups.
func (d *decoder) buildFields() {
	root := &fieldNode{col: -1}
	for j, c := range d.cols {
		if c.field == "" {
			continue
		}
		parts := strings.Split(c.field, ".")
		n := root
		for i, p := range parts {
			var next *fieldNode
			for _, k := range n.kids {
				if k.key == p {
					next = k
				}
			}
			if next == nil {
				next = &fieldNode{key: p, col: -1}
				n.kids = append(n.kids, next)
			}
			if i == len(parts)-1 {
				next.col = j
			}
			n = next
		}
	}
	d.fields = root.kids
}

type rowNode struct {
	top []doc.Node
}

func (d *decoder) newRow() *rowNode { return &rowNode{} }

// payout builds the node of one row, or reports the cells payctl cannot
// read exactly and returns false.
func (d *decoder) payout(r *rowNode, cells []cell, row int) (*doc.Node, bool) {
	good := true
	for j, c := range cells {
		pos := diag.Pos{Line: row, Col: j + 1}
		if j >= len(d.cols) || !d.cols[j].named {
			if strings.TrimSpace(c.text) != "" {
				d.add(pos, "this cell is in a column with no name; name the column in the row of column names, or empty the cell")
				good = false
			}
			continue
		}
		col := &d.cols[j]
		if col.ignore || c.text == "" && c.kind == text {
			continue
		}
		if !d.readable(col, c, pos) {
			good = false
		}
	}
	if len(d.template) > 0 {
		if d.first == nil {
			d.first = make([]string, len(d.template))
			for k, j := range d.template {
				if j < len(cells) {
					d.first[k] = cells[j].text
				}
				if d.first[k] == "" {
					d.add(diag.Pos{Line: row, Col: j + 1}, "%s is empty; the batch name %q is made of it", d.cols[j].name, d.imp.Batch)
					good = false
				}
			}
			d.namePos = diag.Pos{Line: row, Col: d.template[0] + 1}
		} else {
			for k, j := range d.template {
				v := ""
				if j < len(cells) {
					v = cells[j].text
				}
				if v != d.first[k] {
					d.add(diag.Pos{Line: row, Col: j + 1}, "%s is %q here and %q in the first payout row; the batch name %q is made of it, so every row must have the same: split the file by %s", d.cols[j].name, v, d.first[k], d.imp.Batch, d.cols[j].name)
					good = false
				}
			}
		}
	}
	if !good {
		return nil, false
	}
	at := diag.Pos{Line: row, Col: 1}
	r.top = fill(r.top[:0], d.fields, cells, at)
	n := doc.MappingNode("", r.top, at, diag.Pos{})
	return &n, true
}

// fill appends the values of fields found in cells to out; an empty cell
// is no value, as a field left out of a manifest.
func fill(out []doc.Node, fields []*fieldNode, cells []cell, at diag.Pos) []doc.Node {
	for _, f := range fields {
		if f.col >= 0 {
			if f.col < len(cells) && cells[f.col].text != "" {
				pos := diag.Pos{Line: at.Line, Col: f.col + 1}
				out = append(out, doc.StringNode(f.key, cells[f.col].text, pos, pos))
			}
			continue
		}
		f.buf = fill(f.buf[:0], f.kids, cells, at)
		if len(f.buf) > 0 {
			// A group is where its first column is in this row: an
			// error about the group as a whole (a field the provider
			// requires is missing) then has a cell of its own.
			gp := diag.Pos{Line: at.Line, Col: f.first() + 1}
			out = append(out, doc.MappingNode(f.key, f.buf, gp, gp))
		}
	}
	return out
}

// readable reports whether a cell's value can be read exactly as the
// text payctl pays by, or says why not at the cell.
func (d *decoder) readable(col *column, c cell, pos diag.Pos) bool {
	what := col.field
	if what == "" {
		what = col.name
	}
	switch c.kind {
	case text:
		return true
	case number:
		if col.field == "amount" {
			if exactDecimal(c.text, int(d.scale)) {
				if sameAmount(c.shown, c.text) {
					return true
				}
				d.add(pos, "amount shows as %q but the cell holds %s (its number format hides or rounds digits); payctl pays what the cell holds, so a reviewer of the sheet would see another amount: format the amount column as Text and type the amounts as they are to be paid", c.shown, c.text)
				return false
			}
			d.add(pos, "amount is stored as the number %s, which is not an amount written out exactly with at most %d decimal places (a spreadsheet stores numbers in floating point: a sum such as 0.1+0.2 is 0.30000000000000004); format the amount column as Text and type the amounts", c.text, d.scale)
			return false
		}
		d.add(pos, "%s (column %q) is stored as the number %s: a number loses leading zeros and long digits, and would read differently once the column is formatted as Text; format the column as Text and type the values again", what, col.name, c.text)
		return false
	case formula:
		d.add(pos, "%s (column %q) is a formula (=%s); payctl pays what the file says, not what a spreadsheet computes: copy the column, paste it as values, and format it as Text", what, col.name, c.text)
		return false
	}
	d.add(pos, "%s (column %q) is stored as %s; format the column as Text and type the values", what, col.name, c.kind)
	return false
}

// exactDecimal reports whether s is a plain decimal (digits, at most one
// point) with at most scale places: the text of a number cell that is
// the amount the person typed.
func exactDecimal(s string, scale int) bool {
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if intPart == "" || hasPoint && (frac == "" || len(frac) > scale) {
		return false
	}
	for _, p := range [2]string{intPart, frac} {
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
	}
	return true
}

// first is the leftmost column of a field or group.
func (f *fieldNode) first() int {
	if f.col >= 0 {
		return f.col
	}
	m := -1
	for _, k := range f.kids {
		if c := k.first(); m < 0 || c < m {
			m = c
		}
	}
	return m
}

// sameAmount reports whether a number cell's shown text is its stored
// amount: the shown text with currency signs, spaces and thousands
// separators left out is the same decimal (1,250.50 is 1250.5; $1,251
// is not 1250.5, nor is 125050% or a date).
func sameAmount(shown, stored string) bool {
	if shown == "" || shown == stored {
		return true
	}
	var b strings.Builder
	for _, r := range shown {
		switch {
		case r >= '0' && r <= '9', r == '.':
			b.WriteRune(r)
		case r == ',', r == ' ', r == '\u00a0', r == '$', r == '€', r == '£', r == '¥':
		case unicode.IsLetter(r) && unicode.IsUpper(r):
			// a currency code such as "USD 1,250.50"
		default:
			return false
		}
	}
	return trimDecimal(b.String()) == trimDecimal(stored)
}

// trimDecimal drops a decimal's trailing fractional zeros and point.
func trimDecimal(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	return s
}
