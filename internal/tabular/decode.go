package tabular

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/doc"
	"github.com/payctl/payctl/internal/money"
)

// kind is how a cell's value is stored. A CSV cell is always text.
type kind uint8

const (
	text kind = iota
	number
	formula
	boolean
	errorValue
	date
)

func (k kind) String() string {
	switch k {
	case number:
		return "a number"
	case formula:
		return "a formula"
	case boolean:
		return "TRUE or FALSE"
	case errorValue:
		return "an error value"
	case date:
		return "a date"
	}
	return "text"
}

type cell struct {
	text string
	kind kind
	// shown is how a spreadsheet shows a number cell, with its number
	// format applied ("1,250.50", "$1,251").
	shown string
}

// source is the rows of a table, one at a time. A row is numbered as a
// spreadsheet numbers it (the first row of the file is 1), whatever
// lines a quoted CSV field spans.
type source interface {
	// next returns the next row and its number; ok is false at the end
	// or after an error, which errs then holds. cells is valid until the
	// next call.
	next() (cells []cell, row int, ok bool)
	errs() diag.List
}

// Decode reads a CSV or XLSX batch of at most max bytes. It returns the
// manifest the table stands for, with its payouts sequence empty and
// each payout handed to item instead, in order (n and everything under
// it is valid only during the call), and how many payouts there were.
//
// item may be called before an error is found further on: whatever it
// made of the rows must then be dropped, as Decode returns the errors,
// all of them, sorted. imp may be nil.
func Decode(file string, data []byte, max int, imp *Import, item func(i int, n *doc.Node)) (*doc.Node, int, diag.List) {
	f, ok := FormatOf(file)
	if !ok {
		return nil, 0, diag.List{{File: file, Msg: fmt.Sprintf("unsupported file extension %q; tables are .csv or .xlsx files", filepath.Ext(file))}}
	}
	if len(data) > max {
		return nil, 0, diag.List{diag.Errorf(file, diag.Pos{Line: 1, Col: 1}, "file is larger than the %d MiB limit; split the batch into several files", max>>20)}
	}
	var (
		src  source
		errs diag.List
	)
	switch f {
	case CSV:
		src, errs = openCSV(file, data)
	case XLSX:
		var sheet string
		if imp != nil {
			sheet = imp.Sheet
		}
		src, errs = openXLSX(file, data, sheet)
	}
	if len(errs) > 0 {
		return nil, 0, errs
	}
	d := &decoder{file: file, imp: imp, src: src, item: item}
	root, n := d.run()
	d.errs = append(d.errs, src.errs()...)
	if d.unlisted > 0 {
		d.errs = append(d.errs, &diag.Error{File: file, More: d.unlisted})
	}
	if len(d.errs) > 0 {
		d.errs.Limit(diag.MaxPerFile)
		return nil, 0, d.errs
	}
	return root, n, nil
}

// MaxRows bounds the payout rows of one file, as doc.MaxNodes bounds a
// manifest's (about 180,000 payouts): a 64 MiB file of tiny rows would
// otherwise be millions of payouts held at once.
const MaxRows = 200_000

// MaxColumns bounds the columns: a payout has a dozen fields, and a row
// of column names millions of cells wide is an attack, not an export.
const MaxColumns = 1000

// Hint guesses how many payout rows a file holds, to size a batch's
// slice once: never more than MaxRows, whatever the file.
func Hint(file string, data []byte) int {
	if f, _ := FormatOf(file); f != CSV {
		return 0
	}
	return min(bytes.Count(data, []byte{'\n'})+1, MaxRows)
}

type decoder struct {
	file     string
	imp      *Import
	src      source
	item     func(i int, n *doc.Node)
	errs     diag.List
	unlisted int

	header   map[string]headerValue
	cols     []column
	fields   []*fieldNode // the row's tree, filled per row
	template []int        // columns the batch name is made of
	first    []string     // their values in the first payout row
	namePos  diag.Pos     // the first of them
	scale    int32        // the currency's decimal places
}

