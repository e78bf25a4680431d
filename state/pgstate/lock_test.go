package pgstate_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/pgstate"
	"github.com/payctl/payctl/state/pgstate/pgtest"
	"github.com/payctl/payctl/state/statetest"
)

// TestMain lets the test binary double as a lock holder in its own
// process, so a test can kill it with SIGKILL as a crash would.
func TestMain(m *testing.M) {
	if os.Getenv("PGSTATE_HOLD_DSN") != "" {
		holdLock()
		return
	}
	os.Exit(m.Run())
}

// holdLock takes the lock of PGSTATE_HOLD_NAME, prints its ID and blocks
// until killed (or stdin closes).
func holdLock() {
	b, err := pgstate.New(pgstate.Options{DSN: os.Getenv("PGSTATE_HOLD_DSN"), Name: os.Getenv("PGSTATE_HOLD_NAME")})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	info, err := b.Lock(ctx, "apply", 0)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked", info.ID)
	bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}

// holder is a lock holder in another process.
type holder struct {
	cmd *exec.Cmd
	id  string
}

func startHolder(t *testing.T, dsn, name string) *holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PGSTATE_HOLD_DSN="+dsn, "PGSTATE_HOLD_NAME="+name)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	id, ok := strings.CutPrefix(strings.TrimSpace(line), "locked ")
	if err != nil || !ok {
		t.Fatalf("lock holder: got %q (%v), want \"locked ID\"", line, err)
	}
	return &holder{cmd: cmd, id: id}
}

func (h *holder) kill(t *testing.T) {
	t.Helper()
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	h.cmd.Wait()
}

// A killed holder's lock disappears with its database session; until then
// a second writer is refused at once with the holder named.
func TestKilledHolderLockDisappears(t *testing.T) {
	t.Parallel()
	dsn := fresh(t)
	h := startHolder(t, dsn, "s")

	b := open(t, dsn, "s")
	_, err := b.Lock(ctx, "apply", 0)
	var le *state.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second writer: got %v, want a LockedError", err)
	}
	host, _ := os.Hostname()
	if le.Holder.PID != h.cmd.Process.Pid || le.Holder.Host != host || le.Holder.Operation != "apply" || le.Holder.ID != h.id || le.Holder.Since.IsZero() {
		t.Errorf("holder: got %+v, want pid %d on %s, operation apply, id %s", le.Holder, h.cmd.Process.Pid, host, h.id)
	}
	if msg := err.Error(); !strings.Contains(msg, "postgres:s is locked by") || !strings.Contains(msg, fmt.Sprintf("pid %d", h.cmd.Process.Pid)) {
		t.Errorf("message: got %q, want the state and the holder's pid", msg)
	}

	h.kill(t)
	// The server notices the closed connection at once, but ends the
	// session asynchronously: wait for it as a writer would.
	info, err := b.Lock(ctx, "apply", 10*time.Second)
	if err != nil {
		t.Fatalf("lock after the holder was killed: %v", err)
	}
	got, held, err := b.LockHolder(ctx)
	if err != nil || !held || got.ID != info.ID {
		t.Errorf("lock holder after takeover: got %+v held=%v (%v), want %s", got, held, err, info.ID)
	}
}

func TestLockWait(t *testing.T) {
	t.Parallel()
	dsn := fresh(t)
	a := open(t, dsn, "s")
	if _, err := a.Lock(ctx, "apply", 0); err != nil {
		t.Fatal(err)
	}
	// A waiter gets the lock when the holder lets go.
	got := make(chan error, 1)
	go func() {
		_, err := open(t, dsn, "s").Lock(ctx, "refresh", 30*time.Second)
		got <- err
	}()
	if err := a.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiting writer: %v", err)
	}
	// A waiter whose wait runs out is refused with the holder named.
	_, err := open(t, dsn, "s").Lock(ctx, "apply", 50*time.Millisecond)
	var le *state.LockedError
	if !errors.As(err, &le) || le.Holder.Operation != "refresh" {
		t.Fatalf("writer after its wait: got %v, want a LockedError naming refresh", err)
	}
	// Other states are not affected.
	if _, err := open(t, dsn, "other").Lock(ctx, "apply", 0); err != nil {
		t.Fatalf("lock of another state: %v", err)
	}
}

func TestForceUnlock(t *testing.T) {
	t.Parallel()
	dsn := fresh(t)
	h := startHolder(t, dsn, "s")
	b := open(t, dsn, "s")

	err := b.ForceUnlock(ctx, h.id)
	if err == nil || !strings.Contains(err.Error(), "live database session") {
		t.Fatalf("unlock of a live holder: got %v, want a refusal", err)
	}
	if err := b.ForceUnlock(ctx, "not-the-id"); !errors.Is(err, state.ErrLockMismatch) {
		t.Fatalf("unlock with a wrong ID: got %v, want ErrLockMismatch", err)
	}
	h.kill(t)
	// Once the session is gone its row is stale and may be cleared.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err = b.ForceUnlock(ctx, h.id)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("unlock after the holder died: %v", err)
	}
	if err := b.ForceUnlock(ctx, h.id); err == nil || !strings.Contains(err.Error(), "is not locked") {
		t.Fatalf("second unlock: got %v, want \"is not locked\"", err)
	}
}

// A writer whose session ended (killed by an administrator, a network
// cut) has lost its lock: it must not write another record, even after a
// second writer took over.
func TestLostSessionCannotWrite(t *testing.T) {
	t.Parallel()
	dsn := fresh(t)
	a := statetest.OpenWriter(t, open(t, dsn, "s"))
	defer a.Close()
	if err := a.Record(ctx, statetest.Intent("b/a", 1, "10")); err != nil {
		t.Fatal(err)
	}
	admin := pgtest.Conn(t, dsn)
	var pid int32
	if err := admin.QueryRow(ctx, `SELECT backend_pid FROM payctl_locks WHERE state = 's'`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	b, err := state.Open(ctx, open(t, dsn, "s"), state.Options{Write: true, Op: "apply", LockWait: 10 * time.Second})
	if err != nil {
		t.Fatalf("second writer after the first lost its session: %v", err)
	}
	defer b.Close()
	if err := b.Record(ctx, statetest.Outcome("b/a", 1, providers.StatusPaid, "x1")); err != nil {
		t.Fatal(err)
	}
	if err := a.Record(ctx, statetest.Outcome("b/a", 1, providers.StatusFailed, "")); !errors.Is(err, state.ErrBroken) {
		t.Fatalf("record by the writer that lost its lock: got %v, want ErrBroken", err)
	}
	r, err := state.Open(ctx, open(t, dsn, "s"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := r.Snapshot().Payouts["b/a"]; p == nil || p.Status != providers.StatusPaid || r.Snapshot().Serial != 3 {
		t.Fatalf("state: got %+v at serial %d, want b/a paid at serial 3", p, r.Snapshot().Serial)
	}
}
