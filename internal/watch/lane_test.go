package watch

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// A small file dropped while a large one is still being read and checked
// is paid first; the large one is paid once its check ends, and every
// payout of both exactly once.
func TestLargeFileDoesNotHoldUpSmallOnes(t *testing.T) {
	r := newRig(t, rigOptions{noRun: true, opts: func(o *Options) { o.LargeFile = 4 << 10 }})
	held, release := make(chan string, 1), make(chan struct{})
	r.w.lane.beforeCheck = func(name string) {
		held <- name
		<-release
	}
	r.start()
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	t.Cleanup(let) // before the watcher stops, even when the test fails
	big := batchYAML("big", 200, "1000")
	if len(big) <= 4<<10 {
		t.Fatalf("the large file has %d bytes, want more than 4 KiB", len(big))
	}
	r.drop("big.yaml", big)
	if name := <-held; name != "big.yaml" {
		t.Fatalf("the lane took %s, want big.yaml", name)
	}
	r.drop("small.yaml", batchYAML("small", 2, "1000"))
	got := r.waitFinished(1)
	if got[0].Name != "small.yaml" || got[0].Folder != Done {
		t.Fatalf("first finished: %+v, want small.yaml in done/ while big.yaml is still being checked", got[0])
	}
	let()
	got = r.waitFinished(2)
	if got[1].Name != "big.yaml" || got[1].Folder != Done || got[1].Outcome != OutcomeApplied {
		t.Fatalf("second finished: %+v, want big.yaml applied", got[1])
	}
	r.paidOnce(append(addresses("big", 200), addresses("small", 2)...))
}

// A large file full of mistakes is rejected from the lane with the first
// 100 errors and a count of the rest.
func TestLargeInvalidFileListsAHundredErrors(t *testing.T) {
	r := newRig(t, rigOptions{opts: func(o *Options) { o.LargeFile = 4 << 10 }})
	bad := strings.ReplaceAll(batchYAML("bad", 300, "1000"), `amount: "1000"`, `amount: 1000`)
	r.drop("bad.yaml", bad)
	got := r.waitFinished(1)
	if got[0].Folder != Rejected {
		t.Fatalf("got %+v, want rejected/", got[0])
	}
	lines := strings.Split(r.read(Rejected, "bad.yaml.errors.txt"), "\n")
	want := "rejected/bad.yaml:9:27: amount must be a quoted decimal string such as \"1000\", not the number 1000"
	if lines[0] != want {
		t.Errorf("line 1: got %q, want %q", lines[0], want)
	}
	if !strings.HasPrefix(lines[99], "rejected/bad.yaml:108:") {
		t.Errorf("line 100: got %q, want the 100th error", lines[99])
	}
	if want := fmt.Sprintf("… and %d more errors in rejected/bad.yaml", 200); lines[100] != want {
		t.Errorf("line 101: got %q, want %q", lines[100], want)
	}
	if n := len(r.ledger.Payments()); n != 0 {
		t.Errorf("got %d payments, want none", n)
	}
}
