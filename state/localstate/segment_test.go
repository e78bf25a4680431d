package localstate_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
	"github.com/payctl/payctl/state/statefile"
	"github.com/payctl/payctl/state/statetest"
)

// twoBatches writes a state with payouts in batches "a" and "b", checkpointed.
func twoBatches(t *testing.T) string {
	t.Helper()
	path, s := newState(t)
	for _, e := range []*state.Event{
		statetest.Intent("a/1", 1, "10"), statetest.Outcome("a/1", 1, providers.StatusPaid, "id-a1"),
		statetest.Intent("a/2", 1, "20"),
		statetest.Intent("b/1", 1, "30"), statetest.Outcome("b/1", 1, providers.StatusPaid, "id-b1"),
	} {
		if err := s.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	return path
}

func open(t *testing.T, path string, o state.Options) (*state.State, error) {
	t.Helper()
	s, err := state.Open(ctx, localstate.New(path, nil, nil), o)
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

func TestNewStateIsSegmented(t *testing.T) {
	path := twoBatches(t)
	root, _ := os.ReadFile(path)
	if v := statefile.PeekVersion(root); v != state.SegmentedVersion {
		t.Fatalf("root version %d:\n%s", v, root)
	}
	r, err := statefile.ParseRoot(path, root)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Batches) != 2 || r.Batches[0].Name != "a" || r.Batches[1].Name != "b" || r.Batches[0].Payouts != 2 {
		t.Fatalf("batch table %+v", r.Batches)
	}
	if len(r.Open) != 1 || r.Open[0] != "a/2" {
		t.Fatalf("open %v, want [a/2]", r.Open)
	}
	for _, e := range r.Batches {
		seg := filepath.Join(path+".batches", e.Name+".json")
		data, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		if d := statefile.SnapshotDigest(data); d != e.Digest {
			t.Fatalf("%s: digest %s, root says %s", seg, d, e.Digest)
		}
		ps, gs, err := statefile.ParseSegment(seg, e.Name, data)
		if err != nil {
			t.Fatal(err)
		}
		var again bytes.Buffer
		statefile.WriteSegment(&again, e.Name, ps, gs)
		if !bytes.Equal(again.Bytes(), data) {
			t.Fatalf("%s is not canonical:\n%s\nvs\n%s", seg, again.Bytes(), data)
		}
		if n := strings.Count(string(data), `{"address":`); n != e.Payouts {
			t.Fatalf("%s: %d payout lines, want %d", seg, n, e.Payouts)
		}
	}
	// Reopened whole, it is the state that was written.
	s, err := open(t, path, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Snapshot().Payouts["b/1"]; p == nil || p.Status != providers.StatusPaid {
		t.Fatalf("b/1 = %+v", p)
	}
	if len(s.Snapshot().Payouts) != 3 || !s.Snapshot().Complete() {
		t.Fatalf("reopened with %d payouts", len(s.Snapshot().Payouts))
	}
}

func TestCheckpointRewritesOnlyTouchedBatches(t *testing.T) {
	path := twoBatches(t)
	segA, segB := filepath.Join(path+".batches", "a.json"), filepath.Join(path+".batches", "b.json")
	beforeA, _ := os.Stat(segA)
	beforeB, _ := os.ReadFile(segB)
	s, err := open(t, path, state.Options{Write: true, Op: "test", Partial: true, Batches: []string{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, statetest.Intent("b/2", 1, "40")); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	afterA, _ := os.Stat(segA)
	if !os.SameFile(beforeA, afterA) || !beforeA.ModTime().Equal(afterA.ModTime()) {
		t.Fatal("batch a's segment was rewritten by a checkpoint that did not touch it")
	}
	if afterB, _ := os.ReadFile(segB); bytes.Equal(afterB, beforeB) || !bytes.Contains(afterB, []byte(`"b/2"`)) {
		t.Fatalf("batch b's segment does not hold the new payout:\n%s", afterB)
	}
	if _, err := os.Stat(segB + ".next"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a finished checkpoint left %s.next behind (%v)", segB, err)
	}
	s2, err := open(t, path, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s2.Snapshot().Payouts) != 4 {
		t.Fatalf("reopened with %d payouts, want 4", len(s2.Snapshot().Payouts))
	}
}

func TestPartialOpenReadsOnlyWhatItNeeds(t *testing.T) {
	path := twoBatches(t)
	// Batch b has no open payout and is not named: it is not read, so
	// even a damaged b does not stop a command about a.
	segB := filepath.Join(path+".batches", "b.json")
	os.WriteFile(segB, []byte("garbage"), 0o600)
	s, err := open(t, path, state.Options{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	snap := s.Snapshot()
	if snap.Payouts["a/2"] == nil {
		t.Fatal("the batch of an open payout was not read")
	}
	if snap.Payouts["b/1"] != nil || snap.Complete() {
		t.Fatal("a batch nobody asked for was read")
	}
	if err := snap.LoadBatches("b"); err == nil || !strings.Contains(err.Error(), "b.json") {
		t.Fatalf("damaged segment read: %v", err)
	}
}

func TestEditedSegmentIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, path, seg string)
		want string
	}{
		{"amount edited", func(t *testing.T, path, seg string) {
			data, _ := os.ReadFile(seg)
			os.WriteFile(seg, bytes.Replace(data, []byte(`"amount":"30"`), []byte(`"amount":"3000"`), 1), 0o600)
		}, "edited or replaced"},
		{"payout removed", func(t *testing.T, path, seg string) {
			data, _ := os.ReadFile(seg)
			i := bytes.Index(data, []byte(`{"address":"b/1"`))
			j := bytes.IndexByte(data[i:], '\n')
			os.WriteFile(seg, append(data[:i:i], data[i+j:]...), 0o600)
		}, "edited or replaced"},
		{"missing", func(t *testing.T, path, seg string) { os.Remove(seg) }, "segment is missing"},
		{"taken from another state", func(t *testing.T, path, seg string) {
			// Another state's batch of the same name: a well-formed
			// segment payctl wrote, for other payouts.
			other, o := newState(t)
			o.Record(ctx, statetest.Intent("b/1", 1, "30"), statetest.Outcome("b/1", 1, providers.StatusFailed, "id-other"))
			o.Checkpoint(ctx)
			o.Close()
			data, _ := os.ReadFile(filepath.Join(other+".batches", "b.json"))
			os.WriteFile(seg, data, 0o600)
		}, "edited or replaced"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := twoBatches(t)
			seg := filepath.Join(path+".batches", "b.json")
			tc.edit(t, path, seg)
			_, err := open(t, path, state.Options{Write: true, Op: "test"})
			var se *state.SnapshotError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "b.json") || !strings.Contains(err.Error(), "payctl state rebuild") {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestEditedRootIsRefused(t *testing.T) {
	path := twoBatches(t)
	root, _ := os.ReadFile(path)
	// Drop the open payout: a plan would no longer see it in flight.
	edited := bytes.Replace(root, []byte("\n    \"a/2\"\n  "), nil, 1)
	if bytes.Equal(edited, root) {
		t.Fatalf("fixture: no open list in\n%s", root)
	}
	os.WriteFile(path, edited, 0o600)
	if _, err := open(t, path, state.Options{}); err == nil || !strings.Contains(err.Error(), "edited or replaced") {
		t.Fatalf("got %v", err)
	}
}

// A checkpoint cut short after its new root is in place but before its
// segments are renamed: the root names the segments beside the old ones.
func TestCheckpointCutBeforeSegmentRename(t *testing.T) {
	path := twoBatches(t)
	segB := filepath.Join(path+".batches", "b.json")
	old, _ := os.ReadFile(segB)
	s, err := open(t, path, state.Options{Write: true, Op: "test"})
	if err != nil {
		t.Fatal(err)
	}
	s.Record(ctx, statetest.Intent("b/2", 1, "40"))
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Undo the rename.
	os.Rename(segB, segB+".next")
	os.WriteFile(segB, old, 0o600)

	// A reader uses the new segment and leaves the files alone.
	r, err := open(t, path, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Snapshot().Payouts["b/2"] == nil {
		t.Fatal("the new segment was not read")
	}
	if _, err := os.Stat(segB + ".next"); err != nil {
		t.Fatal("a reader changed the files")
	}
	// A writer finishes the checkpoint.
	w, err := open(t, path, state.Options{Write: true, Op: "test"})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := os.Stat(segB + ".next"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the writer left the new segment beside the old one")
	}
	if data, _ := os.ReadFile(segB); !bytes.Contains(data, []byte(`"b/2"`)) {
		t.Fatal("the new segment is not in place")
	}
}

// A checkpoint cut short before its new root: the old root and its
// segments are whole, and the journal's tail holds what the new segments
// would have.
func TestCheckpointCutBeforeRoot(t *testing.T) {
	path := twoBatches(t)
	segB := filepath.Join(path+".batches", "b.json")
	oldRoot, _ := os.ReadFile(path)
	oldB, _ := os.ReadFile(segB)
	s, err := open(t, path, state.Options{Write: true, Op: "test"})
	if err != nil {
		t.Fatal(err)
	}
	s.Record(ctx, statetest.Intent("b/2", 1, "40"))
	s.Close()
	// The new segment written, the root not.
	os.WriteFile(segB+".next", bytes.Replace(oldB, []byte(`"30"`), []byte(`"31"`), 1), 0o600)
	os.WriteFile(path, oldRoot, 0o600)
	w, err := open(t, path, state.Options{Write: true, Op: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if p := w.Snapshot().Payouts["b/2"]; p == nil || p.Status != providers.StatusSending {
		t.Fatalf("the journal's tail was not folded: %+v", p)
	}
	if w.Snapshot().Payouts["b/1"].Amount.String() != "30" {
		t.Fatal("a segment the root does not name was read")
	}
	if err := w.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := open(t, path, state.Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateWholeToSegmented(t *testing.T) {
	path, s := newWholeState(t)
	for _, e := range []*state.Event{
		statetest.Intent("a/1", 1, "10"), statetest.Outcome("a/1", 1, providers.StatusPaid, "id-a1"),
		statetest.Intent("b/1", 1, "30"),
	} {
		s.Record(ctx, e)
	}
	s.Checkpoint(ctx)
	s.Close()
	before, _ := os.ReadFile(path)
	if statefile.PeekVersion(before) != state.Version {
		t.Fatal("fixture is not a whole snapshot")
	}
	wantFold := foldedAt(t, path)

	b := localstate.New(path, nil, nil)
	w, err := state.Open(ctx, b, state.Options{Write: true, Op: "migrate"})
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := w.Migrate(ctx); err != nil || !changed {
		t.Fatal(err)
	}
	w.Close()
	after, _ := os.ReadFile(path)
	if statefile.PeekVersion(after) != state.SegmentedVersion {
		t.Fatalf("not migrated:\n%s", after)
	}
	if backup, _ := os.ReadFile(path + ".backup"); !bytes.Equal(backup, before) {
		t.Fatal("the whole snapshot was not kept as the backup")
	}
	if got := foldedAt(t, path); got != wantFold {
		t.Fatalf("migration changed the state:\n%s\nvs\n%s", got, wantFold)
	}
	// Once migrated, a checkpoint keeps it segmented.
	w2, _ := open(t, path, state.Options{Write: true, Op: "test"})
	w2.Record(ctx, statetest.Outcome("b/1", 1, providers.StatusPaid, "id-b1"))
	w2.Checkpoint(ctx)
	w2.Close()
	if data, _ := os.ReadFile(path); statefile.PeekVersion(data) != state.SegmentedVersion {
		t.Fatal("a checkpoint went back to the whole format")
	}
}

func TestRebuildSegmented(t *testing.T) {
	path := twoBatches(t)
	want := foldedAt(t, path)
	os.RemoveAll(path + ".batches")
	b := localstate.New(path, nil, nil)
	w, err := state.Open(ctx, b, state.Options{Write: true, Op: "rebuild", Rebuild: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if got := foldedAt(t, path); got != want {
		t.Fatalf("rebuilt state differs:\n%s\nvs\n%s", got, want)
	}
}

// foldedAt renders a state's payouts, read whole, for comparison.
func foldedAt(t *testing.T, path string) string {
	t.Helper()
	s, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var b bytes.Buffer
	for _, a := range s.Snapshot().Addresses() {
		b.Write(statefile.AppendPayout(nil, s.Snapshot().Payouts[a]))
		b.WriteByte('\n')
	}
	return b.String()
}

// The account index is not rewritten for every few payouts: batches changed
// since are marked in the root, and folded in by whoever reads the index.
func TestAccountIndexFollowsUnindexedBatches(t *testing.T) {
	path := twoBatches(t)
	idxBefore, _ := os.Stat(path + ".accounts")
	s, err := open(t, path, state.Options{Write: true, Op: "test", Partial: true, Batches: []string{"c"}})
	if err != nil {
		t.Fatal(err)
	}
	intent := statetest.Intent("c/1", 1, "50")
	intent.Payouts[0].Recipient.Name = "Someone New"
	intent.Payouts[0].Recipient.Account = "5550001"
	ep := &intent.Payouts[0]
	ep.Digest = state.Details{Provider: intent.Provider, Currency: ep.Currency, Amount: *ep.Amount, Recipient: *ep.Recipient}.Digest()
	s.Record(ctx, intent, statetest.Outcome("c/1", 1, providers.StatusPaid, "id-c1"))
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if idxAfter, _ := os.Stat(path + ".accounts"); !os.SameFile(idxBefore, idxAfter) || !idxBefore.ModTime().Equal(idxAfter.ModTime()) {
		t.Fatal("the account index was rewritten for one payout")
	}
	root, _ := os.ReadFile(path)
	if !bytes.Contains(root, []byte(`{"name":"c","payouts":1,"digest":"sha256:`)) || !bytes.Contains(root, []byte(`"unindexed":true}`)) {
		t.Fatalf("batch c is not marked unindexed:\n%s", root)
	}
	r, err := open(t, path, state.Options{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	es, err := r.Snapshot().Accepted()
	if err != nil {
		t.Fatal(err)
	}
	var who []string
	for _, e := range es {
		who = append(who, e.Who+" "+e.Address)
	}
	got := strings.Join(who, ", ")
	if !strings.Contains(got, "name:someone new c/1") || !strings.Contains(got, "b/1") {
		t.Fatalf("accepted payouts: %s", got)
	}
	if r.Snapshot().Payouts["b/1"] != nil {
		t.Fatal("reading the account index read an indexed batch")
	}
}

// A segmented root is put in place only after its checkpoint record: a
// journal that lacks it was cut, and the root is refused.
func TestSegmentedRootWithoutItsCheckpointIsRefused(t *testing.T) {
	path := twoBatches(t)
	lines := journalLines(t, path)
	lines = lines[:len(lines)-1] // after the last newline
	last := lines[len(lines)-1]
	if !bytes.Contains(last, []byte(`"kind":"checkpoint"`)) {
		t.Fatalf("fixture: last record %s", last)
	}
	var cut []byte
	for _, l := range lines[:len(lines)-1] {
		cut = append(cut, l...)
	}
	os.WriteFile(path+".journal", cut, 0o600)
	_, err := open(t, path, state.Options{Write: true, Op: "test"})
	if err == nil || !strings.Contains(err.Error(), "the checkpoint record that proves it") {
		t.Fatalf("got %v", err)
	}
}

// Past its segment size, a checkpoint seals the journal and starts a new
// file: the records chain across files, every command reads them as one,
// and a sealed segment never changes again.
func TestJournalSealsIntoSegments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "payctl.state.json")
	backend := func() *localstate.Backend {
		b := localstate.New(path, nil, nil)
		b.JournalSegment = 1 // every checkpoint seals
		return b
	}
	for i, addr := range []string{"a/1", "a/2", "b/1"} {
		b := backend()
		s := statetest.OpenWriter(t, b)
		if err := s.Record(ctx, statetest.Intent(addr, 1, "10"), statetest.Outcome(addr, 1, providers.StatusPaid, "id-"+addr)); err != nil {
			t.Fatal(err)
		}
		if err := s.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		s.Close()
		files, err := b.JournalFiles()
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != i+2 { // the sealed ones and the one appended to
			t.Fatalf("after checkpoint %d: journal files %v", i+1, files)
		}
	}
	files, _ := backend().JournalFiles()
	var prev string
	var seq uint64
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.SplitAfter(data, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			e, err := statefile.Decode(bytes.TrimSuffix(line, []byte("\n")))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			seq++
			if e.Seq != seq || e.Prev != prev {
				t.Fatalf("%s: record %d (prev %.8s) follows %.8s", f, e.Seq, e.Prev, prev)
			}
			prev = e.Hash
		}
	}
	n := 0
	if _, err := backend().ReadJournal(ctx, func(*state.Event) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if uint64(n) != seq {
		t.Fatalf("ReadJournal gave %d records, the files hold %d", n, seq)
	}
	if got := foldedAt(t, path); strings.Count(got, "\n") != 3 {
		t.Fatalf("reopened:\n%s", got)
	}
	// A crash between sealing and starting the next file: the journal
	// ends with the sealed segments, and the next writer goes on.
	if err := os.Rename(path+".journal", fmt.Sprintf("%s.journal.%06d", path, len(files))); err != nil {
		t.Fatal(err)
	}
	s := statetest.OpenWriter(t, backend())
	if err := s.Record(ctx, statetest.Intent("c/1", 1, "10")); err != nil {
		t.Fatal(err)
	}
	s.Checkpoint(ctx)
	s.Close()
	if got := foldedAt(t, path); !strings.Contains(got, `"c/1"`) {
		t.Fatalf("after the next writer:\n%s", got)
	}
}

// A state file that is not a regular file (a device, a named pipe, a link
// to one) is refused at once: reading it would hang or never end.
func TestStateFilesMustBeRegular(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(path string) error
	}{
		{"link to a device", func(path string) error { return os.Symlink("/dev/zero", path) }},
		{"named pipe", func(path string) error { return syscall.Mkfifo(path, 0o600) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := twoBatches(t)
			seg := filepath.Join(path+".batches", "b.json")
			os.Remove(seg)
			if err := tc.make(seg); err != nil {
				t.Skip(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := open(t, path, state.Options{})
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "not a regular file") {
					t.Fatalf("got %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("reading the state did not return")
			}
		})
	}
}
