package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/payctl/payctl/apply"
	"github.com/payctl/payctl/internal/audit"
	"github.com/payctl/payctl/internal/workspace"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
	"github.com/payctl/payctl/state/statefile"
)

// sandbox is a payctl folder whose providers are the built-in emulators
// (Cronos and Dinar Dragon), driven in-process through workspace and the
// apply engine exactly as the commands drive them, with a clock the test
// moves. Its states are real: every record comes from a real apply,
// refresh or resolve against an emulator's HTTP API.
type sandbox struct {
	t   testing.TB
	dir string

	mu  sync.Mutex
	now time.Time
	ids int
	// lineage is the state's, once the first run created it: later runs
	// pin it, as payctl.yaml would.
	lineage string
}

const sandboxConfig = `state: payctl.state.json
providers:
  idr-main:
    type: cronos
    emulator: true
    concurrency: 1
  usd-main:
    type: dinardragon
    emulator: true
    concurrency: 1
`

const contractors = `apiVersion: payctl/v1
kind: PayoutBatch
metadata:
  name: contractors-2026-11
spec:
  provider: idr-main
  currency: IDR
  payouts:
    - {id: alice, amount: "150000", recipient: {name: Alice Tan, bankCode: "014", account: "0821837182312831"}}
    - {id: budi, amount: "2750000", recipient: {name: Budi Santoso, bankCode: "011", account: "7700173383"}}
    - {id: citra, amount: "980000", recipient: {name: Citra Lestari, bankCode: "008", account: "1230004567"}}
`

const vendors = `apiVersion: payctl/v1
kind: PayoutBatch
metadata:
  name: vendors-2026-11
spec:
  provider: usd-main
  currency: USD
  payouts:
    - {id: acme, amount: "50.00", recipient: {name: Acme Supplies, bank: First National Bank, country: US, account: "123456789"}}
    - {id: riyadh-trading, amount: "70.00", recipient: {name: Riyadh Trading, bank: Al Rajhi Bank, country: SA, account: "5500012345"}}
    - {id: bob, amount: "75.00", recipient: {name: Bob Lee, bank: Chase Bank, country: US, account: "987654321"}}
`

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func newSandbox(t testing.TB, dir string) *sandbox {
	t.Helper()
	s := &sandbox{t: t, dir: dir, now: t0}
	for name, body := range map[string]string{"payctl.yaml": sandboxConfig, "contractors.yaml": contractors, "vendors.yaml": vendors} {
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s *sandbox) path(name string) string { return filepath.Join(s.dir, name) }

// at sets the clock; each reading then advances it a second, so that
// records are ordered in time as in a real run.
func (s *sandbox) at(t time.Time) {
	s.mu.Lock()
	s.now = t
	s.mu.Unlock()
}

func (s *sandbox) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(time.Second)
	return s.now
}

func (s *sandbox) newID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids++
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("audit-test-", s.ids))).String()
}

// run opens the workspace and the state for writing and calls fn, then
// checkpoints, as every writing command does.
func (s *sandbox) run(op string, fn func(ctx context.Context, w *workspace.Workspace, st *state.State) error) {
	s.t.Helper()
	ctx := context.Background()
	w, err := workspace.Load(s.path("payctl.yaml"), nil, func(string) string { return "" })
	if err != nil {
		s.t.Fatal(err)
	}
	defer w.Close()
	w.Now, w.NewID = s.clock, s.newID
	// The audits are checked on the single-file format, which states
	// created before segments keep: a file edit is then one JSON edit.
	// (Segmented states have their own tests.)
	w.StateFormat = state.Version
	w.CreateState, w.Config.State.Lineage = s.lineage == "", s.lineage
	st, err := w.OpenState(ctx, true, op, 0)
	if err != nil {
		s.t.Fatal(err)
	}
	defer func() { s.lineage = st.Lineage() }()
	defer st.Close()
	if err := fn(ctx, w, st); err != nil {
		s.t.Fatalf("%s: %v", op, err)
	}
	if err := st.Checkpoint(ctx); err != nil {
		s.t.Fatal(err)
	}
}

