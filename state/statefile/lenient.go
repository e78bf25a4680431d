package statefile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/payctl/payctl/state"
)

// Lenient is a snapshot read by ParseLenient, for auditing.
type Lenient struct {
	// Snapshot is what the file says, without the indexes a fold keeps.
	Snapshot *state.Snapshot
	// Strict is the strict parser's objection to the file, nil if none.
	Strict error
	// PayoutAt and GroupAt are where each payout (by address) and each
	// provider payout (by id) sit in the file's "payouts" and "groups".
	PayoutAt map[string]int
	GroupAt  map[string]int
}

// lenient is the snapshot's JSON without the strict parser's refusals:
// unknown fields are ignored and nothing is cross-checked.
type lenient struct {
	Version *int              `json:"version"`
	Batch   string            `json:"batch"`
	Lineage string            `json:"lineage"`
	Serial  uint64            `json:"serial"`
	Journal state.JournalMark `json:"journal"`
	Groups  []*state.Group    `json:"groups"`
	Payouts []*state.Payout   `json:"payouts"`
}

// ParseLenient reads a snapshot as an auditor needs it. It accepts what
// ParseSnapshot refuses for its content, such as an amount edited by hand,
// and returns that refusal as Strict; it fails only when the file is not a
// payctl snapshot it can read at all (not JSON, a value of the wrong type,
// no or a newer version). Of payouts and provider payouts that appear
// twice, the first is kept; null ones, and null attempts, are dropped.
//
// The result must never be used to pay: that is what ParseSnapshot is for.
func ParseLenient(name string, data []byte) (*Lenient, error) {
	_, strict := ParseSnapshot(name, data)
	if errors.Is(strict, ErrNewerVersion) {
		return nil, strict
	}
	return parseLenient(name, data, strict)
}

// ParseLenientSegment reads one batch's segment as ParseLenient reads a
// whole snapshot: the strict parser's objection beside what the file says.
func ParseLenientSegment(name, batch string, data []byte) (*Lenient, error) {
	ps, gs, strict := ParseSegment(name, batch, data)
	if strict != nil {
		return parseLenient(name, data, strict)
	}
	// What the strict parser accepts, the lenient one would read the same:
	// one decoding is enough.
	l := &Lenient{
		Snapshot: &state.Snapshot{Version: state.SegmentedVersion, Groups: map[string]*state.Group{}, Payouts: map[string]*state.Payout{}},
		PayoutAt: make(map[string]int, len(ps)),
		GroupAt:  make(map[string]int, len(gs)),
	}
	for i, g := range gs {
		l.Snapshot.Groups[g.ID] = g
		l.GroupAt[g.ID] = i
	}
	for i, p := range ps {
		l.Snapshot.Payouts[p.Address] = p
		l.PayoutAt[p.Address] = i
	}
	return l, nil
}

// LenientRoot reads a segmented state's root for auditing: the strict
// parser's objection, if any, beside what the file says.
func LenientRoot(name string, data []byte) (root *Root, strict error, err error) {
	r, strict := ParseRoot(name, data)
	if strict == nil {
		return r, nil, nil
	}
	var w rootWire
	if err := json.Unmarshal(data, &w); err != nil || w.Version != state.SegmentedVersion {
		return nil, strict, strict
	}
	return &Root{Lineage: w.Lineage, Serial: w.Serial, Journal: w.Journal, Accounts: w.Accounts, Batches: w.Batches, Open: w.Open}, strict, nil
}

func parseLenient(name string, data []byte, strict error) (*Lenient, error) {
	var w lenient
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&w); err != nil {
		if strict != nil {
			return nil, strict
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if w.Version == nil || *w.Version < 1 {
		if strict != nil {
			return nil, strict
		}
		return nil, fmt.Errorf("%s: not a payctl state", name)
	}
	s := &Lenient{
		Snapshot: &state.Snapshot{
			Version: *w.Version, Lineage: w.Lineage, Serial: w.Serial, Journal: w.Journal,
			Groups: map[string]*state.Group{}, Payouts: map[string]*state.Payout{},
		},
		Strict:   strict,
		PayoutAt: map[string]int{},
		GroupAt:  map[string]int{},
	}
	for i, g := range w.Groups {
		if g == nil || g.ID == "" {
			continue
		}
		if _, dup := s.Snapshot.Groups[g.ID]; !dup {
			s.Snapshot.Groups[g.ID] = g
			s.GroupAt[g.ID] = i
		}
	}
	for i, p := range w.Payouts {
		if p == nil {
			continue
		}
		if _, dup := s.Snapshot.Payouts[p.Address]; dup {
			continue
		}
		// The strict parser reports null attempts; dropping them here
		// keeps every comparison free of nil checks.
		kept := p.Attempts[:0]
		for _, a := range p.Attempts {
			if a != nil {
				kept = append(kept, a)
			}
		}
		p.Attempts = kept
		s.Snapshot.Payouts[p.Address] = p
		s.PayoutAt[p.Address] = i
	}
	return s, nil
}
