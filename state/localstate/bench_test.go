package localstate_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
	"github.com/payctl/payctl/state/statetest"
)

// BenchmarkRecord measures apply's journal path: 16 writers, each
// recording an intent and waiting for it to be durable, then queueing
// its outcome without waiting, as apply's workers do. One op is one
// payout (two records).
func BenchmarkRecord(b *testing.B) {
	ctx := context.Background()
	s, err := state.Open(ctx, localstate.New(filepath.Join(b.TempDir(), "s.json"), nil, nil), state.Options{Write: true, Op: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const writers = 16
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	var next int64
	var mu sync.Mutex
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= int64(b.N) {
					return
				}
				addr := fmt.Sprintf("b/p%d", i)
				if err := s.Record(ctx, statetest.Intent(addr, 1, "1000")); err != nil {
					b.Error(err)
					return
				}
				s.RecordAsync(ctx, statetest.Outcome(addr, 1, providers.StatusPaid, "id"))
			}
		}()
	}
	wg.Wait()
	if err := s.Checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(st.Records)/float64(st.Commits), "records/fsync")
}
