package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/payctl/payctl/providers"
	ddemu "github.com/payctl/payctl/providers/dinardragon/emulator"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
)

// ddFolder is a payctl folder whose Dinar Dragon provider is the built-in
// emulator with a small maxBatch, and a manifest of n payouts: one batch
// split into several provider payouts. The emulator runs inside each
// payctl process and keeps its ledger in .payctl-emulator/usd.json, so
// the ledger outlives a killed process just as a real provider's would.
type ddFolder struct {
	t   *testing.T
	dir string
	n   int
}

func newDDFolder(t *testing.T, n, maxBatch int) *ddFolder {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "payctl.yaml"), fmt.Sprintf(`state: payctl.state.json
providers:
  usd:
    type: dinardragon
    emulator: true
    maxBatch: %d
`, maxBatch))
	var m strings.Builder
	m.WriteString("apiVersion: payctl/v1\nkind: PayoutBatch\nmetadata:\n  name: vendors\nspec:\n  provider: usd\n  currency: USD\n  payouts:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&m, "    - {id: v%d, amount: \"%d.25\", recipient: {name: Vendor %d, bank: Chase Bank, country: US, account: \"7%06d3\"}}\n", i, 20+i, i, i)
	}
	write(t, filepath.Join(dir, "batch.yaml"), m.String())
	initState(t, dir)
	return &ddFolder{t: t, dir: dir, n: n}
}

