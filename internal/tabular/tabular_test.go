package tabular

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/payctl/payctl/internal/doc"
)

func decodeAll(t *testing.T, file string, data []byte, imp *Import) (*doc.Node, []map[string]string, []string) {
	t.Helper()
	var rows []map[string]string
	root, _, errs := Decode(file, data, 64<<20, imp, func(i int, n *doc.Node) {
		m := map[string]string{}
		var walk func(prefix string, n *doc.Node)
		walk = func(prefix string, n *doc.Node) {
			for j := range n.Kids {
				k := &n.Kids[j]
				if k.Kind == doc.Mapping {
					walk(prefix+k.Key+".", k)
					continue
				}
				m[prefix+k.Key] = k.Text + "@" + k.Pos().String()
			}
		}
		walk("", n)
		rows = append(rows, m)
	})
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	return root, rows, msgs
}

func TestCSVRowsBecomePayouts(t *testing.T) {
	data := "\ufeffbatch,b1\r\nprovider,p\r\ncurrency,IDR\r\nid,recipient.name,amount,recipient.account,metadata.costCentre\r\n" +
		"a,\"Tan, \"\"Bud\"\"\",100,0012,CC-1\r\n\r\n# skipped\r\nb,Ana,200,0013,\r\n"
	root, rows, errs := decodeAll(t, "x.csv", []byte(data), nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := root.At([]string{"metadata", "name"}).Text; got != "b1" {
		t.Errorf("name %q", got)
	}
	if len(rows) != 2 {
		t.Fatalf("rows %v", rows)
	}
	want := map[string]string{"id": "a@5:1", "recipient.name": `Tan, "Bud"@5:2`, "amount": "100@5:3", "recipient.account": "0012@5:4", "metadata.costCentre": "CC-1@5:5"}
	for k, v := range want {
		if rows[0][k] != v {
			t.Errorf("row 1 %s = %q, want %q", k, rows[0][k], v)
		}
	}
	if _, ok := rows[1]["metadata.costCentre"]; ok {
		t.Errorf("an empty cell became a value: %v", rows[1])
	}
	if rows[1]["id"] != "b@8:1" {
		t.Errorf("row 2 id %q", rows[1]["id"])
	}
}

func TestImportTemplateName(t *testing.T) {
	imp := &Import{Match: "*.csv", Provider: "p", Currency: "IDR", Batch: "payroll-{Pay Period}", SkipRows: 1,
		Columns: map[string]string{"No": "id", "Net": "amount", "Name": "recipient.name", "Acct": "recipient.account"}, Ignore: []string{"Dept"}}
	data := "Export title\nNo,Name,Dept,Pay Period,Net,Acct\n1,A,X,Nov 2026 / Run #2,10,01\n2,B,Y,Nov 2026 / Run #2,20,02\n"
	root, rows, errs := decodeAll(t, "x.csv", []byte(data), imp)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := root.At([]string{"metadata", "name"}).Text; got != "payroll-nov-2026-run-2" {
		t.Errorf("name %q", got)
	}
	if len(rows) != 2 || rows[0]["amount"] != "10@3:5" {
		t.Errorf("rows %v", rows)
	}
	imp.Batch = "x-{file}"
	imp.Ignore = append(imp.Ignore, "Pay Period")
	root, _, errs = decodeAll(t, "dir/Payroll Nov.csv", []byte(data), imp)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := root.At([]string{"metadata", "name"}).Text; got != "x-payroll-nov" {
		t.Errorf("name %q", got)
	}
}

func TestExactDecimal(t *testing.T) {
	for s, want := range map[string]bool{"10": true, "10.5": true, "10.55": true, "10.555": false, "0.30000000000000004": false,
		"1E+21": false, "-5": false, "1.": false, ".5": false, "": false, "1,5": false} {
		if got := exactDecimal(s, 2); got != want {
			t.Errorf("exactDecimal(%q) = %v", s, got)
		}
	}
}

func TestTemplateWorkbookIsText(t *testing.T) {
	tp := &Template{Batch: "b", Provider: "p", Currency: "IDR", Columns: []string{"id", "amount", "recipient.name", "recipient.account"}, Example: []string{"E", "1", "N", "0012"}}
	data, err := tp.XLSX()
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, col := range []string{"A", "D"} {
		id, err := f.GetColStyle("Sheet1", col)
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.GetStyle(id)
		if err != nil {
			t.Fatal(err)
		}
		if st.NumFmt != 49 {
			t.Errorf("column %s number format %d, want 49 (Text)", col, st.NumFmt)
		}
	}
	_, _, errs := decodeAll(t, "t.xlsx", data, nil)
	if len(errs) != 1 || !strings.Contains(errs[0], "t.xlsx!Sheet1!A4: no payouts") {
		t.Errorf("errs %v", errs)
	}
}

// A workbook that claims to unpack to more than the limit is refused
// before it is unpacked.
func TestZipBombRefused(t *testing.T) {
	defer func(v int64) { maxUnzipped = v }(maxUnzipped)
	maxUnzipped = 1 << 20
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(bytes.Repeat([]byte(" "), 2<<20))
	zw.Close()
	if b.Len() > 64<<10 {
		t.Fatalf("the test's archive is %d bytes", b.Len())
	}
	_, _, errs := decodeAll(t, "bomb.xlsx", b.Bytes(), nil)
	if len(errs) != 1 || !strings.Contains(errs[0], "unpacks to more than 1 MiB") {
		t.Errorf("errs %v", errs)
	}
}

func TestShownAmount(t *testing.T) {
	for _, c := range []struct {
		shown, stored string
		same          bool
	}{
		{"", "1250.5", true}, {"1250.5", "1250.5", true}, {"1,250.50", "1250.5", true}, {"$1,250.50", "1250.5", true},
		{"USD 1,250.50", "1250.5", true}, {"$1,251", "1250.5", false}, {"1250.50%", "12.505", false}, {"12/31/26", "46387", false},
		{"1,250.5", "1250.50", true}, {"0.30", "0.3", true}, {"-1", "1", false},
	} {
		if got := sameAmount(c.shown, c.stored); got != c.same {
			t.Errorf("sameAmount(%q, %q) = %v", c.shown, c.stored, got)
		}
	}
}

// A number cell whose format shows another amount than it holds is
// refused; one shown with separators and two decimals is read.
func TestWorkbookAmountFormats(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	rows := [][]any{{"batch", "b"}, {"provider", "p"}, {"currency", "USD"},
		{"id", "amount", "recipient.name", "recipient.account"}, {"a", 1250.5, "A", "01"}, {"b", 1250.5, "B", "02"}}
	for r, row := range rows {
		for c, v := range row {
			name, _ := excelize.CoordinatesToCellName(c+1, r+1)
			if err := f.SetCellValue("Sheet1", name, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	two, _ := f.NewStyle(&excelize.Style{NumFmt: 4})  // #,##0.00
	none, _ := f.NewStyle(&excelize.Style{NumFmt: 3}) // #,##0
	f.SetCellStyle("Sheet1", "B5", "B5", two)
	f.SetCellStyle("Sheet1", "B6", "B6", none)
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	_, _, errs := decodeAll(t, "fmt.xlsx", b.Bytes(), nil)
	if len(errs) != 1 || !strings.Contains(errs[0], `fmt.xlsx!Sheet1!B6: amount shows as "1,251" but the cell holds 1250.5`) {
		t.Errorf("errs %v", errs)
	}
}

func TestLimits(t *testing.T) {
	wide := "batch,b\nprovider,p\ncurrency,IDR\n" + strings.Repeat("x,", 5000) + "\n"
	_, _, errs := decodeAll(t, "wide.csv", []byte(wide), nil)
	if len(errs) != 1 || !strings.Contains(errs[0], "wide.csv:4:1001: the row of column names has 5001 cells, more than the 1000") {
		t.Errorf("errs %v", errs)
	}
	var b strings.Builder
	b.WriteString("batch,b\nprovider,p\ncurrency,IDR\nid,amount,recipient.name,recipient.account\n")
	for i := 0; i <= MaxRows; i++ {
		b.WriteString("a,1,n,1\n")
	}
	_, _, errs = decodeAll(t, "long.csv", []byte(b.String()), nil)
	if len(errs) != 1 || !strings.Contains(errs[0], "long.csv:200005:1: the file holds more than 200000 payout rows") {
		t.Errorf("errs %v", errs)
	}
}
