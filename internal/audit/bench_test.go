package audit_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/audit"
	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
)

// bigState writes a state of n payouts, each with an intent and a paid
// outcome (2n+1 journal records), and returns its path.
func bigState(b *testing.B, n int) string {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "payctl.state.json")
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	st, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{Write: true, Op: "apply", Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	const chunk = 2000
	for from := 0; from < n; from += chunk {
		var evs []*state.Event
		for i := from; i < min(n, from+chunk); i++ {
			addr := fmt.Sprintf("batch-%d/p%06d", i/1000, i)
			amt := money.FromInt64(int64(10000 + i))
			r := providers.Recipient{Name: "Person", BankCode: "014", Account: fmt.Sprintf("9%09d", i)}
			evs = append(evs, &state.Event{Kind: state.KindIntent, Provider: "idr", Payouts: []state.EventPayout{{
				Address: addr, Attempt: 1, Key: state.Key("idr", addr, 1), Status: providers.StatusSending,
				Type: "cronos", Currency: "IDR", Amount: &amt, Recipient: &r, FeePayer: fee.Sender,
				Digest: state.Details{Provider: "idr", Currency: "IDR", Amount: amt, Recipient: r}.Digest(),
			}}}, &state.Event{Kind: state.KindOutcome, Provider: "idr", Payouts: []state.EventPayout{{
				Address: addr, Attempt: 1, Status: providers.StatusPaid, IDs: map[string]string{"id": fmt.Sprint("d-", i)},
			}}})
		}
		if err := st.Record(ctx, evs...); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	st.Close()
	return path
}

// BenchmarkVerify verifies a state of 10,000 payouts (20,001 records).
func BenchmarkVerify(b *testing.B) {
	path := bigState(b, 10000)
	b.ResetTimer()
	for b.Loop() {
		rep, err := audit.Verify(context.Background(), localstate.New(path, nil, nil))
		if err != nil || !rep.OK {
			b.Fatalf("%v %v", err, rep.Problems)
		}
	}
	b.ReportMetric(20001, "records/op")
}

// BenchmarkHistory streams the same journal through a filter that keeps
// one batch.
func BenchmarkHistory(b *testing.B) {
	path := bigState(b, 10000)
	b.ResetTimer()
	for b.Loop() {
		n := 0
		_, err := audit.History(context.Background(), localstate.New(path, nil, nil), audit.Filter{Batch: "batch-3"}, func(*audit.Entry) error { n++; return nil })
		if err != nil || n != 2000 {
			b.Fatalf("%v: %d entries, want 2000", err, n)
		}
	}
}
