package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a serve's stderr, read while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// servePage runs payctl serve in-process on listen with env, and returns
// the URL it serves and its output so far.
func servePage(t *testing.T, listen string, env map[string]string) (string, *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "payctl.yaml")
	write(t, cfg, "state: payctl.state.json\nproviders:\n  usd:\n    type: dinardragon\n    emulator: true\n")
	out := &syncBuffer{}
	e := &Env{Stdin: strings.NewReader(""), Stdout: out, Stderr: out, Getenv: func(k string) string { return env[k] }, IsTerminal: func(any) bool { return false }}
	if code := run(context.Background(), []string{"init", "-config", cfg}, e); code != 0 {
		t.Fatalf("init: %s", out)
	}
	pin := regexp.MustCompile(`state: \{path: [^}]*\}`).FindString(out.String())
	write(t, cfg, strings.Replace("state: payctl.state.json\nproviders:\n  usd:\n    type: dinardragon\n    emulator: true\n", "state: payctl.state.json", pin, 1))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx, []string{"serve", "-config", cfg, "-listen", listen}, e)
	}()
	t.Cleanup(func() { cancel(); <-done })
	_, port, _ := strings.Cut(listen, ":")
	url := "http://127.0.0.1:" + port
	waitHealthy(t, url+"/healthz")
	return url, out
}

func getPage(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestServePageOnLoopback(t *testing.T) {
	url, out := servePage(t, freeAddr(t), nil)
	if code, body := getPage(t, url, ""); code != 200 || !strings.Contains(body, "payctl status") {
		t.Errorf("loopback without a token: %d, want the page", code)
	}
	if strings.Contains(out.String(), "status page is off") {
		t.Errorf("warned on loopback:\n%s", out)
	}
}

func TestServePageOffLoopbackNeedsToken(t *testing.T) {
	_, port, _ := strings.Cut(freeAddr(t), ":")
	url, out := servePage(t, "0.0.0.0:"+port, nil)
	if code, body := getPage(t, url, ""); code != 403 || !strings.Contains(body, "PAYCTL_STATUS_TOKEN") {
		t.Errorf("all interfaces without a token: %d %q, want 403 naming PAYCTL_STATUS_TOKEN", code, body)
	}
	if !strings.Contains(out.String(), "the status page is off") {
		t.Errorf("no warning at start:\n%s", out)
	}
	if code, _ := getPage(t, url+"/healthz", ""); code == 403 {
		t.Error("health checks were turned off with the page")
	}

	_, port, _ = strings.Cut(freeAddr(t), ":")
	url, out = servePage(t, "0.0.0.0:"+port, map[string]string{"PAYCTL_STATUS_TOKEN": "a1b2c3d4e5f6a7b8c9d0"})
	if code, _ := getPage(t, url, ""); code != 401 {
		t.Errorf("with a token, none sent: %d, want 401", code)
	}
	if code, body := getPage(t, url, "Bearer a1b2c3d4e5f6a7b8c9d0"); code != 200 || !strings.Contains(body, "payctl status") {
		t.Errorf("with the token: %d, want the page", code)
	}
	if strings.Contains(out.String(), "status page is off") {
		t.Errorf("warned with a token set:\n%s", out)
	}
}

// payctl watch -listen serves the page with the files it holds, each with
// the command that pays its plan.
func TestWatchPageShowsHeldFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "payctl.yaml")
	body := "state: payctl.state.json\nproviders:\n  usd:\n    type: dinardragon\n    emulator: true\n"
	write(t, cfg, body)
	out := &syncBuffer{}
	e := &Env{Stdin: strings.NewReader(""), Stdout: out, Stderr: out, Getenv: func(string) string { return "" }, IsTerminal: func(any) bool { return false }}
	if code := run(context.Background(), []string{"init", "-config", cfg}, e); code != 0 {
		t.Fatalf("init: %s", out)
	}
	pin := regexp.MustCompile(`state: \{path: [^}]*\}`).FindString(out.String())
	// No policy.autoApply: watch holds every file for a person.
	write(t, cfg, strings.Replace(body, "state: payctl.state.json", pin, 1))
	drop := filepath.Join(dir, "drop")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx, []string{"watch", "-config", cfg, "-listen", addr, "-quiet", "10ms", drop}, e)
	}()
	defer func() { cancel(); <-done }()
	waitHealthy(t, "http://"+addr+"/healthz")
	write(t, filepath.Join(dir, "vendors.yaml"), `apiVersion: payctl/v1
kind: PayoutBatch
metadata: {name: vendors-2026-12}
spec:
  provider: usd
  currency: USD
  payouts:
    - {id: acme, amount: "1840.50", recipient: {name: Acme Hosting LLC, bank: Chase Bank, country: US, account: "7700112233"}}
`)
	if err := os.Rename(filepath.Join(dir, "vendors.yaml"), filepath.Join(drop, "inbox", "vendors.yaml")); err != nil {
		t.Fatal(err)
	}
	want := "payctl apply -config " + cfg + " " + filepath.Join(drop, "held", "vendors.yaml.plan.json")
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, page := getPage(t, "http://"+addr, "")
		if code == 200 && strings.Contains(page, want) && strings.Contains(page, `<b id="held-count">1</b>`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page never showed the held file with %q (status %d):\n%s\nwatch:\n%s", want, code, page, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
