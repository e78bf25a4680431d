package audit_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/audit"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/xuri/excelize/v2"
)

// memoSnapshot holds three paid payouts: one with a reference and
// metadata whose values a spreadsheet would run as formulas, one with
// other metadata, one with neither.
func memoSnapshot() *state.Snapshot {
	s := state.Empty()
	s.Lineage = "l"
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	add := func(id, name, account, amount, ref string, meta map[string]string) {
		p := &state.Payout{Address: "payroll-2026-12/" + id, Provider: "idr-main", Type: "cronos", Currency: "IDR",
			Amount: money.MustParse(amount), Recipient: providers.Recipient{Name: name, BankCode: "014", Account: account},
			Reference: ref, Metadata: state.FieldsOf(meta), Status: providers.StatusPaid,
			Attempts: []*state.Attempt{{N: 1, Key: "k-" + id, Status: providers.StatusPaid, SentAt: at}}}
		s.Add(p)
	}
	add("a", "Ñandú Pérez", "0821837182312831", "150000", "=HYPERLINK(\"http://x\")", map[string]string{"invoice": "+1-555", "costCentre": "@ops"})
	add("b", "-Budi", "0007", "2500000", "", map[string]string{"invoice": "INV-2"})
	add("c", "Citra", "0001234", "99", "", nil)
	return s
}

func TestExportReferenceAndMetadataCSV(t *testing.T) {
	rows := audit.Rows(memoSnapshot(), audit.RowFilter{})
	var out bytes.Buffer
	if err := audit.WriteCSV(&out, rows); err != nil {
		t.Fatal(err)
	}
	if bytes.HasPrefix(out.Bytes(), []byte(audit.BOM)) {
		t.Error("a byte order mark without -bom")
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := append(slices.Clone(audit.Columns), "reference", "metadata.costCentre", "metadata.invoice")
	if !slices.Equal(recs[0], wantHeader) {
		t.Fatalf("header %q, want %q", recs[0], wantHeader)
	}
	col := func(r []string, name string) string { return r[slices.Index(recs[0], name)] }
	a, b, c := recs[1], recs[2], recs[3]
	// Every cell a spreadsheet would run as a formula is defused.
	for cell, want := range map[string]string{
		col(a, "reference"):           `'=HYPERLINK("http://x")`,
		col(a, "metadata.invoice"):    "'+1-555",
		col(a, "metadata.costCentre"): "'@ops",
		col(b, "recipient_name"):      "'-Budi",
		col(b, "metadata.invoice"):    "INV-2",
		col(c, "metadata.invoice"):    "",
		col(c, "reference"):           "",
		col(a, "amount"):              "150000",
	} {
		if cell != want {
			t.Errorf("cell %q, want %q", cell, want)
		}
	}

	// Only payouts without either: the export has its columns as before.
	plain := audit.Rows(memoSnapshot(), audit.RowFilter{Status: providers.StatusPaid})
	plain = plain[2:]
	out.Reset()
	if err := audit.WriteCSV(&out, plain, audit.CSVOptions{BOM: true}); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out.Bytes(), []byte("\xef\xbb\xbfbatch,id,")) {
		t.Errorf("-bom: the file starts %q", out.Bytes()[:12])
	}
	recs, err = csv.NewReader(bytes.NewReader(bytes.TrimPrefix(out.Bytes(), []byte(audit.BOM)))).ReadAll()
	if err != nil || !slices.Equal(recs[0], audit.Columns) {
		t.Errorf("header of payouts without reference or metadata: %q, %v", recs[0], err)
	}
}

func TestExportReferenceAndMetadataJSON(t *testing.T) {
	rows := audit.Rows(memoSnapshot(), audit.RowFilter{})
	var out bytes.Buffer
	if err := audit.WriteRowsJSON(&out, rows); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	// JSON keeps values as they are: no apostrophes.
	if got[0]["reference"] != `=HYPERLINK("http://x")` || got[0]["metadata"].(map[string]any)["invoice"] != "+1-555" {
		t.Errorf("row 0: %v", got[0])
	}
	if _, ok := got[2]["reference"]; ok {
		t.Errorf("row without a reference has one: %v", got[2])
	}
	if _, ok := got[2]["metadata"]; ok {
		t.Errorf("row without metadata has some: %v", got[2])
	}
}

// The xlsx export reads back, in Excel's own terms, as the CSV does:
// every account and amount a text cell, exactly as recorded.
func TestExportXLSXReadsBack(t *testing.T) {
	rows := audit.Rows(memoSnapshot(), audit.RowFilter{})
	var out bytes.Buffer
	if err := audit.WriteXLSX(&out, rows); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if sheets := f.GetSheetList(); !slices.Equal(sheets, []string{audit.XLSXSheet}) {
		t.Fatalf("sheets %q", sheets)
	}
	got, err := f.GetRows(audit.XLSXSheet)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d rows, want a header and 3", len(got))
	}
	header := audit.Header(rows)
	if !slices.Equal(got[0], header) {
		t.Fatalf("header %q, want %q", got[0], header)
	}
	at := func(row int, name string) (string, string) {
		c := slices.Index(header, name)
		cell, _ := excelize.CoordinatesToCellName(c+1, row+1)
		return cell, got[row][c]
	}
	for _, tc := range []struct {
		row        int
		col, value string
	}{
		{1, "amount", "150000"}, {3, "amount", "99"}, {2, "amount", "2500000"}, {3, "account", "***1234"},
		{1, "account", "************2831"}, {1, "recipient_name", "Ñandú Pérez"}, {2, "recipient_name", "-Budi"},
		{1, "reference", `=HYPERLINK("http://x")`}, {1, "metadata.invoice", "+1-555"}, {2, "metadata.invoice", "INV-2"},
	} {
		cell, v := at(tc.row, tc.col)
		if v != tc.value {
			t.Errorf("%s (%s): %q, want %q", cell, tc.col, v, tc.value)
		}
		typ, err := f.GetCellType(audit.XLSXSheet, cell)
		if err != nil || typ != excelize.CellTypeInlineString {
			t.Errorf("%s (%s) is of type %v, want a text cell", cell, tc.col, typ)
		}
		if formula, _ := f.GetCellFormula(audit.XLSXSheet, cell); formula != "" {
			t.Errorf("%s (%s) holds formula %q", cell, tc.col, formula)
		}
	}
	if cell, v := at(1, "attempt"); v != "1" {
		t.Errorf("%s attempt %q", cell, v)
	}
	if strings.Contains(got[3][len(got[3])-1], "'") {
		t.Error("an xlsx cell has a CSV apostrophe")
	}
}
