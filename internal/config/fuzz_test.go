package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/money"
)

// FuzzLoadConfig: any input either loads into a config that keeps the
// documented invariants, or fails with errors that all have positions.
func FuzzLoadConfig(f *testing.F) {
	files, err := filepath.Glob("testdata/*")
	if err != nil || len(files) == 0 {
		f.Fatal("no seed files in testdata")
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, strings.HasSuffix(file, ".json"))
	}
	f.Add([]byte("providers: {a: {type: fake, emulator: true, fees: {places: 0x3}}}"), false)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		name := "dir/payctl.yaml"
		if isJSON {
			name = "dir/payctl.json"
		}
		c, errs := Parse(name, data)
		for _, e := range errs {
			if !e.Pos.IsValid() {
				t.Fatalf("error without a position: %v", e)
			}
		}
		if (c == nil) == (len(errs) == 0) {
			t.Fatalf("got config %v with %d errors: want exactly one of them", c != nil, len(errs))
		}
		if c == nil {
			return
		}
		if c.State.Backend == BackendLocal && !filepath.IsAbs(c.State.Path) {
			t.Fatalf("local state path %q is not absolute", c.State.Path)
		}
		if len(c.Providers) == 0 {
			t.Fatal("a config without providers loaded")
		}
		for name, p := range c.Providers {
			if p.Concurrency < 1 || p.Timeout <= 0 || p.LookupGrace < 0 || p.Fees.Places < -1 || p.Fees.Places > 6 {
				t.Fatalf("provider %s breaks the defaults' invariants: %+v", name, p)
			}
			if p.Emulator == (p.BaseURL != "") {
				t.Fatalf("provider %s: emulator %v with baseURL %q", name, p.Emulator, p.BaseURL)
			}
		}
		for code, a := range c.Policy.MaxPayout {
			back, err := money.Parse(a.String())
			if err != nil || !back.Equal(a) || a.Sign() <= 0 {
				t.Fatalf("maxPayout %s %s does not round-trip", code, a)
			}
		}
	})
}
