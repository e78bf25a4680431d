package state

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/payctl/payctl/internal/crash"
)

// Backend stores a state: the local file backend, or a database. It holds
// no logic of its own beyond making records durable, in order.
type Backend interface {
	// Describe names the state in messages (a path, a database name).
	Describe() string
	// Lock takes the writer lock, waiting up to wait for a live holder.
	Lock(ctx context.Context, op string, wait time.Duration) (LockInfo, error)
	// Unlock releases the writer lock.
	Unlock() error
	// ForceUnlock clears a lock left by a dead holder, given its ID.
	ForceUnlock(ctx context.Context, id string) error
	// Load returns the snapshot (nil if none) and the journal events after
	// it. Writers have torn tails discarded; readers ignore them.
	Load(ctx context.Context) (*Loaded, error)
	// Encode makes e (its Seq and Prev set) the record Append stores,
	// whose hash the next event chains to. Every backend encodes with
	// statefile.Encode, so records and their hashes are the same in any
	// backend; the runtime takes the encoder from the backend only
	// because package state cannot import statefile (see the package
	// documentation).
	Encode(e *Event) (Record, error)
	// Append makes records durable, in order, before returning.
	Append(ctx context.Context, recs []Record) error
	// Checkpoint durably replaces the snapshot. A backend that proves its
	// snapshot by digest calls commit with the digest of what it wrote,
	// once that is durable and before it takes the old snapshot's place:
	// commit appends the checkpoint record, so that a snapshot in place
	// always has its record and the next Load proves it unedited. A
	// backend that proves it otherwise never calls commit.
	Checkpoint(ctx context.Context, s *Snapshot, commit func(digest string) error) error
	// ReadJournal calls fn for every event from the first.
	ReadJournal(ctx context.Context, fn func(*Event) error) (*Torn, error)
	Close() error
}

// Record is an event encoded as one journal line (Backend.Encode), as a
// backend stores it.
type Record struct {
	Seq  uint64
	Kind Kind
	Hash string
	Line []byte // including the trailing newline
}

// Loaded is what a backend read.
type Loaded struct {
	Snapshot *Snapshot
	Tail     []*Event
	// Open are the addresses of the open payouts a segmented snapshot's
	// root lists: their batches are read with the root.
	Open []string
	// NeedsCheckpoint says the snapshot was proven by folding the journal
	// from its start (it has no checkpoint record): the next command that
	// writes records one, so that later loads need not.
	NeedsCheckpoint bool
}

// Torn describes a torn final journal record.
type Torn struct {
	Seq   uint64
	Bytes int64
}

// State is an opened state: the folded snapshot, and for writers the lock
// and a group-committing journal.
type State struct {
	backend Backend
	now     func() time.Time
	op, by  string
	write   bool

	newLineage func() string

	mu       sync.Mutex // guards snap and lastHash
	snap     *Snapshot
	lastHash string
	// behind says the snapshot on disk lacks events folded since it was
	// read or written (checkpoint records aside: they describe it).
	behind     bool
	diskExists bool

	qmu      sync.Mutex // guards the commit queue
	queue    []*pending
	flushing bool
	broken   error
	// inflight counts queued events not yet committed or refused.
	inflight sync.WaitGroup

	commits int64 // group commits (one Append each)
	records int64
}

type pending struct {
	events []*Event
	done   chan error  // RecordAsync's
	fn     func(error) // or RecordFunc's
}

// finish tells the recorder how its events fared. Never called with qmu
// held: a callback may queue more events.
func (p *pending) finish(err error) {
	if p.fn != nil {
		p.fn(err)
		return
	}
	p.done <- err
}

// Options open a state.
type Options struct {
	// Write takes the writer lock; without it the state is read-only.
	Write bool
	// Op names the command for the lock and the journal ("apply").
	Op string
	// LockWait is how long to wait for another writer (0: fail at once).
	LockWait time.Duration
	Now      func() time.Time
	// NewLineage makes the lineage of a new state; nil means a random
	// UUID. Tests set it for byte-stable output.
	NewLineage func() string
	// Batches, with Partial, are the only batches of a segmented snapshot
	// read (besides those with open payouts and those the journal's tail
	// touches): a command that plans or pays some batches costs what they
	// cost, not the whole history. Without Partial every batch is read.
	Batches []string
	Partial bool
	// Rebuild ignores the snapshot and folds the whole journal, so that
	// the next Checkpoint replaces the snapshot with the fold (`payctl
	// state rebuild`). It needs Write.
	Rebuild bool
}

