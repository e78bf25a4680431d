package localstate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/atomicfile"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
	"github.com/payctl/payctl/state/statefile"
	"github.com/payctl/payctl/state/statetest"
)

var ctx = context.Background()

func TestLocalSuite(t *testing.T) {
	statetest.Run(t, func(t *testing.T) statetest.Harness {
		path := filepath.Join(t.TempDir(), "payctl.state.json")
		return statetest.Harness{Open: func(t *testing.T) state.Backend {
			return localstate.New(path, nil, nil)
		}}
	})
}

func newState(t *testing.T) (string, *state.State) {
	path := filepath.Join(t.TempDir(), "payctl.state.json")
	return path, statetest.OpenWriter(t, localstate.New(path, nil, nil))
}

// newWholeState creates a state in the single-file format (version 1),
// which states created before segments keep until they are migrated.
func newWholeState(t *testing.T) (string, *state.State) {
	path := filepath.Join(t.TempDir(), "payctl.state.json")
	b := localstate.New(path, nil, nil)
	b.Format = state.Version
	return path, statetest.OpenWriter(t, b)
}

func TestFilesArePrivate(t *testing.T) {
	path, s := newState(t)
	if err := s.Record(ctx, statetest.Intent("b/a", 1, "10")); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, statetest.Outcome("b/a", 1, providers.StatusPaid, "1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, p := range []string{path, path + ".journal", path + ".lock", path + ".backup"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
}

func journalLines(t *testing.T, path string) [][]byte {
	data, err := os.ReadFile(path + ".journal")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(data, []byte("\n"))
}

// A crash in the middle of a write leaves a prefix of a record, perhaps
// followed by zeros, with no newline: a reader ignores it and a writer
// discards it.
func TestTornTailDiscarded(t *testing.T) {
	for _, tc := range []struct {
		name string
		tail func(line []byte) []byte
	}{
		{"half a record", func(l []byte) []byte { return l[:len(l)/2] }},
		{"one byte of a record", func(l []byte) []byte { return l[:1] }},
		{"all but the closing brace", func(l []byte) []byte { return l[:len(l)-2] }},
		{"zeros after a crash", func(l []byte) []byte { return make([]byte, 40) }},
		{"half a record then zeros", func(l []byte) []byte { return append(bytes.Clone(l[:len(l)/2]), make([]byte, 30)...) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := twoRecordState(t)
			lines := journalLines(t, path)
			last := lines[len(lines)-2] // SplitAfter leaves an empty last element
			keep := bytes.Join(lines[:len(lines)-2], nil)
			if err := os.WriteFile(path+".journal", append(keep, tc.tail(last)...), 0o600); err != nil {
				t.Fatal(err)
			}

			// A reader ignores the torn record and changes nothing.
			r, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{})
			if err != nil {
				t.Fatalf("reader: %v", err)
			}
			if got := r.Snapshot().Payouts["b/a"].Status; got != providers.StatusSending {
				t.Errorf("reader: status %s, want sending (outcome torn)", got)
			}
			// A writer discards it and appends cleanly after it.
			w := statetest.OpenWriter(t, localstate.New(path, nil, nil))
			if err := w.Record(ctx, statetest.Outcome("b/a", 1, providers.StatusPending, "1")); err != nil {
				t.Fatal(err)
			}
			w.Close()
			again, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{})
			if err != nil {
				t.Fatalf("after recovery: %v", err)
			}
			if got := again.Snapshot().Payouts["b/a"].Status; got != providers.StatusPending {
				t.Errorf("after recovery: status %s, want pending", got)
			}
		})
	}
}

// twoRecordState writes an intent and its outcome, with no checkpoint (as a
// process killed right after the outcome leaves it).
func twoRecordState(t *testing.T) string {
	path, s := newState(t)
	if err := s.Record(ctx, statetest.Intent("b/a", 1, "10")); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, statetest.Outcome("b/a", 1, providers.StatusPaid, "1")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	return path
}

