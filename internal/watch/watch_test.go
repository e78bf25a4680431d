package watch

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/providers"
	fakeemu "github.com/payctl/payctl/providers/fake/emulator"
	"github.com/payctl/payctl/schema"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
)

func readResult(t *testing.T, r *rig, final string) *Result {
	t.Helper()
	var res Result
	if err := json.Unmarshal([]byte(r.read(Done, final+".result.json")), &res); err != nil {
		t.Fatal(err)
	}
	return &res
}

// A file renamed into inbox is taken without waiting for a quiet period:
// the clock never moves in this test.
func TestRenamedFileIsTakenAtOnce(t *testing.T) {
	clock := newFakeClock()
	r := newRig(t, rigOptions{opts: func(o *Options) { o.Clock = clock; o.Quiet = time.Hour }})
	r.drop("nov.yaml", batchYAML("nov", 3, "1000"))
	got := r.waitFinished(1)
	if got[0].Folder != Done || got[0].Outcome != OutcomeApplied {
		t.Fatalf("got %+v, want done/ applied", got[0])
	}
	r.paidOnce(addresses("nov", 3))
	res := readResult(t, r, got[0].Final)
	if res.Sent != 3 || len(res.Payouts) != 3 || res.Payouts[0].Status != providers.StatusPaid || res.Payouts[0].IDs["id"] == "" {
		t.Fatalf("got result %+v, want 3 sent and paid with provider ids", res)
	}
	if l := r.list(Inbox); len(l) != 0 {
		t.Errorf("inbox holds %v, want nothing (the watcher's marker files must not stay)", l)
	}
	if l := r.list(Processing); len(l) != 0 {
		t.Errorf("processing holds %v, want nothing", l)
	}
}