// ErrNoRebuild is returned when the backend cannot rebuild its snapshot.
var ErrNoRebuild = errors.New("this state backend keeps its snapshot in the same transactions as its journal and cannot be rebuilt")

// journalLoader is a backend that can load its journal without its
// snapshot.
type journalLoader interface {
	LoadJournal(ctx context.Context) (*Loaded, error)
}

// ErrBroken is returned by every Record after a write failed: the state in
// memory is ahead of the disk, and the process must stop and reload.
var ErrBroken = errors.New("the state could not be written")

// Open loads a state, taking the lock for writers.
func Open(ctx context.Context, b Backend, o Options) (*State, error) {
	s := &State{backend: b, now: o.Now, op: o.Op, by: Actor(), write: o.Write, newLineage: o.NewLineage}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newLineage == nil {
		s.newLineage = uuid.NewString
	}
	if o.Write {
		if _, err := b.Lock(ctx, o.Op, o.LockWait); err != nil {
			return nil, err
		}
	}
	load := b.Load
	if o.Rebuild {
		jl, ok := b.(journalLoader)
		if !ok || !o.Write {
			if o.Write {
				b.Unlock()
			}
			return nil, fmt.Errorf("%s: %w", b.Describe(), ErrNoRebuild)
		}
		load = jl.LoadJournal
	}
	ld, err := load(ctx)
	if err != nil {
		if o.Write {
			b.Unlock()
		}
		return nil, err
	}
	if o.Rebuild {
		ld.NeedsCheckpoint = true
		s.diskExists = true
	}
	snap := ld.Snapshot
	if snap != nil {
		s.diskExists = true
		s.lastHash = snap.Journal.Hash
	} else {
		snap = Empty()
	}
	s.behind = ld.NeedsCheckpoint
	want := o.Batches
	for _, a := range ld.Open {
		b, _, _ := strings.Cut(a, "/")
		want = append(want, b)
	}
	if err = snap.LoadBatches(want...); err == nil && !o.Partial {
		err = snap.LoadAll()
	}
	if err != nil {
		if o.Write {
			b.Unlock()
		}
		return nil, err
	}
	for _, e := range ld.Tail {
		s.behind = s.behind || e.Kind != KindCheckpoint
		if e.Prev != s.lastHash {
			err = &DamageError{File: b.Describe() + ".journal", Seq: e.Seq, Err: errors.New("its previous-record hash does not match: a record before it was changed or removed, or the snapshot does not belong to this journal")}
		} else if ferr := snap.Apply(e); ferr != nil {
			var fe *FoldError
			if errors.As(ferr, &fe) {
				err = &DamageError{File: b.Describe() + ".journal", Seq: e.Seq, Err: ferr}
			} else {
				// A segment the record needed could not be read.
				err = ferr
			}
		}
		if err != nil {
			if o.Write {
				b.Unlock()
			}
			return nil, err
		}
		s.lastHash = e.Hash
	}
	// In memory, the mark names the last record folded, whatever the file
	// on disk says (its offset is set when it is written).
	snap.Journal.Hash = s.lastHash
	s.snap = snap
	return s, nil
}

// Lineage is the state's lineage: the UUID its create record carries, ""
// while the backend holds no state.
func (s *State) Lineage() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap.Lineage
}

// Create starts the state: it records the create event carrying a new
// lineage and returns that lineage. It refuses (ErrExists) when the
// backend holds a state already. Checkpoint writes the first snapshot.
func (s *State) Create(ctx context.Context) (string, error) {
	if !s.write {
		return "", errors.New("create a state opened read-only")
	}
	if l := s.Lineage(); l != "" {
		return "", fmt.Errorf("%s: %w (lineage %s)", s.backend.Describe(), ErrExists, l)
	}
	if err := s.Record(ctx, &Event{Kind: KindCreate, Lineage: s.newLineage()}); err != nil {
		return "", err
	}
	return s.Lineage(), nil
}

// Snapshot returns the folded snapshot. While Records may run concurrently,
// read it inside View instead.
func (s *State) Snapshot() *Snapshot { return s.snap }

// View calls fn with the snapshot while no event is being folded.
func (s *State) View(fn func(*Snapshot)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.snap)
}

// LoadBatches reads the named batches of a segmented state opened
// Partial, if they are not read yet (see Options.Batches).
func (s *State) LoadBatches(names ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap.LoadBatches(names...)
}

