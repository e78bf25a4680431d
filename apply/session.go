package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/review"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/schema"
	"github.com/payctl/payctl/state"
)

// Workspace is what an apply needs of a deployment: payctl.yaml put to
// work (the workspace package's Workspace is one). Keeping it an interface
// here lets apply own the use case without knowing how a config is read.
type Workspace interface {
	// Open opens the state, locked for writers.
	Open(ctx context.Context, o state.Options) (*state.State, error)
	// LoadManifests reads and checks manifests (files or folders).
	LoadManifests(paths []string) ([]*schema.Batch, diag.List)
	// PlanInput is everything a plan of batches needs but the state.
	PlanInput(batches []*schema.Batch) plan.Input
	// Engine puts the providers to work on an opened state.
	Engine(st *state.State) *Engine
	// ConfigDigest pins payctl.yaml in saved plans.
	ConfigDigest() string
	// Approvals is payctl.yaml's policy.approvals, or nil.
	Approvals() *config.Approvals
}

// Options open a Session.
type Options struct {
	// Write takes the state's lock; a session without it can only plan.
	Write bool
	// Op names the command in the lock and the journal ("apply").
	Op string
	// LockWait is how long to wait for another writer (0: fail at once).
	LockWait time.Duration
	// OnClose runs once the state is closed (a daemon releases its turn).
	OnClose func()
	// Partial reads only the batches the session plans (and those with
	// open payouts) of a segmented state, rather than all of its history.
	Partial bool
}

// Session is one use of a state to pay, the whole apply use case in one
// place: the state opened (and locked), earlier unknown payouts looked up,
// manifests loaded and planned, a saved plan checked, the plan run, and
// the snapshot written once at the end. `payctl apply`, `watch` and
// `serve` all go through it.
type Session struct {
	State  *state.State
	Engine *Engine

	ws      Workspace
	write   bool
	onClose func()
	closed  bool
	saved   bool
}

// Open opens a session on ws's state.
func Open(ctx context.Context, ws Workspace, o Options) (*Session, error) {
	st, err := ws.Open(ctx, state.Options{Write: o.Write, Op: o.Op, LockWait: o.LockWait, Partial: o.Partial})
	if err != nil {
		return nil, err
	}
	s := &Session{State: st, ws: ws, write: o.Write, onClose: o.OnClose}
	if o.Write {
		s.Engine = ws.Engine(st)
	}
	return s, nil
}

// Load reads and checks manifests; its error is a diag.List.
func (s *Session) Load(paths []string) ([]*schema.Batch, error) {
	batches, errs := s.ws.LoadManifests(paths)
	if len(errs) > 0 {
		return nil, errs
	}
	return batches, nil
}

// Plan plans batches against the state as it is now.
func (s *Session) Plan(batches ...*schema.Batch) *plan.Plan {
	in := s.ws.PlanInput(batches)
	names := make([]string, len(batches))
	for i, b := range batches {
		names[i] = b.Name
	}
	// The review of new and changed accounts compares the payouts with
	// everything the state ever paid: its account index, not its history.
	if err := s.State.LoadBatches(names...); err != nil {
		return &plan.Plan{Errors: diag.List{{Msg: err.Error()}}}
	}
	var p *plan.Plan
	s.State.View(func(snap *state.Snapshot) {
		in.State = snap
		p = plan.Make(in)
	})
	return p
}

// PlanPaths loads the manifests at paths and plans them.
func (s *Session) PlanPaths(paths []string) (*plan.Plan, error) {
	batches, err := s.Load(paths)
	if err != nil {
		return nil, err
	}
	return s.Plan(batches...), nil
}

// Reviewed opens a saved plan as a claim, not an authority: it must have
// been made against this state, payctl.yaml and manifests as they are, and
// planning its manifests again must give it payout for payout. It returns
// the plan made again, which is what is paid.
func (s *Session) Reviewed(saved *plan.Plan, file string) (*plan.Plan, error) {
	if err := saved.CheckCurrent(file, s.State.Snapshot(), s.ws.ConfigDigest(), plan.FileDigest); err != nil {
		return nil, err
	}
	remake := fmt.Sprintf("make a new plan with `payctl plan -out FILE %s`, review it, and apply that", strings.Join(saved.ManifestFiles(), " "))
	derived, err := s.PlanPaths(saved.ManifestFiles())
	if err != nil {
		return nil, diag.WithHint(err, "the manifests %s pins do not pass validation, so it was not made from them and nothing was paid; %s", file, remake)
	}
	if err := saved.Matches(file, derived); err != nil {
		return nil, diag.WithHint(err, "%s", remake)
	}
	return derived, nil
}

// Authorize checks p against policy.approvals before it is paid. saved is
// the saved plan p was derived from, read from file; nil when p was made
// from manifests (paths), which carry no approvals. The approvers found
// are recorded on every intent of the run. Warnings are approvals that do
// not count (unknown or expired signers).
func (s *Session) Authorize(p *plan.Plan, saved *plan.Plan, file string, paths []string) ([]string, error) {
	pol := s.ws.Approvals()
	need := review.Required(pol, p)
	if saved == nil {
		if need.Approvals > 0 {
			return nil, review.Refuse(need, paths)
		}
		return nil, nil
	}
	approvers, warnings, err := review.Approved(pol, need, file, saved.Bytes(), s.Engine.now())
	if err != nil {
		return warnings, err
	}
	s.Engine.Approvals = approvers
	return warnings, nil
}

// Recover looks up every payout whose outcome an earlier run could not
// learn, before anything new is sent.
func (s *Session) Recover(ctx context.Context) ([]*Outcome, error) {
	return s.Engine.Recover(ctx)
}

// Run pays a plan.
func (s *Session) Run(ctx context.Context, p *plan.Plan) (*Report, error) {
	if !s.write {
		return nil, errors.New("run of a session opened without the state's lock")
	}
	return s.Engine.Run(ctx, p)
}

// Close writes the snapshot if anything changed, then releases the lock:
// the one place a command's changes are checkpointed. It is safe to call
// again; only the first call does anything.
func (s *Session) Close(ctx context.Context) error {
	if s.closed {
		return nil
	}
	s.closed = true
	var cerr error
	if s.write {
		changed := s.State.Changed()
		cerr = s.State.Checkpoint(ctx)
		s.saved = changed && cerr == nil
	}
	uerr := s.State.Close()
	if s.onClose != nil {
		s.onClose()
	}
	if cerr != nil {
		return cerr
	}
	if uerr != nil {
		return fmt.Errorf("release the state's lock: %w", uerr)
	}
	return nil
}

// Saved says Close wrote the snapshot and it is durable.
func (s *Session) Saved() bool { return s.saved }
