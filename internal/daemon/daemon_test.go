package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/workspace"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/providers"
	cronosemu "github.com/payctl/payctl/providers/cronos/emulator"
	"github.com/payctl/payctl/providers/providertest"
	"github.com/payctl/payctl/schema"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
)

const secretPath = "/callbacks/idr/5f0c2a9e81d44b7c9a3e"

// rig is a daemon receiving the callbacks of a Cronos emulator whose
// clock the test moves.
type rig struct {
	t      *testing.T
	root   string
	clock  *providertest.Clock
	em     *cronosemu.Emulator
	ws     *workspace.Workspace
	gate   *Gate
	d      *Daemon
	reg    *prometheus.Registry
	srv    *httptest.Server
	cancel context.CancelFunc
	done   chan struct{}
}

func newRig(t *testing.T, o Options, faults ...string) *rig {
	t.Helper()
	r := &rig{t: t, root: t.TempDir(), clock: providertest.NewClock(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))}
	var h atomic.Value
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.Load().(http.Handler).ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	em, err := cronosemu.NewWithConfig(providers.EmulatorOptions{Now: r.clock.Now, Faults: faults}, cronosemu.Config{SettleDelay: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	r.em = em
	emSrv := httptest.NewServer(em)
	t.Cleanup(func() { emSrv.Close(); em.Close() })
	cfg := fmt.Sprintf(`state: payctl.state.json
providers:
  idr:
    type: cronos
    baseURL: %s
    keyEnv: CRONOS_KEY
    tokenEnv: CRONOS_TOKEN
    callbackURL: %s%s
`, emSrv.URL, r.srv.URL, secretPath)
	if err := os.WriteFile(filepath.Join(r.root, "payctl.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := em.Credentials()
	env := map[string]string{"CRONOS_KEY": creds["keyEnv"], "CRONOS_TOKEN": creds["tokenEnv"]}
	ws, err := workspace.Load(filepath.Join(r.root, "payctl.yaml"), nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ws.CreateState = true // the first session starts the state, as apply -init does
	ws.Now = r.clock.Now
	t.Cleanup(func() { ws.Close() })
	r.ws = ws
	r.reg = NewRegistry("test")
	r.gate = NewGate(ws, GateOptions{LockWait: 20 * time.Millisecond, Registerer: r.reg})
	o.Gate, o.Registry, o.RequireCallbacks = r.gate, r.reg, true
	if o.RetryEvery == 0 {
		o.RetryEvery = 10 * time.Millisecond
	}
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	r.d = d
	h.Store(d.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		d.RunHints(ctx)
	}()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// pay applies a batch of n payouts; accounts ending in 0000 fail at the
// emulator once it settles.
func (r *rig) pay(batch string, accounts ...string) {
	r.t.Helper()
	var m strings.Builder
	fmt.Fprintf(&m, "apiVersion: payctl/v1\nkind: PayoutBatch\nmetadata:\n  name: %s\nspec:\n  provider: idr\n  currency: IDR\n  payouts:\n", batch)
	for i, a := range accounts {
		fmt.Fprintf(&m, "    - {id: p%d, amount: \"%d\", recipient: {name: Person %d, bankCode: \"014\", account: \"%s\"}}\n", i, 10000+i, i, a)
	}
	b, errs := schema.Parse(batch+".yaml", []byte(m.String()))
	if len(errs) > 0 {
		r.t.Fatal(errs)
	}
	ctx := context.Background()
	sess, err := r.gate.Open(ctx, "apply")
	if err != nil {
		r.t.Fatal(err)
	}
	defer sess.Close(ctx)
	p := plan.Make(plan.Input{Batches: []*schema.Batch{b}, Config: r.ws.Config, Providers: r.ws.PlanProviders(), State: sess.State.Snapshot(), StateLocation: "s"})
	if _, err := sess.Engine.Run(ctx, p); err != nil {
		r.t.Fatal(err)
	}
}

// lockElsewhere takes the state's lock as another process would (a
// backend of its own), waiting for the daemon's lookups of callbacks the
// emulator is sending.
func (r *rig) lockElsewhere() (*state.State, error) {
	return state.Open(context.Background(), localstate.New(filepath.Join(r.root, "payctl.state.json"), nil, nil), state.Options{Write: true, Op: "apply", LockWait: 10 * time.Second})
}

func (r *rig) snapshot() *state.Snapshot {
	r.t.Helper()
	st, err := state.Open(context.Background(), localstate.New(filepath.Join(r.root, "payctl.state.json"), nil, nil), state.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	return st.Snapshot()
}

// settle moves the emulator past its settle delay and waits until every
// callback it sent was answered (an answer comes after the lookup).
func (r *rig) settle() {
	r.t.Helper()
	r.clock.Advance(2 * time.Minute)
	r.em.Settle()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.em.WaitCallbacks(ctx); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) post(path, body string) (int, string) {
	r.t.Helper()
	resp, err := http.Post(r.srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (r *rig) counter(name string) float64 {
	r.t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		r.t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

func callbackBody(id, ref, status string) string {
	return fmt.Sprintf(`{"responseCode":200,"responseMessage":"success","responseData":{"id":%q,"merchantRef":%q,"status":%q,"amount":10000}}`, id, ref, status)
}

// Callbacks from the emulator, duplicated and out of order, end with the
// state matching the emulator's ledger: statuses, fees and ids.
func TestCallbacksBringTheStateToTheLedger(t *testing.T) {
	r := newRig(t, Options{}, "duplicate-callbacks=3", "reorder-callbacks=2")
	r.pay("nov", "8100000011", "8100000022", "8100000000")
	r.settle()
	snap := r.snapshot()
	ledger := r.em.Ledger()
	if len(ledger) != 3 {
		t.Fatalf("the emulator paid %d disbursements, want 3", len(ledger))
	}
	want := map[string]providers.Status{"success": providers.StatusPaid, "failed": providers.StatusFailed}
	for _, d := range ledger {
		var p *state.Payout
		for _, sp := range snap.Payouts {
			if sp.Latest().Key == d.MerchantRef {
				p = sp
			}
		}
		if p == nil {
			t.Errorf("%s: no payout with this reference in the state", d.MerchantRef)
			continue
		}
		a := p.Latest()
		if a.Status != want[d.Status] || a.IDs.Get("id") != d.ID || a.Fee == nil || a.Fee.String() != fmt.Sprint(d.Fee) {
			t.Errorf("%s: state has %s id %s fee %v, ledger has %s id %s fee %d", p.Address, a.Status, a.IDs.Get("id"), a.Fee, d.Status, d.ID, d.Fee)
		}
	}
	if got := r.counter("payctl_callbacks_confirmed_total"); got < 3 {
		t.Errorf("got %v confirmed callbacks, want at least 3", got)
	}
	if got := r.counter("payctl_callback_state_changes_total"); got != 3 {
		t.Errorf("got %v state changes, want 3 (one per payout, however many callbacks)", got)
	}
}

// A forged or stale callback cannot change the state: the lookup decides.
func TestForgedCallbacksChangeNothing(t *testing.T) {
	r := newRig(t, Options{})
	r.pay("nov", "8100000000") // fails when settled
	r.settle()
	before := r.snapshot()
	var p *state.Payout
	for _, sp := range before.Payouts {
		p = sp
	}
	tests := []struct {
		name, body string
		code       int
		metric     string
	}{
		{"claims success for a failed payout", callbackBody(p.Latest().IDs.Get("id"), p.Latest().Key, "success"), 200, "payctl_callbacks_confirmed_total"},
		{"unknown reference", callbackBody("6f1c0b7e-1d1e-4c55-9d57-2a1d1cbd0b11", "not-a-reference-of-ours", "success"), 200, "payctl_callbacks_ignored_total"},
		{"not a callback", `{"hello":"world"}`, 400, "payctl_callbacks_rejected_total"},
		{"oversized", `{"responseData":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "payctl_callbacks_rejected_total"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := r.counter(tt.metric)
			code, body := r.post(secretPath, tt.body)
			if code != tt.code {
				t.Errorf("got %d %q, want %d", code, body, tt.code)
			}
			if got := r.counter(tt.metric); got != m+1 {
				t.Errorf("%s went from %v to %v, want +1", tt.metric, m, got)
			}
		})
	}
	after := r.snapshot()
	if after.Serial != before.Serial || after.Payouts[p.Address].Status != providers.StatusFailed {
		t.Errorf("the state changed: serial %d -> %d, status %s", before.Serial, after.Serial, after.Payouts[p.Address].Status)
	}
	resp, err := http.Get(r.srv.URL + secretPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET on the callback path: got %d, want 405", resp.StatusCode)
	}
	resp, err = http.Post(r.srv.URL+"/callbacks/idr/guess", "application/json", strings.NewReader(callbackBody(p.Latest().IDs.Get("id"), p.Latest().Key, "success")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("a wrong path: got %d, want 404", resp.StatusCode)
	}
}

// While another process holds the state's lock, a callback is answered 500
// (so Cronos may send it again) and stays queued; once the lock is free
// the queued hint is looked up and recorded.
func TestCallbackWaitsForABusyState(t *testing.T) {
	r := newRig(t, Options{ReplyWait: 100 * time.Millisecond})
	r.pay("nov", "8100000011")
	r.clock.Advance(2 * time.Minute) // paid at the emulator, not yet in the state
	other, err := r.lockElsewhere()
	if err != nil {
		t.Fatal(err)
	}
	var p *state.Payout
	for _, sp := range r.snapshot().Payouts {
		p = sp
	}
	code, _ := r.post(secretPath, callbackBody(p.Latest().IDs.Get("id"), p.Latest().Key, "success"))
	if code != http.StatusInternalServerError {
		t.Errorf("got %d while the state was locked, want 500", code)
	}
	if q := r.counter("payctl_callbacks_queued"); q != 1 {
		t.Errorf("got %v queued hints, want 1", q)
	}
	other.Close()
	deadline := time.Now().Add(30 * time.Second)
	for r.snapshot().Payouts[p.Address].Status != providers.StatusPaid {
		if time.Now().After(deadline) {
			t.Fatal("the queued hint was never looked up")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The lookup made the emulator notice the change and call back too.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.em.WaitCallbacks(ctx); err != nil {
		t.Fatal(err)
	}
	for r.counter("payctl_callbacks_queued") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("hints stayed queued")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNewChecksCallbackPaths(t *testing.T) {
	tests := []struct {
		name, providers string
		require         bool
		want            string // "" for no error
		paths           []string
	}{
		{"emulator gets the default path", "  idr:\n    type: cronos\n    emulator: true\n", true, "", []string{"/callbacks/idr"}},
		{"two providers, one path", "  a:\n    type: cronos\n    emulator: true\n    callbackURL: https://h/cb/0123456789abcdef01\n  b:\n    type: cronos\n    emulator: true\n    callbackURL: https://h/cb/0123456789abcdef01\n", true, "provider b: callbackURL's path is already provider a's", nil},
		{"the metrics path", "  a:\n    type: cronos\n    emulator: true\n    callbackURL: https://h/metrics\n", true, "callbackURL's path is already payctl's metrics", nil},
		{"no path", "  a:\n    type: cronos\n    emulator: true\n    callbackURL: https://h\n", true, "provider a: callbackURL needs a path", nil},
		{"dinardragon has none", "  usd:\n    type: dinardragon\n    emulator: true\n", true, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.WriteFile(filepath.Join(root, "payctl.yaml"), []byte("providers:\n"+tt.providers), 0o600); err != nil {
				t.Fatal(err)
			}
			ws, err := workspace.Load(filepath.Join(root, "payctl.yaml"), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			d, err := New(Options{Gate: NewGate(ws, GateOptions{}), RequireCallbacks: tt.require})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			case err != nil:
				return
			}
			var paths []string
			for _, cb := range d.Callbacks() {
				paths = append(paths, cb.Path)
			}
			if fmt.Sprint(paths) != fmt.Sprint(tt.paths) {
				t.Errorf("got paths %v, want %v", paths, tt.paths)
			}
		})
	}
}

// The config schema already requires callbackURL of a real Cronos
// provider; the daemon refuses one without it all the same (serve) or
// skips it (watch), should a config ever come from elsewhere.
func TestCronosWithoutCallbackURL(t *testing.T) {
	cfg := &config.Config{File: "payctl.yaml", Providers: map[string]*config.Provider{
		"idr": {Name: "idr", Type: "cronos", BaseURL: "https://api.example", Pos: map[string]diag.Pos{"": {Line: 3, Col: 3}}},
	}}
	_, err := callbacks(cfg, true, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "payctl.yaml:3:3: provider idr: payctl serve receives Cronos callbacks at the path of callbackURL, and idr has none") {
		t.Errorf("required: got %v", err)
	}
	cbs, err := callbacks(cfg, false, slog.New(slog.DiscardHandler))
	if err != nil || len(cbs) != 0 {
		t.Errorf("optional: got %v, %v; want no callbacks and no error", cbs, err)
	}
}

func TestHealth(t *testing.T) {
	h := NewHealth()
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		return rec.Code, strings.TrimSpace(rec.Body.String())
	}
	tests := []struct {
		name, component, problem string
		code                     int
		body                     string
	}{
		{"healthy", "", "", 200, `{"status":"ok"}`},
		{"a problem", "watch", "inbox is gone", 503, `{"problems":{"watch":"inbox is gone"},"status":"unhealthy"}`},
		{"cleared", "watch", "", 200, `{"status":"ok"}`},
	}
	for _, tt := range tests {
		if tt.component != "" {
			h.Set(tt.component, tt.problem)
		}
		if code, body := get(); code != tt.code || body != tt.body {
			t.Errorf("%s: got %d %s, want %d %s", tt.name, code, body, tt.code, tt.body)
		}
	}
}

// One session at a time per process, and a lock held elsewhere, are both
// ErrBusy after the wait.
func TestGateBusy(t *testing.T) {
	r := newRig(t, Options{})
	ctx := context.Background()
	s1, err := r.gate.Open(ctx, "watch")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.gate.Open(ctx, "serve")
	var be *BusyError
	if !errors.Is(err, ErrBusy) || !errors.As(err, &be) || be.Err != nil {
		t.Errorf("second session in one process: got %v, want ErrBusy from this process", err)
	}
	if err := s1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	other, err := r.lockElsewhere()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = r.gate.Open(ctx, "watch")
	var le *state.LockedError
	if !errors.Is(err, ErrBusy) || !errors.As(err, &le) {
		t.Errorf("lock held by another process: got %v, want ErrBusy wrapping a LockedError", err)
	}
	if n := r.counter("payctl_state_busy_total"); n != 2 {
		t.Errorf("got %v busy refusals, want 2", n)
	}
}

// Serve stops on ctx: it returns nil, and a callback still waiting for its
// lookup is answered 500.
func TestServeStops(t *testing.T) {
	r := newRig(t, Options{ReplyWait: time.Minute})
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	other, err := r.lockElsewhere()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- r.d.Serve(ctx, ln) }()
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Post("http://"+ln.Addr().String()+secretPath, "application/json", strings.NewReader(callbackBody("6f1c0b7e-1d1e-4c55-9d57-2a1d1cbd0b11", "ref", "success")))
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	for r.d.q.len() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve returned %v, want nil", err)
	}
	if code := <-answered; code != http.StatusInternalServerError {
		t.Errorf("the waiting callback got %d, want 500", code)
	}
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
