package main

import (
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestGracefulPerCommand(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"validate", "batch.yaml"}, false},
		{[]string{"plan", "-out", "p.json", "."}, false},
		{[]string{"history"}, false},
		{[]string{"doctor"}, false},
		{[]string{"version"}, false},
		{[]string{"help", "apply"}, false},
		{[]string{"state", "list"}, false},
		{[]string{"state", "show", "b/a"}, false},
		{[]string{"state", "diff", "a", "b"}, false},
		{[]string{"state", "verify"}, false},
		{[]string{"state", "export"}, false},
		{[]string{"state"}, false},
		{[]string{"reconcile", "-json"}, false},
		{[]string{"reconcile", "-since", "72h", "-record"}, true},
		{[]string{"reconcile", "--record=true"}, true},
		{nil, false},
		{[]string{"apply", "plan.json"}, true},
		{[]string{"refresh"}, true},
		{[]string{"watch", "dir"}, true},
		{[]string{"serve"}, true},
		{[]string{"sandbox"}, true},
		{[]string{"state", "resolve", "b/a", "-paid"}, true},
		{[]string{"state", "unlock", "id"}, true},
		{[]string{"state", "push", "f"}, true},
		{[]string{"state", "pull", "f"}, true},
		{[]string{"state", "a-future-subcommand"}, true},
		{[]string{"a-future-command"}, true},
	}
	for _, tt := range tests {
		if got := graceful(tt.args); got != tt.want {
			t.Errorf("graceful(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}

// signalRun runs onSignals with the given signals and reports what it
// wrote, whether it cancelled, and the exit status it asked for; -1 when
// it was still waiting for another signal after a second.
func signalRun(t *testing.T, graceful bool, sigs ...os.Signal) (stderr string, cancelled bool, code int) {
	t.Helper()
	ch := make(chan os.Signal, len(sigs))
	for _, s := range sigs {
		ch <- s
	}
	var b strings.Builder
	var c atomic.Bool
	exited := make(chan int, 2)
	done := make(chan struct{})
	go func() {
		defer close(done)
		onSignals(ch, graceful, func() { c.Store(true) }, &b, func(c int) { exited <- c })
	}()
	select {
	case code = <-exited:
	case <-time.After(time.Second):
		code = -1
		close(ch) // let it return
	}
	<-done
	return b.String(), c.Load(), code
}

func TestReadOnlyCommandsQuitAtTheFirstSignal(t *testing.T) {
	for _, sig := range []os.Signal{syscall.SIGTERM, os.Interrupt} {
		stderr, cancelled, code := signalRun(t, graceful([]string{"validate", "big.yaml"}), sig)
		if code != 130 {
			t.Errorf("%v: exit status %d, want 130", sig, code)
		}
		if strings.Contains(stderr, "in flight") || !strings.HasPrefix(stderr, "payctl: stopped by ") {
			t.Errorf("%v: stderr %q, want a short stop message", sig, stderr)
		}
		if cancelled {
			t.Errorf("%v: cancelled, want a plain exit", sig)
		}
	}
}

func TestPayingCommandsFinishWhatIsInFlight(t *testing.T) {
	g := graceful([]string{"apply", "plan.json"})
	if _, cancelled, code := signalRun(t, g, syscall.SIGTERM); code != -1 || !cancelled {
		t.Errorf("one signal: exit %d, cancelled %v; want no exit and the context cancelled", code, cancelled)
	}
	stderr, _, code := signalRun(t, g, syscall.SIGTERM, syscall.SIGTERM)
	if code != 130 || !strings.Contains(stderr, "finishing what is in flight") {
		t.Errorf("two signals: exit %d, stderr %q", code, stderr)
	}
}
