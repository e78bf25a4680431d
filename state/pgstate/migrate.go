package pgstate

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

//go:embed migrations/*.sql
var embedded embed.FS

// migration is one numbered SQL file of migrations/: NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// migrationsOf reads the migrations of fsys (a directory of NNNN_name.sql
// files): numbered from 1 without gaps, so that a version number names
// exactly one schema.
func migrationsOf(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name is not NNNN_name.sql", e.Name())
		}
		data, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(data)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %04d_%s: expected version %d (versions are numbered from 1 without gaps)", m.version, m.name, i+1)
		}
	}
	return out, nil
}

var builtin = func() []migration {
	sub, err := fs.Sub(embedded, "migrations")
	if err != nil {
		panic(err)
	}
	ms, err := migrationsOf(sub)
	if err != nil {
		panic(err)
	}
	return ms
}()

// SchemaVersion is the schema version this payctl creates and needs.
var SchemaVersion = len(builtin)

// SchemaError says the database's payctl schema is not the one this payctl
// needs: absent, older (run migrate-schema) or newer (upgrade payctl).
type SchemaError struct {
	State string // the state, for messages
	Have  int    // the database's version (0: no payctl tables)
	Want  int    // this payctl's version
}

func (e *SchemaError) Error() string {
	switch {
	case e.Have == 0:
		return fmt.Sprintf("%s: the database has no payctl tables yet: run `payctl state migrate-schema` to create them", e.State)
	case e.Have < e.Want:
		return fmt.Sprintf("%s: the database's payctl schema is version %d and this payctl needs version %d: run `payctl state migrate-schema` to upgrade it", e.State, e.Have, e.Want)
	default:
		return fmt.Sprintf("%s: the database's payctl schema is version %d, newer than this payctl knows (up to %d): upgrade payctl; it will not write a schema it does not know", e.State, e.Have, e.Want)
	}
}

// ErrNewerSchema is matched by a SchemaError for a schema newer than this
// payctl knows.
var ErrNewerSchema = errors.New("payctl schema newer than this payctl")

// Is makes errors.Is(err, ErrNewerSchema) true for a newer schema.
func (e *SchemaError) Is(target error) bool {
	return target == ErrNewerSchema && e.Have > e.Want
}

// migrationsTable records which migrations ran. It is created by the
// migrator itself (not by a migration) so that a database's version can
// always be read.
const migrationsTable = `CREATE TABLE IF NOT EXISTS payctl_schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`

// migrateKey serialises concurrent migrate-schema runs (advisory lock key;
// a state's lock keys are hashes and practically never collide with it).
const migrateKey int64 = 0x7061796374_6c00 // "payctl\0"

// schemaVersion reads the database's payctl schema version (0 when there is
// none).
func schemaVersion(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int, error) {
	var v *int
	err := q.QueryRow(ctx, `SELECT max(version) FROM payctl_schema_migrations`).Scan(&v)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// migrate brings the schema up to the last of ms in one transaction: a
// failure leaves the schema as it was. It refuses a database whose schema
// is newer than ms.
func migrate(ctx context.Context, conn *pgx.Conn, describe string, ms []migration) (from, to int, err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateKey); err != nil {
		return 0, 0, err
	}
	if _, err := tx.Exec(ctx, migrationsTable); err != nil {
		return 0, 0, err
	}
	from, err = schemaVersion(ctx, tx)
	if err != nil {
		return 0, 0, err
	}
	if from > len(ms) {
		return from, from, &SchemaError{State: describe, Have: from, Want: len(ms)}
	}
	for _, m := range ms[from:] {
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return from, from, fmt.Errorf("migration %04d_%s.sql: %w", m.version, m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO payctl_schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return from, from, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return from, from, err
	}
	return from, len(ms), nil
}