type headerValue struct {
	text string
	pos  diag.Pos
}

// column is what one column of the table is for.
type column struct {
	name   string
	pos    diag.Pos
	field  string // "" when ignored or only part of the batch name
	ignore bool
	named  bool // the header cell has a name
	tmpl   bool // part of the batch name
}

func (d *decoder) add(pos diag.Pos, format string, args ...any) {
	if len(d.errs) >= diag.MaxPerFile {
		d.unlisted++
		return
	}
	d.errs.Add(d.file, pos, format, args...)
}

func blank(cells []cell) bool {
	for _, c := range cells {
		if strings.TrimSpace(c.text) != "" {
			return false
		}
	}
	return true
}

func comment(cells []cell) bool {
	return len(cells) > 0 && strings.HasPrefix(strings.TrimSpace(cells[0].text), "#")
}

func (d *decoder) run() (*doc.Node, int) {
	skip := 0
	if d.imp != nil {
		skip = d.imp.SkipRows
	}
	d.header = map[string]headerValue{}
	var (
		cells []cell
		row   int
		ok    bool
	)
	// Rows to skip, then the header block, then the column names.
	for {
		if cells, row, ok = d.src.next(); !ok {
			if len(d.src.errs()) == 0 {
				if row == 0 {
					d.add(diag.Pos{}, "the table is empty; it needs a row of column names (%s) and a row per payout", strings.Join(required, ", "))
				} else {
					d.add(diag.Pos{Line: row, Col: 1}, "no row of column names; it needs one (%s) and a row per payout below it", strings.Join(required, ", "))
				}
			}
			return nil, 0
		}
		if row <= skip || blank(cells) || comment(cells) {
			continue
		}
		key := strings.ToLower(strings.TrimSpace(cells[0].text))
		if !headerKeys[key] {
			break
		}
		d.headerRow(key, cells, row)
	}
	if len(cells) > MaxColumns {
		d.add(diag.Pos{Line: row, Col: MaxColumns + 1}, "the row of column names has %d cells, more than the %d a batch may have; remove the columns after the last one payctl reads", len(cells), MaxColumns)
		return nil, 0
	}
	d.columns(cells, row)
	headerRow := row
	hasCols := len(d.errs) == 0
	root := d.root(headerRow)

	n := 0
	rowNode := d.newRow()
	texts := doc.NewTextCheck(d.file)
	for {
		if cells, row, ok = d.src.next(); !ok {
			break
		}
		if blank(cells) || comment(cells) {
			continue
		}
		if !hasCols {
			continue
		}
		node, good := d.payout(rowNode, cells, row)
		if !good {
			n++
			continue
		}
		if n >= MaxRows {
			d.add(diag.Pos{Line: row, Col: 1}, "the file holds more than %d payout rows, the limit for one file; split the batch into several files", MaxRows)
			return nil, 0
		}
		if errs := texts.Check(node, n); len(errs) > 0 {
			for _, e := range errs {
				d.add(e.Pos, "%s", e.Msg)
			}
		}
		d.item(n, node)
		n++
	}
	if n == 0 && hasCols && len(d.src.errs()) == 0 {
		d.add(diag.Pos{Line: headerRow, Col: 1}, "no payouts: there are no rows below the column names")
	}
	if root != nil && d.imp != nil && d.imp.Batch != "" && d.header["batch"].text == "" && (len(d.template) == 0 || d.first != nil) {
		d.fillName(root)
	}
	return root, n
}

