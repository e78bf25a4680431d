package state

import (
	"errors"
	"fmt"
)

// DamageError is a journal damaged before its final record. payctl never
// repairs it.
type DamageError struct {
	File string
	Seq  uint64
	Err  error
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("%s:%d: journal record %d is damaged (%v); payctl stops rather than guess: restore the journal from a backup, and see `payctl state verify`", e.File, e.Seq, e.Seq, e.Err)
}

func (e *DamageError) Unwrap() error { return e.Err }

// SnapshotError is a snapshot payctl cannot prove it wrote for its
// journal. payctl refuses to pay or write from it.
type SnapshotError struct {
	File   string
	Reason string
	// Restore says the journal itself needs restoring: a rebuild from it
	// cannot help.
	Restore bool
	// Segment is set for one batch's segment of a segmented state: its
	// root's backup cannot restore it.
	Segment bool
}

func (e *SnapshotError) Error() string {
	if e.Restore {
		return fmt.Sprintf("%s: %s; payctl will not pay or write from a state it cannot check: restore the snapshot and its journal together from version control or a backup, and see `payctl state verify`", e.File, e.Reason)
	}
	if e.Segment {
		return fmt.Sprintf("%s: %s; payctl will not pay or write from it: see what differs with `payctl state verify`, then restore the segment and its root together from version control, or rebuild the state from the journal (the record of truth) with `payctl state rebuild`", e.File, e.Reason)
	}
	return fmt.Sprintf("%s: %s; payctl will not pay or write from it: see what differs with `payctl state verify`, then restore the snapshot from version control or %s.backup, or rebuild it from the journal (the record of truth) with `payctl state rebuild`", e.File, e.Reason, e.File)
}

// ErrNotExist says the backend holds no state (no create record was
// ever written there) where one is needed.
var ErrNotExist = errors.New("no state")

// ErrExists is returned by Create when the backend already holds a state.
var ErrExists = errors.New("a state exists already")
