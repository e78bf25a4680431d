package main

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/payctl/payctl/apply"
	"github.com/payctl/payctl/internal/crash"
	fakeemu "github.com/payctl/payctl/providers/fake/emulator"
)

// rig is a fake provider over HTTP and a folder with payctl.yaml and a
// manifest of n payouts paying through it.
type rig struct {
	t      testing.TB
	dir    string
	ledger *fakeemu.Ledger
	n      int
}

func newRig(t testing.TB, n, conc int, grace time.Duration) *rig {
	l := fakeemu.NewLedger()
	l.Token = "fake-secret-token-7f3a"
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`state: payctl.state.json
providers:
  fk:
    type: fake
    baseURL: %s
    tokenEnv: FAKE_TOKEN
    concurrency: %d
    timeout: 2s
    lookupGrace: %s
`, srv.URL, conc, grace)
	var m strings.Builder
	m.WriteString("apiVersion: payctl/v1\nkind: PayoutBatch\nmetadata:\n  name: soak\nspec:\n  provider: fk\n  currency: IDR\n  payouts:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&m, "    - {id: p%04d, amount: \"%d\", recipient: {name: Person %d, bankCode: \"014\", account: \"9%07d7\"}}\n", i, 10000+i, i, i)
	}
	write(t, filepath.Join(dir, "payctl.yaml"), cfg)
	write(t, filepath.Join(dir, "batch.yaml"), m.String())
	initState(t, dir)
	return &rig{t: t, dir: dir, ledger: l, n: n}
}

// initState runs `payctl init` in dir (with extra environment) and pins
// the lineage it prints in dir/payctl.yaml, as a person would. It returns
// the state line that pins it.
func initState(t testing.TB, dir string, env ...string) string {
	t.Helper()
	cmd := exec.Command("payctl", "init")
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "PAYCTL_CONFIG="), env...)
	out, err := cmd.CombinedOutput()
	line := pinLine.FindString(string(out))
	if err != nil || line == "" {
		t.Fatalf("payctl init: %v\n%s", err, out)
	}
	pinConfig(t, dir, line)
	return line
}

// pinConfig puts line in place of dir/payctl.yaml's state line.
func pinConfig(t testing.TB, dir, line string) {
	t.Helper()
	path := filepath.Join(dir, "payctl.yaml")
	cfg, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out, done := []string{}, false
	for _, l := range strings.Split(string(cfg), "\n") {
		if strings.HasPrefix(l, "state:") {
			l, done = line, true
		}
		out = append(out, l)
	}
	if !done {
		out = append([]string{line}, out...)
	}
	write(t, path, strings.Join(out, "\n"))
}

