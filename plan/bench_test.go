package plan

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/schema"
	"github.com/payctl/payctl/state"
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

// BenchmarkReviewAgainst200kPaid marks 10 payouts as new or changed
// accounts against a state of 200,000 paid payouts: the cost per payout
// ever paid that every plan pays for the marks.
func BenchmarkReviewAgainst200kPaid(b *testing.B) {
	s := state.New()
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 200000; i++ {
		paid(s, fmt.Sprintf("b%03d/p%06d", i/1000, i), providers.Recipient{Name: fmt.Sprintf("Person %d", i), BankCode: "014", Account: fmt.Sprintf("0%09d", i)}, providers.StatusPaid, at)
	}
	bt := batch(10)
	bt.Name = "next"
	b.ResetTimer()
	for b.Loop() {
		p := Make(Input{Batches: []*schema.Batch{bt}, Providers: provs(), State: s})
		if n, c := p.Flagged(); n+c != 0 {
			b.Fatalf("%d new, %d changed", n, c)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/200000, "ns/paid-payout")
}