// LoadAll reads every batch of a segmented state opened Partial.
func (s *State) LoadAll() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap.LoadAll()
}

// Backend returns the state's backend.
func (s *State) Backend() Backend { return s.backend }

// Stats are counters of one opened state.
type Stats struct {
	Commits int64 // backend appends (one fsync each for the local backend)
	Records int64 // journal records written
}

// Stats returns the commit counters.
func (s *State) Stats() Stats {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return Stats{Commits: s.commits, Records: s.records}
}

// Record makes events durable and folds them into the snapshot. It returns
// once they are on disk. Concurrent calls are committed together.
//
// A cancelled ctx does not interrupt a write in progress: an outcome being
// recorded must reach the disk.
func (s *State) Record(ctx context.Context, events ...*Event) error {
	return <-s.RecordAsync(ctx, events...)
}

// RecordAsync queues events for the next group commit and returns a
// channel that receives nil once they are durable (or the error that
// stopped them). The events are folded in the order they were queued.
func (s *State) RecordAsync(ctx context.Context, events ...*Event) <-chan error {
	p := &pending{events: events, done: make(chan error, 1)}
	s.enqueue(ctx, p)
	return p.done
}

// RecordFunc queues events like RecordAsync and calls done once they are
// durable (with nil) or could not be (with the error that stopped them).
// done runs on the journal's flusher, after the group commit's fdatasync
// and before the next one starts: it must be short and must not wait (it
// may queue more events with RecordFunc or RecordAsync, never Record).
// It saves the goroutine a recorder would otherwise park on a channel.
func (s *State) RecordFunc(ctx context.Context, done func(error), events ...*Event) {
	s.enqueue(ctx, &pending{events: events, fn: done})
}

func (s *State) enqueue(ctx context.Context, p *pending) {
	if !s.write {
		p.finish(errors.New("record in a state opened read-only"))
		return
	}
	s.qmu.Lock()
	if s.broken != nil {
		err := s.broken
		s.qmu.Unlock()
		p.finish(err)
		return
	}
	s.queue = append(s.queue, p)
	s.inflight.Add(1)
	if !s.flushing {
		s.flushing = true
		go s.flushLoop(context.WithoutCancel(ctx))
	}
	s.qmu.Unlock()
}

// flushLoop commits whatever is queued, again and again, until the queue
// is empty: everything queued while one fsync runs shares the next one.
func (s *State) flushLoop(ctx context.Context) {
	s.qmu.Lock()
	for len(s.queue) > 0 && s.broken == nil {
		batch := s.queue
		s.queue = nil
		s.qmu.Unlock()
		err := s.flush(ctx, batch)
		for range batch {
			s.inflight.Done()
		}
		s.qmu.Lock()
		if err != nil {
			s.broken = err
		}
	}
	left, broken := s.queue, s.broken
	s.queue = nil
	s.flushing = false
	s.qmu.Unlock()
	for _, q := range left {
		q.finish(broken)
		s.inflight.Done()
	}
}

func (s *State) flush(ctx context.Context, batch []*pending) error {
	// Only the flusher changes the chain (the serial, the last hash, the
	// lineage) and there is one flusher at a time, so it reads them
	// without s.mu and stamps and encodes the whole batch first: s.mu is
	// held only to fold, and readers (View) never wait for an encoding.
	// The records keep the queue's order; none reaches the backend
	// unless every one of them encoded and folded (otherwise the state is
	// broken, as before).
	serial, prev, created := s.snap.Serial, s.lastHash, s.snap.Lineage != ""
	n := 0
	for _, p := range batch {
		n += len(p.events) + 1
	}
	evs := make([]*Event, 0, n)
	recs := make([]Record, 0, n)
	var err error
	for _, p := range batch {
		pe := p.events
		if !created && (len(pe) == 0 || pe[0].Kind != KindCreate) {
			evs = append(evs, &Event{Kind: KindCreate, Lineage: s.newLineage()})
		}
		evs = append(evs, pe...)
		created = true
	}
	for _, e := range evs {
		serial++
		e.Seq = serial
		e.Prev = prev
		if e.Time.IsZero() {
			e.Time = s.now().UTC()
		}
		if e.Op == "" {
			e.Op = s.op
		}
		if e.By == "" {
			e.By = s.by
		}
		var rec Record
		if rec, err = s.backend.Encode(e); err != nil {
			break
		}
		e.Hash = rec.Hash
		prev = rec.Hash
		recs = append(recs, rec)
	}
	if err == nil {
		s.mu.Lock()
		for _, e := range evs {
			if err = s.snap.Apply(e); err != nil {
				break
			}
			s.behind = s.behind || e.Kind != KindCheckpoint
			s.lastHash = e.Hash
			s.snap.Journal.Hash = e.Hash
		}
		s.mu.Unlock()
	}
	if err == nil {
		if err = s.backend.Append(ctx, recs); err == nil {
			s.qmu.Lock()
			s.commits++
			s.records += int64(len(recs))
			s.qmu.Unlock()
		}
	}
	if err != nil {
		err = fmt.Errorf("%w: %v", ErrBroken, err)
	}
	for _, p := range batch {
		p.finish(err)
	}
	return err
}

