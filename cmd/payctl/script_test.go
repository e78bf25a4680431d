package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/registry"
	"maps"
	"net"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/gen"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/plan"
	fakeemu "github.com/payctl/payctl/providers/fake/emulator"
	"github.com/payctl/payctl/state"
)

var updateScripts = flag.Bool("update", false, "rewrite the golden files in testdata/script with the current output")

// TestScripts runs the end-to-end scripts in testdata/script: real payctl
// commands, asserting stdout, stderr, exit codes and files.
//
// Besides testscript's own commands, scripts have:
//
//	fake-provider [TOKEN]    start a fake provider (non-deduplicating) and set $FAKE_URL;
//	                         with TOKEN it requires "Authorization: Bearer TOKEN"
//	fake-inject FAULT...     make the next create requests fail (see providers/fake/emulator)
//	fake-ledger              print the fake provider's payments, one per line
//	fake-blind               make the fake provider unable to look payouts up
//	fake-set KEY=VALUE...    set the fake provider: balance=AMOUNT|none, fee=AMOUNT,
//	                         feePayer=customer|merchant, total=plus|minus|AMOUNT (the
//	                         answer fields Cronos gives), name:ACCOUNT=NAME (the bank's
//	                         name for an account), inquiry=down|up
//	fake-requests            print the requests the fake provider received, by endpoint
//	cronos-emulator SETTING...  start the built-in Cronos emulator with settings
//	                         (bank-name=ACCOUNT:NAME, balance=N, fee-payer=..., total=...:
//	                         see providers/cronos/emulator) and set $CRONOS_URL,
//	                         $CRONOS_KEY and $CRONOS_TOKEN (its demo credentials)
//	cronos-requests          print the requests the Cronos emulator received, by endpoint
//	emulator-pay, emulator-amend  pay outside payctl, or change a payment, on a built-in
//	                         emulator's ledger (script_emulator_test.go)
//	envsubst IN OUT          copy IN to OUT replacing ${VAR} with the script's environment
//	wait-nonempty FILE       wait (up to 10 s) until FILE exists and is not empty
//	plan-edit FILE ADDRESS FIELD=VALUE...   (FIELD: amount, recipient.*, reference, metadata.KEY)
//	                         edit a payout of a saved plan as a careful forger would:
//	                         digest, key, receives, groups and totals made consistent
//	                         again; a new ADDRESS copies the payout named by a first
//	                         from=ADDRESS
//	plan-repin FILE          pin the manifests of a saved plan at their current digests
//	gen-hostile KIND SIZE FILE  write about SIZE bytes of hostile input of a kind of
//	                         gen.Hostile (yaml-list, yaml-deep, json-list, ...) to FILE
//	pin-state CONFIG         put the state line the last command printed (payctl init,
//	                         apply -init) in CONFIG in place of its state line
//	xlsx SPEC OUT            build a workbook from a text description (tabular_script_test.go)
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
			"fake-provider":   cmdFakeProvider,
			"fake-inject":     cmdFakeInject,
			"fake-ledger":     cmdFakeLedger,
			"fake-blind":      cmdFakeBlind,
			"fake-set":        cmdFakeSet,
			"fake-requests":   cmdFakeRequests,
			"cronos-emulator": cmdCronosEmulator,
			"cronos-requests": cmdCronosRequests,
			"emulator-pay":    cmdEmulatorPay,
			"emulator-amend":  cmdEmulatorAmend,
			"envsubst":        cmdEnvsubst,
			"wait-nonempty":   cmdWaitNonempty,
			"plan-edit":       cmdPlanEdit,
			"plan-repin":      cmdPlanRepin,
			"gen-hostile":     cmdGenHostile,
			"pin-state":       cmdPinState,
			"forge-segment":   cmdForgeSegment,
			"xlsx":            cmdXLSX,
		},
	})
}

// pinLine is the state line payctl prints for a person to pin a lineage.
var pinLine = regexp.MustCompile(`state: \{[^}]*lineage: [0-9a-f-]+\}`)

// cmdPinState does what a person does with the line `payctl init` or
// `payctl apply -init` printed: it puts it in CONFIG in place of its state
// line (or adds it).
func cmdPinState(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: pin-state CONFIG")
	}
	line := pinLine.FindString(ts.ReadFile("stdout"))
	if line == "" {
		line = pinLine.FindString(ts.ReadFile("stderr"))
	}
	if line == "" {
		ts.Fatalf("the last command printed no state line to pin")
	}
	var out []string
	done := false
	for _, l := range strings.Split(ts.ReadFile(args[0]), "\n") {
		if strings.HasPrefix(l, "state:") {
			l, done = line, true
		}
		out = append(out, l)
	}
	if !done {
		out = append([]string{line}, out...)
	}
	if err := os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Join(out, "\n")), 0o644); err != nil {
		ts.Fatalf("%v", err)
	}
}

