package main

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	fakeemu "github.com/payctl/payctl/providers/fake/emulator"
)

var (
	watchKillFiles = flag.Int("watch.kill.files", 200, "files in TestWatchKill9")
	watchKills     = flag.Int("watch.kill.kills", 15, "kill -9s in TestWatchKill9")
	watchKillSeed  = flag.Uint64("watch.kill.seed", 1, "seed of TestWatchKill9's kill timings")
)

// dropRig is a folder with payctl.yaml paying through a fake provider over
// HTTP (it never deduplicates, so a double payment shows in its ledger),
// and a drop folder for real `payctl watch` processes.
type dropRig struct {
	t      testing.TB
	root   string
	ledger *fakeemu.Ledger
}

func newDropRig(t testing.TB, extra string) *dropRig {
	l := fakeemu.NewLedger()
	l.Token = "fake-secret-token-9d2e"
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	r := &dropRig{t: t, root: t.TempDir(), ledger: l}
	cfg := fmt.Sprintf(`state: payctl.state.json
providers:
  fk:
    type: fake
    baseURL: %s
    tokenEnv: FAKE_TOKEN
    concurrency: 4
    timeout: 2s
    lookupGrace: 200ms
policy:
  autoApply:
    providers: [fk]
    maxPayout: {IDR: "1000000"}
%s`, srv.URL, extra)
	r.write("payctl.yaml", cfg)
	initState(t, r.root)
	if err := os.MkdirAll(filepath.Join(r.root, "stage"), 0o700); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *dropRig) write(name, s string) {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.root, name), []byte(s), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

func (r *dropRig) payctl(args ...string) *exec.Cmd {
	cmd := exec.Command("payctl", args...)
	cmd.Dir = r.root
	cmd.Env = append(os.Environ(), "FAKE_TOKEN="+r.ledger.Token, "PAYCTL_CONFIG=", "PAYCTL_LOG=warn")
	return cmd
}

// stage writes batch files of n payouts each into stage/.
func (r *dropRig) stage(files, n int, amount string) []string {
	var names []string
	for f := 0; f < files; f++ {
		var m strings.Builder
		fmt.Fprintf(&m, "apiVersion: payctl/v1\nkind: PayoutBatch\nmetadata:\n  name: b%04d\nspec:\n  provider: fk\n  currency: IDR\n  payouts:\n", f)
		for i := 0; i < n; i++ {
			fmt.Fprintf(&m, "    - {id: p%d, amount: \"%s\", recipient: {name: Person %d, bankCode: \"014\", account: \"7%04d%03d1\"}}\n", i, amount, i, f, i)
		}
		name := fmt.Sprintf("f%04d.yaml", f)
		r.write(filepath.Join("stage", name), m.String())
		names = append(names, name)
	}
	return names
}

// toCSV rewrites every nth staged YAML batch as a CSV file with a header
// block, as a finance team would drop it, and returns the new names.
func (r *dropRig) toCSV(names []string, nth int) []string {
	r.t.Helper()
	row := regexp.MustCompile(`\{id: (\w+), amount: "(\d+)", recipient: \{name: ([^,]+), bankCode: "(\d+)", account: "(\d+)"\}\}`)
	out := append([]string(nil), names...)
	for i, n := range names {
		if i%nth != 1 || !strings.HasPrefix(n, "f") {
			continue
		}
		y := string(must(os.ReadFile(filepath.Join(r.root, "stage", n))))
		batch := regexp.MustCompile(`name: (\S+)`).FindStringSubmatch(y)[1]
		var c strings.Builder
		fmt.Fprintf(&c, "batch,%s\r\nprovider,fk\r\ncurrency,IDR\r\nid,amount,recipient.name,recipient.bankCode,recipient.account\r\n", batch)
		for _, m := range row.FindAllStringSubmatch(y, -1) {
			fmt.Fprintf(&c, "%s,%s,%s,%s,%s\r\n", m[1], m[2], m[3], m[4], m[5])
		}
		if err := os.Remove(filepath.Join(r.root, "stage", n)); err != nil {
			r.t.Fatal(err)
		}
		out[i] = strings.TrimSuffix(n, ".yaml") + ".csv"
		r.write(filepath.Join("stage", out[i]), c.String())
	}
	return out
}

func (r *dropRig) dropAll(names []string) {
	r.t.Helper()
	for _, n := range names {
		if err := os.Rename(filepath.Join(r.root, "stage", n), filepath.Join(r.root, "drop", "inbox", n)); err != nil {
			r.t.Fatal(err)
		}
	}
}

