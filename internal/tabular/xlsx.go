package tabular

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/payctl/payctl/internal/diag"
)

// MaxUnzipped bounds what a workbook may unpack to, all parts together:
// an .xlsx is a zip archive, and a few megabytes of it can claim to hold
// gigabytes (a zip bomb). The archive's stated sizes are checked before
// anything is unpacked, and Go's zip reader fails a part that holds more
// than its stated size. Every part is kept in memory, never written to a
// temporary file.
const MaxUnzipped = 256 << 20

// maxUnzipped is MaxUnzipped; tests lower it.
var maxUnzipped int64 = MaxUnzipped

type xlsxSource struct {
	rows  [][]cell
	i     int
	empty bool
}

// openXLSX reads one sheet of a workbook: the named one, else the first.
// It registers the sheet with diag so that errors print as cells.
func openXLSX(file string, data []byte, sheet string) (source, diag.List) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, diag.List{diag.Errorf(file, diag.Pos{}, "file is empty; it needs a sheet with a row of column names (%s) and a row per payout", joinRequired())}
	}
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxUnzipped, UnzipXMLSizeLimit: maxUnzipped})
	if err != nil {
		msg := err.Error()
		if errors.Is(err, excelize.ErrOptionsUnzipSizeLimit) || strings.Contains(msg, "unzip size exceeds") {
			return nil, diag.List{diag.Errorf(file, diag.Pos{}, "the workbook unpacks to more than %d MiB, the limit (a zip bomb, or a batch too large for one file); split the batch into several files", maxUnzipped>>20)}
		}
		return nil, diag.List{diag.Errorf(file, diag.Pos{}, "cannot read the workbook (%s); save it as an Excel Workbook (.xlsx), without a password", msg)}
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, diag.List{diag.Errorf(file, diag.Pos{}, "the workbook has no sheet")}
	}
	if sheet == "" {
		sheet = sheets[0]
	} else if idx, _ := f.GetSheetIndex(sheet); idx < 0 {
		return nil, diag.List{diag.Errorf(file, diag.Pos{}, "the workbook has no sheet %q (it has %s); correct sheet in the imports entry of payctl.yaml", sheet, quoteAll(sheets))}
	}
	diag.SetSheet(file, sheet)
	raw, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, diag.List{diag.Errorf(file, diag.Pos{}, "cannot read sheet %q: %v", sheet, err)}
	}
	if len(raw) > MaxRows+1000 {
		return nil, diag.List{diag.Errorf(file, diag.Pos{}, "sheet %q has %d rows, more than the %d payout rows one file may hold; split the batch into several files", sheet, len(raw), MaxRows)}
	}
	// What the sheet shows: a number cell is checked against it, so that
	// a person who reviewed the sheet saw the amount that is paid.
	shown, err := f.GetRows(sheet)
	if err != nil {
		return nil, diag.List{diag.Errorf(file, diag.Pos{}, "cannot read sheet %q: %v", sheet, err)}
	}
	src := &xlsxSource{rows: make([][]cell, len(raw))}
	width := 0
	for _, row := range raw {
		width = max(width, len(row))
	}
	for r, row := range raw {
		cells := make([]cell, len(row))
		for c, v := range row {
			cells[c] = cell{text: v}
			name, _ := excelize.CoordinatesToCellName(c+1, r+1)
			// A formula whose result was never computed (a file written
			// by a program, not by Excel) reads as empty: it is looked
			// for in empty cells too.
			if fm, _ := f.GetCellFormula(sheet, name); fm != "" {
				cells[c] = cell{text: fm, kind: formula}
				continue
			}
			if v == "" {
				continue
			}
			t, _ := f.GetCellType(sheet, name)
			switch t {
			case excelize.CellTypeUnset, excelize.CellTypeNumber:
				// A cell without a type is a number (ECMA-376 18.18.11).
				cells[c].kind = number
				if r < len(shown) && c < len(shown[r]) {
					cells[c].shown = shown[r][c]
				}
			case excelize.CellTypeBool:
				cells[c].kind = boolean
			case excelize.CellTypeError:
				cells[c].kind = errorValue
			case excelize.CellTypeDate:
				cells[c].kind = date
			}
		}
		src.rows[r] = cells
	}
	if blankSheet(src.rows) {
		return nil, diag.List{diag.Errorf(file, diag.Pos{}, "sheet %q is empty; it needs a row of column names (%s) and a row per payout", sheet, joinRequired())}
	}
	return src, nil
}

func blankSheet(rows [][]cell) bool {
	for _, r := range rows {
		if !blank(r) {
			return false
		}
	}
	return true
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

func (s *xlsxSource) next() ([]cell, int, bool) {
	if s.i >= len(s.rows) {
		return nil, s.i, false
	}
	s.i++
	return s.rows[s.i-1], s.i, true
}

func (s *xlsxSource) errs() diag.List { return nil }