// apply plans the manifests and pays what the plan says, as
// `payctl apply -auto-approve` does.
func (s *sandbox) apply(manifests ...string) {
	s.t.Helper()
	var paths []string
	for _, m := range manifests {
		paths = append(paths, s.path(m))
	}
	s.run("apply", func(ctx context.Context, w *workspace.Workspace, st *state.State) error {
		eng := w.Engine(st)
		if _, err := eng.Recover(ctx); err != nil {
			return err
		}
		batches, errs := w.LoadManifests(paths)
		if err := errs.Err(); err != nil {
			return err
		}
		var p *plan.Plan
		st.View(func(snap *state.Snapshot) {
			p = plan.Make(plan.Input{Batches: batches, Config: w.Config, Providers: w.PlanProviders(), State: snap, StateLocation: w.StateLocation()})
		})
		if len(p.Errors) > 0 {
			return p.Errors
		}
		_, err := eng.Run(ctx, p)
		return err
	})
}

func (s *sandbox) refresh() {
	s.t.Helper()
	s.run("refresh", func(ctx context.Context, w *workspace.Workspace, st *state.State) error {
		_, err := w.Engine(st).Refresh(ctx, false)
		return err
	})
}

func (s *sandbox) resolve(addr string, paid bool, reason string) {
	s.t.Helper()
	s.run("state resolve", func(ctx context.Context, w *workspace.Workspace, st *state.State) error {
		return apply.Resolve(ctx, st, addr, paid, reason)
	})
}

// snapshot returns the snapshot file's bytes now.
func (s *sandbox) snapshot() []byte {
	s.t.Helper()
	b, err := os.ReadFile(s.path("payctl.state.json"))
	if err != nil {
		s.t.Fatal(err)
	}
	if statefile.PeekVersion(b) != state.Version {
		s.t.Fatalf("the sandbox's state is not in the single-file format:\n%s", b)
	}
	return b
}

func (s *sandbox) backend() *localstate.Backend {
	return localstate.New(s.path("payctl.state.json"), nil, nil)
}

// history is the sandbox's life, with the snapshot after each step:
//
//	[0] contractors applied: three Cronos payouts pending
//	[1] refreshed: the Cronos payouts paid
//	[2] vendors applied: one Dinar Dragon provider payout of three, pending
//	[3] a person (rini@finance) resolved vendors-2026-11/bob as paid
//	[4] refreshed: the other two Dinar Dragon payouts paid
type history struct {
	sb    *sandbox
	snaps [5][]byte
}

func newHistory(t testing.TB, dir string) *history {
	t.Helper()
	setActor("ana@finance")
	sb := newSandbox(t, dir)
	h := &history{sb: sb}
	sb.at(t0)
	sb.apply("contractors.yaml")
	h.snaps[0] = sb.snapshot()
	sb.at(t0.Add(10 * time.Minute))
	sb.refresh()
	h.snaps[1] = sb.snapshot()
	sb.at(t0.Add(20 * time.Minute))
	sb.apply("contractors.yaml", "vendors.yaml")
	h.snaps[2] = sb.snapshot()
	sb.at(t0.Add(22 * time.Minute))
	setActor("rini@finance")
	sb.resolve("vendors-2026-11/bob", true, "dashboard shows the payment completed")
	setActor("ana@finance")
	h.snaps[3] = sb.snapshot()
	sb.at(t0.Add(time.Hour))
	sb.refresh()
	h.snaps[4] = sb.snapshot()
	return h
}

// setActor names who runs the next step (state.Actor reads PAYCTL_ACTOR).
// The package's tests do not run in parallel.
func setActor(who string) { os.Setenv("PAYCTL_ACTOR", who) }

var (
	fixtureOnce sync.Once
	fixtureDir  string
	theFixture  *history
)

// fixture is the one sandbox history the package's tests share (building
// it pays through the emulators); tests copy its files before changing
// anything. TestMain removes it.
func fixture(t *testing.T) *history {
	t.Helper()
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "payctl-audit-")
		if err != nil {
			t.Fatal(err)
		}
		fixtureDir = dir
		theFixture = newHistory(t, dir)
	})
	if theFixture == nil {
		t.Fatal("the sandbox history could not be built (see the first failing test)")
	}
	return theFixture
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// copyState copies the fixture's state files into a fresh folder and
// returns the snapshot's path there.
func copyState(t *testing.T, h *history) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"payctl.state.json", "payctl.state.json.journal"} {
		b, err := os.ReadFile(h.sb.path(name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "payctl.state.json")
}

// read returns snapshot i for auditing, named "s<i>".
func (h *history) read(t *testing.T, i int) *audit.Snapshot {
	t.Helper()
	return mustRead(t, fmt.Sprintf("s%d", i), h.snaps[i])
}

func mustRead(t *testing.T, name string, data []byte) *audit.Snapshot {
	t.Helper()
	s, err := audit.ReadSnapshot(name, data, nil)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return s
}
