package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payctl/payctl/internal/crash"
	fakeemu "github.com/payctl/payctl/providers/fake/emulator"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/pgstate"
	"github.com/payctl/payctl/state/pgstate/pgtest"
)

var (
	pgRacePayouts = flag.Int("pg.payouts", 1000, "payouts in TestPostgresConcurrentWritersKill9")
	pgRaceKills   = flag.Int("pg.kills", 12, "kill -9s in TestPostgresConcurrentWritersKill9")
	pgRaceSeed    = flag.Uint64("pg.seed", 1, "seed of TestPostgresConcurrentWritersKill9's kills")
)

// pgRig is a fake provider over HTTP (it does not deduplicate) and a
// PostgreSQL state shared by "hosts": working directories of their own,
// each with a payctl.yaml naming the same database state.
type pgRig struct {
	t      *testing.T
	ledger *fakeemu.Ledger
	url    string
	dsn    string
	n      int
	files  []string // batch manifests, in every host's directory
	// rate limits the provider's requests per second, so that kills land
	// in the middle of the work rather than after it.
	rate int
}

const pgStateName = "payouts"

func newPGRig(t *testing.T, n, files int) *pgRig {
	t.Helper()
	dsn := pgtest.Schema(t)
	l := fakeemu.NewLedger()
	l.Token = "fake-secret-token-7f3a"
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	r := &pgRig{t: t, ledger: l, url: srv.URL, dsn: dsn, n: n, rate: 1000}
	for f := 0; f < files; f++ {
		r.files = append(r.files, fmt.Sprintf("batch-%d.yaml", f+1))
	}
	return r
}

// host makes a working directory with payctl.yaml and the manifests.
func (r *pgRig) host() string {
	dir := r.t.TempDir()
	write(r.t, filepath.Join(dir, "payctl.yaml"), fmt.Sprintf(`state: {backend: postgres, dsnEnv: PAYCTL_PG_DSN, name: %s}
providers:
  fk:
    type: fake
    baseURL: %s
    tokenEnv: FAKE_TOKEN
    concurrency: 8
    timeout: 2s
    lookupGrace: 300ms
    ratePerSecond: %d
policy:
  autoApply:
    providers: [fk]
    maxPayout: {IDR: "1000000000"}
    maxBatchTotal: {IDR: "1000000000000"}
`, pgStateName, r.url, r.rate))
	per := (r.n + len(r.files) - 1) / len(r.files)
	for f, name := range r.files {
		var m strings.Builder
		fmt.Fprintf(&m, "apiVersion: payctl/v1\nkind: PayoutBatch\nmetadata:\n  name: soak-%d\nspec:\n  provider: fk\n  currency: IDR\n  payouts:\n", f+1)
		for i := f * per; i < min((f+1)*per, r.n); i++ {
			fmt.Fprintf(&m, "    - {id: p%04d, amount: \"%d\", recipient: {name: Person %d, bankCode: \"014\", account: \"9%07d7\"}}\n", i, 10000+i, i, i)
		}
		write(r.t, filepath.Join(dir, name), m.String())
	}
	return dir
}

func (r *pgRig) address(i int) string {
	per := (r.n + len(r.files) - 1) / len(r.files)
	return fmt.Sprintf("soak-%d/p%04d", i/per+1, i)
}

