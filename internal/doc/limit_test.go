package doc

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/gen"
)

// The pre-scans count what the decoders build: every key and value.
func TestPreScanCounts(t *testing.T) {
	tests := map[string]struct {
		f    Format
		src  string
		want int
	}{
		"yaml flow list":       {YAML, "[1, 2, 'a,b', \"c]\"]\n", 5},
		"yaml mapping":         {YAML, "a: 1\nb: two words # comment\nc:\n  - x\n  - {d: e}\n", 11},
		"yaml quoted key":      {YAML, "\"a: b\": 'c # d'\n", 2},
		"yaml multiline quote": {YAML, "a: \"x\n  y\"\nb: 1\n", 4},
		"json":                 {JSON, `{"a": [1, 2, {"b,": "c:"}], "d": null}`, 10},
		"json empty":           {JSON, `{"a": [], "b": {}}`, 7},
	}
	for name, tc := range tests {
		scan := preScanYAML
		if tc.f == JSON {
			scan = preScanJSON
		}
		if got, e := scan("f", []byte(tc.src)); e != nil || got != tc.want {
			t.Errorf("%s: got %d, %v; want %d", name, got, e, tc.want)
		}
	}
}

// A batch of 100,000 payouts with every field counts well under the limit
// in both formats: a payout is at most 17 keys and values.
func TestFullPayoutsFitTheNodeLimit(t *testing.T) {
	const n = 1000
	payout := `    - id: "p%d"
      amount: "150000.50"
      recipient:
        name: "Siti Rahayu Wijaya"
        bankCode: "014"
        bank: "Bank Central Asia"
        account: "0012345678"
        country: ID
`
	var y strings.Builder
	y.WriteString("# yaml-language-server: $schema=x\napiVersion: payctl/v1\nkind: PayoutBatch\nmetadata:\n  name: b\n  description: \"a, b: c\"\nspec:\n  provider: p\n  currency: IDR\n  payouts:\n")
	for i := range n {
		fmt.Fprintf(&y, payout, i)
	}
	var j strings.Builder
	j.WriteString(`{"$schema": "x", "apiVersion": "payctl/v1", "kind": "PayoutBatch", "metadata": {"name": "b", "description": "a, b: c"}, "spec": {"provider": "p", "currency": "IDR", "payouts": [`)
	for i := range n {
		if i > 0 {
			j.WriteString(",\n")
		}
		fmt.Fprintf(&j, `{"id": "p%d", "amount": "150000.50", "recipient": {"name": "Siti Rahayu Wijaya", "bankCode": "014", "bank": "Bank Central Asia", "account": "0012345678", "country": "ID"}}`, i)
	}
	j.WriteString("]}}\n")
	ny, ey := preScanYAML("f.yaml", []byte(y.String()))
	nj, ej := preScanJSON("f.json", []byte(j.String()))
	if ey != nil || ej != nil {
		t.Fatalf("errors: %v, %v", ey, ej)
	}
	for _, got := range []int{ny, nj} {
		if per := float64(got) / n; per > 17.1 || per*100_000 > MaxNodes {
			t.Errorf("got %.2f nodes per payout, want at most 17 (100,000 payouts under %d)", per, MaxNodes)
		}
	}
	// The generator's batches (the benchmarks' 100,000 payouts) count the
	// same way.
	var g bytes.Buffer
	if err := gen.Manifest(&g, n, "yaml", gen.Options{}); err != nil {
		t.Fatal(err)
	}
	if got, e := preScanYAML("g.yaml", g.Bytes()); e != nil || got > 17*n {
		t.Errorf("generated batch: got %d nodes, %v; want at most %d", got, e, 17*n)
	}
}

// Hostile input is refused with one error at the node or level beyond the
// limit, and a tree is never built.
func TestDecodeLimits(t *testing.T) {
	tests := map[string]struct {
		kind, file string
		size       int
		want       string
	}{
		"yaml list": {"yaml-list", "l.yaml", 4_000_004, "l.yaml:1:4000000: the file holds more than 2,000,000 keys and values, the limit for one file (about 100,000 payouts); split the batch into several files"},
		"json list": {"json-list", "l.json", 4_000_004, "l.json:1:4000000: the file holds more than 2,000,000 keys and values, the limit for one file (about 100,000 payouts); split the batch into several files"},
		"yaml deep": {"yaml-deep", "d.yaml", 1000, "d.yaml:1:65: nesting is deeper than 64 levels"},
		"json deep": {"json-deep", "d.json", 1000, "d.json:1:65: nesting is deeper than 64 levels"},
	}
	for name, tc := range tests {
		var b bytes.Buffer
		if err := gen.Hostile(&b, tc.kind, tc.size); err != nil {
			t.Fatal(err)
		}
		f, _ := FormatOf(tc.file)
		root, errs := Decode(tc.file, b.Bytes(), f, 64<<20)
		if root != nil || len(errs) != 1 || errs[0].Error() != tc.want {
			t.Errorf("%s: got %v, want the one error %q", name, errs, tc.want)
		}
	}
	if testing.Short() {
		return
	}
	// One value under the limit decodes (the list itself is one).
	var b bytes.Buffer
	gen.Hostile(&b, "json-list", 2*(MaxNodes-1)+1)
	if _, errs := Decode("ok.json", b.Bytes(), JSON, 64<<20); len(errs) != 0 {
		t.Errorf("a list of %d values: got %v, want no error", MaxNodes-1, errs)
	}
	// "- - - -" nests on one line.
	if _, errs := Decode("dash.yaml", []byte(strings.Repeat("- ", 100)+"x\n"), YAML, 64<<20); len(errs) != 1 || errs[0].Error() != "dash.yaml:1:129: nesting is deeper than 64 levels" {
		t.Errorf("dashes: got %v", errs)
	}
}
