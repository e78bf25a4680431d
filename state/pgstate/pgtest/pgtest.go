// Package pgtest gives tests a throwaway PostgreSQL schema of their own.
//
// Tests that need a server run when PAYCTL_TEST_PG holds the DSN of a
// throwaway database (`eval "$(.ci/postgres start)"` starts one and sets
// it), are skipped when it is unset, and fail when CI is set: CI must run
// them, never skip them.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env is the environment variable holding the test database's DSN.
const Env = "PAYCTL_TEST_PG"

// DSN returns the test database's DSN, skipping t (failing it under CI)
// when there is none.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(Env)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL tests; start a server with `eval \"$(.ci/postgres start)\"`", Env)
		}
		t.Skipf("%s is not set (the DSN of a throwaway database; `eval \"$(.ci/postgres start)\"` starts one)", Env)
	}
	return dsn
}

// Schema creates an empty schema for t, dropped when t ends, and returns a
// DSN whose sessions work in it, so tests running at once never meet.
func Schema(t testing.TB) string {
	t.Helper()
	dsn := DSN(t)
	var b [6]byte
	rand.Read(b[:])
	name := "payctl_test_" + hex.EncodeToString(b[:])
	conn := Conn(t, dsn)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		// A connection a failed test left open must not hang the cleanup.
		c.Exec(ctx, "SET lock_timeout = '5s'")
		c.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
	})
	return WithParam(dsn, "search_path", name)
}

// WithParam returns dsn with a run-time parameter set, in either DSN form.
func WithParam(dsn, key, value string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set(key, value)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " " + key + "=" + value
}

// Conn opens a connection to dsn, closed when t ends.
func Conn(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}
