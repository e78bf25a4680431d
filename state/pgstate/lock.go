package pgstate

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payctl/payctl/state"
)

// lockKey is the advisory lock key of a state: a hash of its name, so the
// lock exists before the state's row does and two states never share one.
func lockKey(name string) int64 {
	sum := sha256.Sum256([]byte("payctl state\x00" + name))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// lockHalves are how pg_locks shows a bigint advisory key: its high and low
// 32 bits as classid and objid, with objsubid 1.
func lockHalves(key int64) (hi, lo int64) {
	u := uint64(key)
	return int64(u >> 32), int64(u & 0xffffffff)
}

// closeTimeout bounds the statements of Unlock, which runs after the
// command's context may be gone.
const closeTimeout = 15 * time.Second

// holderWait bounds how long a refused writer waits for the holder's info
// row to appear: the holder writes it right after taking the lock.
const holderWait = 2 * time.Second

// Lock takes the state's writer lock: a session advisory lock on a
// dedicated connection, held until Unlock or until the session ends (a
// crashed holder's lock goes with its connection). It waits up to wait for
// a live holder; a refused writer gets a *state.LockedError naming the
// holder.
func (b *Backend) Lock(ctx context.Context, op string, wait time.Duration) (state.LockInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lock != nil {
		return state.LockInfo{}, fmt.Errorf("%s: this process already holds the lock", b.Describe())
	}
	conn, err := b.connect(ctx, "payctl "+op)
	if err != nil {
		return state.LockInfo{}, err
	}
	fail := func(err error) (state.LockInfo, error) {
		conn.Close(context.Background())
		return state.LockInfo{}, err
	}
	if _, err := conn.Exec(ctx, `INSERT INTO payctl_states (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, b.name); err != nil {
		return fail(b.wrap("create the state's row", err))
	}
	key := lockKey(b.name)
	for try := 0; ; try++ {
		got, err := b.acquire(ctx, conn, key, wait)
		if err != nil {
			return fail(err)
		}
		if got {
			break
		}
		holder, held := b.holder(ctx, conn)
		if !held && try < 3 {
			// The holder let go between our attempt and our look: try
			// again rather than report a lock nobody holds.
			wait = 0
			continue
		}
		return fail(&state.LockedError{State: b.Describe(), Holder: holder})
	}
	if prev, ok, _ := readLockRow(ctx, conn, b.name); ok {
		// We hold the lock, so the session that wrote this row is gone.
		b.logger.Warn("taking over a lock left by a payctl whose database session ended", "state", b.Describe(), "holder", prev.String())
	}
	// Postgres keeps timestamps to the microsecond.
	info := state.NewLockInfo(op, b.now().Truncate(time.Microsecond))
	_, err = conn.Exec(ctx, `INSERT INTO payctl_locks (state, id, who, host, pid, operation, since, backend_pid)
		VALUES ($1, $2, $3, $4, $5, $6, $7, pg_backend_pid())
		ON CONFLICT (state) DO UPDATE SET id = EXCLUDED.id, who = EXCLUDED.who, host = EXCLUDED.host,
			pid = EXCLUDED.pid, operation = EXCLUDED.operation, since = EXCLUDED.since, backend_pid = EXCLUDED.backend_pid`,
		b.name, info.ID, info.Who, info.Host, info.PID, info.Operation, info.Since)
	if err != nil {
		return fail(b.wrap("record the lock's holder", err))
	}
	b.lock, b.info = conn, &info
	b.payouts, b.groups = nil, nil
	return info, nil
}

// acquire takes the advisory lock on conn, waiting up to wait.
func (b *Backend) acquire(ctx context.Context, conn *pgx.Conn, key int64, wait time.Duration) (bool, error) {
	if wait <= 0 {
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
			return false, b.wrap("take the lock", err)
		}
		return got, nil
	}
	// The server queues waiters and lock_timeout bounds the wait: the lock
	// passes on the moment its holder lets go, without polling.
	if _, err := conn.Exec(ctx, fmt.Sprintf("SET lock_timeout = %d", max(wait.Milliseconds(), 1))); err != nil {
		return false, b.wrap("take the lock", err)
	}
	_, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key)
	got := err == nil
	var pe *pgconn.PgError
	switch {
	case err == nil:
	case errors.As(err, &pe) && pe.Code == "55P03": // lock_not_available
	case ctx.Err() != nil:
		return false, ctx.Err()
	default:
		return false, b.wrap("take the lock", err)
	}
	if _, err := conn.Exec(ctx, `SET lock_timeout = 0`); err != nil {
		return false, b.wrap("take the lock", err)
	}
	return got, nil
}

type lockRow struct {
	state.LockInfo
	backendPID int32
	live       bool // the row's session holds the advisory lock now
}

func readLockRow(ctx context.Context, conn *pgx.Conn, name string) (lockRow, bool, error) {
	hi, lo := lockHalves(lockKey(name))
	var r lockRow
	var pid int32
	err := conn.QueryRow(ctx, `SELECT l.id, l.who, l.host, l.pid, l.operation, l.since, l.backend_pid,
			EXISTS (SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted
				AND k.pid = l.backend_pid AND k.classid = $2::bigint::oid AND k.objid = $3::bigint::oid AND k.objsubid = 1)
		FROM payctl_locks l WHERE l.state = $1`, name, hi, lo).
		Scan(&r.ID, &r.Who, &r.Host, &pid, &r.Operation, &r.Since, &r.backendPID, &r.live)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	r.PID = int(pid)
	return r, true, nil
}

// holder names the session holding name's lock, and says whether one
// does. Its row is written right after the lock is taken, so a refused
// writer waits briefly for a row that matches the session; failing that it
// names the session from pg_locks.
func (b *Backend) holder(ctx context.Context, conn *pgx.Conn) (state.LockInfo, bool) {
	hi, lo := lockHalves(lockKey(b.name))
	unknown := state.LockInfo{Who: "unknown", Host: "unknown", Operation: "unknown"}
	deadline := time.Now().Add(holderWait)
	for {
		r, ok, err := readLockRow(ctx, conn, b.name)
		if err != nil {
			return unknown, true
		}
		if ok && r.live {
			return r.LockInfo, true
		}
		var pid int32
		var addr, app *string
		var since *time.Time
		err = conn.QueryRow(ctx, `SELECT k.pid, host(a.client_addr), a.application_name, a.backend_start
			FROM pg_locks k LEFT JOIN pg_stat_activity a ON a.pid = k.pid
			WHERE k.locktype = 'advisory' AND k.granted AND k.classid = $1::bigint::oid AND k.objid = $2::bigint::oid AND k.objsubid = 1`, hi, lo).
			Scan(&pid, &addr, &app, &since)
		if errors.Is(err, pgx.ErrNoRows) {
			return unknown, false
		}
		if err != nil || time.Now().After(deadline) {
			// A session holds the lock without having said who it is:
			// name the session as the server sees it.
			info := unknown
			info.ID = fmt.Sprintf("session %d", pid)
			if addr != nil && *addr != "" {
				info.Host = *addr
			}
			if app != nil && *app != "" {
				info.Operation = *app
			}
			if since != nil {
				info.Since = *since
			}
			return info, true
		}
		select {
		case <-ctx.Done():
			return unknown, true
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Unlock releases the lock: it clears the holder's row first, so nobody
// reads a released lock as held, then ends the session.
func (b *Backend) Unlock() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lock == nil {
		return nil
	}
	conn, info := b.lock, b.info
	b.lock, b.info, b.payouts, b.groups, b.head = nil, nil, nil, nil, head{}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	var err error
	if !conn.IsClosed() {
		_, err = conn.Exec(ctx, `DELETE FROM payctl_locks WHERE state = $1 AND id = $2`, b.name, info.ID)
		if err == nil {
			_, err = conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, lockKey(b.name))
		}
	}
	cerr := conn.Close(ctx)
	if err != nil && !conn.IsClosed() {
		return b.wrap("release the lock", err)
	}
	if err != nil {
		// The session is gone, and with it the lock; a stale row is
		// recognised as such by the next writer.
		return nil
	}
	return b.wrap("release the lock", cerr)
}

// ForceUnlock clears the holder row of a lock whose session has ended. A
// lock held by a live session cannot be broken from here: the server drops
// a vanished client's session (and its lock) by itself within about a
// minute, and ending a live one is a database administrator's decision.
func (b *Backend) ForceUnlock(ctx context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	conn, err := b.reader(ctx)
	if err != nil {
		return err
	}
	r, ok, err := readLockRow(ctx, conn, b.name)
	if err != nil {
		return b.wrap("read the lock", err)
	}
	if !ok {
		return fmt.Errorf("%s is not locked", b.Describe())
	}
	if r.ID != id {
		return fmt.Errorf("%w: the lock is %s", state.ErrLockMismatch, r.LockInfo)
	}
	if r.live {
		return fmt.Errorf("%s is held by a live database session (backend pid %d): %s; if that payctl is gone, the server ends its session within about a minute; to end it now, a database administrator can run SELECT pg_terminate_backend(%d)", b.Describe(), r.backendPID, r.LockInfo, r.backendPID)
	}
	_, err = conn.Exec(ctx, `DELETE FROM payctl_locks WHERE state = $1 AND id = $2`, b.name, id)
	return b.wrap("clear the lock", err)
}

// LockHolder reads who holds the lock, if anyone does.
func (b *Backend) LockHolder(ctx context.Context) (state.LockInfo, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	conn, err := b.reader(ctx)
	if err != nil {
		return state.LockInfo{}, false, err
	}
	r, ok, err := readLockRow(ctx, conn, b.name)
	if err != nil {
		return state.LockInfo{}, false, b.wrap("read the lock", err)
	}
	return r.LockInfo, ok && r.live, nil
}
