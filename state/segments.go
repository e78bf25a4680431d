package state

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// SegmentedVersion is the format of a segmented snapshot: a small root (the
// lineage, serial, journal mark, a table of batches with the digest of
// each batch's segment, and the open payouts) and one segment file per
// batch. Version 1 is the single-file snapshot, still read and written
// for states not yet migrated.
const SegmentedVersion = 2

// BatchEntry is one batch in a segmented snapshot's table: what the root
// says of the batch's segment.
type BatchEntry struct {
	Name    string `json:"name"`
	Payouts int    `json:"payouts"`
	// Digest is the SHA-256 of the segment file's bytes, as written: a
	// segment edited after it was written does not load.
	Digest string `json:"digest"`
	// Unindexed says the batch changed since the account index was last
	// written: what a plan compares with is the index with this batch's
	// payouts folded in (see Accepted).
	Unindexed bool `json:"unindexed,omitempty"`
}

// SegmentLoader reads and checks one batch's segment, returning its payouts
// and provider payouts. It must verify the segment against e.Digest.
type SegmentLoader func(e BatchEntry) ([]*Payout, []*Group, error)

// segments is what a segmented snapshot knows of the batches it has not
// read: commands read the root, the batches they name and those with open
// payouts, so that their cost follows the work at hand, not the history.
type segments struct {
	table  map[string]BatchEntry
	loaded map[string]bool
	// dirty batches changed since their segment was read or written.
	dirty map[string]bool
	load  SegmentLoader
	// broken is the first load failure: the snapshot cannot be trusted
	// past it, and every later use reports it.
	broken error

	// The account index (see Accepted): where the root says it is, and
	// its entries once read.
	accountsIdx  AccountsIndex
	loadAccounts AccountsLoader
	accounts     map[pair]*AccountEntry
}

// Segmented makes s a segmented snapshot whose table is table and whose
// unread batches load reports. Payouts already in s count as loaded; a
// batch of s absent from table is new and will be written.
func (s *Snapshot) Segmented(table []BatchEntry, load SegmentLoader) {
	g := &segments{table: map[string]BatchEntry{}, loaded: map[string]bool{}, dirty: map[string]bool{}, load: load}
	for _, e := range table {
		g.table[e.Name] = e
	}
	for a := range s.Payouts {
		b, _, _ := strings.Cut(a, "/")
		if !g.loaded[b] {
			g.loaded[b] = true
			if _, ok := g.table[b]; !ok {
				g.dirty[b] = true
			}
		}
	}
	s.Version = SegmentedVersion
	s.seg = g
}

// ToSegments makes a snapshot held whole segmented, every batch to be
// written at the next checkpoint (`payctl state migrate`); a segmented one
// is left as it is.
func (s *Snapshot) ToSegments(load SegmentLoader) error {
	if s.IsSegmented() {
		return nil
	}
	if !s.Complete() {
		return errors.New("segment a state not read whole")
	}
	s.Segmented(nil, load)
	return nil
}

// IsSegmented reports whether s is a segmented snapshot.
func (s *Snapshot) IsSegmented() bool { return s.seg != nil }

// ErrSegment wraps a segment that could not be read or does not match its
// root.
var ErrSegment = errors.New("segment")

// LoadBatches reads the named batches' segments, if not read yet. Names the
// table lacks are batches the state has never paid: nothing to read.
func (s *Snapshot) LoadBatches(names ...string) error {
	g := s.seg
	if g == nil {
		return nil
	}
	if g.broken != nil {
		return g.broken
	}
	for _, n := range names {
		if g.loaded[n] {
			continue
		}
		e, ok := g.table[n]
		if !ok {
			g.loaded[n] = true
			continue
		}
		ps, gs, err := g.load(e)
		if err != nil {
			g.broken = err
			return err
		}
		for _, p := range ps {
			if p.Batch() != n {
				g.broken = fmt.Errorf("%w %s: payout %s belongs to another batch", ErrSegment, n, p.Address)
				return g.broken
			}
			if s.Payouts[p.Address] != nil {
				g.broken = fmt.Errorf("%w %s: payout %s appears twice", ErrSegment, n, p.Address)
				return g.broken
			}
			s.Add(p)
		}
		for _, gr := range gs {
			s.Groups[gr.ID] = gr
		}
		g.loaded[n] = true
	}
	return nil
}

// LoadAll reads every batch: for commands that need the whole history
// (export, audits, rebuilds).
func (s *Snapshot) LoadAll() error {
	if s.seg == nil {
		return nil
	}
	return s.LoadBatches(s.BatchNames()...)
}

// Complete reports whether every payout of the state is in memory.
func (s *Snapshot) Complete() bool {
	if s.seg == nil {
		return true
	}
	for n := range s.seg.table {
		if !s.seg.loaded[n] {
			return false
		}
	}
	return true
}