func (r *pgRig) payctl(dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command("payctl", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FAKE_TOKEN="+r.ledger.Token, "PAYCTL_PG_DSN="+r.dsn, "PAYCTL_CONFIG=", "PAYCTL_LOG=")
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

func (r *pgRig) run(dir string, env []string, args ...string) (string, error) {
	cmd := r.payctl(dir, env, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (r *pgRig) migrate(dir string, env ...string) {
	r.t.Helper()
	if out, err := r.run(dir, nil, "state", "migrate-schema"); err != nil {
		r.t.Fatalf("migrate-schema: %v\n%s", err, out)
	}
	// The state is created once, as a person would; the other hosts'
	// configs stay unpinned (the fake provider finds payouts by key).
	initState(r.t, dir, append([]string{"PAYCTL_PG_DSN=" + r.dsn}, env...)...)
}

// crashAt kills an apply of file at a crash point, then applies until
// done, and checks every address is paid once.
func (r *pgRig) crashAt(t *testing.T, dir, point, file string) {
	t.Helper()
	out, err := r.run(dir, []string{"PAYCTL_CRASH=" + point + ":1"}, "apply", "-auto-approve", file)
	if !killedBySignal(err) {
		t.Fatalf("payctl was not killed at %s (err %v):\n%s", point, err, out)
	}
	r.settle(dir)
	if d, l := r.check(); d+l > 0 {
		t.Fatalf("%d duplicates, %d lost records", d, l)
	}
}

// settle applies every batch until nothing is left to do, as an operator
// would after the dust settles.
func (r *pgRig) settle(dir string) {
	r.t.Helper()
	want := fmt.Sprintf("Nothing to pay: 0 to pay, 0 to retry, %d unchanged, 0 pending, 0 unknown", r.n)
	var out string
	for i := 0; i < 40; i++ {
		var err error
		out, err = r.run(dir, nil, append([]string{"apply", "-auto-approve", "-lock-timeout", "30s"}, r.files...)...)
		if err == nil && strings.Contains(out, want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatalf("apply did not settle:\n%s", out)
}

// check proves exactly-once against the provider's own books: every
// address paid once, and the database state records exactly the
// provider's payments.
func (r *pgRig) check() (duplicates, lost int) {
	r.t.Helper()
	b, err := pgstate.New(pgstate.Options{DSN: r.dsn, Name: pgStateName})
	if err != nil {
		r.t.Fatal(err)
	}
	defer b.Close()
	st, err := state.Open(context.Background(), b, state.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := st.Snapshot().LoadAll(); err != nil {
		r.t.Fatal(err)
	}
	want := make([]string, r.n)
	for i := range want {
		want[i] = r.address(i)
	}
	return checkLedger(r.t, st.Snapshot(), r.ledger, want)
}

// lockHolder is the process id of the payctl holding the state's lock,
// or 0.
func (r *pgRig) lockHolder(admin *pgx.Conn) int {
	var pid int32
	err := admin.QueryRow(context.Background(), `SELECT l.pid FROM payctl_locks l
		WHERE l.state = $1 AND EXISTS (SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted AND k.pid = l.backend_pid)`, pgStateName).Scan(&pid)
	if err != nil {
		return 0
	}
	return int(pid)
}

// The command-line side of the backend: schema, apply, verify, pull, push
// and the errors a user meets.
func TestPostgresCommands(t *testing.T) {
	r := newPGRig(t, 20, 1)
	dir := r.host()

	out, err := r.run(dir, nil, "state", "list")
	if err == nil || !strings.Contains(out, "payctl: error: postgres:payouts: the database has no payctl tables yet: run `payctl state migrate-schema`") {
		t.Fatalf("list before migrating: %v\n%s", err, out)
	}
	for _, want := range []string{"Created payctl's tables (schema version 2) in the database in $PAYCTL_PG_DSN.", "is at version 2: nothing to do."} {
		out, err := r.run(dir, nil, "state", "migrate-schema")
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("migrate-schema: %v\n%s\nwant %q", err, out, want)
		}
	}
	if out, err := r.run(dir, nil, "apply", "-auto-approve", r.files[0]); err == nil || !strings.Contains(out, "payctl: error: no state at postgres:payouts: payctl does not start a state implicitly") {
		t.Fatalf("apply before init: %v\n%s", err, out)
	}
	if out, err := r.run(dir, nil, "apply", "-init", "-auto-approve", r.files[0]); err != nil || !strings.Contains(out, "payctl: created the state postgres:payouts, lineage ") ||
		!strings.Contains(out, "state: {backend: postgres, dsnEnv: PAYCTL_PG_DSN, name: payouts, lineage: ") {
		t.Fatalf("apply -init: %v\n%s", err, out)
	}
	if out, err := r.run(dir, nil, "init"); err == nil || !strings.Contains(out, "payctl: error: the state postgres:payouts exists already") {
		t.Fatalf("init of an existing state: %v\n%s", err, out)
	}
	if out, err := r.run(dir, nil, "state", "verify"); err != nil || !strings.Contains(out, "postgres:payouts: verified: 42 journal records") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	out, err = r.run(dir, nil, "state", "pull", "copy.state.json")
	if err != nil || !strings.Contains(out, "Pulled postgres:payouts to copy.state.json: lineage ") || !strings.Contains(out, "serial 42, 42 journal records copied, snapshot written.") {
		t.Fatalf("pull: %v\n%s", err, out)
	}
	// The pulled file is a local state like any other: payctl reads it.
	local := t.TempDir()
	write(t, filepath.Join(local, "payctl.yaml"), "state: "+filepath.Join(dir, "copy.state.json")+"\nproviders:\n  fk: {type: fake, baseURL: "+r.url+", tokenEnv: FAKE_TOKEN}\n")
	if out, err := r.run(local, nil, "state", "verify"); err != nil || !strings.Contains(out, "verified: 42 journal records") {
		t.Fatalf("verify of the pulled file: %v\n%s", err, out)
	}
	// Push it into a second state of the same database.
	cfg, _ := os.ReadFile(filepath.Join(dir, "payctl.yaml"))
	write(t, filepath.Join(dir, "second.yaml"), strings.Replace(string(cfg), "name: payouts", "name: second", 1))
	out, err = r.run(dir, nil, "state", "push", "-config", "second.yaml", "copy.state.json")
	if err != nil || !strings.Contains(out, "Pushed copy.state.json to postgres:second: lineage ") {
		t.Fatalf("push: %v\n%s", err, out)
	}
	// Pulling it back over the file it came from changes nothing.
	before, _ := os.ReadFile(filepath.Join(dir, "copy.state.json.journal"))
	out, err = r.run(dir, nil, "state", "pull", "-config", "second.yaml", "copy.state.json")
	after, _ := os.ReadFile(filepath.Join(dir, "copy.state.json.journal"))
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("pull of an identical state: %v\n%s", err, out)
	}

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"dsn variable unset", []string{"PAYCTL_PG_DSN="}, []string{"state", "list"}, []string{
			"payctl: error: the state postgres:payouts needs the environment variable PAYCTL_PG_DSN (named by state.dsnEnv in ",
			"payctl: hint: export PAYCTL_PG_DSN=postgres://USER:PASSWORD@HOST:5432/DATABASE",
		}},
		{"wrong password", []string{"PAYCTL_PG_DSN=" + wrongPassword(r.dsn)}, []string{"apply", "-auto-approve", r.files[0]}, []string{
			"payctl: error: postgres:payouts: connect to the database in PAYCTL_PG_DSN: ",
		}},
		{"push of a missing file", nil, []string{"state", "push", "-config", "second.yaml", filepath.Join(local, "nothing.json")}, []string{
			"payctl: error: no local state at ",
		}},
		{"pull over payctl.yaml", nil, []string{"state", "pull", "./payctl.yaml"}, []string{
			"payctl: error: ./payctl.yaml is the config file: choose another file",
		}},
		{"push with a local backend", nil, []string{"state", "push", "-config", filepath.Join(local, "payctl.yaml"), "copy.state.json"}, []string{
			"`payctl state push` works with the postgres state backend",
			"payctl: hint: select it in payctl.yaml: state: {backend: postgres",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := r.run(dir, tc.env, tc.args...)
			if err == nil {
				t.Fatalf("succeeded:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "wrong-Pa55word") || strings.Contains(out, r.dsn) {
				t.Errorf("output shows the connection string or its password:\n%s", out)
			}
		})
	}
}

func wrongPassword(dsn string) string {
	if i, j := strings.Index(dsn, "://"), strings.Index(dsn, "@"); i >= 0 && j > i {
		user, _, _ := strings.Cut(dsn[i+3:j], ":")
		return dsn[:i+3] + user + ":wrong-Pa55word" + dsn[j:]
	}
	return dsn + " password=wrong-Pa55word"
}

// TestPostgresCrashPoints kills a real payctl apply at each named point of
// the protocol, on the database backend: every address is then paid
// exactly once, and the state matches the provider's books.
func TestPostgresCrashPoints(t *testing.T) {
	pgtest.DSN(t)
	for _, point := range crash.Points {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			r := newPGRig(t, 8, 1)
			dir := r.host()
			r.migrate(dir)
			r.crashAt(t, dir, point, r.files[0])
		})
	}
}

// TestPostgresCrashPointsMigrated is TestPostgresCrashPoints on a state
// that began as rows (the format of payctl before segments), paid a batch,
// and was migrated to segments: the history from before the migration is
// paid once too.
func TestPostgresCrashPointsMigrated(t *testing.T) {
	pgtest.DSN(t)
	for _, point := range crash.Points {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			r := newPGRig(t, 8, 2)
			dir := r.host()
			r.migrate(dir, "PAYCTL_TEST_STATE_FORMAT=1")
			if out, err := r.run(dir, []string{"PAYCTL_TEST_STATE_FORMAT=1"}, "apply", "-auto-approve", r.files[0]); err != nil {
				t.Fatalf("apply %s: %v\n%s", r.files[0], err, out)
			}
			admin := pgtest.Conn(t, r.dsn)
			var rows int
			if err := admin.QueryRow(context.Background(), `SELECT count(*) FROM payctl_payouts WHERE state = $1`, pgStateName).Scan(&rows); err != nil || rows != 4 {
				t.Fatalf("before migrating: %d payout rows (%v), want 4", rows, err)
			}
			if out, err := r.run(dir, nil, "state", "migrate"); err != nil || !strings.Contains(out, "Migrated postgres:payouts to a segmented state: 4 payouts in 1 batches") {
				t.Fatalf("state migrate: %v\n%s", err, out)
			}
			var segs, rowsLeft int
			if err := admin.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM payctl_segments WHERE state = $1), (SELECT count(*) FROM payctl_payouts WHERE state = $1)`, pgStateName).Scan(&segs, &rowsLeft); err != nil || segs != 1 || rowsLeft != 0 {
				t.Fatalf("after migrating: %d segments and %d payout rows (%v), want 1 and 0", segs, rowsLeft, err)
			}
			r.crashAt(t, dir, point, r.files[1])
		})
	}
}

// proc is a payctl process the chaos test keeps alive.
type proc struct {
	name string
	dir  string
	args []string
	cmd  *exec.Cmd
	done chan error
	out  bytes.Buffer
	// finished is set when a run ends on its own and need not restart.
	finished bool
}

// TestPostgresConcurrentWritersKill9 runs two `payctl watch` (two hosts:
// separate working directories, the same batches dropped into each one's
// inbox) and a manual `payctl apply` of the same batches at once, all on
// one database state, and kills any of them with SIGKILL at random moments
// (fixed seed), restarting what was killed. Every payout must be paid
// exactly once by a provider that does not deduplicate, and the state must
// record exactly what the provider paid.
func TestPostgresConcurrentWritersKill9(t *testing.T) {
	pgtest.DSN(t)
	r := newPGRig(t, *pgRacePayouts, 4)
	r.rate = 400
	hosts := []string{r.host(), r.host(), r.host()}
	r.migrate(hosts[0])
	for _, h := range hosts[:2] {
		inbox := filepath.Join(h, "drop", "inbox")
		if err := os.MkdirAll(inbox, 0o700); err != nil {
			t.Fatal(err)
		}
		// Delivered the recommended way: written aside, renamed in.
		for _, f := range r.files {
			data, _ := os.ReadFile(filepath.Join(h, f))
			write(t, filepath.Join(inbox, "."+f+".part"), string(data))
			if err := os.Rename(filepath.Join(inbox, "."+f+".part"), filepath.Join(inbox, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	procs := []*proc{
		{name: "watch-a", dir: hosts[0], args: []string{"watch", "-quiet", "100ms", "-rescan", "1s", "-lock-timeout", "2s", "drop"}},
		{name: "watch-b", dir: hosts[1], args: []string{"watch", "-quiet", "100ms", "-rescan", "1s", "-lock-timeout", "2s", "drop"}},
		{name: "apply", dir: hosts[2], args: append([]string{"apply", "-auto-approve", "-lock-timeout", "1m"}, r.files...)},
	}
	start := func(p *proc) {
		p.cmd = r.payctl(p.dir, nil, p.args...)
		p.out.Reset()
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p.done = make(chan error, 1)
		go func(c *exec.Cmd, done chan error) { done <- c.Wait() }(p.cmd, p.done)
	}
	for _, p := range procs {
		start(p)
	}
	defer func() {
		for _, p := range procs {
			if !p.finished {
				p.cmd.Process.Kill()
				<-p.done
			}
		}
	}()
	paidAll := func() bool {
		seen := map[string]bool{}
		for _, p := range r.ledger.Payments() {
			if p.Status != "failed" {
				seen[p.Address] = true
			}
		}
		return len(seen) == r.n
	}
	admin := pgtest.Conn(t, r.dsn)
	rng := rand.New(rand.NewPCG(*pgRaceSeed, 0x9e3779b9))
	began := time.Now()
	kills, starts := map[string]int{}, len(procs)
	total, midWork := 0, 0
	// On a busy machine the first kills can all land before anything is
	// paid: keep killing (up to four times as many) until one lands while
	// payouts are being paid.
	for (total < *pgRaceKills || (midWork == 0 && total < 4**pgRaceKills)) && !paidAll() {
		time.Sleep(time.Duration(rng.IntN(250)+10) * time.Millisecond)
		p := procs[rng.IntN(len(procs))]
		if rng.IntN(2) == 0 {
			// Half the time, the process writing the state right now.
			if holder := r.lockHolder(admin); holder != 0 {
				for _, q := range procs {
					if q.cmd.Process.Pid == holder {
						p = q
					}
				}
			}
		}
		select {
		case err := <-p.done:
			// It ended on its own: an apply that finished, or one that
			// gave up waiting for the lock; start another.
			if err == nil && p.name == "apply" {
				p.finished = true
			} else {
				start(p)
				starts++
			}
		default:
			if paid := len(r.ledger.Payments()); paid > 0 && paid < r.n {
				midWork++
			}
			p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
			kills[p.name]++
			total++
			start(p)
			starts++
		}
	}
	killed := time.Since(began)
	// Let the survivors finish the work, then stop the watchers.
	deadline := time.Now().Add(2 * time.Minute)
	for !paidAll() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("kills over after %.1fs, every payout paid after %.1fs", killed.Seconds(), time.Since(began).Seconds())
	for _, p := range procs[:2] {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
			t.Errorf("%s did not stop on SIGTERM:\n%s", p.name, p.out.String())
		}
		p.finished = true
	}
	if ap := procs[2]; !ap.finished {
		if err := <-ap.done; err != nil && !killedBySignal(err) {
			t.Logf("the last apply ended with %v:\n%s", err, ap.out.String())
		}
		ap.finished = true
	}
	r.settle(hosts[2])
	dups, lost := r.check()
	t.Logf("payouts=%d kills=%v (%d while payouts were being paid) starts=%d provider requests=%d duplicates=%d lost=%d seconds=%.1f seed=%d",
		r.n, kills, midWork, starts, r.ledger.Creates(), dups, lost, time.Since(began).Seconds(), *pgRaceSeed)
	if dups+lost > 0 {
		t.Fatalf("%d duplicates, %d lost records", dups, lost)
	}
	if midWork == 0 {
		t.Errorf("no kill landed while payouts were being paid: the test proved nothing about kills")
	}
}
