package pgstate_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
	"github.com/payctl/payctl/state/pgstate"
	"github.com/payctl/payctl/state/statetest"
)

// command is one payctl command's worth of records, and whether it ends
// with a checkpoint (a command killed before its checkpoint does not).
type command struct {
	events     [][]*state.Event
	checkpoint bool
}

// history is a deterministic sequence of commands.
func history(addrs ...string) []command {
	var cmds []command
	for i, a := range addrs {
		cmds = append(cmds, command{
			events: [][]*state.Event{
				{statetest.Intent(a, 1, "1000")},
				{statetest.Outcome(a, 1, providers.StatusPaid, "id-"+a)},
			},
			checkpoint: i != len(addrs)-1,
		})
	}
	return cmds
}

// run plays commands on b, each opening the state as a command would,
// with a clock and lineage that make the bytes repeatable.
func run(t *testing.T, b func() state.Backend, cmds []command, lineage string) {
	t.Helper()
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t0 = t0.Add(time.Second)
		return t0
	}
	for _, c := range cmds {
		s, err := state.Open(ctx, b(), state.Options{Write: true, Op: "apply", Now: now, NewLineage: func() string { return lineage }})
		if err != nil {
			t.Fatal(err)
		}
		for _, evs := range c.events {
			if err := s.Record(ctx, evs...); err != nil {
				t.Fatal(err)
			}
		}
		if c.checkpoint {
			if err := s.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
	}
}

const (
	lineageA = "6f1c0a53-2b7e-4d2a-9a43-3c1f0f6f1a01"
	lineageB = "6f1c0a53-2b7e-4d2a-9a43-3c1f0f6f1a02"
)

// localBackend is a local state created in format (state.Version: the
// single-file format; state.SegmentedVersion: segmented).
func localBackend(path string, format int) func() state.Backend {
	return func() state.Backend {
		l := localstate.New(path, nil, nil)
		l.Format = format
		return l
	}
}

// formats are the snapshot formats both backends write.
var formats = []int{state.Version, state.SegmentedVersion}

