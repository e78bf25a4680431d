package main

import (
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/payctl/payctl/internal/gen"
	"github.com/payctl/payctl/providers/fake"
)

var updateScripts = flag.Bool("update", false, "rewrite the golden files in testdata/script with the current output")

// TestScripts runs the end-to-end scripts in testdata/script: real payctl
// commands, asserting stdout, stderr, exit codes and files.
//
// Besides testscript's own commands, scripts have:
//
//	fake-provider [TOKEN]    start a fake provider (non-deduplicating) and set $FAKE_URL;
//	                         with TOKEN it requires "Authorization: Bearer TOKEN"
//	fake-inject FAULT...     make the next create requests fail (see providers/fake)
//	fake-ledger              print the fake provider's payments, one per line
//	fake-blind               make the fake provider unable to look payouts up
//	envsubst IN OUT          copy IN to OUT replacing ${VAR} with the script's environment
//	wait-nonempty FILE       wait (up to 10 s) until FILE exists and is not empty
//	gen-hostile KIND SIZE FILE  write about SIZE bytes of hostile input of a kind of
//	                         gen.Hostile (yaml-list, yaml-deep, json-list, ...) to FILE
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "../../testdata/script",
		UpdateScripts: *updateScripts,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PAYCTL_ACTOR", "tester@ci")
			env.Setenv("PAYCTL_CONFIG", "")
			env.Setenv("PAYCTL_LOG", "")
			// A -race binary otherwise sleeps a second at every exit.
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			env.Values["fake"] = &scriptFake{}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"fake-provider": cmdFakeProvider,
			"fake-inject":   cmdFakeInject,
			"fake-ledger":   cmdFakeLedger,
			"fake-blind":    cmdFakeBlind,
			"envsubst":      cmdEnvsubst,
			"wait-nonempty": cmdWaitNonempty,
			"gen-hostile":   cmdGenHostile,
		},
	})
}

type scriptFake struct {
	ledger *fake.Ledger
	srv    *httptest.Server
}

func fakeOf(ts *testscript.TestScript) *scriptFake {
	f := ts.Value("fake").(*scriptFake)
	if f.ledger == nil {
		ts.Fatalf("no fake provider: run fake-provider first")
	}
	return f
}

func cmdFakeProvider(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! fake-provider")
	}
	f := ts.Value("fake").(*scriptFake)
	f.ledger = fake.NewLedger()
	if len(args) > 0 {
		f.ledger.Token = args[0]
	}
	f.srv = httptest.NewServer(f.ledger)
	ts.Defer(f.srv.Close)
	ts.Setenv("FAKE_URL", f.srv.URL)
}

func cmdFakeInject(ts *testscript.TestScript, neg bool, args []string) {
	f := fakeOf(ts)
	for _, a := range args {
		f.ledger.Inject(fake.Fault(a))
	}
}

func cmdFakeBlind(ts *testscript.TestScript, neg bool, args []string) {
	fakeOf(ts).ledger.LookupsBlind = !neg
}

func cmdFakeLedger(ts *testscript.TestScript, neg bool, args []string) {
	f := fakeOf(ts)
	var lines []string
	for _, p := range f.ledger.Payments() {
		lines = append(lines, fmt.Sprintf("%s %s %s %s", p.Address, p.Amount, p.Status, p.Reference))
	}
	sort.Strings(lines)
	fmt.Fprintf(ts.Stdout(), "%s\ncreates %d\n", strings.Join(lines, "\n"), f.ledger.Creates())
}

func cmdEnvsubst(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: envsubst IN OUT")
	}
	in := ts.ReadFile(args[0])
	out := os.Expand(in, ts.Getenv)
	if err := os.WriteFile(ts.MkAbs(args[1]), []byte(out), 0o644); err != nil {
		ts.Fatalf("%v", err)
	}
}

func cmdWaitNonempty(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: wait-nonempty FILE")
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(ts.MkAbs(args[0])); err == nil && fi.Size() > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.Fatalf("%s still empty after 10s", args[0])
}

func cmdGenHostile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: gen-hostile KIND SIZE FILE")
	}
	size, err := strconv.Atoi(args[1])
	if err != nil {
		ts.Fatalf("gen-hostile: size: %v", err)
	}
	f, err := os.Create(ts.MkAbs(args[2]))
	if err != nil {
		ts.Fatalf("%v", err)
	}
	defer f.Close()
	if err := gen.Hostile(f, args[0], size); err != nil {
		ts.Fatalf("gen-hostile: %v", err)
	}
}