func write(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// payctl starts payctl in the rig's folder with extra environment.
func (r *rig) payctl(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command("payctl", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "FAKE_TOKEN="+r.ledger.Token, "PAYCTL_CONFIG=")
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

func (r *rig) apply(env ...string) (string, error) {
	cmd := r.payctl(env, "apply", "-auto-approve", "batch.yaml")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func killedBySignal(err error) bool {
	ee, ok := err.(*exec.ExitError)
	if !ok {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// settle re-runs apply until everything is paid, as an operator would.
func (r *rig) settle() {
	r.t.Helper()
	var out string
	for i := 0; i < 40; i++ {
		var err error
		out, err = r.apply()
		if err == nil && strings.Contains(out, "Nothing to pay: 0 to pay, 0 to retry, "+fmt.Sprint(r.n)+" unchanged, 0 pending, 0 unknown") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatalf("apply did not settle:\n%s", out)
}

// check proves the exactly-once claim against the provider's own books:
// every address paid exactly once, and the state records exactly the
// provider's payments (ids and statuses).
func (r *rig) check() (duplicates, lost int) {
	r.t.Helper()
	want := make([]string, r.n)
	for i := range want {
		want[i] = fmt.Sprintf("soak/p%04d", i)
	}
	return checkLedger(r.t, openLocal(r.t, filepath.Join(r.dir, "payctl.state.json")), r.ledger, want)
}

// TestCrashPoints kills a real payctl apply at each named point of the
// protocol, then applies again until done: every address is paid exactly
// once by a provider that does not deduplicate, and the state matches its
// ledger.
func TestCrashPoints(t *testing.T) {
	var mu sync.Mutex
	var cases, payouts, dups, lost int
	t.Cleanup(func() {
		// Runs after every parallel case: the totals for the reliability run.
		fmt.Printf("reliability: kind=crash-points cases=%d kills=%d faults=0 payouts=%d duplicates=%d lost=%d\n", cases, cases, payouts, dups, lost)
	})
	for _, point := range crash.Points {
		hits := []int{1, 3}
		if strings.HasPrefix(point, "snapshot") || strings.HasPrefix(point, "segments") {
			hits = []int{1} // once per apply
		}
		for _, hit := range hits {
			t.Run(fmt.Sprintf("%s:%d", point, hit), func(t *testing.T) {
				t.Parallel()
				// More payouts than the intents recorded ahead of the
				// workers (apply.IntentWindow) plus the workers: intents
				// keep being written as workers free up, so every point
				// is reached a third time.
				r := newRig(t, 4*apply.IntentWindow, 2, 300*time.Millisecond)
				out, err := r.apply("PAYCTL_CRASH=" + fmt.Sprintf("%s:%d", point, hit))
				if !killedBySignal(err) {
					t.Fatalf("payctl was not killed at %s:%d (err %v):\n%s", point, hit, err, out)
				}
				r.settle()
				d, l := r.check()
				mu.Lock()
				cases, payouts, dups, lost = cases+1, payouts+r.n, dups+d, lost+l
				mu.Unlock()
				if d+l > 0 {
					t.Fatalf("%d duplicates, %d lost records", d, l)
				}
			})
		}
	}
}

// migrated starts the rig's state over in the single-file format, pays an
// early batch (a copy of batch.yaml under another name) in it, and
// migrates it to segments, as a team upgrading mid-history would. It
// returns the early batch's addresses.
func (r *rig) migrated(t *testing.T) []string {
	t.Helper()
	for _, f := range []string{"payctl.state.json", "payctl.state.json.journal", "payctl.state.json.accounts"} {
		os.Remove(filepath.Join(r.dir, f))
	}
	os.RemoveAll(filepath.Join(r.dir, "payctl.state.json.batches"))
	initState(t, r.dir, "PAYCTL_TEST_STATE_FORMAT=1")
	early := strings.Replace(strings.Replace(readFile(t, filepath.Join(r.dir, "batch.yaml")), "name: soak", "name: early", 1), "\"9", "\"8", -1)
	write(t, filepath.Join(r.dir, "early.yaml"), early)
	if out, err := r.payctl(nil, "apply", "-auto-approve", "early.yaml").CombinedOutput(); err != nil {
		t.Fatalf("apply early.yaml: %v\n%s", err, out)
	}
	if data := readFile(t, filepath.Join(r.dir, "payctl.state.json")); !strings.Contains(data, `"version": 1`) {
		t.Fatalf("not a single-file state:\n%s", data)
	}
	if out, err := r.payctl(nil, "state", "migrate").CombinedOutput(); err != nil {
		t.Fatalf("state migrate: %v\n%s", err, out)
	}
	var addrs []string
	for i := 0; i < r.n; i++ {
		addrs = append(addrs, fmt.Sprintf("early/p%04d", i))
	}
	return addrs
}

// checkAlso is check, with more addresses that must be paid once.
func (r *rig) checkAlso(also []string) (duplicates, lost int) {
	r.t.Helper()
	want := append([]string(nil), also...)
	for i := 0; i < r.n; i++ {
		want = append(want, fmt.Sprintf("soak/p%04d", i))
	}
	return checkLedger(r.t, openLocal(r.t, filepath.Join(r.dir, "payctl.state.json")), r.ledger, want)
}

// TestCrashPointsMigrated is TestCrashPoints on a state that began in the
// single-file format, paid a batch, and was migrated to segments: the
// history from before the migration is paid once too.
func TestCrashPointsMigrated(t *testing.T) {
	var mu sync.Mutex
	var cases, payouts, dups, lost int
	t.Cleanup(func() {
		fmt.Printf("reliability: kind=crash-points-migrated cases=%d kills=%d faults=0 payouts=%d duplicates=%d lost=%d\n", cases, cases, payouts, dups, lost)
	})
	for _, point := range crash.Points {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, 8, 2, 300*time.Millisecond)
			early := r.migrated(t)
			out, err := r.apply("PAYCTL_CRASH=" + point + ":1")
			if !killedBySignal(err) {
				t.Fatalf("payctl was not killed at %s (err %v):\n%s", point, err, out)
			}
			r.settle()
			d, l := r.checkAlso(early)
			mu.Lock()
			cases, payouts, dups, lost = cases+1, payouts+2*r.n, dups+d, lost+l
			mu.Unlock()
			if d+l > 0 {
				t.Fatalf("%d duplicates, %d lost records", d, l)
			}
		})
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
