package tabular

import (
	"bytes"
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
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: MaxUnzipped, UnzipXMLSizeLimit: MaxUnzipped})
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "unzip size exceeds") {
			return nil, diag.List{diag.Errorf(file, diag.Pos{}, "the workbook unpacks to more than %d MiB, the limit; split the batch into several files", MaxUnzipped>>20)}
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
	src := &xlsxSource{rows: make([][]cell, len(raw))}
	for r, row := range raw {
		cells := make([]cell, len(row))
		for c, v := range row {
			cells[c] = cell{text: v}
			if v == "" {
				continue
			}
			name, _ := excelize.CoordinatesToCellName(c+1, r+1)
			if fm, _ := f.GetCellFormula(sheet, name); fm != "" {
				cells[c] = cell{text: fm, kind: formula}
				continue
			}
			t, _ := f.GetCellType(sheet, name)
			switch t {
			case excelize.CellTypeUnset, excelize.CellTypeNumber:
				// A cell without a type is a number (ECMA-376 18.18.11).
				cells[c].kind = number
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
