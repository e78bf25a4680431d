// Package tabular reads payout batches as finance teams have them: a CSV
// file or an Excel workbook (.xlsx) exported from an ERP, a payroll
// system or a spreadsheet, one payout per row.
//
// A table is turned into the tree a YAML or JSON manifest decodes into
// (doc.Node), each value positioned at its cell, so that every check of a
// manifest (the JSON Schema, the compiled payout checks, the provider
// rules, the policy) applies unchanged and says the same thing, at
// "payroll.csv:12:3" or "vendors.xlsx!Sheet1!C12" instead of a line.
//
// What a manifest's header says (batch name, provider, currency) comes
// from a header block at the top of the file (rows "batch,NAME",
// "provider,NAME", "currency,CODE") or from the payctl.yaml imports entry
// whose pattern matches the file's name (see Import). Columns are named
// by payout fields, dotted for nested ones (id, amount, recipient.name,
// recipient.account, metadata.costCentre), or mapped to them by the
// imports entry ("Beneficiary: recipient.name").
//
// Parsing is exact and refuses what it cannot read exactly:
//
//   - every value is read as text, never through a float;
//   - an XLSX cell stored as a number is accepted only in the amount
//     column and only as a plain decimal with no more places than the
//     currency has: the stored text is then the amount exactly. A value
//     such as 0.30000000000000004 (a sum computed in floating point) or
//     1E+21 is refused, saying to format the column as Text. Any other
//     field stored as a number is refused: an account number stored as a
//     number has lost its leading zeros, and an id would change when the
//     column is later formatted as Text (a new id is a new payment);
//   - a number cell's amount must also be what the sheet shows (with
//     separators and currency signs left out): a format that rounds
//     1250.5 to "1,251" would have a reviewer of the sheet see another
//     amount than the one paid;
//   - formula cells, booleans, errors and dates are refused: payctl pays
//     what the file says, not what a spreadsheet computes;
//   - CSV is UTF-8, with or without a byte order mark, CRLF or LF line
//     ends, RFC 4180 quoting; any other encoding is refused, saying to
//     save the file as "CSV UTF-8".
//
// A column that is neither a payout field, nor mapped, nor listed under
// the imports entry's ignore, is an error at its header cell: a column
// silently dropped could be a misspelled field (recipient.acount) or a
// value someone expects to be paid by.
package tabular

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/payctl/payctl/internal/diag"
)

// Format is a tabular file format.
type Format string

// The tabular formats.
const (
	CSV  Format = "csv"
	XLSX Format = "xlsx"
)

// FormatOf returns the tabular format a file name's extension declares.
func FormatOf(name string) (Format, bool) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return CSV, true
	case ".xlsx":
		return XLSX, true
	}
	return "", false
}

// Import is how the tables whose file names match a pattern become
// batches: a payctl.yaml imports entry. Its values are the defaults of
// the file's header block; a header block that says otherwise is an
// error, since one of the two is then wrong.
type Import struct {
	// Match is a glob on the file's base name ("payroll-*.csv"). It is
	// matched on the name only, not on the folder, so that a file is
	// recognised the same on the command line, in watch's inbox and in
	// its processing folder.
	Match string
	// Provider, Currency and Description are the batch's.
	Provider, Currency, Description string
	// Batch is the batch name template. "{Column Name}" is the value of
	// that column, which must be the same in every row (a pay period, a
	// payment run number); "{file}" is the file's name without extension.
	// Values are put in lower case, and any run of characters a batch
	// name cannot hold becomes "-".
	Batch string
	// Sheet is the sheet of a workbook to read; "" is the first.
	Sheet string
	// SkipRows is how many rows above the column names to skip (an
	// export's title and date lines).
	SkipRows int
	// Columns maps a column name, as the export spells it, to a payout
	// field ("Beneficiary" -> "recipient.name").
	Columns map[string]string
	// Ignore lists columns to leave out.
	Ignore []string
	// Pos is where the entry is in payctl.yaml.
	Pos diag.Pos
}

// MatchImport returns the first entry whose pattern matches file's name,
// or nil.
func MatchImport(imps []Import, file string) *Import {
	base := filepath.Base(file)
	for i := range imps {
		if ok, _ := filepath.Match(imps[i].Match, base); ok {
			return &imps[i]
		}
	}
	return nil
}

// Fields are the payout fields a column can name without a mapping; a
// column named metadata.KEY goes to the payout's metadata map.
var Fields = []string{"id", "amount", "reference", "recipient.id", "recipient.name", "recipient.bankCode", "recipient.bank", "recipient.account", "recipient.country"}

// required are the columns every batch needs; the provider may need more
// (Cronos: recipient.bankCode), which its rules then report per row.
var required = []string{"id", "amount", "recipient.name", "recipient.account"}

// IsField reports whether a column name is a payout field.
func IsField(name string) bool {
	if strings.HasPrefix(name, "metadata.") && len(name) > len("metadata.") {
		return true
	}
	for _, f := range Fields {
		if f == name {
			return true
		}
	}
	return false
}

// headerKeys are the first cells of a header block's rows.
var headerKeys = map[string]bool{"batch": true, "provider": true, "currency": true, "description": true}

// batchName makes a batch name of a template value: lower case, and runs
// of anything a name cannot hold turned into one "-".
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			b.WriteRune(r)
			dash = r == '-'
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-._")
}

// templateColumns returns the column names a batch name template refers
// to ("{file}" is not one), or an error about its braces.
func templateColumns(t string) ([]string, error) {
	var cols []string
	for rest := t; ; {
		i := strings.IndexByte(rest, '{')
		j := strings.IndexByte(rest, '}')
		if i < 0 {
			if j >= 0 {
				return nil, fmt.Errorf("batch %q has a \"}\" without its \"{\"", t)
			}
			return cols, nil
		}
		if j < i {
			return nil, fmt.Errorf("batch %q has a \"{\" without its \"}\"", t)
		}
		if name := rest[i+1 : j]; name != "file" {
			if name == "" {
				return nil, fmt.Errorf("batch %q has an empty {}; write {file} or {COLUMN NAME}", t)
			}
			cols = append(cols, name)
		}
		rest = rest[j+1:]
	}
}

// Problem is what is wrong with one field of an imports entry.
type Problem struct {
	Field, Msg string
}

// CheckImport reports what is wrong with an imports entry, by field.
func CheckImport(imp *Import) []Problem {
	var ps []Problem
	if _, err := filepath.Match(imp.Match, "x"); err != nil || imp.Match == "" {
		ps = append(ps, Problem{"match", fmt.Sprintf("match %q is not a file name pattern such as \"payroll-*.csv\"", imp.Match)})
	} else if _, ok := FormatOf(imp.Match); !ok && !strings.HasSuffix(imp.Match, "*") {
		ps = append(ps, Problem{"match", fmt.Sprintf("match %q names no .csv or .xlsx files", imp.Match)})
	}
	if imp.Batch != "" {
		if _, err := templateColumns(imp.Batch); err != nil {
			ps = append(ps, Problem{"batch", err.Error()})
		}
	}
	for _, col := range sortedKeys(imp.Columns) {
		if field := imp.Columns[col]; !IsField(field) {
			ps = append(ps, Problem{"columns." + col, fmt.Sprintf("columns maps %q to %q, which is not a payout field (%s, or metadata.KEY)", col, field, strings.Join(Fields, ", "))})
		}
	}
	return ps
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
