// Package crash lets tests kill a real payctl process at a named point, so
// durability claims are proven against a process that really dies there.
//
// PAYCTL_CRASH names the point, optionally with the hit on which to die:
// "intent-after-sync" dies at the first hit, "intent-after-sync:3" at the
// third. The process kills itself with SIGKILL: no deferred function, no
// buffered write, no cleanup runs, as with a power cut after the last
// completed syscall. Unset, Point costs one atomic load.
package crash

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// The named points. They are listed here so tests iterate over all of them.
const (
	IntentBeforeWrite    = "intent-before-write"
	IntentAfterWrite     = "intent-after-write" // written, not yet fsynced
	IntentAfterSync      = "intent-after-sync"
	RequestWritten       = "request-written" // the HTTP request left payctl
	AnswerReceived       = "answer-received" // provider answered; outcome not yet written
	OutcomeAfterWrite    = "outcome-after-write"
	OutcomeAfterSync     = "outcome-after-sync"
	SnapshotBeforeRename = "snapshot-before-rename"
	SnapshotAfterRename  = "snapshot-after-rename"
	// SegmentsBeforeRename: a segmented state's checkpoint record is
	// durable; locally its new root is in place, its new segments still
	// beside the old ones; in PostgreSQL the new segments are stored
	// beside the old ones, the old root still in place.
	SegmentsBeforeRename = "segments-before-rename"
)

// Points are all named points in protocol order.
var Points = []string{
	IntentBeforeWrite, IntentAfterWrite, IntentAfterSync, RequestWritten,
	AnswerReceived, OutcomeAfterWrite, OutcomeAfterSync,
	SnapshotBeforeRename, SegmentsBeforeRename, SnapshotAfterRename,
}

var (
	once    sync.Once
	enabled atomic.Bool
	target  string
	hitAt   int64
	hits    atomic.Int64
)

func setup() {
	v := os.Getenv("PAYCTL_CRASH")
	if v == "" {
		return
	}
	name, n, _ := strings.Cut(v, ":")
	target, hitAt = name, 1
	if n != "" {
		if k, err := strconv.ParseInt(n, 10, 64); err == nil && k > 0 {
			hitAt = k
		}
	}
	enabled.Store(true)
}

// Point dies here if PAYCTL_CRASH names this point and hit.
func Point(name string) {
	once.Do(setup)
	if !enabled.Load() || name != target {
		return
	}
	if hits.Add(1) == hitAt {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // SIGKILL is not deliverable late; never return
	}
}

// Armed reports whether PAYCTL_CRASH names this point, so that a caller
// can skip setting up what only a crash test needs (an HTTP trace costs
// every request).
func Armed(name string) bool {
	once.Do(setup)
	return enabled.Load() && name == target
}
