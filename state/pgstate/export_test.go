package pgstate

import (
	"context"
	"io/fs"
)

// MigrateFS migrates with the migrations of fsys instead of the embedded
// ones, so tests can upgrade through versions this payctl does not ship.
func (b *Backend) MigrateFS(ctx context.Context, fsys fs.FS) (from, to int, err error) {
	ms, err := migrationsOf(fsys)
	if err != nil {
		return 0, 0, err
	}
	return b.migrate(ctx, ms)
}

// MigrationsOf checks a migrations directory.
func MigrationsOf(fsys fs.FS) (int, error) {
	ms, err := migrationsOf(fsys)
	return len(ms), err
}

// LockKey is a state's advisory lock key.
var LockKey = lockKey

// Setting shows a run-time setting of a session payctl opens.
func (b *Backend) Setting(ctx context.Context, name string) (string, error) {
	conn, err := b.dial(ctx, "payctl test")
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var v string
	err = conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v)
	return v, err
}