func (f *ddFolder) payctl(env []string, args ...string) (string, error) {
	cmd := exec.Command("payctl", args...)
	cmd.Dir = f.dir
	cmd.Env = append(os.Environ(), "PAYCTL_CONFIG=", "PAYCTL_LOG=", "PAYCTL_ACTOR=tester@ci")
	if os.Getenv("GORACE") == "" {
		// A -race build sleeps a second at exit by default; these tests
		// run payctl a dozen times.
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// ddLedgerFile is the emulator's persisted ledger, as far as the test
// reads it.
type ddLedgerFile struct {
	Payments []ddemu.Payment `json:"payments"`
	Executes map[string]int  `json:"executes"`
}

// ledger reads the ledger file as the next emulator finds it: a killed
// payctl leaves its last changes in the emulator's journal, which an
// emulator opened on the file replays into it.
func (f *ddFolder) ledger() ddLedgerFile {
	f.t.Helper()
	var l ddLedgerFile
	path := filepath.Join(f.dir, ".payctl-emulator", "usd.json")
	em, err := ddemu.New(providers.EmulatorOptions{LedgerPath: path})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := em.Close(); err != nil {
		f.t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := json.Unmarshal(b, &l); err != nil {
		f.t.Fatal(err)
	}
	return l
}

// paidAccounts maps each account to the uniqueids it was paid under.
func (l ddLedgerFile) paidAccounts() map[string][]string {
	m := map[string][]string{}
	for _, p := range l.Payments {
		for _, a := range p.Accounts {
			m[a.Acc] = append(m[a.Acc], a.UniqueID)
		}
	}
	return m
}

func (f *ddFolder) snapshot() *state.Snapshot {
	f.t.Helper()
	st, err := state.Open(context.Background(), localstate.New(filepath.Join(f.dir, "payctl.state.json"), nil, nil), state.Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	return st.Snapshot()
}

func account(i int) string { return fmt.Sprintf("7%06d3", i) }

// checkLedgerAndState proves, against the emulator's ledger file, that no
// account was paid twice, that every authcode was executed once, and that
// each payout the state holds with a uniqueid matches the ledger.
func (f *ddFolder) checkLedgerAndState() (ddLedgerFile, *state.Snapshot) {
	f.t.Helper()
	l := f.ledger()
	for acc, uids := range l.paidAccounts() {
		if len(uids) > 1 {
			f.t.Errorf("account %s paid %d times: %v", acc, len(uids), uids)
		}
	}
	for auth, n := range l.Executes {
		if n != 1 {
			f.t.Errorf("authcode %s executed %d times", auth, n)
		}
	}
	snap := f.snapshot()
	paid := l.paidAccounts()
	for i := 0; i < f.n; i++ {
		addr := fmt.Sprintf("vendors/v%d", i)
		p := snap.Payouts[addr]
		if p == nil {
			continue
		}
		if uid := p.Latest().IDs.Get("uniqueid"); uid != "" && (len(paid[account(i)]) != 1 || paid[account(i)][0] != uid) {
			f.t.Errorf("%s: state uniqueid %s, ledger %v", addr, uid, paid[account(i)])
		}
	}
	return l, snap
}

func statusesOf(snap *state.Snapshot) map[providers.Status]int {
	m := map[providers.Status]int{}
	for _, p := range snap.Payouts {
		m[p.Status]++
	}
	return m
}

// TestDinarDragonCrashBetweenProviderPayouts kills a real `payctl apply`
// after the first provider payout's outcome is durable and before the
// second is quoted. The batch of 5 is split into provider payouts of 2, 2
// and 1 (maxBatch 2). The next apply pays only the rest: the ledger file
// holds each account once, each authcode executed once, and the state
// records the ledger's uniqueids.
func TestDinarDragonCrashBetweenProviderPayouts(t *testing.T) {
	f := newDDFolder(t, 5, 2)
	out, err := f.payctl([]string{"PAYCTL_CRASH=outcome-after-sync:1"}, "apply", "-auto-approve", "batch.yaml")
	if !killedBySignal(err) {
		t.Fatalf("payctl was not killed (err %v):\n%s", err, out)
	}
	l, snap := f.checkLedgerAndState()
	if len(l.Payments) != 1 || len(l.Payments[0].Accounts) != 2 {
		t.Fatalf("ledger after the crash: %+v, want one payment of 2 accounts", l.Payments)
	}
	if got := statusesOf(snap); len(snap.Payouts) != 2 || got[providers.StatusPending] != 2 {
		t.Fatalf("state after the crash: %v, want 2 pending", got)
	}

	out, err = f.payctl(nil, "apply", "-auto-approve", "batch.yaml")
	if err != nil {
		t.Fatalf("second apply: %v\n%s", err, out)
	}
	for _, want := range []string{"3 to pay, 0 to retry, 0 unchanged, 2 pending, 0 unknown", "usd USD: 3 pending"} {
		if !strings.Contains(out, want) {
			t.Errorf("second apply does not say %q:\n%s", want, out)
		}
	}
	l, snap = f.checkLedgerAndState()
	if len(l.Payments) != 3 || len(l.paidAccounts()) != 5 {
		t.Fatalf("ledger: %d payments for %d accounts, want 3 for 5", len(l.Payments), len(l.paidAccounts()))
	}
	if got := statusesOf(snap); got[providers.StatusPending] != 5 {
		t.Fatalf("state: %v, want 5 pending", got)
	}
	var tokens, payments []string
	for _, g := range snap.Groups {
		tokens = append(tokens, g.Token+" "+g.IDs.Get("payment_id"))
	}
	for _, p := range l.Payments {
		payments = append(payments, p.Authcode+" "+p.PaymentID)
	}
	sort.Strings(tokens)
	sort.Strings(payments)
	if strings.Join(tokens, ",") != strings.Join(payments, ",") {
		t.Errorf("state's provider payouts %v, ledger's %v", tokens, payments)
	}

	out, err = f.payctl(nil, "apply", "-auto-approve", "batch.yaml")
	if err != nil || !strings.Contains(out, "Nothing to pay") || len(f.ledger().Payments) != 3 {
		t.Fatalf("third apply (err %v, %d payments):\n%s", err, len(f.ledger().Payments), out)
	}
}

// TestDinarDragonCrashAfterExecuteAnswer kills `payctl apply` when the
// second provider payout's execute was answered but before its outcome
// was written: the money left, and the state only has the intent. The
// next apply pays the last provider payout, leaves the second unknown
// (Dinar Dragon has no lookup by authcode) and never executes it again;
// `payctl state resolve` settles it.
func TestDinarDragonCrashAfterExecuteAnswer(t *testing.T) {
	f := newDDFolder(t, 5, 2)
	out, err := f.payctl([]string{"PAYCTL_CRASH=answer-received:2"}, "apply", "-auto-approve", "batch.yaml")
	if !killedBySignal(err) {
		t.Fatalf("payctl was not killed (err %v):\n%s", err, out)
	}
	if l := f.ledger(); len(l.Payments) != 2 {
		t.Fatalf("ledger after the crash: %d payments, want 2", len(l.Payments))
	}
	for i := 0; i < 2; i++ {
		out, err = f.payctl(nil, "apply", "-auto-approve", "batch.yaml")
		if err != nil {
			t.Fatalf("apply %d after the crash: %v\n%s", i, err, out)
		}
		for _, want := range []string{"vendors/v2 attempt 1: unknown", "no lookup by authcode"} {
			if !strings.Contains(out, want) {
				t.Errorf("apply %d does not say %q:\n%s", i, want, out)
			}
		}
	}
	l, snap := f.checkLedgerAndState()
	if len(l.Payments) != 3 {
		t.Fatalf("ledger: %d payments, want 3", len(l.Payments))
	}
	if got := statusesOf(snap); got[providers.StatusPending] != 3 || got[providers.StatusUnknown] != 2 {
		t.Fatalf("state: %v, want 3 pending and 2 unknown", got)
	}
	for _, addr := range []string{"vendors/v2", "vendors/v3"} {
		out, err := f.payctl(nil, "state", "resolve", addr, "-paid", "-reason", "dashboard shows the second payout")
		if err != nil {
			t.Fatalf("resolve %s: %v\n%s", addr, err, out)
		}
	}
	out, err = f.payctl(nil, "apply", "-auto-approve", "batch.yaml")
	if err != nil || !strings.Contains(out, "0 to pay, 0 to retry, 2 unchanged, 3 pending, 0 unknown") {
		t.Fatalf("apply after resolve (err %v):\n%s", err, out)
	}
	if l, _ := f.checkLedgerAndState(); len(l.Payments) != 3 {
		t.Fatalf("ledger after resolve: %d payments", len(l.Payments))
	}
}
