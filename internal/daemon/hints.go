package daemon

import (
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/payctl/payctl/providers"
)

// errStopped answers the callbacks still waiting when the daemon stops: the
// handler turns it into a 500, so the provider sends the callback again.
var errStopped = errors.New("payctl is stopping; the callback was not looked up")

// hint is one queued reference of one provider; callbacks for the same
// reference that arrive while it waits share it.
type hint struct {
	provider string
	ref      string
	id       string           // the provider's id, as claimed
	claimed  providers.Status // as claimed; logged, never recorded
	tries    int              // failed lookups so far
	due      time.Time
	waiters  []chan error
}

func (h *hint) finish(err error) {
	for _, w := range h.waiters {
		w <- err
	}
	h.waiters = nil
}

// hintQueue holds hints until the worker takes them.
type hintQueue struct {
	mu      sync.Mutex
	byKey   map[string]*hint
	taken   int // hints taken by the worker and not yet put back or done
	stopped bool
	wake    chan struct{}
}

func newHintQueue() *hintQueue {
	return &hintQueue{byKey: map[string]*hint{}, wake: make(chan struct{}, 1)}
}

func hintKey(provider, ref string) string { return provider + "\x00" + ref }

// add queues a callback's hint, due now, and returns the channel its
// result arrives on.
func (q *hintQueue) add(provider string, h providers.Hint, now time.Time) chan error {
	ch := make(chan error, 1)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		ch <- errStopped
		return ch
	}
	k := hintKey(provider, h.Reference)
	e := q.byKey[k]
	if e == nil {
		e = &hint{provider: provider, ref: h.Reference}
		q.byKey[k] = e
	}
	e.id, e.claimed, e.due = h.ID, h.Status, now
	e.waiters = append(e.waiters, ch)
	q.signal()
	return ch
}

func (q *hintQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// retry puts hints back, due at their own due times, merging them with
// hints for the same reference that arrived meanwhile.
func (q *hintQueue) retry(hs []*hint) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, h := range hs {
		if q.stopped {
			h.finish(errStopped)
			continue
		}
		k := hintKey(h.provider, h.ref)
		if e := q.byKey[k]; e != nil {
			// A newer callback is due sooner; it carries the waiters on.
			e.waiters = append(e.waiters, h.waiters...)
			e.tries = max(e.tries, h.tries)
			continue
		}
		q.byKey[k] = h
	}
	q.signal()
}

// take removes and returns the hints due by now, in a stable order, and
// the earliest due time of those left (zero if none).
func (q *hintQueue) take(now time.Time) ([]*hint, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*hint
	var next time.Time
	for k, h := range q.byKey {
		if !h.due.After(now) {
			out = append(out, h)
			delete(q.byKey, k)
			continue
		}
		if next.IsZero() || h.due.Before(next) {
			next = h.due
		}
	}
	q.taken += len(out)
	sort.Slice(out, func(i, j int) bool {
		if out[i].provider != out[j].provider {
			return out[i].provider < out[j].provider
		}
		return out[i].ref < out[j].ref
	})
	return out, next
}

// done says the worker is through with n hints it took.
func (q *hintQueue) done(n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.taken -= n
}

// len counts the hints waiting or being looked up.
func (q *hintQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.byKey) + q.taken
}

// stop answers every waiting callback with errStopped and refuses new
// ones; it returns how many hints were still queued.
func (q *hintQueue) stop() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stopped = true
	n := len(q.byKey)
	for k, h := range q.byKey {
		h.finish(errStopped)
		delete(q.byKey, k)
	}
	return n
}