// Only a record cut short can be torn: a complete last line that does not
// decode, or a last line that is a whole record with something else in
// place of its newline, is damage, and nothing is discarded or appended.
func TestDamagedLastRecordIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		tail func(line []byte) []byte
		want string
	}{
		{"complete line with one byte changed", func(l []byte) []byte {
			l = bytes.Clone(l)
			l[20] ^= 1
			return l
		}, "journal record 3 is damaged (hash does not match the record's bytes)"},
		{"newline replaced", func(l []byte) []byte {
			l = bytes.Clone(l)
			l[len(l)-1] = 'x'
			return l
		}, "journal record 3 is damaged (the journal's last line has no end of line and is not the beginning of a record cut short by a crash"},
		{"newline replaced by a zero", func(l []byte) []byte {
			l = bytes.Clone(l)
			l[len(l)-1] = 0
			return l
		}, "journal record 3 is damaged"},
		{"garbage after the last record", func(l []byte) []byte { return append(bytes.Clone(l), "garbage"...) }, "journal record 4 is damaged"},
		{"changed and cut short", func(l []byte) []byte {
			l = bytes.Clone(l[:len(l)-1])
			l[20] ^= 1
			return l
		}, "journal record 3 is damaged (the journal's last line has no end of line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := twoRecordState(t)
			lines := journalLines(t, path)
			last := lines[len(lines)-2]
			keep := bytes.Join(lines[:len(lines)-2], nil)
			edited := append(keep, tc.tail(last)...)
			if err := os.WriteFile(path+".journal", edited, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, write := range []bool{false, true} {
				_, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{Write: write, Op: "test"})
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("write=%v: got %v, want an error containing %q", write, err, tc.want)
				}
				if !strings.Contains(err.Error(), "payctl stops rather than guess") {
					t.Errorf("the message should say what to do: %v", err)
				}
			}
			if got, _ := os.ReadFile(path + ".journal"); !bytes.Equal(got, edited) {
				t.Error("the journal was changed by a refused open")
			}
		})
	}
}

// A record written whole but for its newline may have been made durable:
// it is kept, and a writer ends it before appending.
func TestUnterminatedLastRecordIsKept(t *testing.T) {
	path := twoRecordState(t)
	data, err := os.ReadFile(path + ".journal")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".journal", bytes.TrimSuffix(data, []byte("\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Snapshot().Payouts["b/a"].Status; got != providers.StatusPaid {
		t.Errorf("reader: status %s, want paid", got)
	}
	w := statetest.OpenWriter(t, localstate.New(path, nil, nil))
	if err := w.Record(ctx, statetest.Intent("b/b", 1, "5")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	again, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{})
	if err != nil {
		t.Fatalf("after the writer: %v", err)
	}
	if again.Snapshot().Payouts["b/a"].Status != providers.StatusPaid || again.Snapshot().Payouts["b/b"] == nil {
		t.Error("the kept record or the one appended after it is missing")
	}
}

func TestDamageInTheMiddleIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(lines [][]byte) [][]byte
		want string
	}{
		{"record edited", func(l [][]byte) [][]byte {
			l[1] = bytes.Replace(l[1], []byte(`"amount":"10"`), []byte(`"amount":"99"`), 1)
			return l
		}, "journal record 2 is damaged"},
		{"record deleted", func(l [][]byte) [][]byte {
			return append(l[:1:1], l[2:]...)
		}, "has sequence number 3 where 2 belongs"},
		{"records swapped", func(l [][]byte) [][]byte {
			l[1], l[2] = l[2], l[1]
			return l
		}, "has sequence number 3 where 2 belongs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, s := newState(t)
			for _, e := range []*state.Event{
				statetest.Intent("b/a", 1, "10"),
				statetest.Outcome("b/a", 1, providers.StatusPaid, "1"),
				statetest.Intent("b/b", 1, "20"),
			} {
				if err := s.Record(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
			damagedBytes := bytes.Join(tc.edit(journalLines(t, path)), nil)
			os.WriteFile(path+".journal", damagedBytes, 0o600)
			for _, write := range []bool{false, true} {
				_, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{Write: write, Op: "test"})
				var de *state.DamageError
				if !errors.As(err, &de) {
					t.Fatalf("write=%v: got %v, want a DamageError", write, err)
				}
				if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), ".journal:") {
					t.Errorf("message %q does not contain %q and the journal's name", err, tc.want)
				}
			}
			// And nothing was repaired: the file is as the damage left it.
			if got, _ := os.ReadFile(path + ".journal"); !bytes.Equal(got, damagedBytes) {
				t.Error("journal was modified")
			}
		})
	}
}

type fullDisk struct{ *os.File }

func (f fullDisk) Write(p []byte) (int, error) { return 0, errors.New("no space left on device") }

// A snapshot that cannot be written leaves the previous one intact and
// loses nothing: the journal already holds every change.
func TestDiskFullDuringCheckpoint(t *testing.T) {
	path, s := newState(t)
	if err := s.Record(ctx, statetest.Intent("b/a", 1, "10")); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	if err := s.Record(ctx, statetest.Outcome("b/a", 1, providers.StatusPaid, "1")); err != nil {
		t.Fatal(err)
	}
	localstate.SetCreateTemp(s.Backend().(*localstate.Backend), func(name string, perm os.FileMode) (atomicfile.File, error) {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
		return fullDisk{f}, err
	})
	err := s.Checkpoint(ctx)
	if err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("checkpoint on a full disk: got %v", err)
	}
	s.Close()
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("the old snapshot was changed by a failed checkpoint")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
	r, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Snapshot().Payouts["b/a"].Status; got != providers.StatusPaid {
		t.Errorf("status after reload: %s, want paid (from the journal)", got)
	}
}

func TestLockLeftByDeadProcessIsTakenOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "payctl.state.json")
	host, _ := os.Hostname()
	stale := state.LockInfo{ID: "old", Who: "ci", Host: host, PID: 999999, Operation: "apply"}
	b, _ := json.Marshal(stale)
	os.WriteFile(path+".lock", b, 0o600)
	s, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{Write: true, Op: "apply"})
	if err != nil {
		t.Fatalf("lock left on this host by a dead process: %v", err)
	}
	s.Close()
}

func TestLockLeftByOtherHostNeedsUnlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "payctl.state.json")
	stale := state.LockInfo{ID: "4b1c", Who: "ci", Host: "runner-7", PID: 42, Operation: "apply"}
	b, _ := json.Marshal(stale)
	os.WriteFile(path+".lock", b, 0o600)
	_, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{Write: true, Op: "apply"})
	var le *state.LockedError
	if !errors.As(err, &le) || !le.Stale {
		t.Fatalf("got %v, want a stale LockedError", err)
	}
	if !strings.Contains(err.Error(), "runner-7") || !strings.Contains(err.Error(), "payctl state unlock 4b1c") {
		t.Errorf("message does not name the holder and the way out: %v", err)
	}
	l := localstate.New(path, nil, nil)
	if err := l.ForceUnlock(ctx, "wrong"); !errors.Is(err, state.ErrLockMismatch) {
		t.Fatalf("unlock with the wrong id: got %v", err)
	}
	if err := l.ForceUnlock(ctx, "4b1c"); err != nil {
		t.Fatal(err)
	}
	s, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{Write: true, Op: "apply"})
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	s.Close()
}

func TestUnlockRefusesLiveHolder(t *testing.T) {
	path, s := newState(t)
	defer s.Close()
	l := localstate.New(path, nil, nil)
	holder, ok := localstate.LockHolder(l)
	if !ok {
		t.Fatal("lock info not written")
	}
	if err := l.ForceUnlock(ctx, holder.ID); err == nil || !strings.Contains(err.Error(), "running process") {
		t.Fatalf("unlock of a live lock: got %v", err)
	}
}

func TestSnapshotIsCanonical(t *testing.T) {
	path, s := newWholeState(t)
	for _, e := range []*state.Event{
		statetest.Intent("b/z", 1, "10"), statetest.Intent("b/a", 1, "20"),
		statetest.Outcome("b/a", 1, providers.StatusPaid, "1"),
	} {
		if err := s.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	data, _ := os.ReadFile(path)
	parsed, err := statefile.ParseSnapshot(path, data)
	if err != nil {
		t.Fatal(err)
	}
	if got := statefile.SnapshotBytes(parsed); !bytes.Equal(got, data) {
		t.Fatalf("re-encoding changed the bytes:\n%s\nvs\n%s", got, data)
	}
	lines := strings.Split(string(data), "\n")
	var payoutLines []string
	for _, l := range lines {
		if strings.HasPrefix(l, `    {"address":`) {
			payoutLines = append(payoutLines, l)
		}
	}
	if len(payoutLines) != 2 || !strings.Contains(payoutLines[0], `"b/a"`) {
		t.Fatalf("want one line per payout, sorted: %q", payoutLines)
	}
}

func TestSnapshotEditedByHandIsRefused(t *testing.T) {
	path, s := newWholeState(t)
	s.Record(ctx, statetest.Intent("b/a", 1, "10"))
	s.Checkpoint(ctx)
	s.Close()
	data, _ := os.ReadFile(path)
	edited := bytes.Replace(data, []byte(`"amount":"10"`), []byte(`"amount":"10000"`), 1)
	os.WriteFile(path, edited, 0o600)
	_, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{})
	if err == nil || !strings.Contains(err.Error(), "digest does not match") {
		t.Fatalf("got %v", err)
	}
}

func TestNewerVersionRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	os.WriteFile(path, []byte(`{"version": 3, "lineage": "x"}`), 0o600)
	_, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{})
	if !errors.Is(err, statefile.ErrNewerVersion) || !strings.Contains(err.Error(), "upgrade payctl") {
		t.Fatalf("got %v", err)
	}
}

func TestLostSnapshotRebuiltFromJournal(t *testing.T) {
	path, s := newState(t)
	s.Record(ctx, statetest.Intent("b/a", 1, "10"), statetest.Outcome("b/a", 1, providers.StatusPaid, "1"))
	s.Checkpoint(ctx)
	want := s.Snapshot().Payouts["b/a"]
	s.Close()
	os.Remove(path)
	os.Remove(path + ".backup")
	r, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := r.Snapshot().Payouts["b/a"]
	if got == nil || got.Status != want.Status || got.Digest != want.Digest {
		t.Fatalf("rebuilt: got %+v, want %+v", got, want)
	}
}
