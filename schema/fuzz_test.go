package schema_test

import (
	"github.com/payctl/payctl/schema"
	"os"
	"path/filepath"
	"testing"

	"github.com/payctl/payctl/internal/config"
)

// seed adds the testdata manifests of one format to a fuzz corpus.
func seed(f *testing.F, pattern string) {
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files for %s", pattern)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// checkParse holds the invariants of schema.Parse on any input: it does not
// panic, every error has a position, and a batch that parses keeps its
// amounts exactly as written.
func checkParse(t *testing.T, file string, data []byte) {
	b, errs := schema.Parse(file, data)
	for _, e := range errs {
		if !e.Pos.IsValid() {
			t.Fatalf("error without a position: %v", e)
		}
	}
	if (b == nil) == (len(errs) == 0) {
		t.Fatalf("got batch %v with %d errors: want exactly one of them", b != nil, len(errs))
	}
	if b == nil {
		return
	}
	for _, p := range b.Payouts {
		if p.Amount.String() != p.AmountText {
			t.Fatalf("payout %s: amount %q came back as %q", p.ID, p.AmountText, p.Amount.String())
		}
		if !p.Pos.Item.IsValid() || !p.Pos.ID.IsValid() || !p.Pos.Amount.IsValid() {
			t.Fatalf("payout %s has a field without a position: %+v", p.ID, p.Pos)
		}
	}
	// The semantic layer must take whatever schema.Parse accepts.
	cfg := &config.Config{File: "payctl.yaml", Providers: map[string]*config.Provider{b.Provider: {Name: b.Provider, Type: "cronos"}}}
	for _, e := range schema.Check([]*schema.Batch{b}, cfg.Deployment(), testRules) {
		if !e.Pos.IsValid() {
			t.Fatalf("check error without a position: %v", e)
		}
	}
}

func FuzzParseYAML(f *testing.F) {
	seed(f, "*.yaml")
	f.Add([]byte("a: &x 1\nb: *x\n"))
	f.Add([]byte("- 012345\n- !!binary aGk=\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, "fuzz.yaml", data) })
}

func FuzzParseJSON(f *testing.F) {
	seed(f, "*.json")
	f.Add([]byte(`{"a": "\ud83d\ude00", "b": [1e3, -0.5, null, true]}`))
	f.Add([]byte(`{"a": 1, "a": 2}`))
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, "fuzz.json", data) })
}
