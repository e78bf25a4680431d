package main

import (
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/xuri/excelize/v2"
)

// cmdXLSX builds a workbook from a text description, so that testscripts
// carry readable fixtures instead of binary files:
//
//	xlsx SPEC OUT
//
// SPEC's first line may be "sheet NAME" (default Sheet1); every other
// line is a row, its cells separated by "|". A cell is text unless it
// starts with "n:" (a number cell holding exactly the text after it, as
// Excel stores it), "f:" (a formula) or "b:" (TRUE or FALSE). An empty
// SPEC after the sheet line makes an empty sheet.
func cmdXLSX(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: xlsx SPEC OUT")
	}
	lines := strings.Split(strings.TrimRight(ts.ReadFile(args[0]), "\n"), "\n")
	f := excelize.NewFile()
	defer f.Close()
	sheet := "Sheet1"
	if len(lines) > 0 && strings.HasPrefix(lines[0], "sheet ") {
		sheet = strings.TrimPrefix(lines[0], "sheet ")
		ts.Check(f.SetSheetName("Sheet1", sheet))
		lines = lines[1:]
	}
	for r, line := range lines {
		if line == "" {
			continue
		}
		for c, v := range strings.Split(line, "|") {
			name, err := excelize.CoordinatesToCellName(c+1, r+1)
			ts.Check(err)
			switch {
			case v == "":
			case strings.HasPrefix(v, "n:"):
				ts.Check(f.SetCellDefault(sheet, name, v[2:]))
			case strings.HasPrefix(v, "f:"):
				ts.Check(f.SetCellFormula(sheet, name, v[2:]))
			case strings.HasPrefix(v, "b:"):
				ts.Check(f.SetCellBool(sheet, name, v[2:] == "TRUE"))
			default:
				ts.Check(f.SetCellStr(sheet, name, v))
			}
		}
	}
	ts.Check(f.SaveAs(ts.MkAbs(args[1])))
}