// A file written in place, slowly, in pieces, is taken only once it has
// been complete and unchanged for the quiet period.
func TestSlowWriterIsTakenOnlyWhenComplete(t *testing.T) {
	clock := newFakeClock()
	const quiet = 10 * time.Second
	r := newRig(t, rigOptions{opts: func(o *Options) { o.Clock = clock; o.Quiet = quiet }})
	content := batchYAML("slow", 6, "1000")
	f, err := os.OpenFile(filepath.Join(r.dir, Inbox, "slow.yaml"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	pieces := 8
	step := len(content)/pieces + 1
	for i := 0; i < len(content); i += step {
		if _, err := f.WriteString(content[i:min(i+step, len(content))]); err != nil {
			t.Fatal(err)
		}
		// Let real time pass for the events, then fake time, short of the
		// quiet period.
		time.Sleep(5 * time.Millisecond)
		clock.Advance(quiet / 3)
		time.Sleep(5 * time.Millisecond)
		if n := r.finishedCount(); n != 0 {
			t.Fatalf("a file still being written was taken after %d of %d bytes", i+step, len(content))
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for r.finishedCount() == 0 {
		clock.Advance(quiet / 4)
		time.Sleep(2 * time.Millisecond)
	}
	got := r.waitFinished(1)
	if got[0].Folder != Done || got[0].Outcome != OutcomeApplied {
		t.Fatalf("got %+v, want done/ applied (a partial file would be rejected or pay a part)", got[0])
	}
	r.paidOnce(addresses("slow", 6))
}

// The same batch dropped again, under the same or another name, pays
// nothing; the report says so; no file is overwritten.
func TestDroppedAgainPaysNothing(t *testing.T) {
	r := newRig(t, rigOptions{})
	m := batchYAML("dup", 4, "2500")
	r.drop("dup.yaml", m)
	r.waitFinished(1)
	r.drop("dup.yaml", m)
	r.waitFinished(2)
	r.drop("again.yaml", m)
	got := r.waitFinished(3)
	tests := []struct {
		final, outcome string
		sent           int
	}{
		{"dup.yaml", OutcomeApplied, 4},
		{"dup~2.yaml", OutcomeNothingToPay, 0},
		{"again.yaml", OutcomeNothingToPay, 0},
	}
	for i, tt := range tests {
		if got[i].Final != tt.final || got[i].Outcome != tt.outcome {
			t.Errorf("file %d: got %s (%s), want %s (%s)", i, got[i].Final, got[i].Outcome, tt.final, tt.outcome)
			continue
		}
		res := readResult(t, r, tt.final)
		if res.Sent != tt.sent {
			t.Errorf("%s: got %d sent, want %d", tt.final, res.Sent, tt.sent)
		}
		if tt.outcome == OutcomeNothingToPay && !strings.Contains(res.Message, "never pays twice") {
			t.Errorf("%s: message %q does not say nothing was paid again", tt.final, res.Message)
		}
	}
	r.paidOnce(addresses("dup", 4))
	if c := r.ledger.Creates(); c != 4 {
		t.Errorf("got %d create requests, want 4", c)
	}
}

// A changed file for a batch already paid is rejected with the plan's
// immutability error, positioned at the file's place in rejected/.
func TestChangedPaidBatchIsRejected(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.drop("b.yaml", batchYAML("imm", 2, "1000"))
	r.waitFinished(1)
	r.drop("b.yaml", batchYAML("imm", 2, "1500"))
	got := r.waitFinished(2)
	if got[1].Folder != Rejected || got[1].Final != "b.yaml" {
		t.Fatalf("got %+v, want rejected/b.yaml", got[1])
	}
	text := r.read(Rejected, "b.yaml.errors.txt")
	for _, want := range []string{"rejected/b.yaml:9:5: payout imm/p0000 was already sent", "amount 1000 -> 1500", "rejected/b.yaml:10:5: payout imm/p0001"} {
		if !strings.Contains(text, want) {
			t.Errorf("errors.txt lacks %q:\n%s", want, text)
		}
	}
	r.paidOnce(addresses("imm", 2))
}

// An invalid file is rejected with the messages payctl validate prints.
func TestInvalidFileIsRejected(t *testing.T) {
	r := newRig(t, rigOptions{})
	bad := strings.Replace(batchYAML("bad", 2, "1000"), `amount: "1000"`, `amount: 1000`, 1)
	bad = strings.Replace(bad, "currency: IDR", "currency: IDR\n  colour: blue", 1)
	r.drop("bad.yaml", bad)
	got := r.waitFinished(1)
	if got[0].Folder != Rejected {
		t.Fatalf("got %+v, want rejected/", got[0])
	}
	_, want := schema.Parse(filepath.Join(Rejected, "bad.yaml"), []byte(bad))
	if len(want) < 2 {
		t.Fatalf("the test manifest should have two errors, has %v", want)
	}
	text := r.read(Rejected, "bad.yaml.errors.txt")
	lines := strings.Split(text, "\n")
	for i, e := range want {
		if lines[i] != e.Error() {
			t.Errorf("line %d: got %q, want %q", i+1, lines[i], e.Error())
		}
	}
	if n := len(r.ledger.Payments()); n != 0 {
		t.Errorf("got %d payments, want none", n)
	}
}

// A file outside the policy goes to held/ with a saved plan that names it
// there; applying that plan pays it.
func TestOutsidePolicyIsHeldAndItsPlanApplies(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.drop("big.yaml", batchYAML("big", 2, "2000000")) // above maxPayout 1000000
	got := r.waitFinished(1)
	if got[0].Folder != Held {
		t.Fatalf("got %+v, want held/", got[0])
	}
	if n := len(r.ledger.Payments()); n != 0 {
		t.Fatalf("a held file paid %d payouts", n)
	}
	text := r.read(Held, "big.yaml.plan.txt")
	for _, want := range []string{"2 payouts are above policy.autoApply.maxPayout.IDR 1000000 IDR", "payctl apply -config " + filepath.Join(r.root, "payctl.yaml") + " " + filepath.Join(r.dir, Held, "big.yaml.plan.json")} {
		if !strings.Contains(text, want) {
			t.Errorf("plan.txt lacks %q:\n%s", want, text)
		}
	}
	planFile := filepath.Join(r.dir, Held, "big.yaml.plan.json")
	p, err := plan.Read(planFile)
	if err != nil {
		t.Fatal(err)
	}
	if p.Manifests[0].File != filepath.Join(r.dir, Held, "big.yaml") {
		t.Errorf("the plan names %s, want the file in held/", p.Manifests[0].File)
	}
	r.stop()
	ctx := context.Background()
	sess, err := r.gate.Open(ctx, "apply")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckCurrent(planFile, sess.State.Snapshot(), r.ws.Config.Digest, func(path string) (string, error) {
		data, err := os.ReadFile(path)
		return plan.Digest(data), err
	}); err != nil {
		t.Fatalf("the held plan is not current: %v", err)
	}
	if _, err := sess.Engine.Run(ctx, p); err != nil {
		t.Fatal(err)
	}
	sess.Close(ctx)
	r.paidOnce(addresses("big", 2))
}

func TestPolicyBatchTotalAndProviderHold(t *testing.T) {
	tests := []struct {
		name, policy, want string
	}{
		{"batch total", "    providers: [fk]\n    maxBatchTotal: {IDR: \"2500\"}\n", "batch pol totals 3000 IDR, above policy.autoApply.maxBatchTotal.IDR 2500 IDR"},
		{"provider", "    providers: [fk]\n    currencies: [USD]\n", "currency IDR is not in policy.autoApply.currencies (USD)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, rigOptions{policy: tt.policy})
			r.drop("pol.yaml", batchYAML("pol", 3, "1000"))
			got := r.waitFinished(1)
			if got[0].Folder != Held {
				t.Fatalf("got %+v, want held/", got[0])
			}
			if text := r.read(Held, "pol.yaml.plan.txt"); !strings.Contains(text, tt.want) {
				t.Errorf("plan.txt lacks %q:\n%s", tt.want, text)
			}
		})
	}
}

// Symlinks, FIFOs, hard links and oversized files are refused unread and
// moved to rejected/ with a reason; the watcher does not block on them and
// goes on with the next file.
func TestUnsafeFilesAreRefused(t *testing.T) {
	r := newRig(t, rigOptions{opts: func(o *Options) { o.MaxFileSize = 4096 }})
	inbox := filepath.Join(r.dir, Inbox)
	target := filepath.Join(r.stage, "target.yaml")
	writeFile(t, target, batchYAML("target", 1, "1000"))
	tests := []struct {
		name, reason string
		make         func(path string) error
	}{
		{"link.yaml", "symbolic link", func(p string) error { return os.Symlink(target, p) }},
		{"pipe.yaml", "named pipe", func(p string) error { return syscall.Mkfifo(p, 0o600) }},
		{"hard.yaml", "2 hard links", func(p string) error { return os.Link(target, p) }},
		{"huge.yaml", "larger than the 4096-byte limit", func(p string) error {
			tmp := filepath.Join(r.stage, "huge")
			if err := os.WriteFile(tmp, []byte(batchYAML("huge", 200, "1000")), 0o600); err != nil {
				return err
			}
			return os.Rename(tmp, p)
		}},
	}
	for _, tt := range tests {
		if err := tt.make(filepath.Join(inbox, tt.name)); err != nil {
			t.Fatal(err)
		}
	}
	r.drop("fine.yaml", batchYAML("fine", 1, "1000"))
	got := r.waitFinished(len(tests) + 1)
	folders := map[string]string{}
	for _, f := range got {
		folders[f.Name] = f.Folder
	}
	for _, tt := range tests {
		if folders[tt.name] != Rejected {
			t.Errorf("%s: got %q, want rejected", tt.name, folders[tt.name])
			continue
		}
		if text := r.read(Rejected, tt.name+".errors.txt"); !strings.Contains(text, tt.reason) {
			t.Errorf("%s: reason %q lacks %q", tt.name, text, tt.reason)
		}
	}
	if folders["fine.yaml"] != Done {
		t.Errorf("fine.yaml: got %q, want done", folders["fine.yaml"])
	}
	if fi, err := os.Lstat(filepath.Join(r.dir, Rejected, "link.yaml")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink itself should be in rejected/ (got %v, %v)", fi, err)
	}
	if _, err := os.Stat(target); err != nil {
		t.Errorf("the symlink's target was touched: %v", err)
	}
	r.paidOnce(addresses("fine", 1))
}

// Temporary names and folders are never taken; a temporary name renamed
// to a final one is.
func TestTemporaryNamesAreIgnored(t *testing.T) {
	clock := newFakeClock()
	r := newRig(t, rigOptions{opts: func(o *Options) { o.Clock = clock; o.Quiet = time.Second; o.Rescan = 5 * time.Second }})
	inbox := filepath.Join(r.dir, Inbox)
	for _, name := range []string{".hidden.yaml", "x.yaml.tmp", "x.yaml.part"} {
		writeFile(t, filepath.Join(inbox, name), batchYAML("tmp", 1, "1000"))
	}
	if err := os.Mkdir(filepath.Join(inbox, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		clock.Advance(time.Second)
		time.Sleep(time.Millisecond)
	}
	if n := r.finishedCount(); n != 0 {
		t.Fatalf("got %d files taken, want none", n)
	}
	if err := os.Rename(filepath.Join(inbox, "x.yaml.part"), filepath.Join(inbox, "x.yaml")); err != nil {
		t.Fatal(err)
	}
	got := r.waitFinished(1)
	if got[0].Name != "x.yaml" || got[0].Folder != Done {
		t.Fatalf("got %+v, want x.yaml done", got[0])
	}
	want := []string{".hidden.yaml", "sub", "x.yaml.tmp"}
	if l := r.list(Inbox); !slices.Equal(l, want) {
		t.Errorf("inbox holds %v, want %v", l, want)
	}
}

// A file left in processing/ by a run that was cut short is finished at
// the next start, without paying twice.
func TestProcessingIsResumedAtStart(t *testing.T) {
	r := newRig(t, rigOptions{noRun: true})
	if err := r.w.prepare(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(r.dir, Processing, "cut.yaml"), batchYAML("cut", 3, "1000"))
	r.start()
	got := r.waitFinished(1)
	if got[0].Folder != Done || got[0].Outcome != OutcomeApplied {
		t.Fatalf("got %+v, want done/ applied", got[0])
	}
	if res := readResult(t, r, "cut.yaml"); !res.Resumed {
		t.Errorf("the result does not say the file was resumed")
	}
	r.paidOnce(addresses("cut", 3))
}

// Name clashes in a target folder never overwrite.
func TestNameClashesNeverOverwrite(t *testing.T) {
	r := newRig(t, rigOptions{noRun: true})
	if err := r.w.prepare(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(r.dir, Done, "a.yaml"), "keep me")
	writeFile(t, filepath.Join(r.dir, Done, "a~2.yaml"), "keep me too")
	r.start()
	r.drop("a.yaml", batchYAML("clash", 1, "1000"))
	got := r.waitFinished(1)
	if got[0].Final != "a~3.yaml" {
		t.Fatalf("got %s, want a~3.yaml", got[0].Final)
	}
	if s := r.read(Done, "a.yaml"); s != "keep me" {
		t.Errorf("done/a.yaml was overwritten: %q", s)
	}
}

// While another process holds the state's lock, a file waits in
// processing/ and is paid once the lock is free; it never fails for it.
func TestBusyStateMakesFilesWait(t *testing.T) {
	r := newRig(t, rigOptions{})
	// Another process: a backend of its own on the same files.
	other, err := state.Open(context.Background(), localstate.New(filepath.Join(r.root, "payctl.state.json"), nil, nil), state.Options{Write: true, Op: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	r.drop("wait.yaml", batchYAML("wait", 2, "1000"))
	r.waitFor("the file to be claimed", func() bool { return len(r.list(Processing)) == 1 })
	time.Sleep(100 * time.Millisecond) // several lock attempts
	if n := r.finishedCount(); n != 0 {
		t.Fatalf("got %d files finished while the state was locked, want 0", n)
	}
	other.Close()
	got := r.waitFinished(1)
	if got[0].Folder != Done || got[0].Outcome != OutcomeApplied {
		t.Fatalf("got %+v, want done/ applied", got[0])
	}
	r.paidOnce(addresses("wait", 2))
}

// Failed payouts are reported for a person; the file is done.
func TestFailedPayoutsAreReported(t *testing.T) {
	r := newRig(t, rigOptions{})
	m := strings.Replace(batchYAML("fl", 2, "1000"), `account: "900000017"`, `account: "900000000"`, 1)
	r.drop("fl.yaml", m)
	got := r.waitFinished(1)
	res := readResult(t, r, got[0].Final)
	if res.Outcome != OutcomeApplied || len(res.Attention) != 1 || !strings.Contains(res.Attention[0], "fl/p0001 failed") {
		t.Fatalf("got %s with attention %q, want applied with fl/p0001 failed", res.Outcome, res.Attention)
	}
	var statuses []string
	for _, t := range res.Totals {
		statuses = append(statuses, fmt.Sprintf("%d %s %s", t.Payouts, t.Status, t.Amount))
	}
	if want := []string{"1 paid 1000", "1 failed 1000"}; !slices.Equal(statuses, want) {
		t.Errorf("got totals %v, want %v", statuses, want)
	}
}

var manyFiles = flag.Int("watch.files", 2000, "files dropped at once in TestManyFilesAtOnce")

// Thousands of files dropped at once are each processed exactly once.
func TestManyFilesAtOnce(t *testing.T) {
	n := *manyFiles
	if raceEnabled || testing.Short() {
		n = min(n, 300)
	}
	r := newRig(t, rigOptions{})
	for i := 0; i < n; i++ {
		writeFile(t, filepath.Join(r.stage, fmt.Sprintf("f%05d.yaml", i)), batchYAML(fmt.Sprintf("many-%05d", i), 1, "1000"))
	}
	began := time.Now()
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("f%05d.yaml", i)
		if err := os.Rename(filepath.Join(r.stage, name), filepath.Join(r.dir, Inbox, name)); err != nil {
			t.Fatal(err)
		}
	}
	got := r.waitFinished(n)
	elapsed := time.Since(began)
	seen := map[string]bool{}
	var want []string
	for _, f := range got {
		if f.Folder != Done || f.Outcome != OutcomeApplied || seen[f.Name] {
			t.Errorf("got %+v (seen before: %v), want each file done once", f, seen[f.Name])
		}
		seen[f.Name] = true
	}
	for i := 0; i < n; i++ {
		want = append(want, fmt.Sprintf("many-%05d/p0000", i))
	}
	r.paidOnce(want)
	if l := r.list(Done); len(l) != 2*n {
		t.Errorf("done/ holds %d entries, want %d files and %d reports", len(l), n, n)
	}
	t.Logf("%d files of 1 payout: %.1fs, %.1f files/s", n, elapsed.Seconds(), float64(n)/elapsed.Seconds())
}

// A lost answer leaves the payout unknown: the file stays in processing/,
// the next pass looks the payout up (and re-sends it under the same key
// only once the provider proves it never arrived), and the file ends in
// done/ with every payout paid once.
func TestLostAnswersAreLookedUpNotResent(t *testing.T) {
	tests := []struct {
		fault   fakeemu.Fault
		creates int
	}{
		{fakeemu.Fail500After, 2},  // paid, answer lost: found by the lookup
		{fakeemu.Fail500Before, 3}, // not paid: proven absent, sent again
		{fakeemu.DropAfter, 2},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			r := newRig(t, rigOptions{})
			r.ledger.Inject(tt.fault)
			r.drop("lost.yaml", batchYAML("lost", 2, "1000"))
			got := r.waitFinished(1)
			res := readResult(t, r, got[0].Final)
			if got[0].Folder != Done || res.Outcome != OutcomeApplied || res.Sent != 2 {
				t.Fatalf("got %+v, outcome %s, sent %d; want done/ applied with 2 sent", got[0], res.Outcome, res.Sent)
			}
			r.paidOnce(addresses("lost", 2))
			if c := r.ledger.Creates(); c != tt.creates {
				t.Errorf("got %d create requests, want %d", c, tt.creates)
			}
		})
	}
}
