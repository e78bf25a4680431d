package pgstate_test

import (
	"strings"
	"testing"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/pgstate/pgtest"
	"github.com/payctl/payctl/state/statefile"
	"github.com/payctl/payctl/state/statetest"
)

// segmentRows returns the stored segments as batch=digest, sorted.
func segmentRows(t *testing.T, dsn string) map[string][]string {
	t.Helper()
	rows, err := pgtest.Conn(t, dsn).Query(ctx, `SELECT batch, digest FROM payctl_segments WHERE state = 's' ORDER BY batch, digest`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var b, d string
		if err := rows.Scan(&b, &d); err != nil {
			t.Fatal(err)
		}
		out[b] = append(out[b], d)
	}
	return out
}

func count(t *testing.T, dsn, sql string) int {
	t.Helper()
	var n int
	if err := pgtest.Conn(t, dsn).QueryRow(ctx, sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func pay(t *testing.T, s *state.State, addrs ...string) {
	t.Helper()
	for _, a := range addrs {
		if err := s.Record(ctx, statetest.Intent(a, 1, "10")); err != nil {
			t.Fatal(err)
		}
		if err := s.Record(ctx, statetest.Outcome(a, 1, providers.StatusPaid, "id-"+a)); err != nil {
			t.Fatal(err)
		}
	}
}

// A command reads the batches it names and writes only those it changed:
// the other batches' rows are neither read nor rewritten, and a batch's
// superseded segment is removed with the root that stops naming it.
func TestSegmentedReadsAndWritesByBatch(t *testing.T) {
	t.Parallel()
	dsn := fresh(t)
	s := statetest.OpenWriter(t, open(t, dsn, "s"))
	pay(t, s, "a/x", "b/x", "c/x")
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	before := segmentRows(t, dsn)
	if len(before) != 3 || len(before["a"]) != 1 || len(before["b"]) != 1 || len(before["c"]) != 1 {
		t.Fatalf("segments after the first checkpoint: got %v, want one for each of a, b, c", before)
	}
	if n := count(t, dsn, `SELECT count(*) FROM payctl_payouts WHERE state = 's'`); n != 0 {
		t.Errorf("a segmented state keeps %d payout rows, want 0", n)
	}
	if n := count(t, dsn, `SELECT count(*) FROM payctl_account_indexes WHERE state = 's'`); n != 1 {
		t.Errorf("got %d account indexes, want 1", n)
	}

	// A command on batch b: a and c are never read.
	w, err := state.Open(ctx, open(t, dsn, "s"), state.Options{Write: true, Op: "test", Batches: []string{"b"}, Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(w.Snapshot().Loaded(), " "); got != "b" {
		t.Errorf("batches read: got %q, want b", got)
	}
	pay(t, w, "b/y")
	if err := w.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(w.Snapshot().Loaded(), " "); got != "b" {
		t.Errorf("batches read by the checkpoint: got %q, want b", got)
	}
	w.Close()
	after := segmentRows(t, dsn)
	if after["a"][0] != before["a"][0] || after["c"][0] != before["c"][0] {
		t.Errorf("untouched batches were rewritten: before %v, after %v", before, after)
	}
	if len(after["b"]) != 1 || after["b"][0] == before["b"][0] {
		t.Errorf("batch b: got %v (was %v), want one new segment", after["b"], before["b"])
	}

	// Everything reads back, and verifies as the journal says.
	r, err := state.Open(ctx, open(t, dsn, "s"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Snapshot().LoadAll(); err != nil {
		t.Fatal(err)
	}
	if got := len(r.Snapshot().Payouts); got != 4 {
		t.Errorf("payouts read back: got %d, want 4", got)
	}
}

// A state kept as rows (written before segments) still loads and writes
// after the schema upgrade, and `state migrate` makes it segmented: the
// same payouts, its rows gone.
func TestMigrateRowsToSegments(t *testing.T) {
	t.Parallel()
	dsn := fresh(t)
	s := statetest.OpenWriter(t, openFormat(t, dsn, "s", state.Version))
	pay(t, s, "a/x", "b/x")
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	want := string(statefile.SnapshotBytes(s.Snapshot()))
	s.Close()
	if n := count(t, dsn, `SELECT count(*) FROM payctl_payouts WHERE state = 's'`); n != 2 {
		t.Fatalf("fixture: %d payout rows, want 2", n)
	}

	// A backend that creates segmented states keeps an existing one as it
	// is until it is migrated.
	w := statetest.OpenWriter(t, open(t, dsn, "s"))
	pay(t, w, "c/x")
	if err := w.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if n := count(t, dsn, `SELECT count(*) FROM payctl_payouts WHERE state = 's'`); n != 3 {
		t.Fatalf("a checkpoint before migrating: %d payout rows, want 3", n)
	}

	m := statetest.OpenWriter(t, open(t, dsn, "s"))
	changed, err := m.Migrate(ctx)
	if err != nil || !changed {
		t.Fatalf("migrate: %v (changed %v)", err, changed)
	}
	m.Close()
	if n := count(t, dsn, `SELECT count(*) FROM payctl_payouts WHERE state = 's'`); n != 0 {
		t.Errorf("after migrating: %d payout rows left, want 0", n)
	}
	if got := segmentRows(t, dsn); len(got) != 3 {
		t.Errorf("after migrating: segments %v, want a, b and c", got)
	}
	r, err := state.Open(ctx, open(t, dsn, "s"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Snapshot().IsSegmented() {
		t.Fatal("the migrated state does not load segmented")
	}
	if err := r.Snapshot().LoadAll(); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"a/x", "b/x", "c/x"} {
		if p := r.Snapshot().Payouts[a]; p == nil || p.Status != providers.StatusPaid {
			t.Errorf("%s after migrating: %+v", a, p)
		}
	}
	if !strings.Contains(want, `"address":"a/x"`) {
		t.Errorf("fixture snapshot lacks a/x:\n%s", want)
	}
	again := statetest.OpenWriter(t, open(t, dsn, "s"))
	if changed, err := again.Migrate(ctx); err != nil || changed {
		t.Errorf("second migrate: %v (changed %v), want nothing to do", err, changed)
	}
	again.Close()
}
