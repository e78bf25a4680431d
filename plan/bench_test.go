package plan

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/payctl/payctl/schema"
)

// BenchmarkMake100kPayouts plans 100,000 payouts split into 1, 100 and
// 1,000 batches: the time per plan should not grow with the number of
// batches.
func BenchmarkMake100kPayouts(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		var batches []*schema.Batch
		for i := 0; i < n; i++ {
			bt := batch(100000 / n)
			bt.Name = fmt.Sprintf("b%04d", i)
			batches = append(batches, bt)
		}
		b.Run(fmt.Sprintf("batches=%d", n), func(b *testing.B) {
			for b.Loop() {
				Make(Input{Batches: batches, Providers: provs()})
			}
		})
	}
}

// BenchmarkReadSaved100k reads back a saved plan of 100,000 payouts, as
// `payctl apply PLANFILE` does.
func BenchmarkReadSaved100k(b *testing.B) {
	p := Make(Input{Batches: []*schema.Batch{batch(100000)}, Providers: provs()})
	path := filepath.Join(b.TempDir(), "plan.json")
	if err := p.Save(path); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Read(path); err != nil {
			b.Fatal(err)
		}
	}
}
