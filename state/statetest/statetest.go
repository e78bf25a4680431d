// Package statetest is the test suite every state backend must pass. One
// suite, many backends: the local file and the database backends are held
// to the same guarantees by the same tests.
package statetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/statefile"
)

// Harness opens backends on one fresh, empty store; every call must return
// a new Backend value on the same store (as a second process would).
type Harness struct {
	Open func(t *testing.T) state.Backend
}

// Run runs the suite.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Run("RecordFoldReload", func(t *testing.T) { testRecordFoldReload(t, newHarness(t)) })
	t.Run("ReloadFoldsJournalTail", func(t *testing.T) { testReloadFoldsTail(t, newHarness(t)) })
	t.Run("SecondWriterRefused", func(t *testing.T) { testSecondWriter(t, newHarness(t)) })
	t.Run("GroupCommit", func(t *testing.T) { testGroupCommit(t, newHarness(t)) })
	t.Run("ResendOfSentAttemptRefused", func(t *testing.T) { testResendRefused(t, newHarness(t)) })
	t.Run("ReadersSeeCommittedOnly", func(t *testing.T) { testReaders(t, newHarness(t)) })
	t.Run("JournalChainMatchesSnapshot", func(t *testing.T) { testJournalChain(t, newHarness(t)) })
}

var ctx = context.Background()

func clock() func() time.Time {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t0 = t0.Add(time.Second)
		return t0
	}
}

// OpenWriter opens b for writing with a deterministic clock.
func OpenWriter(t *testing.T, b state.Backend) *state.State {
	t.Helper()
	s, err := state.Open(ctx, b, state.Options{Write: true, Op: "test", Now: clock()})
	if err != nil {
		t.Fatalf("open for writing: %v", err)
	}
	return s
}

// Intent returns the intent of attempt n of address, with details.
func Intent(address string, n int, amount string) *state.Event {
	amt := money.MustParse(amount)
	rcp := providers.Recipient{Name: "Test Person", BankCode: "014", Account: "0123456789"}
	d := state.Details{Provider: "idr-main", Currency: "IDR", Amount: amt, Recipient: rcp}
	return &state.Event{
		Kind: state.KindIntent, Provider: "idr-main",
		Payouts: []state.EventPayout{{
			Address: address, Attempt: n, Key: state.Key("idr-main", address, n),
			Status: providers.StatusSending, Type: "cronos", Currency: "IDR",
			Amount: &amt, Recipient: &rcp, Digest: d.Digest(),
			Request: &providers.Request{Method: "POST", Path: "/disburse", Body: `{"amount":` + amount + `}`},
		}},
	}
}

// Outcome returns the outcome of attempt n of address.
func Outcome(address string, n int, st providers.Status, id string) *state.Event {
	ep := state.EventPayout{Address: address, Attempt: n, Status: st}
	if id != "" {
		ep.IDs = map[string]string{"id": id}
	}
	return &state.Event{Kind: state.KindOutcome, Provider: "idr-main", Payouts: []state.EventPayout{ep}}
}

func record(t *testing.T, s *state.State, evs ...*state.Event) {
	t.Helper()
	if err := s.Record(ctx, evs...); err != nil {
		t.Fatalf("record: %v", err)
	}
}