type scriptFake struct {
	ledger *fakeemu.Ledger
	srv    *httptest.Server
	// cronos is the Cronos emulator cronos-emulator started.
	cronos providers.Emulator
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
	f.ledger = fakeemu.NewLedger()
	if len(args) > 0 {
		f.ledger.Token = args[0]
	}
	f.srv = httptest.NewServer(f.ledger)
	ts.Defer(f.srv.Close)
	ts.Setenv("FAKE_URL", f.srv.URL)
}

func cmdCronosEmulator(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! cronos-emulator")
	}
	t, ok := registry.Lookup("cronos")
	if !ok {
		ts.Fatalf("no cronos provider type")
	}
	host := providers.NewEmulatorHost()
	em, err := host.Start(t, "", providers.EmulatorOptions{Faults: args})
	if err != nil {
		ts.Fatalf("cronos-emulator: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ts.Fatalf("cronos-emulator: %v", err)
	}
	host.Serve(ln)
	ts.Defer(func() { host.Close(context.Background()) })
	ts.Value("fake").(*scriptFake).cronos = em
	creds := em.Credentials()
	ts.Setenv("CRONOS_URL", host.URL())
	ts.Setenv("CRONOS_KEY", creds["keyEnv"])
	ts.Setenv("CRONOS_TOKEN", creds["tokenEnv"])
}

func cmdCronosRequests(ts *testscript.TestScript, neg bool, args []string) {
	em, ok := ts.Value("fake").(*scriptFake).cronos.(interface{ Requests() map[string]int })
	if !ok {
		ts.Fatalf("cronos-requests: no Cronos emulator started (cronos-emulator)")
	}
	reqs := em.Requests()
	for _, k := range sortedKeys(reqs) {
		fmt.Fprintf(ts.Stdout(), "%s %d\n", k, reqs[k])
	}
}

func cmdFakeInject(ts *testscript.TestScript, neg bool, args []string) {
	f := fakeOf(ts)
	for _, a := range args {
		f.ledger.Inject(fakeemu.Fault(a))
	}
}

func cmdFakeBlind(ts *testscript.TestScript, neg bool, args []string) {
	fakeOf(ts).ledger.LookupsBlind = !neg
}

func cmdFakeSet(ts *testscript.TestScript, neg bool, args []string) {
	f := fakeOf(ts)
	for _, kv := range args {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			ts.Fatalf("fake-set: %q is not KEY=VALUE", kv)
		}
		f.ledger.Configure(func(l *fakeemu.Ledger) {
			switch {
			case k == "balance" && v == "none":
				l.Balance = nil
			case k == "balance":
				a, err := money.Parse(v)
				ts.Check(err)
				l.Balance = &a
			case k == "fee":
				l.Answers.Fee = v
			case k == "feePayer":
				l.Answers.FeePayer = v
			case k == "total":
				l.Answers.Total = v
			case k == "inquiry":
				l.InquiryDown = v == "down"
			case strings.HasPrefix(k, "name:"):
				if l.Names == nil {
					l.Names = map[string]string{}
				}
				l.Names[strings.TrimPrefix(k, "name:")] = v
			default:
				ts.Fatalf("fake-set: unknown setting %q", k)
			}
		})
	}
}