func (d *decoder) headerRow(key string, cells []cell, row int) {
	pos := diag.Pos{Line: row, Col: 1}
	if _, dup := d.header[key]; dup {
		d.add(pos, "%s is given twice in the header block; keep one", key)
		return
	}
	if len(cells) < 2 || strings.TrimSpace(cells[1].text) == "" {
		d.add(pos, "%s has no value; write it in the cell to its right (column B)", key)
		return
	}
	v := cells[1]
	if v.kind != text {
		d.add(diag.Pos{Line: row, Col: 2}, "%s is stored as %s; format the cell as Text", key, v.kind)
		return
	}
	for j := 2; j < len(cells); j++ {
		if strings.TrimSpace(cells[j].text) != "" {
			d.add(diag.Pos{Line: row, Col: j + 1}, "a header row holds a name and one value; remove this cell")
		}
	}
	d.header[key] = headerValue{text: strings.TrimSpace(v.text), pos: diag.Pos{Line: row, Col: 2}}
}

// columns reads the row of column names.
func (d *decoder) columns(cells []cell, row int) {
	var mapped map[string]string
	var ignore map[string]bool
	var tmpl map[string]bool
	if d.imp != nil {
		mapped = d.imp.Columns
		ignore = map[string]bool{}
		for _, c := range d.imp.Ignore {
			ignore[c] = true
		}
		tmpl = map[string]bool{}
		cols, _ := templateColumns(d.imp.Batch)
		for _, c := range cols {
			tmpl[c] = true
		}
	}
	seen := map[string]diag.Pos{}
	seenName := map[string]bool{}
	d.cols = make([]column, len(cells))
	for j, c := range cells {
		pos := diag.Pos{Line: row, Col: j + 1}
		name := strings.TrimSpace(c.text)
		col := column{name: name, pos: pos, named: name != ""}
		d.cols[j] = col
		if name == "" {
			continue
		}
		if c.kind != text {
			d.add(pos, "column name is stored as %s; format the cell as Text", c.kind)
			continue
		}
		if seenName[name] {
			d.add(pos, "column %q appears twice; keep one", name)
			continue
		}
		seenName[name] = true
		field, isMapped := mapped[name]
		switch {
		case isMapped:
		case ignore[name]:
			d.cols[j].ignore = true
		case IsField(name):
			field = name
		case tmpl[name]:
		default:
			d.add(pos, "unknown column %q; %s", name, d.unknownAdvice())
			continue
		}
		d.cols[j].tmpl = tmpl[name]
		if tmpl[name] {
			d.template = append(d.template, j)
		}
		if field == "" {
			continue
		}
		if prev, dup := seen[field]; dup {
			d.add(pos, "column %q is also %s, like the column at %s; keep one", name, field, d.where(prev))
			continue
		}
		seen[field] = pos
		d.cols[j].field = field
	}
	for _, f := range required {
		if _, ok := seen[f]; !ok {
			d.add(diag.Pos{Line: row, Col: 1}, "missing column %s; %s", f, d.missingAdvice(f))
		}
	}
	if d.imp != nil {
		cols, _ := templateColumns(d.imp.Batch)
		for _, c := range cols {
			if !seenName[c] {
				d.add(diag.Pos{Line: row, Col: 1}, "missing column %q, which the batch name %q in payctl.yaml is made of; the batch name must come from the file (a pay period or run number), not be guessed", c, d.imp.Batch)
			}
		}
	}
	d.buildFields()
}

func (d *decoder) where(p diag.Pos) string {
	if f, _ := FormatOf(d.file); f == XLSX {
		return diag.CellName(p)
	}
	return fmt.Sprintf("%d:%d", p.Line, p.Col)
}

func (d *decoder) unknownAdvice() string {
	if d.imp == nil {
		return fmt.Sprintf("columns are payout fields (%s, metadata.KEY): rename it, remove it, or map or ignore it with an imports entry in payctl.yaml", strings.Join(Fields, ", "))
	}
	return fmt.Sprintf("map it to a payout field under columns of the imports entry for %q in payctl.yaml, or list it under ignore", d.imp.Match)
}