func testRecordFoldReload(t *testing.T, h Harness) {
	s := OpenWriter(t, h.Open(t))
	record(t, s, Intent("b/a", 1, "1000"))
	record(t, s, Outcome("b/a", 1, providers.StatusPaid, "id-a"))
	record(t, s, Intent("b/c", 1, "2000"))
	record(t, s, Outcome("b/c", 1, providers.StatusFailed, ""))
	record(t, s, Intent("b/c", 2, "2000"))
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	want := statefile.SnapshotBytes(s.Snapshot())
	s.Close()

	r, err := state.Open(ctx, h.Open(t), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap := r.Snapshot()
	if got := string(statefile.SnapshotBytes(snap)); got != string(want) {
		t.Fatalf("reloaded snapshot differs:\ngot  %s\nwant %s", got, want)
	}
	// create + 5 events, and the checkpoint record of a backend that
	// writes one
	want6 := uint64(6)
	h.Open(t).ReadJournal(ctx, func(e *state.Event) error {
		if e.Kind == state.KindCheckpoint {
			want6 = 7
		}
		return nil
	})
	if snap.Serial != want6 {
		t.Errorf("serial: got %d, want %d", snap.Serial, want6)
	}
	checks := []struct {
		addr     string
		status   providers.Status
		attempts int
	}{{"b/a", providers.StatusPaid, 1}, {"b/c", providers.StatusSending, 2}}
	for _, c := range checks {
		p := snap.Payouts[c.addr]
		if p == nil {
			t.Fatalf("%s missing", c.addr)
		}
		if p.Status != c.status || len(p.Attempts) != c.attempts {
			t.Errorf("%s: got %s with %d attempts, want %s with %d", c.addr, p.Status, len(p.Attempts), c.status, c.attempts)
		}
	}
	if id := snap.Payouts["b/a"].Latest().IDs.Get("id"); id != "id-a" {
		t.Errorf("provider id: got %q, want id-a", id)
	}
}

// A command that dies after recording but before its checkpoint loses
// nothing: the next open folds the journal tail.
func testReloadFoldsTail(t *testing.T, h Harness) {
	s := OpenWriter(t, h.Open(t))
	record(t, s, Intent("b/a", 1, "1000"))
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	record(t, s, Outcome("b/a", 1, providers.StatusPending, "id-a"))
	record(t, s, Intent("b/b", 1, "5"))
	// No checkpoint: as if the process died here.
	s.Close()

	r := OpenWriter(t, h.Open(t))
	defer r.Close()
	snap := r.Snapshot()
	if p := snap.Payouts["b/a"]; p == nil || p.Status != providers.StatusPending {
		t.Fatalf("b/a after reload: got %+v, want pending", p)
	}
	if p := snap.Payouts["b/b"]; p == nil || p.Status != providers.StatusSending {
		t.Fatalf("b/b after reload: got %+v, want sending", p)
	}
	if !r.Changed() {
		t.Error("state with a folded tail should report a change so the snapshot is rewritten")
	}
}

func testSecondWriter(t *testing.T, h Harness) {
	s := OpenWriter(t, h.Open(t))
	defer s.Close()
	_, err := state.Open(ctx, h.Open(t), state.Options{Write: true, Op: "apply"})
	var le *state.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second writer: got %v, want a LockedError", err)
	}
	if le.Holder.Operation != "test" || le.Holder.PID == 0 || le.Holder.Host == "" {
		t.Errorf("holder not named: %+v", le.Holder)
	}
	s.Close()
	s2, err := state.Open(ctx, h.Open(t), state.Options{Write: true, Op: "apply"})
	if err != nil {
		t.Fatalf("writer after release: %v", err)
	}
	s2.Close()
}

func testGroupCommit(t *testing.T, h Harness) {
	s := OpenWriter(t, h.Open(t))
	defer s.Close()
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			addr := fmt.Sprintf("b/p%03d", i)
			if err := s.Record(ctx, Intent(addr, 1, "100")); err != nil {
				errs <- err
				return
			}
			errs <- s.Record(ctx, Outcome(addr, 1, providers.StatusPaid, "x"+addr))
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.Records != 2*n+1 {
		t.Errorf("records: got %d, want %d", st.Records, 2*n+1)
	}
	if st.Commits >= st.Records {
		t.Errorf("no group commit: %d commits for %d records", st.Commits, st.Records)
	}
	t.Logf("%d records in %d commits", st.Records, st.Commits)
}

func testResendRefused(t *testing.T, h Harness) {
	s := OpenWriter(t, h.Open(t))
	defer s.Close()
	record(t, s, Intent("b/a", 1, "1000"))
	record(t, s, Outcome("b/a", 1, providers.StatusUnknown, ""))
	// An unknown attempt must never be sent again, with its key or a new one.
	for _, n := range []int{1, 2} {
		err := s.Record(ctx, Intent("b/a", n, "1000"))
		if err == nil {
			t.Fatalf("intent for attempt %d of an unknown payout was accepted", n)
		}
	}
}

func testReaders(t *testing.T, h Harness) {
	s := OpenWriter(t, h.Open(t))
	defer s.Close()
	record(t, s, Intent("b/a", 1, "1000"))
	r, err := state.Open(ctx, h.Open(t), state.Options{})
	if err != nil {
		t.Fatalf("reader while a writer holds the lock: %v", err)
	}
	if p := r.Snapshot().Payouts["b/a"]; p == nil {
		t.Fatal("reader does not see a durable intent")
	}
	if err := r.Record(ctx, Intent("b/x", 1, "1")); err == nil {
		t.Fatal("a reader recorded an event")
	}
}

func testJournalChain(t *testing.T, h Harness) {
	s := OpenWriter(t, h.Open(t))
	record(t, s, Intent("b/a", 1, "1000"), Outcome("b/a", 1, providers.StatusPaid, "1"))
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	record(t, s, Intent("b/b", 1, "7"))
	want := s.Snapshot()
	s.Close()

	// Folding the journal from the first record gives the same snapshot.
	b := h.Open(t)
	folded := &state.Snapshot{Payouts: map[string]*state.Payout{}, Groups: map[string]*state.Group{}}
	prev := ""
	_, err := b.ReadJournal(ctx, func(e *state.Event) error {
		if e.Prev != prev {
			return fmt.Errorf("record %d: prev %s, want %s", e.Seq, e.Prev, prev)
		}
		prev = e.Hash
		return folded.Apply(e)
	})
	if err != nil {
		t.Fatal(err)
	}
	folded.Version = want.Version
	folded.Journal = want.Journal
	if got, w := string(statefile.SnapshotBytes(folded)), string(statefile.SnapshotBytes(want)); got != w {
		t.Fatalf("journal fold differs from snapshot:\ngot  %s\nwant %s", got, w)
	}
}
