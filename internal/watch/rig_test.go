package watch

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/payctl/payctl/internal/daemon"
	"github.com/payctl/payctl/internal/workspace"
	fakeemu "github.com/payctl/payctl/providers/fake/emulator"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
)

// fakeClock is a Clock that moves only when a test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

// rig is a running watcher on a temporary folder, paying through a fake
// provider over HTTP that never deduplicates (a double payment shows in
// its ledger).
type rig struct {
	t       testing.TB
	root    string // holds payctl.yaml and the state
	dir     string // the watched folder
	stage   string // where files are written before being renamed in
	ledger  *fakeemu.Ledger
	ws      *workspace.Workspace
	gate    *daemon.Gate
	w       *Watcher
	reg     *prometheus.Registry
	cancel  context.CancelFunc
	stopped chan struct{}

	mu       sync.Mutex
	finished []Finished
	notify   chan struct{}
}

type rigOptions struct {
	policy string // policy.autoApply body; "" for the default
	opts   func(*Options)
	noRun  bool
}

const defaultPolicy = `    providers: [fk]
    maxPayout: {IDR: "1000000"}
    maxBatchTotal: {IDR: "5000000"}
`

func newRig(t testing.TB, ro rigOptions) *rig {
	t.Helper()
	l := fakeemu.NewLedger()
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	root := t.TempDir()
	policy := ro.policy
	if policy == "" {
		policy = defaultPolicy
	}
	cfg := fmt.Sprintf(`state: payctl.state.json
providers:
  fk:
    type: fake
    baseURL: %s
    concurrency: 4
    timeout: 5s
    lookupGrace: 1ms
policy:
  maxPayout: {IDR: "9000000"}
  autoApply:
%s`, srv.URL, policy)
	writeFile(t, filepath.Join(root, "payctl.yaml"), cfg)
	ws, err := workspace.Load(filepath.Join(root, "payctl.yaml"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.CreateState = true // the first session starts the state, as apply -init does
	t.Cleanup(func() { ws.Close() })
	r := &rig{
		t: t, root: root, dir: filepath.Join(root, "drop"), stage: filepath.Join(root, "stage"),
		ledger: l, ws: ws, reg: prometheus.NewRegistry(), notify: make(chan struct{}, 1),
	}
	if err := os.MkdirAll(r.stage, 0o700); err != nil {
		t.Fatal(err)
	}
	r.gate = daemon.NewGate(ws, daemon.GateOptions{LockWait: 20 * time.Millisecond, Registerer: r.reg})
	o := Options{
		Dir: r.dir, Gate: r.gate, Registerer: r.reg, Quiet: time.Second, Rescan: time.Hour,
		RetryEvery: 10 * time.Millisecond,
		Finished: func(f Finished) {
			r.mu.Lock()
			r.finished = append(r.finished, f)
			r.mu.Unlock()
			select {
			case r.notify <- struct{}{}:
			default:
			}
		},
	}
	if ro.opts != nil {
		ro.opts(&o)
	}
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	r.w = w
	if !ro.noRun {
		r.start()
	}
	return r
}

func (r *rig) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.stopped = cancel, make(chan struct{})
	go func() {
		defer close(r.stopped)
		if err := r.w.Run(ctx); err != nil {
			r.t.Errorf("watch: %v", err)
		}
	}()
	// Run watches inbox before it lists it; wait until it does.
	r.waitFor("the watcher to start", func() bool { return r.w.running.Load() })
	r.t.Cleanup(r.stop)
}

func (r *rig) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.stopped
		r.cancel = nil
	}
}

func writeFile(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// batchYAML returns a batch of n payouts of amount each; accounts ending in
// 0000 fail at the fake provider.
func batchYAML(batch string, n int, amount string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: payctl/v1\nkind: PayoutBatch\nmetadata:\n  name: %s\nspec:\n  provider: fk\n  currency: IDR\n  payouts:\n", batch)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "    - {id: p%04d, amount: \"%s\", recipient: {name: Person %d, bankCode: \"014\", account: \"9%07d7\"}}\n", i, amount, i, i)
	}
	return b.String()
}

// drop writes a file in the staging folder and renames it into inbox, as
// the README recommends.
func (r *rig) drop(name, content string) {
	r.t.Helper()
	tmp := filepath.Join(r.stage, name)
	writeFile(r.t, tmp, content)
	if err := os.Rename(tmp, filepath.Join(r.dir, Inbox, name)); err != nil {
		r.t.Fatal(err)
	}
}

// waitFinished waits until n files have finished in total.
func (r *rig) waitFinished(n int) []Finished {
	r.t.Helper()
	// A bound on a hang, not a measure of speed: a loaded machine takes
	// its time over thousands of files.
	deadline := time.After(max(60*time.Second, time.Duration(n)*100*time.Millisecond))
	for {
		r.mu.Lock()
		got := append([]Finished(nil), r.finished...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			r.t.Fatalf("waited for %d files to finish; %d did", n, len(got))
		}
	}
}

func (r *rig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (r *rig) finishedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.finished)
}

// list returns the names in a folder of the watched directory, sorted.
func (r *rig) list(folder string) []string {
	r.t.Helper()
	entries, err := os.ReadDir(filepath.Join(r.dir, folder))
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func (r *rig) read(folder, name string) string {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, folder, name))
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

// snapshot reads the state as a reader would.
func (r *rig) snapshot() *state.Snapshot {
	r.t.Helper()
	st, err := state.Open(context.Background(), localstate.New(filepath.Join(r.root, "payctl.state.json"), nil, nil), state.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	return st.Snapshot()
}

// paidOnce checks the fake provider's books: every address in want paid
// exactly once, and nothing else paid.
func (r *rig) paidOnce(want []string) {
	r.t.Helper()
	count := map[string]int{}
	for _, p := range r.ledger.Payments() {
		count[p.Address]++
	}
	for _, a := range want {
		if count[a] != 1 {
			r.t.Errorf("%s paid %d times, want 1", a, count[a])
		}
		delete(count, a)
	}
	for a, n := range count {
		r.t.Errorf("%s paid %d times, want 0", a, n)
	}
}

func addresses(batch string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/p%04d", batch, i)
	}
	return out
}