func (d *decoder) missingAdvice(f string) string {
	if d.imp == nil {
		return fmt.Sprintf("add a column named %s (payctl template writes a file with every column), or map the export's column to it with an imports entry in payctl.yaml", f)
	}
	return fmt.Sprintf("add it, or map the export's column to it under columns of the imports entry for %q in payctl.yaml (\"Your Column: %s\")", d.imp.Match, f)
}

// root builds the manifest's header: from the header block, else the
// imports entry.
func (d *decoder) root(row int) *doc.Node {
	get := func(key, fromImport string) (string, diag.Pos, bool) {
		h, inFile := d.header[key]
		switch {
		case inFile && fromImport != "" && h.text != fromImport:
			d.add(h.pos, "%s %q differs from %q in the imports entry for %q in payctl.yaml; correct one of them", key, h.text, fromImport, d.imp.Match)
			return h.text, h.pos, true
		case inFile:
			return h.text, h.pos, true
		case fromImport != "":
			return fromImport, diag.Pos{}, true
		}
		return "", diag.Pos{}, false
	}
	var imp Import
	if d.imp != nil {
		imp = *d.imp
	}
	provider, provPos, okP := get("provider", imp.Provider)
	currency, curPos, okC := get("currency", imp.Currency)
	desc, descPos, okD := get("description", imp.Description)
	name, namePos, okN := d.header["batch"].text, d.header["batch"].pos, false
	if _, ok := d.header["batch"]; ok {
		okN = true
		if imp.Batch != "" {
			d.add(namePos, "the batch name is given both here and by the imports entry for %q in payctl.yaml; keep one", imp.Match)
		}
	} else if imp.Batch != "" {
		okN = true
		name = imp.Batch // expanded once the first row is read
	}
	hint := "add a header block above the column names (rows \"batch,NAME\", \"provider,NAME\", \"currency,CODE\"; payctl template writes one), or an imports entry matching this file in payctl.yaml"
	if !okN {
		d.add(diag.Pos{Line: row, Col: 1}, "no batch name; %s", hint)
	}
	if !okP {
		d.add(diag.Pos{Line: row, Col: 1}, "no provider; %s", hint)
	}
	if !okC {
		d.add(diag.Pos{Line: row, Col: 1}, "no currency; %s", hint)
	}
	if c, ok := money.LookupCurrency(currency); ok {
		d.scale = c.Scale
	}
	if !okN || !okP || !okC {
		return nil
	}
	at := diag.Pos{Line: row, Col: 1}
	meta := []doc.Node{doc.StringNode("name", name, namePos, namePos)}
	if okD {
		meta = append(meta, doc.StringNode("description", desc, descPos, descPos))
	}
	spec := []doc.Node{
		doc.StringNode("provider", provider, provPos, provPos),
		doc.StringNode("currency", currency, curPos, curPos),
		doc.SequenceNode("payouts", nil, at, at),
	}
	kids := []doc.Node{
		doc.StringNode("apiVersion", "payctl/v1", diag.Pos{}, diag.Pos{}),
		doc.StringNode("kind", "PayoutBatch", diag.Pos{}, diag.Pos{}),
		doc.MappingNode("metadata", meta, at, at),
		doc.MappingNode("spec", spec, at, at),
	}
	r := doc.MappingNode("", kids, diag.Pos{Line: 1, Col: 1}, diag.Pos{})
	return &r
}

// fillName expands the batch name template with the first row's values
// of its columns; every row was checked to have the same.
func (d *decoder) fillName(root *doc.Node) {
	name := root.At([]string{"metadata", "name"})
	t := d.imp.Batch
	for k, j := range d.template {
		t = strings.ReplaceAll(t, "{"+d.cols[j].name+"}", slug(d.first[k]))
	}
	t = strings.ReplaceAll(t, "{file}", slug(strings.TrimSuffix(filepath.Base(d.file), filepath.Ext(d.file))))
	*name = doc.StringNode("name", t, d.namePos, d.namePos)
}
