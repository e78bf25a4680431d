package localstate_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
	"github.com/payctl/payctl/state/statefile"
	"github.com/payctl/payctl/state/statetest"
)

// editedFixture is a real state: payouts paid and in flight, a checkpoint,
// and a tail the snapshot has not folded. Without the checkpoint, it ends
// at the snapshot's mark, and the snapshot must be proven by folding the
// whole journal.
func editedFixture(f *testing.F, checkpoint bool) (snap, journal []byte) {
	path := filepath.Join(f.TempDir(), "s.json")
	b := localstate.New(path, nil, nil)
	b.Format = state.Version
	s, err := state.Open(context.Background(), b, state.Options{Write: true, Op: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Record(ctx, statetest.Intent("b/a", 1, "1000"), statetest.Outcome("b/a", 1, providers.StatusPaid, "id-1")); err != nil {
		f.Fatal(err)
	}
	if err := s.Record(ctx, statetest.Intent("b/c", 1, "20")); err != nil {
		f.Fatal(err)
	}
	if err := s.Checkpoint(ctx); err != nil {
		f.Fatal(err)
	}
	if err := s.Record(ctx, statetest.Outcome("b/c", 1, providers.StatusFailed, "")); err != nil {
		f.Fatal(err)
	}
	s.Close()
	snap, _ = os.ReadFile(path)
	journal, _ = os.ReadFile(path + ".journal")
	if !checkpoint {
		// create, intent+outcome, intent: what the snapshot folded, as if
		// the process died right after writing it
		lines := bytes.SplitAfter(journal, []byte("\n"))
		journal = bytes.Join(lines[:4], nil)
	}
	return snap, journal
}

// FuzzEditedState edits one byte of a state's snapshot or journal (replaced,
// inserted or removed) and opens it as apply does. Either the open is
// refused, and the journal is left as it was, or the state is exactly the
// unedited one: what apply would pay is what the journal says. A state that
// opens takes the next record and reloads whole.
func FuzzEditedState(f *testing.F) {
	type fixture struct{ snap, journal, want []byte }
	var fixtures []fixture
	for _, cp := range []bool{true, false} {
		snap, journal := editedFixture(f, cp)
		path := filepath.Join(f.TempDir(), "s.json")
		os.WriteFile(path, snap, 0o600)
		os.WriteFile(path+".journal", journal, 0o600)
		s, err := state.Open(context.Background(), localstate.New(path, nil, nil), state.Options{})
		if err != nil {
			f.Fatal(err)
		}
		fixtures = append(fixtures, fixture{snap, journal, folded(s.Snapshot())})
	}
	f.Add(uint8(0), uint32(40), byte('x'), uint8(0))
	f.Add(uint8(1), uint32(0), byte('\n'), uint8(1))
	f.Add(uint8(1), uint32(1<<31), byte('{'), uint8(1))
	f.Add(uint8(3), uint32(200), byte('f'), uint8(2))
	f.Fuzz(func(t *testing.T, which uint8, pos uint32, b byte, op uint8) {
		fx := fixtures[int(which/2)%len(fixtures)]
		snap, journal := bytes.Clone(fx.snap), bytes.Clone(fx.journal)
		target := &snap
		if which%2 == 1 {
			target = &journal
		}
		d := *target
		switch op % 3 {
		case 0:
			i := int(pos % uint32(len(d)))
			d[i] = b
		case 1:
			i := int(pos % uint32(len(d)+1))
			d = append(d[:i:i], append([]byte{b}, d[i:]...)...)
		case 2:
			i := int(pos % uint32(len(d)))
			d = append(d[:i:i], d[i+1:]...)
		}
		*target = d
		dir := t.TempDir()
		path := filepath.Join(dir, "s.json")
		os.WriteFile(path, snap, 0o600)
		os.WriteFile(path+".journal", journal, 0o600)

		ctx := context.Background()
		s, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{Write: true, Op: "fuzz"})
		if err != nil {
			if got, _ := os.ReadFile(path + ".journal"); !bytes.Equal(got, journal) {
				t.Fatalf("a refused open changed the journal: %v", err)
			}
			return
		}
		if got := folded(s.Snapshot()); !bytes.Equal(got, fx.want) {
			s.Close()
			t.Fatalf("an edited state opened as a different state:\n%s\nwant\n%s", got, fx.want)
		}
		if err := s.Record(ctx, statetest.Outcome("b/c", 1, providers.StatusFailed, "")); err != nil {
			t.Fatal(err)
		}
		if err := s.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		s.Close()
		again, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{})
		if err != nil {
			t.Fatalf("the state written after an accepted open does not load: %v", err)
		}
		if n := again.Snapshot().Serial; n != s.Snapshot().Serial {
			t.Fatalf("reloaded at serial %d, want %d", n, s.Snapshot().Serial)
		}
	})
}

// folded is a snapshot's content without its journal mark, which only says
// where its file stops.
func folded(s *state.Snapshot) []byte {
	c := *s
	c.Journal = state.JournalMark{}
	return statefile.SnapshotBytes(&c)
}
