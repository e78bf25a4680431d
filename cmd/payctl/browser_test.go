package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/payctl/payctl/providers"
	ddemu "github.com/payctl/payctl/providers/dinardragon/emulator"
	"github.com/payctl/payctl/providers/registry"
)

// chromiumPath is Debian's chromium, or what PAYCTL_CHROMIUM names.
func chromiumPath() string {
	if p := os.Getenv("PAYCTL_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// emuClock is the emulators' clock, which the test moves past their
// settle delays instead of sleeping.
type emuClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *emuClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *emuClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// TestStatusPageInBrowser pays on the emulators as a user would (apply,
// an execute whose answer is lost, refresh), serves the status page with
// payctl serve, and reads it in headless Chromium: the totals, the
// unknown payout with its resolve command, no console error (a CSP
// violation is one), and a screenshot. PAYCTL_BROWSER_TEST=require makes
// a missing Chromium a failure (CI sets it); PAYCTL_SCREENSHOT=FILE also
// writes the screenshot there (docs/status-page.png).
func TestStatusPageInBrowser(t *testing.T) {
	chromium := chromiumPath()
	if chromium == "" {
		if os.Getenv("PAYCTL_BROWSER_TEST") == "require" {
			t.Fatal("PAYCTL_BROWSER_TEST=require and no chromium on PATH: install Debian's chromium package")
		}
		t.Skip("no chromium on PATH (apt-get install chromium); PAYCTL_BROWSER_TEST=require makes this a failure")
	}
	dir := t.TempDir()
	clock := &emuClock{}
	host := providers.NewEmulatorHost()
	env := map[string]string{"PAYCTL_ACTOR": "ops@example.com"}
	var dd *ddemu.Emulator
	var cfg strings.Builder
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveAddr := freeAddr(t)
	cfg.WriteString("state: payctl.state.json\nproviders:\n")
	for _, name := range []string{"cronos", "dinardragon"} {
		typ, _ := registry.Lookup(name)
		em, err := host.Start(typ, "/"+name, providers.EmulatorOptions{LedgerPath: filepath.Join(dir, name+".json"), Now: clock.Now, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		provider := map[string]string{"cronos": "idr-main", "dinardragon": "usd-main"}[name]
		fmt.Fprintf(&cfg, "  %s:\n    type: %s\n    baseURL: http://%s/%s\n    concurrency: 1\n", provider, name, ln.Addr(), name)
		creds := em.Credentials()
		for _, c := range typ.Credentials {
			if v, ok := creds[c.Field]; ok {
				ev := strings.ToUpper(name) + "_" + envName(strings.TrimSuffix(c.Field, "Env"))
				fmt.Fprintf(&cfg, "    %s: %s\n", c.Field, ev)
				env[ev] = v
			}
		}
		if typ.Callbacks != nil {
			fmt.Fprintf(&cfg, "    callbackURL: http://%s/callbacks/idr/9c1f3e5a7b2d4c6e8f0a\n", serveAddr)
		}
		if e, ok := em.(*ddemu.Emulator); ok {
			dd = e
		}
	}
	host.Serve(ln)
	t.Cleanup(func() { host.Close(context.Background()) })
	cfgPath := filepath.Join(dir, "payctl.yaml")
	write(t, cfgPath, cfg.String())
	write(t, filepath.Join(dir, "contractors.yaml"), `apiVersion: payctl/v1
kind: PayoutBatch
metadata: {name: contractors-2026-12}
spec:
  provider: idr-main
  currency: IDR
  payouts:
    - {id: ana, amount: "12500000", recipient: {name: Ana Putri, bankCode: "014", account: "8831200456"}}
    - {id: budi, amount: "4750000", recipient: {name: Budi Santoso, bankCode: "008", account: "1200098765"}}
    - {id: citra, amount: "980000", recipient: {name: Citra Lestari, bankCode: "009", account: "4410023311"}}
`)
	write(t, filepath.Join(dir, "vendors.yaml"), `apiVersion: payctl/v1
kind: PayoutBatch
metadata: {name: vendors-2026-12}
spec:
  provider: usd-main
  currency: USD
  payouts:
    - {id: acme, amount: "1840.50", recipient: {name: Acme Hosting LLC, bank: Chase Bank, country: US, account: "7700112233"}}
    - {id: globex, amount: "2200.00", recipient: {name: Globex Design, bank: Chase Bank, country: US, account: "7700445566"}}
`)
	write(t, filepath.Join(dir, "bonus.yaml"), `apiVersion: payctl/v1
kind: PayoutBatch
metadata: {name: bonus-2026-12}
spec:
  provider: usd-main
  currency: USD
  payouts:
    - {id: dana, amount: "500.00", recipient: {name: Dana Whitfield, bank: Chase Bank, country: US, account: "7700778899"}}
`)
	payctl := func(args ...string) (string, error) {
		var out bytes.Buffer
		e := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(k string) string { return env[k] }, IsTerminal: func(any) bool { return false }}
		args = append(args[:1:1], append([]string{"-config", cfgPath}, args[1:]...)...)
		if code := run(context.Background(), args, e); code != 0 {
			return out.String(), fmt.Errorf("payctl %s: exit %d", strings.Join(args, " "), code)
		}
		return out.String(), nil
	}
	// As the README says: init, then pin the lineage it prints.
	out, err := payctl("init")
	pin := regexp.MustCompile(`state: \{path: [^}]*\}`).FindString(out)
	if err != nil || pin == "" {
		t.Fatalf("init: %v\n%s", err, out)
	}
	write(t, cfgPath, strings.Replace(cfg.String(), "state: payctl.state.json", pin, 1))
	if out, err := payctl("apply", "-auto-approve", filepath.Join(dir, "contractors.yaml"), filepath.Join(dir, "vendors.yaml")); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// The answer to the next execute is lost after Dinar Dragon paid: the
	// payout is unknown, and Dinar Dragon has no lookup that could tell.
	if err := dd.Inject(ddemu.Fault5xxAfterCommit, 1); err != nil {
		t.Fatal(err)
	}
	if out, err := payctl("apply", "-auto-approve", filepath.Join(dir, "bonus.yaml")); err == nil || !strings.Contains(out, "unknown") {
		t.Fatalf("apply with the lost execute: %v, want an unknown payout:\n%s", err, out)
	}
	clock.Add(10 * time.Minute) // both emulators settle what they hold
	if out, err := payctl("refresh"); err != nil && !strings.Contains(out, "unknown") {
		t.Fatalf("%v\n%s", err, out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan string, 1)
	go func() {
		var out bytes.Buffer
		e := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(k string) string { return env[k] }, IsTerminal: func(any) bool { return false }}
		run(ctx, []string{"serve", "-config", cfgPath, "-listen", serveAddr}, e)
		served <- out.String()
	}()
	defer func() {
		cancel()
		if out := <-served; t.Failed() {
			t.Logf("payctl serve:\n%s", out)
		}
	}()
	waitHealthy(t, "http://"+serveAddr+"/healthz")

	allocCtx, stopAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		// Without these, Chromium waits on a network this machine does
		// not have.
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(1200, 900),
	)
	defer stopAlloc()
	bctx, stopBrowser := chromedp.NewContext(allocCtx)
	defer stopBrowser()
	bctx, stopTimeout := context.WithTimeout(bctx, 90*time.Second)
	defer stopTimeout()
	// The browser starts with the first action; the console is read from
	// then on, while the page loads.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	consoleCtx, stopConsole := context.WithCancel(bctx)
	messages := chromedp.Console(consoleCtx)
	var consoleErrors []string
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				consoleErrors = append(consoleErrors, m.String())
			}
		}
	}()
	if err := chromedp.Do(bctx, chromedp.Navigate("http://"+serveAddr+"/"), chromedp.WaitVisible(chromedp.ID("summary"))); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	title, err := chromedp.Run(bctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	payouts, unknown, totals := text("#payout-count"), text("#unknown-count"), text("#totals")
	resolve, batches := text("#unknown code.resolve"), text("#batches")
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	// Messages already sent are read before the subscription ends.
	time.Sleep(300 * time.Millisecond)
	stopConsole()
	<-consoleDone
	if title != "payctl status" {
		t.Errorf("title %q", title)
	}
	if payouts != "6" || unknown != "1" {
		t.Errorf("payouts %q, unknown %q: want 6 and 1", payouts, unknown)
	}
	// 12,500,000 + 4,750,000 + 980,000 IDR; 1,840.50 + 2,200.00 + 500.00 USD.
	if want := "18,230,000 IDR · 4,540.50 USD"; totals != want {
		t.Errorf("totals %q, want %q", totals, want)
	}
	if want := "payctl state resolve -config " + cfgPath + " bonus-2026-12/dana -paid|-failed -reason TEXT"; resolve != want {
		t.Errorf("resolve command %q, want %q", resolve, want)
	}
	for _, b := range []string{"contractors-2026-12", "vendors-2026-12", "paid 3", "paid 2", "unknown 1"} {
		if !strings.Contains(batches, b) {
			t.Errorf("batches table lacks %q:\n%s", b, batches)
		}
	}
	if len(consoleErrors) > 0 {
		t.Errorf("console errors: %q", consoleErrors)
	}
	path := filepath.Join(t.TempDir(), "status-page.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))
	if keep := os.Getenv("PAYCTL_SCREENSHOT"); keep != "" {
		if err := os.WriteFile(keep, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHealthy(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("payctl serve did not answer %s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
