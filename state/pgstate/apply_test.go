package pgstate_test

import (
	"flag"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/payctl/payctl/apply"
	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/fake"
	fakeemu "github.com/payctl/payctl/providers/fake/emulator"
	"github.com/payctl/payctl/schema"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
	"github.com/payctl/payctl/state/pgstate/pgtest"
)

var (
	benchPayouts     = flag.Int("pgstate.payouts", 10000, "payouts per apply in BenchmarkApply")
	benchConcurrency = flag.Int("pgstate.concurrency", 8, "provider concurrency in BenchmarkApply")
)

// applyRun is one apply of n payouts through the fake provider over HTTP
// on loopback (a provider that does not deduplicate), as `payctl apply`
// does it: lock, recover, plan, run, checkpoint, unlock.
type applyRun struct {
	ledger  *fakeemu.Ledger
	client  providers.Provider
	payouts int
	stats   state.Stats
	elapsed time.Duration
}

func newApplyRun(t testing.TB, n int) *applyRun {
	l := fakeemu.NewLedger()
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	c := fake.Open(providers.Options{Name: "fk", BaseURL: srv.URL, Timeout: 10 * time.Second, Credentials: map[string]string{}})
	return &applyRun{ledger: l, client: c, payouts: n}
}

func (r *applyRun) run(t testing.TB, b state.Backend, conc int) {
	t.Helper()
	began := time.Now()
	s, err := state.Open(ctx, b, state.Options{Write: true, Op: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	eng := &apply.Engine{
		State:     s,
		Providers: func(string) (providers.Provider, error) { return r.client, nil },
		Settings: func(string) apply.Settings {
			return apply.Settings{Concurrency: conc, LookupGrace: time.Minute, QuoteTolerance: money.FromInt64(0)}
		},
	}
	if _, err := eng.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	batch := &schema.Batch{File: "b.yaml", Name: "b", Provider: "fk", Currency: "IDR"}
	for i := 0; i < r.payouts; i++ {
		batch.Payouts = append(batch.Payouts, schema.Payout{
			ID: fmt.Sprintf("p%05d", i), Amount: money.FromInt64(int64(10000 + i)),
			Recipient: providers.Recipient{Name: "R", BankCode: "014", Account: fmt.Sprintf("7%07d2", i)},
			Pos:       schema.PayoutPos{Item: diag.Pos{Line: i + 1, Col: 1}},
		})
	}
	idr, _ := money.LookupCurrency("IDR")
	fixed := money.FromInt64(3000)
	p := plan.Make(plan.Input{Batches: []*schema.Batch{batch}, State: s.Snapshot(), Providers: map[string]*plan.Provider{
		"fk": {Name: "fk", Type: "fake", Currency: idr, Fees: fee.Schedule{Fixed: &fixed, Payer: fee.Sender, Basis: fee.PerPayout}},
	}})
	if len(p.Errors) > 0 {
		t.Fatal(p.Errors)
	}
	rep, err := eng.Run(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	r.elapsed = time.Since(began)
	r.stats = s.Stats()
	if c := rep.Count()[providers.StatusPaid] + rep.Count()[providers.StatusPending]; c != r.payouts {
		t.Fatalf("%d of %d payouts accepted", c, r.payouts)
	}
	if d := r.ledger.PaidTwice(); len(d) > 0 {
		t.Fatalf("paid twice: %v", d)
	}
}

// Concurrent payouts share journal transactions: an apply commits fewer
// transactions than it writes records.
func TestApplyGroupCommit(t *testing.T) {
	t.Parallel()
	dsn := fresh(t)
	const n = 200
	r := newApplyRun(t, n)
	b := open(t, dsn, "s")
	r.run(t, b, 8)
	st := b.Stats()
	// create, an intent and an outcome per payout, the checkpoint
	if st.Records != 2*n+2 || r.stats.Records != st.Records {
		t.Errorf("records: got %d (state says %d), want %d", st.Records, r.stats.Records, 2*n+2)
	}
	if st.Appends >= st.Records {
		t.Errorf("no group commit: %d journal transactions for %d records", st.Appends, st.Records)
	}
	if st.Checkpoints != 1 {
		t.Errorf("checkpoints: got %d, want 1", st.Checkpoints)
	}
	t.Logf("%d payouts: %d records in %d journal transactions (%.2f per payout) + %d checkpoint", n, st.Records, st.Appends, float64(st.Appends)/n, st.Checkpoints)
}

// BenchmarkApply compares apply's throughput on the local file and on
// PostgreSQL: -pgstate.payouts payouts (default 10,000) through the fake
// provider over loopback HTTP. Run with -benchtime=1x.
//
//	go test ./state/pgstate -run '^$' -bench Apply -benchtime 1x
func BenchmarkApply(b *testing.B) {
	n, conc := *benchPayouts, *benchConcurrency
	b.Run("local", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			r := newApplyRun(b, n)
			l := localstate.New(filepath.Join(b.TempDir(), "payctl.state.json"), nil, nil)
			r.run(b, l, conc)
			report(b, r)
			b.ReportMetric(float64(l.Fsyncs())/float64(n), "fsyncs/payout")
		}
	})
	b.Run("postgres", func(b *testing.B) {
		dsn := fresh(b)
		admin := pgtest.Conn(b, dsn)
		for i := 0; i < b.N; i++ {
			r := newApplyRun(b, n)
			be := open(b, dsn, fmt.Sprintf("bench-%d", i))
			// Write transactions server-wide, from the transaction ids
			// handed out meanwhile (nothing else runs during a benchmark).
			var x0, x1 int64
			admin.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint`).Scan(&x0)
			r.run(b, be, conc)
			be.Close()
			admin.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint`).Scan(&x1)
			report(b, r)
			st := be.Stats()
			b.ReportMetric(float64(st.Appends)/float64(n), "journal-tx/payout")
			b.ReportMetric(float64(x1-x0)/float64(n), "write-tx/payout")
		}
	})
}

func report(b *testing.B, r *applyRun) {
	b.ReportMetric(float64(r.payouts)/r.elapsed.Seconds(), "payouts/s")
	b.ReportMetric(float64(r.stats.Records)/float64(r.payouts), "records/payout")
}
