package watch

import (
	"context"
	"os"
	"sync"
	"time"
)

// DefaultLargeFile is the size from which a file is read and checked on
// the large-file lane: about 5,000 payouts, a few tens of milliseconds of
// parsing. Smaller files are checked by the worker itself.
const DefaultLargeFile = 1 << 20

// A file of tens of megabytes takes seconds to decode and check. Done by
// the worker, that would hold up every file behind it; so the worker
// claims a large file and hands it to the lane, one goroutine that reads
// and checks large files one at a time and hands each valid one back.
// The worker pays it in its next round like any other file: payments stay
// with the worker and its session, and only reading and checking run
// aside. The lane holds at most one checked file that the worker has not
// taken yet, so memory stays at about two large files whatever the queue.
type lane struct {
	mu   sync.Mutex
	jobs []laneJob
	wake chan struct{}
	out  chan *item
	// beforeCheck, if set, runs before the lane reads a file (tests
	// hold the lane with it).
	beforeCheck func(name string)
}

type laneJob struct {
	j     job
	start time.Time
}

func newLane() *lane {
	return &lane{wake: make(chan struct{}, 1), out: make(chan *item)}
}

func (l *lane) push(lj laneJob) {
	l.mu.Lock()
	l.jobs = append(l.jobs, lj)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *lane) pop() (laneJob, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.jobs) == 0 {
		return laneJob{}, false
	}
	lj := l.jobs[0]
	l.jobs[0] = laneJob{}
	l.jobs = l.jobs[1:]
	return lj, true
}

// isLarge reports whether a claimed file goes to the lane.
func (w *Watcher) isLarge(j job) bool {
	fi, err := os.Lstat(w.path(Processing, j.name))
	return err == nil && fi.Size() > w.o.LargeFile
}

// largeFiles runs the lane until ctx ends. A file it holds when ctx ends
// stays in processing/, where the next start finds it; nothing of it was
// paid.
func (w *Watcher) largeFiles(ctx context.Context) {
	for {
		lj, ok := w.lane.pop()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-w.lane.wake:
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if w.lane.beforeCheck != nil {
			w.lane.beforeCheck(lj.j.name)
		}
		it, errs := w.check(lj.j, lj.start)
		if len(errs) > 0 {
			w.reject(lj.j, errs, lj.start)
			continue
		}
		if it == nil {
			continue
		}
		select {
		case w.lane.out <- it:
		case <-ctx.Done():
			return
		}
	}
}
