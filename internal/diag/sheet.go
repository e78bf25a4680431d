package diag

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
)

// A spreadsheet's positions are cells: errors about a payout read from
// Sheet1 of vendors.xlsx print as "vendors.xlsx!Sheet1!C12", the way
// Excel names a cell, not as "vendors.xlsx:12:3". A position stays a row
// (Line) and a column (Col) everywhere else, so that every check that
// positions its errors in a manifest positions them in a sheet unchanged;
// only the printing differs, and it goes by the file.
//
// The reader of a workbook registers the sheet it read with SetSheet. The
// registry is process-wide because errors are made far from the reader
// (provider rules, the plan, the policy) with nothing but the file name;
// it holds one short entry per workbook read, which stays small even for
// a daemon that reads files for months.
var sheets sync.Map // file -> sheet name

// SetSheet records that file is a workbook whose payouts were read from
// sheet: errors at a position in file print as file!sheet!C12.
func SetSheet(file, sheet string) { sheets.Store(file, sheet) }

// SheetOf returns the sheet registered for file.
func SheetOf(file string) (string, bool) {
	v, ok := sheets.Load(file)
	if !ok {
		return "", false
	}
	return v.(string), true
}

// CellName is a position as a spreadsheet names its cell: column letters
// then the row ("C12" for line 12, column 3).
func CellName(p Pos) string {
	return ColumnName(p.Col) + strconv.Itoa(p.Line)
}

// ColumnName is the letters of a 1-based column: 1 is A, 27 is AA.
func ColumnName(col int) string {
	if col < 1 {
		return "?"
	}
	var b [8]byte
	i := len(b)
	for col > 0 && i > 0 {
		col--
		i--
		b[i] = byte('A' + col%26)
		col /= 26
	}
	return string(b[i:])
}

// Where names a place as errors do: "file:12:3", or "file!Sheet1!C12"
// in a workbook.
func Where(file string, p Pos) string {
	if !p.IsValid() {
		return file
	}
	if sheet, ok := SheetOf(file); ok {
		return file + "!" + sheet + "!" + CellName(p)
	}
	return fmt.Sprintf("%s:%d:%d", file, p.Line, p.Col)
}

// MarshalJSON adds "cell" ("Sheet1!C12") to an error positioned in a
// workbook, so that -json output names the cell as the text does.
func (e *Error) MarshalJSON() ([]byte, error) {
	type plain Error
	sheet, ok := SheetOf(e.File)
	if !ok || !e.Pos.IsValid() {
		return json.Marshal((*plain)(e))
	}
	return json.Marshal(struct {
		*plain
		Cell string `json:"cell"`
	}{(*plain)(e), sheet + "!" + CellName(e.Pos)})
}