func cmdFakeRequests(ts *testscript.TestScript, neg bool, args []string) {
	reqs := fakeOf(ts).ledger.Requests()
	for _, k := range sortedKeys(reqs) {
		fmt.Fprintf(ts.Stdout(), "%s %d\n", k, reqs[k])
	}
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

// readPlanFile decodes a saved plan without plan.Read's checks: the
// commands below forge plans.
func readPlanFile(ts *testscript.TestScript, path string) *plan.Plan {
	var p plan.Plan
	if err := json.Unmarshal([]byte(ts.ReadFile(path)), &p); err != nil {
		ts.Fatalf("%s: %v", path, err)
	}
	return &p
}

func cmdPlanEdit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: plan-edit FILE ADDRESS FIELD=VALUE...")
	}
	p := readPlanFile(ts, args[0])
	var it *plan.Item
	for _, x := range p.Payouts {
		if x.Address == args[1] {
			it = x
		}
	}
	edits := args[2:]
	if it == nil {
		from, ok := strings.CutPrefix(edits[0], "from=")
		if !ok {
			ts.Fatalf("plan-edit: %s is not in %s: name the payout to copy with from=ADDRESS first", args[1], args[0])
		}
		edits = edits[1:]
		var src *plan.Item
		for _, x := range p.Payouts {
			if x.Address == from {
				src = x
			}
		}
		if src == nil {
			ts.Fatalf("plan-edit: no payout %s to copy", from)
		}
		c := *src
		c.Address, c.Action, c.Attempt, c.Status, c.Note = args[1], plan.Pay, 1, "", ""
		it = &c
		p.Payouts = append(p.Payouts, it)
		if it.Group >= 0 {
			g := p.Groups[it.Group]
			g.Addresses = append(g.Addresses, it.Address)
		}
	}
	for _, kv := range edits {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			ts.Fatalf("plan-edit: %q is not FIELD=VALUE", kv)
		}
		switch k {
		case "amount":
			a, err := money.Parse(v)
			ts.Check(err)
			it.Amount = a
		case "recipient.name":
			it.Recipient.Name = v
		case "recipient.account":
			it.Recipient.Account = v
		case "recipient.bankCode":
			it.Recipient.BankCode = v
		case "recipient.bank":
			it.Recipient.Bank = v
		case "recipient.country":
			it.Recipient.Country = v
		case "reference":
			it.Reference = v
		default:
			mk, ok := strings.CutPrefix(k, "metadata.")
			if !ok {
				ts.Fatalf("plan-edit: unknown field %q", k)
			}
			m := maps.Clone(it.Metadata)
			if m == nil {
				m = map[string]string{}
			}
			m[mk] = v
			it.Metadata = m
		}
	}
	it.Digest = it.Details().Digest()
	if it.Action.Sends() {
		it.Key = state.Key(it.Provider, it.Address, it.Attempt)
	}
	it.Receives = it.Amount
	if it.Fee != nil && it.FeePayer == fee.Recipient {
		it.Receives = it.Amount.Sub(*it.Fee)
	}
	refigure(p)
	ts.Check(p.Save(ts.MkAbs(args[0])))
}

// refigure makes a forged plan's group totals and plan totals add up.
func refigure(p *plan.Plan) {
	byAddr := map[string]*plan.Item{}
	for _, it := range p.Payouts {
		byAddr[it.Address] = it
	}
	for _, g := range p.Groups {
		g.Total = money.FromInt64(0)
		for _, a := range g.Addresses {
			if it := byAddr[a]; it != nil {
				g.Total = g.Total.Add(it.Amount)
			}
		}
	}
	for _, t := range p.Totals {
		z := money.FromInt64(0)
		t.Pay, t.Retry, t.Pending, t.Unknown, t.Unchanged = 0, 0, 0, 0, 0
		t.Amount, t.Fees, t.FeesSender, t.FeesRecipient, t.Receive = z, z, z, z, z
		addFee := func(f money.Amount, payer fee.Payer) {
			t.Fees = t.Fees.Add(f)
			if payer == fee.Recipient {
				t.FeesRecipient = t.FeesRecipient.Add(f)
			} else {
				t.FeesSender = t.FeesSender.Add(f)
			}
		}
		for _, it := range p.Payouts {
			if it.Provider != t.Provider || it.Currency.Code != t.Currency {
				continue
			}
			switch it.Action {
			case plan.Pay:
				t.Pay++
			case plan.Retry:
				t.Retry++
			case plan.Pending:
				t.Pending++
			case plan.Unknown:
				t.Unknown++
			case plan.Unchanged:
				t.Unchanged++
			}
			if it.Action.Sends() {
				t.Amount = t.Amount.Add(it.Amount)
				t.Receive = t.Receive.Add(it.Receives)
				if it.Fee != nil {
					addFee(*it.Fee, it.FeePayer)
				}
			}
		}
		for _, g := range p.Groups {
			perBatch := true
			for _, a := range g.Addresses {
				if it := byAddr[a]; it != nil && it.Fee != nil {
					perBatch = false
				}
			}
			if g.Provider == t.Provider && g.Currency.Code == t.Currency && perBatch {
				addFee(g.Fee, g.FeePayer)
			}
		}
		t.Charged = t.Amount.Add(t.FeesSender)
	}
}

func cmdPlanRepin(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: plan-repin FILE")
	}
	p := readPlanFile(ts, args[0])
	for i := range p.Manifests {
		m := &p.Manifests[i]
		m.Digest = plan.Digest([]byte(ts.ReadFile(m.File)))
	}
	ts.Check(p.Save(ts.MkAbs(args[0])))
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
