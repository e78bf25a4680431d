package localstate_test

import (
	"os"
	"strings"
	"testing"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
	"github.com/payctl/payctl/state/statefile"
	"github.com/payctl/payctl/state/statetest"
)

// TestReadJournalFrom reads what came after a root's mark, and nothing
// before it; a mark that is not the end of a record, or lies past the
// journal's end, is an error, never a silent skip.
func TestReadJournalFrom(t *testing.T) {
	path, s := newState(t)
	if err := s.Record(ctx, statetest.Intent("b/a", 1, "10")); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	root, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := statefile.ParseRoot(path, root)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, statetest.Outcome("b/a", 1, providers.StatusPaid, "1")); err != nil {
		t.Fatal(err)
	}
	s.Close()

	l := localstate.New(path, nil, nil)
	var seqs []uint64
	var kinds []string
	torn, err := l.ReadJournalFrom(ctx, r.Journal, r.Serial, func(e *state.Event) error {
		seqs = append(seqs, e.Seq)
		kinds = append(kinds, string(e.Kind))
		return nil
	})
	if err != nil || torn != nil {
		t.Fatalf("ReadJournalFrom: %v, torn %v", err, torn)
	}
	if len(seqs) != 2 || seqs[0] != r.Serial+1 || kinds[0] != string(state.KindCheckpoint) || kinds[1] != string(state.KindOutcome) {
		t.Fatalf("read records %v %v after serial %d; want the checkpoint then the outcome", seqs, kinds, r.Serial)
	}

	mid := r.Journal
	mid.Offset -= 10
	if _, err := l.ReadJournalFrom(ctx, mid, r.Serial, func(*state.Event) error { return nil }); err == nil {
		t.Fatal("a mark in the middle of a record was read from")
	}
	past := r.Journal
	past.Offset = 1 << 30
	_, err = l.ReadJournalFrom(ctx, past, r.Serial, func(*state.Event) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "truncated or replaced") {
		t.Fatalf("a mark past the journal's end: %v", err)
	}
}