// A segmented local state is pushed file for file: a pull gives back the
// very files pushed, and the database goes on writing by batch.
func TestPushSegmented(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	localPath := filepath.Join(dir, "local.state.json")
	dsn := fresh(t)
	run(t, localBackend(localPath, state.SegmentedVersion), history("b/a", "c/a", "b/b", "d/a"), lineageA)
	if !isSegmented(localPath) {
		t.Fatal("fixture is not segmented")
	}
	tr, err := open(t, dsn, "s").Push(ctx, localPath, pgstate.TransferOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Snapshot {
		t.Errorf("push: %+v, want the snapshot written", tr)
	}
	back := filepath.Join(dir, "back.state.json")
	if _, err := open(t, dsn, "s").Pull(ctx, back, pgstate.TransferOptions{}); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, back, localPath)

	st, err := state.Open(ctx, open(t, dsn, "s"), state.Options{Write: true, Op: "test", Batches: []string{"d"}, Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(st.Snapshot().Loaded(), " "); got != "d" {
		t.Errorf("batches read after the push: got %q, want d (the tail touches it)", got)
	}
	if err := st.Record(ctx, statetest.Intent("e/a", 1, "10")); err != nil {
		t.Fatal(err)
	}
	if err := st.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	pulled := filepath.Join(dir, "pulled.state.json")
	if _, err := open(t, dsn, "s").Pull(ctx, pulled, pgstate.TransferOptions{}); err != nil {
		t.Fatal(err)
	}
	ps, err := state.Open(ctx, localstate.New(pulled, nil, nil), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	if err := ps.Snapshot().LoadAll(); err != nil {
		t.Fatal(err)
	}
	if n := len(ps.Snapshot().Payouts); n != 5 {
		t.Fatalf("pulled %d payouts, want 5", n)
	}
}

// A segmented state whose segment was edited is never pushed.
func TestPushRefusesAnEditedSegment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	localPath := filepath.Join(dir, "local.state.json")
	dsn := fresh(t)
	run(t, localBackend(localPath, state.SegmentedVersion), history("b/a", "c/a", "b/b"), lineageA)
	seg := localstate.New(localPath, nil, nil).SegmentPath("c")
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seg, bytes.Replace(data, []byte(`"1000"`), []byte(`"9000"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = open(t, dsn, "s").Push(ctx, localPath, pgstate.TransferOptions{})
	if err == nil || !strings.Contains(err.Error(), "c.json") {
		t.Fatalf("push of an edited segment: got %v, want a refusal naming it", err)
	}
	if n := count(t, dsn, `SELECT count(*) FROM payctl_journal WHERE state = 's'`); n != 0 {
		t.Errorf("a refused push wrote %d journal records", n)
	}
}

func pgBackend(t *testing.T, dsn, name string, format int) func() state.Backend {
	return func() state.Backend { return openFormat(t, dsn, name, format) }
}

func sameFiles(t *testing.T, got, want string) {
	t.Helper()
	suffixes := []string{"", ".journal", ".accounts"}
	segs, _ := filepath.Glob(want + ".batches/*.json")
	if len(segs) == 0 && isSegmented(want) {
		t.Errorf("%s is segmented but has no segments", want)
	}
	for _, sg := range segs {
		suffixes = append(suffixes, strings.TrimPrefix(sg, want))
	}
	for _, suffix := range suffixes {
		g, gerr := os.ReadFile(got + suffix)
		w, werr := os.ReadFile(want + suffix)
		if os.IsNotExist(gerr) != os.IsNotExist(werr) {
			t.Errorf("%s: %v, but %s: %v", got+suffix, gerr, want+suffix, werr)
			continue
		}
		if !bytes.Equal(g, w) {
			t.Errorf("%s differs from %s:\ngot\n%s\nwant\n%s", filepath.Base(got+suffix), filepath.Base(want+suffix), g, w)
		}
	}
}

func isSegmented(path string) bool {
	data, _ := os.ReadFile(path)
	return bytes.Contains(data, []byte(`"version": 2`))
}

// The same commands on the local backend and on PostgreSQL, then a pull:
// the pulled files are byte for byte what the local backend wrote, a
// journal tail not yet folded included.
func TestPullIsWhatTheLocalBackendWrites(t *testing.T) {
	t.Parallel()
	for _, format := range formats {
		t.Run(fmt.Sprintf("format %d", format), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			localPath := filepath.Join(dir, "local.state.json")
			dsn := fresh(t)
			// Each run gets events of its own: the first would stamp their
			// times. Two batches, so that a checkpoint leaves one alone.
			cmds := history("b/a", "b/b", "c/a", "b/c")
			run(t, localBackend(localPath, format), cmds, lineageA)
			run(t, pgBackend(t, dsn, "s", format), history("b/a", "b/b", "c/a", "b/c"), lineageA)
			if isSegmented(localPath) != (format == state.SegmentedVersion) {
				t.Fatalf("the local fixture is not in format %d", format)
			}

			pulled := filepath.Join(dir, "pulled.state.json")
			tr, err := open(t, dsn, "s").Pull(ctx, pulled, pgstate.TransferOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sameFiles(t, pulled, localPath)
			// create, 4 intents and outcomes, a checkpoint after the first three
			if tr.Serial != 12 || tr.Copied != 12 || !tr.Snapshot || tr.Replaced != "" {
				t.Errorf("transfer: got %+v, want serial 12, 12 records, a snapshot, nothing replaced", tr)
			}
			for _, p := range []string{pulled, pulled + ".journal"} {
				if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v %v, want mode 0600", p, fi.Mode(), err)
				}
			}
		})
	}
}

// Push then pull gives back the very files pushed; pushing again copies
// only what the database lacks.
func TestPushPullRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.state.json")
	cmds := history("b/a", "b/b", "b/c", "b/d")
	run(t, localBackend(src, state.Version), cmds[:2], lineageA)
	dsn := fresh(t)

	tr, err := open(t, dsn, "s").Push(ctx, src, pgstate.TransferOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// create, then intent, outcome and checkpoint twice
	if tr.Copied != 7 || !tr.Snapshot {
		t.Errorf("first push: got %+v, want 7 records and the snapshot", tr)
	}
	back := filepath.Join(dir, "back.state.json")
	if _, err := open(t, dsn, "s").Pull(ctx, back, pgstate.TransferOptions{}); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, back, src)

	run(t, localBackend(src, state.Version), cmds[2:], lineageA)
	for _, want := range []int64{5, 0} {
		tr, err := open(t, dsn, "s").Push(ctx, src, pgstate.TransferOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Copied != want || tr.Serial != 12 {
			t.Errorf("push: got %d records copied at serial %d, want %d at 12", tr.Copied, tr.Serial, want)
		}
	}
	if _, err := open(t, dsn, "s").Pull(ctx, back, pgstate.TransferOptions{}); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, back, src)
	// The pushed state is a working state: a writer carries on from it.
	run(t, pgBackend(t, dsn, "s", state.Version), history("b/e", "b/f")[:1], lineageA)
	r, err := state.Open(ctx, open(t, dsn, "s"), state.Options{})
	if err != nil || r.Snapshot().Serial != 15 || len(r.Snapshot().Payouts) != 5 {
		t.Fatalf("state after pushing and writing: %v (serial %d), want serial 15 with 5 payouts", err, r.Snapshot().Serial)
	}
}

func TestTransferRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// db and file are the histories of the database's state and the
		// local file before the transfer.
		db, file   []command
		dbLineage  string
		fileLineag string
		push       bool
		want       string
	}{
		{"pull over another lineage", history("b/a"), history("b/a"), lineageA, lineageB, false, "a different state than lineage"},
		{"pull over a newer file", history("b/a"), history("b/a", "b/b"), lineageA, lineageA, false, "newer than serial 3"},
		{"pull over a diverged file", history("b/a", "b/b"), history("b/a", "b/c"), lineageA, lineageA, false, "history diverged"},
		{"push over another lineage", history("b/a"), history("b/a"), lineageA, lineageB, true, "a different state than lineage"},
		{"push over a newer database", history("b/a", "b/b"), history("b/a"), lineageA, lineageA, true, "newer than serial 3"},
		{"push over a diverged database", history("b/a", "b/b"), history("b/a", "b/c"), lineageA, lineageA, true, "history diverged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "payctl.state.json")
			dsn := fresh(t)
			run(t, pgBackend(t, dsn, "s", state.Version), tc.db, tc.dbLineage)
			run(t, localBackend(path, state.Version), tc.file, tc.fileLineag)
			before, _ := os.ReadFile(path + ".journal")
			transfer := func(o pgstate.TransferOptions) (*pgstate.Transfer, error) {
				if tc.push {
					return open(t, dsn, "s").Push(ctx, path, o)
				}
				return open(t, dsn, "s").Pull(ctx, path, o)
			}
			_, err := transfer(pgstate.TransferOptions{})
			var ce *pgstate.ConflictError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "-force") {
				t.Fatalf("got %v, want a refusal saying %q and how to force", err, tc.want)
			}
			// A refusal changes nothing.
			if after, _ := os.ReadFile(path + ".journal"); !bytes.Equal(before, after) {
				t.Fatal("the refused transfer changed the local journal")
			}
			tr, err := transfer(pgstate.TransferOptions{Force: true})
			if err != nil {
				t.Fatalf("forced: %v", err)
			}
			if !strings.Contains(tr.Replaced, tc.want) {
				t.Errorf("forced transfer: replaced %q, want the reason %q", tr.Replaced, tc.want)
			}
			// After a forced transfer both sides hold the source's state.
			pulled := filepath.Join(t.TempDir(), "pulled.state.json")
			if _, err := open(t, dsn, "s").Pull(ctx, pulled, pgstate.TransferOptions{}); err != nil {
				t.Fatal(err)
			}
			sameFiles(t, pulled, path)
			if !tc.push {
				if b, err := os.ReadFile(path + ".journal.backup"); err != nil || !bytes.Equal(b, before) {
					t.Errorf("the replaced journal was not kept as a backup (%v)", err)
				}
			}
		})
	}
}

func TestTransferOfNothing(t *testing.T) {
	t.Parallel()
	dsn := fresh(t)
	path := filepath.Join(t.TempDir(), "payctl.state.json")
	_, err := open(t, dsn, "s").Pull(ctx, path, pgstate.TransferOptions{})
	if err == nil || !strings.Contains(err.Error(), "postgres:s holds no records yet") {
		t.Errorf("pull of an empty state: got %v", err)
	}
	_, err = open(t, dsn, "s").Push(ctx, path, pgstate.TransferOptions{})
	if err == nil || !strings.Contains(err.Error(), "no local state at") {
		t.Errorf("push of a missing file: got %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a refused pull left %s behind", path)
	}
}

// A damaged file is never pushed; a damaged file is replaced by a pull
// only when forced.
func TestTransferOfDamagedFile(t *testing.T) {
	t.Parallel()
	for _, format := range formats {
		t.Run(fmt.Sprintf("format %d", format), func(t *testing.T) {
			t.Parallel()
			transferOfDamagedFile(t, format)
		})
	}
}

func transferOfDamagedFile(t *testing.T, format int) {
	dsn := fresh(t)
	path := filepath.Join(t.TempDir(), "payctl.state.json")
	run(t, localBackend(path, format), history("b/a", "b/b"), lineageA)
	run(t, pgBackend(t, dsn, "s", format), history("b/a", "b/b"), lineageA)
	data, _ := os.ReadFile(path + ".journal")
	lines := bytes.SplitAfter(data, []byte("\n"))
	damaged := bytes.Join(append(append([][]byte{}, lines[:2]...), lines[3:]...), nil) // record 3 dropped
	if err := os.WriteFile(path+".journal", damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := open(t, dsn, "s").Push(ctx, path, pgstate.TransferOptions{Force: true})
	var de *state.DamageError
	if !errors.As(err, &de) {
		t.Fatalf("push of a damaged journal: got %v, want a DamageError", err)
	}
	_, err = open(t, dsn, "s").Pull(ctx, path, pgstate.TransferOptions{})
	if err == nil || !strings.Contains(err.Error(), "cannot be read") {
		t.Fatalf("pull over a damaged journal: got %v, want a refusal", err)
	}
	if _, err := open(t, dsn, "s").Pull(ctx, path, pgstate.TransferOptions{Force: true}); err != nil {
		t.Fatalf("forced pull over a damaged journal: %v", err)
	}
	if b, _ := os.ReadFile(path + ".journal"); !bytes.Equal(b, data) {
		t.Error("the forced pull did not restore the journal")
	}
}
