package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/payctl/payctl/providers"
	cronosemu "github.com/payctl/payctl/providers/cronos/emulator"
	"github.com/payctl/payctl/providers/providertest"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
)

// TestServeCycle runs plan -> apply -> serve (the Cronos emulator calls
// back, twice and out of order for some) -> refresh with real payctl
// processes, and requires the state to end matching the emulator's
// ledger: statuses, fees and Cronos ids.
func TestServeCycle(t *testing.T) {
	// The emulator's clock starts at the real time (payctl's processes
	// use theirs) and moves only when the test moves it.
	clock := providertest.NewClock(time.Now())
	em, err := cronosemu.NewWithConfig(providers.EmulatorOptions{Now: clock.Now, Faults: []string{"duplicate-callbacks=2", "reorder-callbacks=2"}},
		cronosemu.Config{SettleDelay: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	emSrv := httptest.NewServer(em)
	t.Cleanup(func() { emSrv.Close(); em.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const secret = "/callbacks/idr/3c9d8e0f4a6b1c2d7e5f"
	root := t.TempDir()
	cfg := fmt.Sprintf(`state: payctl.state.json
providers:
  idr:
    type: cronos
    baseURL: %s
    keyEnv: CRONOS_KEY
    tokenEnv: CRONOS_TOKEN
    callbackURL: http://%s%s
`, emSrv.URL, addr, secret)
	var m strings.Builder
	m.WriteString("apiVersion: payctl/v1\nkind: PayoutBatch\nmetadata:\n  name: dec\nspec:\n  provider: idr\n  currency: IDR\n  payouts:\n")
	accounts := []string{"8100000011", "8100000022", "8100000033", "8100000000", "8100009999", "8100000044"}
	for i, a := range accounts {
		fmt.Fprintf(&m, "    - {id: p%d, amount: \"%d\", recipient: {name: Person %d, bankCode: \"014\", account: \"%s\"}}\n", i, 15000+1000*i, i, a)
	}
	for name, s := range map[string]string{"payctl.yaml": cfg, "dec.yaml": m.String()} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	initState(t, root)
	creds := em.Credentials()
	env := append(os.Environ(), "CRONOS_KEY="+creds["keyEnv"], "CRONOS_TOKEN="+creds["tokenEnv"], "PAYCTL_CONFIG=", "PAYCTL_LOG=")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("payctl", args...)
		cmd.Dir, cmd.Env = root, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("payctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	serve := exec.Command("payctl", "serve", "-listen", addr)
	serve.Dir, serve.Env = root, env
	var serveOut bytes.Buffer
	serve.Stdout, serve.Stderr = &serveOut, &serveOut
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer serve.Process.Kill()
	waitHTTP(t, "http://"+addr+"/healthz", &serveOut)

	run("plan", "-out", "plan.json", "dec.yaml")
	run("apply", "plan.json")
	clock.Advance(2 * time.Minute) // past the emulator's settle delay
	em.Settle()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := em.WaitCallbacks(ctx); err != nil {
		t.Fatal(err)
	}
	// A forged callback for a reference payctl never sent: 200, ignored.
	resp, err := http.Post("http://"+addr+secret, "application/json", strings.NewReader(`{"responseCode":200,"responseMessage":"success","responseData":{"id":"6f1c0b7e-1d1e-4c55-9d57-2a1d1cbd0b11","merchantRef":"forged","status":"success"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("forged callback: got %d, want 200", resp.StatusCode)
	}
	metrics := scrape(t, "http://"+addr+"/metrics")
	serve.Process.Signal(syscall.SIGTERM)
	if err := serve.Wait(); err != nil {
		t.Fatalf("payctl serve did not exit cleanly after SIGTERM: %v\n%s", err, serveOut.String())
	}
	for _, want := range []string{
		`payctl_callback_state_changes_total{provider="idr"} 6`,
		`payctl_callbacks_ignored_total{provider="idr"} 1`,
		`payctl_build_info{`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if n := metricValue(metrics, `payctl_callbacks_confirmed_total{provider="idr"}`); n < 12 {
		t.Errorf("got %v confirmed callbacks, want at least 12 (a pending and a final one per payout)", n)
	}

	// Serve recorded everything: refresh finds nothing left to change.
	if out := run("refresh"); !strings.Contains(out, "0 changes recorded") {
		t.Errorf("refresh after serve recorded changes:\n%s", out)
	}

	st, err := state.Open(context.Background(), localstate.New(filepath.Join(root, "payctl.state.json"), nil, nil), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap := st.Snapshot()
	want := map[string]providers.Status{"success": providers.StatusPaid, "failed": providers.StatusFailed, "expired": providers.StatusFailed}
	ledger := em.Ledger()
	if len(ledger) != len(accounts) {
		t.Fatalf("the emulator has %d disbursements, want %d", len(ledger), len(accounts))
	}
	seen := map[string]bool{}
	for _, d := range ledger {
		var p *state.Payout
		for _, sp := range snap.Payouts {
			if sp.Latest().Key == d.MerchantRef {
				p = sp
			}
		}
		if p == nil {
			t.Errorf("disbursement %s (%s) is not in the state", d.ID, d.MerchantRef)
			continue
		}
		seen[p.Address] = true
		a := p.Latest()
		if a.Status != want[d.Status] || a.IDs.Get("id") != d.ID || a.Fee == nil || a.Fee.String() != fmt.Sprint(d.Fee) || p.Amount.String() != fmt.Sprint(d.Amount) {
			t.Errorf("%s: state has %s id %s fee %v amount %s; ledger has %s id %s fee %d amount %d", p.Address, a.Status, a.IDs.Get("id"), a.Fee, p.Amount, d.Status, d.ID, d.Fee, d.Amount)
		}
	}
	if len(seen) != len(accounts) {
		t.Errorf("%d payouts match the ledger, want %d", len(seen), len(accounts))
	}
}

func waitHTTP(t *testing.T, url string, log *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer: %v\n%s", url, err, log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func metricValue(text, series string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ([0-9.e+]+)$`).FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	var v float64
	fmt.Sscan(m[1], &v)
	return v
}

// serve refuses to start without -listen, and says how.
func TestServeNeedsListen(t *testing.T) {
	cmd := exec.Command("payctl", "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PAYCTL_CONFIG=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "payctl: error: serve needs -listen ADDR") || !strings.Contains(string(out), "payctl: hint: payctl serve -listen 127.0.0.1:8787") {
		t.Errorf("got %v:\n%s", err, out)
	}
}
