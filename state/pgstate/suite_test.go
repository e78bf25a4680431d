package pgstate_test

import (
	"context"
	"testing"

	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/pgstate"
	"github.com/payctl/payctl/state/pgstate/pgtest"
	"github.com/payctl/payctl/state/statetest"
)

var ctx = context.Background()

// fresh returns a DSN of an empty, migrated schema.
func fresh(t testing.TB) string {
	t.Helper()
	dsn := pgtest.Schema(t)
	b := open(t, dsn, "migrate")
	if _, _, err := b.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return dsn
}

// open returns a backend of the state name, closed when t ends.
func open(t testing.TB, dsn, name string) *pgstate.Backend {
	t.Helper()
	return openFormat(t, dsn, name, 0)
}

// openFormat is open creating a new state in format (0: segmented).
func openFormat(t testing.TB, dsn, name string, format int) *pgstate.Backend {
	t.Helper()
	b, err := pgstate.New(pgstate.Options{DSN: dsn, DSNEnv: "PAYCTL_TEST_PG", Name: name, Format: format})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestSuite holds the PostgreSQL backend to the same suite as the local
// file backend.
func TestSuite(t *testing.T) {
	t.Parallel()
	statetest.Run(t, func(t *testing.T) statetest.Harness {
		dsn := fresh(t)
		return statetest.Harness{Open: func(t *testing.T) state.Backend {
			return open(t, dsn, "payouts-test")
		}}
	})
}