// Changed reports whether the snapshot on disk is behind the journal.
func (s *State) Changed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.behind || (!s.diskExists && s.snap.Lineage != "")
}

// Checkpoint rewrites the snapshot if anything changed since it was read.
// Call it once at the end of a command, after the last Record.
func (s *State) Checkpoint(ctx context.Context) error {
	if !s.write {
		return nil
	}
	s.inflight.Wait()
	if !s.Changed() {
		return nil
	}
	s.qmu.Lock()
	broken := s.broken
	s.qmu.Unlock()
	if broken != nil {
		// The journal holds everything that was made durable; the next
		// load folds it. A snapshot of a state ahead of its journal must
		// never be written.
		return broken
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snap.Journal.Hash = s.lastHash
	err := s.backend.Checkpoint(ctx, s.snap, func(digest string) error {
		if err := s.appendCheckpoint(ctx, digest); err != nil {
			return fmt.Errorf("record the snapshot's checkpoint in the journal: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write the snapshot (the journal holds every change; the next command folds it in): %w", err)
	}
	crash.Point(crash.SnapshotAfterRename)
	s.behind, s.diskExists = false, true
	return nil
}

// appendCheckpoint appends and folds the checkpoint record of a snapshot
// written but not yet in place, s.mu held. Checkpoint runs after the last
// Record, so nothing else is being appended.
func (s *State) appendCheckpoint(ctx context.Context, digest string) error {
	e := &Event{Seq: s.snap.Serial + 1, Prev: s.lastHash, Time: s.now().UTC(), Kind: KindCheckpoint, Op: s.op, By: s.by, Snapshot: digest}
	rec, err := s.backend.Encode(e)
	if err != nil {
		return err
	}
	e.Hash = rec.Hash
	if err := s.backend.Append(ctx, []Record{rec}); err != nil {
		s.qmu.Lock()
		s.broken = fmt.Errorf("%w: %v", ErrBroken, err)
		s.qmu.Unlock()
		return err
	}
	s.qmu.Lock()
	s.commits++
	s.records++
	s.qmu.Unlock()
	if err := s.snap.Apply(e); err != nil {
		return err
	}
	s.lastHash = e.Hash
	s.snap.Journal.Hash = e.Hash
	return nil
}

// Close waits for queued events, then releases the lock. It does not
// checkpoint.
func (s *State) Close() error {
	if s.write {
		s.inflight.Wait()
		return s.backend.Unlock()
	}
	return nil
}

// segmenter is a backend that can keep a state in segments (the local one
// and PostgreSQL).
type segmenter interface {
	Segment(s *Snapshot) error
}

// ErrNoSegments is returned by Migrate for a backend without a segmented
// format.
var ErrNoSegments = errors.New("this state backend has no segmented format to migrate to")

// Migrate converts a state held in one snapshot file (format 1) into a
// segmented one (a root and one segment per batch) and checkpoints it. It
// reports false for a state already segmented. The journal is untouched:
// the checkpoint record that follows proves the new root as any other.
func (s *State) Migrate(ctx context.Context) (bool, error) {
	if !s.write {
		return false, errors.New("migrate a state opened read-only")
	}
	sg, ok := s.backend.(segmenter)
	if !ok {
		return false, fmt.Errorf("%s: %w", s.backend.Describe(), ErrNoSegments)
	}
	s.inflight.Wait()
	s.mu.Lock()
	if s.snap.IsSegmented() {
		s.mu.Unlock()
		return false, nil
	}
	err := sg.Segment(s.snap)
	s.behind = true
	s.mu.Unlock()
	if err != nil {
		return false, err
	}
	return true, s.Checkpoint(ctx)
}
