package main

import (
	"bytes"
	"os"
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
	data, err := buildXLSX(ts.ReadFile(args[0]))
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), data, 0o644))
}

// buildXLSX makes a workbook of a description (see cmdXLSX).
func buildXLSX(spec string) ([]byte, error) {
	lines := strings.Split(strings.TrimRight(spec, "\n"), "\n")
	f := excelize.NewFile()
	defer f.Close()
	sheet := "Sheet1"
	if len(lines) > 0 && strings.HasPrefix(lines[0], "sheet ") {
		sheet = strings.TrimPrefix(lines[0], "sheet ")
		if err := f.SetSheetName("Sheet1", sheet); err != nil {
			return nil, err
		}
		lines = lines[1:]
	}
	for r, line := range lines {
		if line == "" {
			continue
		}
		for c, v := range strings.Split(line, "|") {
			name, err := excelize.CoordinatesToCellName(c+1, r+1)
			if err != nil {
				return nil, err
			}
			switch {
			case v == "":
			case strings.HasPrefix(v, "n:"):
				err = f.SetCellDefault(sheet, name, v[2:])
			case strings.HasPrefix(v, "f:"):
				err = f.SetCellFormula(sheet, name, v[2:])
			case strings.HasPrefix(v, "b:"):
				err = f.SetCellBool(sheet, name, v[2:] == "TRUE")
			default:
				err = f.SetCellStr(sheet, name, v)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