// BatchNames returns the names of every batch of the state, read or not,
// sorted.
func (s *Snapshot) BatchNames() []string {
	set := map[string]bool{}
	if s.seg != nil {
		for n := range s.seg.table {
			set[n] = true
		}
	}
	if s.byBatch != nil {
		for b := range s.byBatch {
			set[b] = true
		}
	} else {
		for a := range s.Payouts {
			b, _, _ := strings.Cut(a, "/")
			set[b] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// Table returns the batch table, sorted by name, as the root records it
// (for batches changed since, the entry of their last segment).
func (s *Snapshot) Table() []BatchEntry {
	if s.seg == nil {
		return nil
	}
	out := make([]BatchEntry, 0, len(s.seg.table))
	for _, e := range s.seg.table {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Dirty returns the batches changed since their segment was read or
// written, sorted.
func (s *Snapshot) Dirty() []string {
	if s.seg == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(s.seg.dirty))
}

// Loaded returns the batches in memory, sorted: those read from their
// segments and those the journal created since.
func (s *Snapshot) Loaded() []string {
	if s.seg == nil {
		return nil
	}
	out := make([]string, 0, len(s.seg.loaded))
	for b := range s.seg.loaded {
		if _, ok := s.seg.table[b]; ok || s.seg.dirty[b] {
			out = append(out, b)
		}
	}
	slices.Sort(out)
	return out
}

// Unindexed returns the batches the account index does not cover: those
// changed since it was written, and those the root says are.
func (s *Snapshot) Unindexed() []string {
	if s.seg == nil {
		return nil
	}
	set := map[string]bool{}
	for n := range s.seg.dirty {
		set[n] = true
	}
	for n, e := range s.seg.table {
		if e.Unindexed {
			set[n] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// Indexed records that the account index now covers every batch.
func (s *Snapshot) Indexed() {
	if s.seg == nil {
		return
	}
	for n, e := range s.seg.table {
		e.Unindexed = false
		s.seg.table[n] = e
	}
}

// Written records that a batch's segment was written as e: the root now
// names it.
func (s *Snapshot) Written(e BatchEntry) {
	if s.seg == nil {
		return
	}
	s.seg.table[e.Name] = e
	delete(s.seg.dirty, e.Name)
}

// MarkDirty says a batch's segment must be written at the next checkpoint
// even though no event changed it (its file on disk is not the one the
// root names, and must be replaced).
func (s *Snapshot) MarkDirty(batch string) {
	if s.seg != nil {
		s.seg.dirty[batch] = true
	}
}

// BatchPayouts returns the payouts of one batch sorted by address, and the
// provider payouts whose first payout is in it, sorted by id: a segment's
// content. The batch must be loaded.
func (s *Snapshot) BatchPayouts(batch string) ([]*Payout, []*Group) {
	addrs := s.BatchAddresses(batch)
	ps := make([]*Payout, len(addrs))
	for i, a := range addrs {
		ps[i] = s.Payouts[a]
	}
	var gs []*Group
	for _, g := range s.Groups {
		if len(g.Addresses) > 0 && strings.HasPrefix(g.Addresses[0], batch+"/") {
			gs = append(gs, g)
		}
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].ID < gs[j].ID })
	return ps, gs
}

// need reads the batches an event touches before it is folded, and marks
// them changed.
func (s *Snapshot) need(e *Event) error {
	g := s.seg
	if g == nil {
		return nil
	}
	if e.Kind == KindCheckpoint || e.Kind == KindCreate || e.Kind == KindQuote {
		return nil
	}
	var batches []string
	for _, ep := range e.Payouts {
		b, _, _ := strings.Cut(ep.Address, "/")
		if !g.loaded[b] || !g.dirty[b] {
			batches = append(batches, b)
		}
	}
	if err := s.LoadBatches(batches...); err != nil {
		return err
	}
	if e.Group != "" {
		gr := s.Groups[e.Group]
		if gr == nil && e.Kind != KindIntent && !s.Complete() {
			// An event about a provider payout that names none of its
			// payouts: find it wherever it is.
			if err := s.LoadAll(); err != nil {
				return err
			}
			gr = s.Groups[e.Group]
		}
		if gr != nil && len(gr.Addresses) > 0 {
			b, _, _ := strings.Cut(gr.Addresses[0], "/")
			g.dirty[b] = true
		}
	}
	for _, b := range batches {
		g.dirty[b] = true
	}
	return nil
}

// HasPayouts reports whether the state holds any payout, read or not.
func (s *Snapshot) HasPayouts() bool {
	return len(s.Payouts) > 0 || len(s.Groups) > 0 || (s.seg != nil && len(s.seg.table) > 0)
}

// BatchSize is how many payouts a batch holds: as read, or as its table
// entry says.
func (s *Snapshot) BatchSize(batch string) int {
	if s.seg != nil && !s.seg.loaded[batch] {
		return s.seg.table[batch].Payouts
	}
	return len(s.BatchAddresses(batch))
}

// reindexAfter and reindexBatches are how many payouts, and batches, the
// batches changed since the account index was written may hold before a
// checkpoint rewrites it: every plan reads them, so they stay a fraction
// of the index and a few files.
const (
	reindexAfter   = 10000
	reindexBatches = 16
)

// ReindexDue reports whether a segmented checkpoint must rewrite the
// account index: there is none yet, or the batches it does not cover have
// grown past a fraction of it (until then a plan folds them in, and a
// checkpoint writes just the batches it changed and the root).
func (s *Snapshot) ReindexDue() bool {
	if s.AccountsIndexed().Digest == "" {
		return true
	}
	un := s.Unindexed()
	n := 0
	for _, b := range un {
		n += s.BatchSize(b)
	}
	return len(un) > reindexBatches || n > max(reindexAfter, s.AccountsIndexed().Entries/2)
}
