package daemon

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/payctl/payctl/apply"
	"github.com/payctl/payctl/internal/workspace"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// ErrBusy is wrapped by a Gate's refusal to open a session because the
// state stayed locked (by another process, or by another session of this
// one) for longer than the gate waits. The work is to be retried later.
var ErrBusy = errors.New("the state is busy")

// BusyError is ErrBusy with what held the state.
type BusyError struct {
	// Err is the backend's *state.LockedError, or nil when another session
	// of this process held the state.
	Err error
}

func (e *BusyError) Error() string {
	if e.Err == nil {
		return "the state is in use by another task of this payctl"
	}
	return e.Err.Error()
}

func (e *BusyError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrBusy}
	}
	return []error{ErrBusy, e.Err}
}

// DefaultLockWait is how long a Gate waits for the state by default.
const DefaultLockWait = 5 * time.Second

// GateOptions configure a Gate.
type GateOptions struct {
	// LockWait bounds the wait for the in-process turn and, separately,
	// for the state's lock; 0 means DefaultLockWait.
	LockWait time.Duration
	// Registerer receives the gate's metrics; nil registers nowhere.
	Registerer prometheus.Registerer
}

// Gate hands out sessions on one workspace's state, one at a time.
type Gate struct {
	w        *workspace.Workspace
	lockWait time.Duration
	turn     chan struct{}

	mu     sync.Mutex
	opened map[string]providers.Provider

	records  *prometheus.CounterVec
	busy     *prometheus.CounterVec
	sessions *prometheus.CounterVec
}

// NewGate returns a gate on w's state.
func NewGate(w *workspace.Workspace, o GateOptions) *Gate {
	if o.LockWait <= 0 {
		o.LockWait = DefaultLockWait
	}
	g := &Gate{
		w: w, lockWait: o.LockWait, turn: make(chan struct{}, 1),
		opened: map[string]providers.Provider{},
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payctl_state_records_total",
			Help: "Journal records (state changes) written, by the operation that wrote them.",
		}, []string{"op"}),
		busy: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payctl_state_busy_total",
			Help: "Times the state stayed locked longer than the wait, so work was queued for later, by operation.",
		}, []string{"op"}),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payctl_state_sessions_total",
			Help: "Times the state's lock was taken, by operation.",
		}, []string{"op"}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(g.records, g.busy, g.sessions)
	}
	return g
}

// Workspace is the gate's workspace.
func (g *Gate) Workspace() *workspace.Workspace { return g.w }

// Open takes the in-process turn and the state's lock, each waiting up to
// the gate's LockWait, and returns a *BusyError when either stays taken.
// Closing the session checkpoints the state and gives the turn back.
func (g *Gate) Open(ctx context.Context, op string) (*apply.Session, error) {
	t := time.NewTimer(g.lockWait)
	defer t.Stop()
	select {
	case g.turn <- struct{}{}:
	case <-t.C:
		g.busy.WithLabelValues(op).Inc()
		return nil, &BusyError{}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var sess *apply.Session
	// Sessions that plan and pay files read only those files' batches
	// (and the open payouts); callback confirmations ("serve") look a
	// payout up by its key anywhere in the state.
	partial := op != "serve"
	sess, err := apply.Open(ctx, g.w, apply.Options{Write: true, Op: op, LockWait: g.lockWait, Partial: partial, OnClose: func() {
		g.records.WithLabelValues(op).Add(float64(sess.State.Stats().Records))
		<-g.turn
	}})
	if err != nil {
		<-g.turn
		var le *state.LockedError
		if errors.As(err, &le) {
			g.busy.WithLabelValues(op).Inc()
			return nil, &BusyError{Err: le}
		}
		return nil, err
	}
	g.sessions.WithLabelValues(op).Inc()
	sess.Engine.Providers = g.provider
	return sess, nil
}

// provider opens a provider once for the gate's lifetime; a failure is not
// remembered, so a provider that could not be opened is tried again by the
// next session.
func (g *Gate) provider(name string) (providers.Provider, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if p, ok := g.opened[name]; ok {
		return p, nil
	}
	p, err := g.w.OpenProvider(name)
	if err != nil {
		return nil, err
	}
	g.opened[name] = p
	return p, nil
}