// files lists the files (not reports, not temporary files) in a folder.
func (r *dropRig) files(folder string) []string {
	entries, _ := os.ReadDir(filepath.Join(r.root, "drop", folder))
	var out []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".result.json") || strings.HasSuffix(n, ".errors.txt") || strings.HasSuffix(n, ".plan.json") || strings.HasSuffix(n, ".plan.txt") {
			continue
		}
		out = append(out, n)
	}
	return out
}

// settled waits until want files are in done/, rejected/ and held/ and
// none in inbox/ or processing/.
func (r *dropRig) settled(want int, timeout time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := len(r.files("done")) + len(r.files("rejected")) + len(r.files("held"))
		if n == want && len(r.files("inbox")) == 0 && len(r.files("processing")) == 0 {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("after %s: %d files finished, %d in inbox, %d in processing; want %d finished", timeout, n, len(r.files("inbox")), len(r.files("processing")), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *dropRig) start(args ...string) (*exec.Cmd, *bytes.Buffer) {
	r.t.Helper()
	cmd := r.payctl(append([]string{"watch", "-quiet", "500ms"}, append(args, "drop")...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	return cmd, &out
}

// stop sends SIGTERM and requires a clean exit.
func (r *dropRig) stop(cmd *exec.Cmd, out *bytes.Buffer) {
	r.t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		r.t.Fatalf("payctl watch did not exit cleanly after SIGTERM: %v\n%s", err, out)
	}
}

func wasKilled(err error) bool {
	ee, ok := err.(*exec.ExitError)
	if !ok {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// TestWatchKill9 kills a real `payctl watch` with SIGKILL at random
// moments while it works through a drop of many files, restarting it each
// time: every payout is paid exactly once by a provider that does not
// deduplicate, every payment is in the state, and every file ends in
// exactly one of done/, rejected/ and held/.
func TestWatchKill9(t *testing.T) {
	files := *watchKillFiles
	r := newDropRig(t, "")
	// A rate limit spreads the payments over the run, so kills land in it.
	r.write("payctl.yaml", strings.Replace(string(must(os.ReadFile(filepath.Join(r.root, "payctl.yaml")))), "    lookupGrace: 200ms\n", "    lookupGrace: 200ms\n    ratePerSecond: 400\n", 1))
	const perFile = 3
	names := r.stage(files, perFile, "1000")
	// One file paid before the drop of the same batch again, one invalid
	// file and one above the policy: each must end in its own folder once.
	r.write(filepath.Join("stage", "bad.yaml"), "apiVersion: payctl/v1\nkind: PayoutBatch\n")
	r.write(filepath.Join("stage", "big.yaml"), strings.Replace(string(must(os.ReadFile(filepath.Join(r.root, "stage", names[0])))), "name: b0000", "name: big", 1))
	big := string(must(os.ReadFile(filepath.Join(r.root, "stage", "big.yaml"))))
	r.write(filepath.Join("stage", "big.yaml"), strings.ReplaceAll(big, `amount: "1000"`, `amount: "2000000"`))
	names = append(names, "bad.yaml", "big.yaml")
	// Finance exports: every fourth batch is a CSV, one of them saved a
	// second time under another name (the same batch: paid once), and a
	// CSV with a bad cell, rejected with the cell in its report.
	names = r.toCSV(names, 4)
	copyName := "f0001 (copy).csv"
	r.write(filepath.Join("stage", copyName), string(must(os.ReadFile(filepath.Join(r.root, "stage", "f0001.csv")))))
	r.write(filepath.Join("stage", "badcell.csv"), "batch,badcell\nprovider,fk\ncurrency,IDR\nid,amount,recipient.name,recipient.bankCode,recipient.account\np0,1000,Ana,014,1\np1,1e3,Bo,014,2\n")
	names = append(names, copyName, "badcell.csv")

	cmd, out := r.start()
	if err := os.MkdirAll(filepath.Join(r.root, "drop", "inbox"), 0o700); err != nil {
		t.Fatal(err)
	}
	r.dropAll(names)
	rng := rand.New(rand.NewPCG(*watchKillSeed, 0x5eed))
	began := time.Now()
	kills := 0
	for kills < *watchKills {
		// Kill while it pays: once this process has sent something, at a
		// random moment within the next few milliseconds.
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		base := r.ledger.Creates()
		deadline := time.Now().Add(20 * time.Second)
		for r.ledger.Creates() == base && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if r.ledger.Creates() == base {
			break // nothing left to pay
		}
		select {
		case err := <-done:
			t.Fatalf("payctl watch exited by itself: %v\n%s", err, out)
		case <-time.After(time.Duration(rng.IntN(60)) * time.Millisecond):
		}
		cmd.Process.Signal(syscall.SIGKILL)
		if err := <-done; !wasKilled(err) {
			t.Fatalf("payctl watch was not killed: %v\n%s", err, out)
		}
		kills++
		cmd, out = r.start()
	}
	r.settled(len(names), 2*time.Minute)
	r.stop(cmd, out)

	// Every file once, in the right folder.
	where := map[string][]string{}
	for _, folder := range []string{"done", "rejected", "held"} {
		for _, n := range r.files(folder) {
			where[n] = append(where[n], folder)
		}
	}
	for _, n := range names {
		want := "done"
		switch n {
		case copyName:
			// The second save of a batch pays nothing: done when it
			// came after the first, rejected when both were in one
			// pass (one batch name in two files).
			if got := where[n]; len(got) == 1 && got[0] == "rejected" {
				want = "rejected"
			}
		case "bad.yaml", "badcell.csv":
			want = "rejected"
		case "big.yaml":
			want = "held"
		}
		if got := where[n]; len(got) != 1 || got[0] != want {
			t.Errorf("%s is in %v, want only %s", n, got, want)
		}
		delete(where, n)
	}
	for n, f := range where {
		t.Errorf("unexpected file %s in %v", n, f)
	}
	report := string(must(os.ReadFile(filepath.Join(r.root, "drop", "rejected", "badcell.csv.errors.txt"))))
	if !strings.Contains(report, `badcell.csv:6:2: amount "1e3" must be a plain decimal`) {
		t.Errorf("badcell.csv's report does not name the cell:\n%s", report)
	}
	var want []string
	for f := 0; f < files; f++ {
		for i := 0; i < perFile; i++ {
			want = append(want, fmt.Sprintf("b%04d/p%d", f, i))
		}
	}
	dups, lost := checkLedger(t, openLocal(t, filepath.Join(r.root, "payctl.state.json")), r.ledger, want)
	fmt.Printf("watch kill -9: files=%d payouts=%d kills=%d create_requests=%d duplicates=%d lost=%d seconds=%.1f seed=%d\n",
		len(names), files*perFile, kills, r.ledger.Creates(), dups, lost, time.Since(began).Seconds(), *watchKillSeed)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A file outside the policy is held with a saved plan; `payctl apply` of
// that plan pays it; dropping the same file again pays nothing.
func TestWatchHeldPlanApplies(t *testing.T) {
	r := newDropRig(t, "")
	r.stage(1, 2, "2000000") // above maxPayout 1000000
	cmd, out := r.start()
	if err := os.MkdirAll(filepath.Join(r.root, "drop", "inbox"), 0o700); err != nil {
		t.Fatal(err)
	}
	r.dropAll([]string{"f0000.yaml"})
	r.settled(1, time.Minute)
	if len(r.files("held")) != 1 || len(r.ledger.Payments()) != 0 {
		t.Fatalf("got held %v and %d payments, want the file held and nothing paid", r.files("held"), len(r.ledger.Payments()))
	}
	// The person applies while the watcher runs: they take turns on the lock.
	apply := r.payctl("apply", "-lock-timeout", "10s", filepath.Join("drop", "held", "f0000.yaml.plan.json"))
	if b, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("payctl apply of the held plan: %v\n%s", err, b)
	}
	if n := len(r.ledger.Payments()); n != 2 {
		t.Fatalf("got %d payments after applying the held plan, want 2", n)
	}
	// Dropped again: nothing to pay, not held again.
	data := must(os.ReadFile(filepath.Join(r.root, "drop", "held", "f0000.yaml")))
	r.write(filepath.Join("stage", "again.yaml"), string(data))
	r.dropAll([]string{"again.yaml"})
	r.settled(2, time.Minute)
	r.stop(cmd, out)
	if got := r.files("done"); len(got) != 1 || got[0] != "again.yaml" {
		t.Errorf("done/ holds %v, want again.yaml", got)
	}
	res := string(must(os.ReadFile(filepath.Join(r.root, "drop", "done", "again.yaml.result.json"))))
	if !strings.Contains(res, `"outcome": "nothing-to-pay"`) {
		t.Errorf("the report of the file dropped again does not say nothing was paid:\n%s", res)
	}
	if n := r.ledger.Creates(); n != 2 {
		t.Errorf("got %d create requests, want 2", n)
	}
}
