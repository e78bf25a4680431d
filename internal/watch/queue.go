package watch

import (
	"sync"
	"time"
)

// Where a job's file is.
type origin int

const (
	fromInbox      origin = iota // complete in inbox, not claimed yet
	fromProcessing               // claimed: a retry, or found at start
)

type job struct {
	from  origin
	name  string
	due   time.Time
	tries int             // earlier passes that could not finish the file
	sent  map[string]bool // addresses those passes sent
	found bool            // found in processing/ at start: an earlier run was cut short
}

func (j job) key() string {
	if j.from == fromInbox {
		return "i/" + j.name
	}
	return "p/" + j.name
}

// jobQueue is the worker's queue: first in, first out among jobs that are
// due, one job per file.
type jobQueue struct {
	mu    sync.Mutex
	jobs  []job
	keys  map[string]bool
	wake  chan struct{}
	clock Clock
}

func newJobQueue(clock Clock) *jobQueue {
	return &jobQueue{keys: map[string]bool{}, wake: make(chan struct{}, 1), clock: clock}
}

// push adds j unless a job for the same file is queued.
func (q *jobQueue) push(j job) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.keys[j.key()] {
		return
	}
	q.keys[j.key()] = true
	q.jobs = append(q.jobs, j)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop takes up to n due jobs, first in first out; with none due it
// returns when the next one is due (zero: none queued).
func (q *jobQueue) pop(n int) ([]job, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	var next time.Time
	var out []job
	kept := q.jobs[:0]
	for _, j := range q.jobs {
		if len(out) == n || j.due.After(now) {
			if j.due.After(now) && (next.IsZero() || j.due.Before(next)) {
				next = j.due
			}
			kept = append(kept, j)
			continue
		}
		out = append(out, j)
		delete(q.keys, j.key())
	}
	clear(q.jobs[len(kept):])
	q.jobs = kept
	if len(out) > 0 {
		next = time.Time{}
	}
	return out, next
}

// ready reports whether a job is due now.
func (q *jobQueue) ready() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	for _, j := range q.jobs {
		if !j.due.After(now) {
			return true
		}
	}
	return false
}

func (q *jobQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.jobs)
}
