package schema_test

import (
	"bytes"
	"encoding/json"
	"github.com/payctl/payctl/schema"
	"sync"
	"testing"

	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/gen"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

var (
	big100kMu sync.Mutex
	big100k   = map[string][]byte{}
)

// bigManifest generates the 100k-payout batch once per format.
func bigManifest(b *testing.B, format string) []byte {
	big100kMu.Lock()
	defer big100kMu.Unlock()
	if data, ok := big100k[format]; ok {
		return data
	}
	var buf bytes.Buffer
	if err := gen.Manifest(&buf, 100_000, format, gen.Options{Seed: 1}); err != nil {
		b.Fatal(err)
	}
	big100k[format] = buf.Bytes()
	return buf.Bytes()
}

func benchConfig() *config.Config {
	return &config.Config{
		File: "payctl.yaml",
		Providers: map[string]*config.Provider{
			"idr-main": {Name: "idr-main", Type: "cronos"},
		},
		Policy: config.Policy{
			MaxPayout: map[string]money.Amount{"IDR": money.MustParse("500000000")},
		},
	}
}

func benchRules(string) providers.Rules { return digitRules{currency: "IDR"} }

func benchParseCheck(b *testing.B, format string) {
	data := bigManifest(b, format)
	cfg := benchConfig()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		batch, errs := schema.Parse("big."+format, data)
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		if errs := schema.Check([]*schema.Batch{batch}, cfg.Deployment(), benchRules); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}

// BenchmarkParse100kJSON is schema.Parse + schema.Check of a 100 000 payout JSON
// manifest; compare with BenchmarkDecodeEncodingJSON100k.
func BenchmarkParse100kJSON(b *testing.B) { benchParseCheck(b, "json") }

// BenchmarkParse100kYAML is the same batch as YAML.
func BenchmarkParse100kYAML(b *testing.B) { benchParseCheck(b, "yaml") }

// BenchmarkDecodeEncodingJSON100k is the floor: encoding/json decoding
// the same bytes into any, with no positions, schema or checks.
func BenchmarkDecodeEncodingJSON100k(b *testing.B) {
	data := bigManifest(b, "json")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
}
