package tabular

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Template is an empty batch for a provider: its header (batch name,
// provider, currency), its columns, and one example row commented out
// with "#" so that it is never paid by mistake: a file that validates
// once a real row is added.
type Template struct {
	Batch, Provider, Currency string
	// Columns are the payout fields, in order; Example their values in
	// the example row.
	Columns, Example []string
}

// CSV is the template as a CSV file, UTF-8 without a byte order mark.
func (t *Template) CSV() []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"batch", t.Batch})
	w.Write([]string{"provider", t.Provider})
	w.Write([]string{"currency", t.Currency})
	w.Write(t.Columns)
	w.Write(t.exampleRow())
	w.Flush()
	return b.Bytes()
}

func (t *Template) exampleRow() []string {
	row := append([]string(nil), t.Example...)
	row[0] = "# " + row[0]
	return row
}

// XLSX is the template as a workbook whose every column is formatted as
// Text, so that what is typed into it (an account's leading zeros, an
// amount) is stored as typed, not as a number.
func (t *Template) XLSX() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Sheet1"
	textStyle, err := f.NewStyle(&excelize.Style{NumFmt: 49}) // "@", Text
	if err != nil {
		return nil, err
	}
	last, _ := excelize.ColumnNumberToName(max(2, len(t.Columns)))
	if err := f.SetColStyle(sheet, "A:"+last, textStyle); err != nil {
		return nil, err
	}
	rows := [][]string{{"batch", t.Batch}, {"provider", t.Provider}, {"currency", t.Currency}, t.Columns, t.exampleRow()}
	for r, row := range rows {
		for c, v := range row {
			name, _ := excelize.CoordinatesToCellName(c+1, r+1)
			if err := f.SetCellStr(sheet, name, v); err != nil {
				return nil, err
			}
			if err := f.SetCellStyle(sheet, name, name, textStyle); err != nil {
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

// YAML is the template as a manifest.
func (t *Template) YAML() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: payctl/v1\nkind: PayoutBatch\nmetadata:\n  name: %s\nspec:\n  provider: %s\n  currency: %s\n  payouts:\n", t.Batch, t.Provider, t.Currency)
	fmt.Fprintf(&b, "    # An example; replace it with the payouts, one item each.\n")
	var rec []string
	for i, c := range t.Columns {
		if strings.HasPrefix(c, "recipient.") {
			rec = append(rec, fmt.Sprintf("%s: %q", strings.TrimPrefix(c, "recipient."), t.Example[i]))
			continue
		}
		prefix := "      "
		if i == 0 {
			prefix = "    # - "
		} else {
			prefix = "    #   "
		}
		fmt.Fprintf(&b, "%s%s: %q\n", prefix, c, t.Example[i])
	}
	fmt.Fprintf(&b, "    #   recipient: {%s}\n", strings.Join(rec, ", "))
	return []byte(b.String())
}
