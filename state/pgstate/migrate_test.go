package pgstate_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/pgstate"
	"github.com/payctl/payctl/state/pgstate/pgtest"
	"github.com/payctl/payctl/state/statefile"
	"github.com/payctl/payctl/state/statetest"
)

func TestMigrateFresh(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	b := open(t, dsn, "s")
	_, err := state.Open(ctx, b, state.Options{})
	var se *pgstate.SchemaError
	if !errors.As(err, &se) || se.Have != 0 || !strings.Contains(err.Error(), "payctl state migrate-schema") {
		t.Fatalf("open before migrating: got %v, want a SchemaError saying to run migrate-schema", err)
	}
	from, to, err := b.Migrate(ctx)
	if err != nil || from != 0 || to != pgstate.SchemaVersion {
		t.Fatalf("first migration: got %d -> %d (%v), want 0 -> %d", from, to, err, pgstate.SchemaVersion)
	}
	from, to, err = b.Migrate(ctx)
	if err != nil || from != pgstate.SchemaVersion || to != pgstate.SchemaVersion {
		t.Fatalf("second migration: got %d -> %d (%v), want nothing to do", from, to, err)
	}
	s := statetest.OpenWriter(t, b)
	defer s.Close()
	if err := s.Record(ctx, statetest.Intent("b/a", 1, "10")); err != nil {
		t.Fatalf("record after migrating: %v", err)
	}
}

// migrations are the shipped migrations and extra ones.
func migrations(t *testing.T, extra map[string]string) fstest.MapFS {
	shipped, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(shipped) == 0 {
		t.Fatalf("shipped migrations: %v %v", shipped, err)
	}
	fsys := fstest.MapFS{}
	for _, f := range shipped {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fsys[filepath.Base(f)] = &fstest.MapFile{Data: data}
	}
	for name, sql := range extra {
		fsys[name] = &fstest.MapFile{Data: []byte(sql)}
	}
	return fsys
}

// An upgrade keeps the data; a database upgraded beyond what this payctl
// knows is refused, by commands and by migrate-schema alike.
func TestMigrateUpgradeAndNewerRefused(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	b := open(t, dsn, "s")
	if _, _, err := b.MigrateFS(ctx, migrations(t, nil)); err != nil {
		t.Fatal(err)
	}
	s := statetest.OpenWriter(t, b)
	if err := s.Record(ctx, statetest.Intent("b/a", 1, "10"), statetest.Outcome("b/a", 1, providers.StatusPaid, "1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	want := string(statefile.SnapshotBytes(s.Snapshot()))
	s.Close()

	next := migrations(t, map[string]string{
		fmt.Sprintf("%04d_note.sql", pgstate.SchemaVersion+1): "ALTER TABLE payctl_states ADD COLUMN note text NOT NULL DEFAULT 'next';",
	})
	from, to, err := open(t, dsn, "s").MigrateFS(ctx, next)
	if err != nil || from != pgstate.SchemaVersion || to != pgstate.SchemaVersion+1 {
		t.Fatalf("upgrade: got %d -> %d (%v), want %d -> %d", from, to, err, pgstate.SchemaVersion, pgstate.SchemaVersion+1)
	}
	admin := pgtest.Conn(t, dsn)
	var note string
	var records int
	if err := admin.QueryRow(ctx, `SELECT note, (SELECT count(*) FROM payctl_journal WHERE state = 's') FROM payctl_states WHERE name = 's'`).Scan(&note, &records); err != nil {
		t.Fatal(err)
	}
	// create, intent and the checkpoint after it
	if note != "next" || records != 4 {
		t.Errorf("after the upgrade: got note %q and %d records, want next and 4", note, records)
	}
	// This payctl does not know the next version: it must not touch it.
	_, err = state.Open(ctx, open(t, dsn, "s"), state.Options{})
	if !errors.Is(err, pgstate.ErrNewerSchema) || !strings.Contains(err.Error(), "upgrade payctl") {
		t.Fatalf("open of a newer schema: got %v, want ErrNewerSchema", err)
	}
	if _, _, err := open(t, dsn, "s").Migrate(ctx); !errors.Is(err, pgstate.ErrNewerSchema) {
		t.Fatalf("migrate-schema of a newer schema: got %v, want ErrNewerSchema", err)
	}
	// The data is untouched by the refusals.
	if _, err := admin.Exec(ctx, `DELETE FROM payctl_schema_migrations WHERE version = $1`, pgstate.SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	r, err := state.Open(ctx, open(t, dsn, "s"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(statefile.SnapshotBytes(r.Snapshot())); got != want {
		t.Errorf("snapshot after the upgrade:\ngot  %s\nwant %s", got, want)
	}
}

func TestSchemaErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		have, want int
		says       string
		newer      bool
	}{
		{"no tables", 0, 2, "has no payctl tables yet: run `payctl state migrate-schema`", false},
		{"older", 1, 2, "is version 1 and this payctl needs version 2: run `payctl state migrate-schema`", false},
		{"newer", 3, 2, "is version 3, newer than this payctl knows (up to 2): upgrade payctl", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := &pgstate.SchemaError{State: "postgres:s", Have: tc.have, Want: tc.want}
			if msg := err.Error(); !strings.HasPrefix(msg, "postgres:s: ") || !strings.Contains(msg, tc.says) {
				t.Errorf("message: got %q, want it to say %q", msg, tc.says)
			}
			if got := errors.Is(err, pgstate.ErrNewerSchema); got != tc.newer {
				t.Errorf("errors.Is(ErrNewerSchema): got %v, want %v", got, tc.newer)
			}
		})
	}
}

func TestMigrationsDirectory(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // error substring; "" for none
		n     int
	}{
		{"numbered from 1", map[string]string{"0001_a.sql": "", "0002_b.sql": ""}, "", 2},
		{"other files ignored", map[string]string{"0001_a.sql": "", "README.md": ""}, "", 1},
		{"gap", map[string]string{"0001_a.sql": "", "0003_c.sql": ""}, "expected version 2", 0},
		{"no name", map[string]string{"0001.sql": ""}, "not NNNN_name.sql", 0},
		{"not a number", map[string]string{"one_a.sql": ""}, "not NNNN_name.sql", 0},
		{"zero", map[string]string{"0000_a.sql": ""}, "not NNNN_name.sql", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for n, s := range tc.files {
				fsys[n] = &fstest.MapFile{Data: []byte(s)}
			}
			n, err := pgstate.MigrationsOf(fsys)
			if tc.want == "" {
				if err != nil || n != tc.n {
					t.Fatalf("got %d migrations (%v), want %d", n, err, tc.n)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// The shipped migrations are numbered correctly and the schema version
// is their count.
func TestShippedMigrations(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{}
	for _, e := range entries {
		data, err := os.ReadFile("migrations/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		fsys[e.Name()] = &fstest.MapFile{Data: data}
	}
	n, err := pgstate.MigrationsOf(fsys)
	if err != nil || n != pgstate.SchemaVersion {
		t.Fatalf("got %d migrations (%v), want %d", n, err, pgstate.SchemaVersion)
	}
}
