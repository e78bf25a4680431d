package audit

import (
	"io"
	"strconv"
	"strings"

	"github.com/payctl/payctl/internal/safetext"
	"github.com/xuri/excelize/v2"
)

// XLSXSheet is the name of the export's one sheet.
const XLSXSheet = "payouts"

// WriteXLSX writes the rows as an Excel workbook of one sheet, with the
// same header and values as the CSV export (see Header).
//
// Every cell but the attempt number is a text cell: an account such as
// "0821" or an amount such as "150000.50" stays exactly as written, never
// turned into a number that loses a leading zero or a decimal. A text
// cell is never run as a formula, so values need no apostrophe as in CSV;
// unsafe characters are escaped as everywhere payctl shows outside text.
func WriteXLSX(w io.Writer, rows []*Row) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName(f.GetSheetName(0), XLSXSheet); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(XLSXSheet)
	if err != nil {
		return err
	}
	header := Header(rows)
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	cells := make([]any, len(header))
	for i, h := range header {
		cells[i] = excelize.Cell{StyleID: bold, Value: safetext.Escape(h)}
	}
	if err := sw.SetRow("A1", cells); err != nil {
		return err
	}
	for n, r := range rows {
		vals := r.values(safetext.Escape)
		for _, col := range header[len(Columns):] {
			if k, ok := strings.CutPrefix(col, "metadata."); ok {
				vals = append(vals, safetext.Escape(r.Metadata[k]))
			} else {
				vals = append(vals, safetext.Escape(r.Reference))
			}
		}
		cells = cells[:0]
		for i, v := range vals {
			if i == 2 { // the attempt, the one number
				cells = append(cells, r.Attempt)
				continue
			}
			cells = append(cells, v)
		}
		if err := sw.SetRow("A"+strconv.Itoa(n+2), cells); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}
