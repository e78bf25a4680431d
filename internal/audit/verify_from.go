package audit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
	"github.com/payctl/payctl/state/statefile"
)

// Trusted is a state an auditor verified before: the root of a segmented
// state and its segments, as of a git revision. Verifying from it reads
// only the journal records written since and the batches they touched.
type Trusted struct {
	// Name is how reports call it: "path@REV".
	Name     string
	Root     []byte
	Segments SegmentSource
}

// TrustedAt reads the local state at path as of git revision rev.
func TrustedAt(ctx context.Context, path, rev string) (Trusted, error) {
	data, err := GitRevision(ctx, path, rev)
	if err != nil {
		return Trusted{}, err
	}
	return Trusted{Name: path + "@" + rev, Root: data, Segments: GitSegments(ctx, path, rev)}, nil
}

// From says where a verify from a trusted state started.
type From struct {
	State  string `json:"state"`
	Serial uint64 `json:"serial"`
	// Batches are those the records since touched: the only ones decoded
	// and compared payout by payout.
	Batches int `json:"batches_compared"`
}

// ErrTrustedFormat is returned by VerifyFrom for a trusted state that is
// not segmented: without a table of batches there is no way to compare
// only what changed.
var ErrTrustedFormat = errors.New("not a segmented state")

// trustedSegmentError is a segment of the trusted state that could not be
// read while folding.
type trustedSegmentError struct{ err error }

func (e *trustedSegmentError) Error() string { return e.err.Error() }
func (e *trustedSegmentError) Unwrap() error { return e.err }

// VerifyFrom checks a local segmented state against one verified before,
// so that a yearly audit costs the year, not the history:
//
//   - the record right after the trusted state's serial is the checkpoint
//     that names the trusted root's exact bytes, and chains to its last
//     record: the trusted state is an earlier version of this one, and the
//     journal since grows out of it;
//   - every record since matches its hash, sequence and chain;
//   - folding them into the trusted state gives exactly the state's
//     batches they touched, and every other batch's segment is byte for
//     byte the trusted one;
//   - the checkpoint after the state's serial names the root's bytes, the
//     journal mark is right, files are private, paid payouts have ids.
//
// What came before the trusted state is not read: it is what the earlier
// audit vouched for. Verify checks everything.
func VerifyFrom(ctx context.Context, l *localstate.Backend, t Trusted) (*Report, error) {
	if statefile.PeekVersion(t.Root) != state.SegmentedVersion {
		return nil, fmt.Errorf("the trusted state %s: %w (format %d)", t.Name, ErrTrustedFormat, statefile.PeekVersion(t.Root))
	}
	tr, err := statefile.ParseRoot(t.Name, t.Root)
	if err != nil {
		return nil, fmt.Errorf("the trusted state cannot be read: %w", err)
	}
	data, err := os.ReadFile(l.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w: there is no state to compare with the trusted one", l.Path, ErrNoState)
	}
	if err != nil {
		return nil, err
	}
	r := &Report{
		FormatVersion: FormatVersion, State: l.Describe(), Problems: []*Finding{}, Notes: []string{},
		Permissions: true, From: &From{State: t.Name, Serial: tr.Serial},
	}
	r.Problems = append(r.Problems, permissions(l)...)
	if statefile.PeekVersion(data) != state.SegmentedVersion {
		r.Problems = append(r.Problems, &Finding{Kind: KindNotAncestor, File: l.Path, Pointer: "/version",
			Message: fmt.Sprintf("the state is format %d but the trusted state %s is format %d: a state is never converted back", statefile.PeekVersion(data), t.Name, state.SegmentedVersion),
			Hint:    restoreHint})
		return r, nil
	}
	cur, strict, err := statefile.LenientRoot(l.Path, data)
	if err != nil {
		r.Problems = append(r.Problems, &Finding{Kind: KindUnreadable, File: l.Path, Message: err.Error(), Hint: segmentHint})
		return r, nil
	}
	r.Serial, r.Lineage = cur.Serial, cur.Lineage
	switch {
	case cur.Lineage != tr.Lineage:
		r.Problems = append(r.Problems, &Finding{Kind: KindLineageChanged, File: l.Path, Pointer: "/lineage",
			Message: fmt.Sprintf("the state's lineage is %s but the trusted state's is %s: they are not the same state", cur.Lineage, tr.Lineage),
			Hint:    "check -from: it names a revision of this state's own history"})
		return r, nil
	case cur.Serial < tr.Serial:
		r.Problems = append(r.Problems, &Finding{Kind: KindSerialBackwards, File: l.Path, Pointer: "/serial",
			Message: fmt.Sprintf("the state has serial %d, before the trusted state's %d: it was replaced by an older one", cur.Serial, tr.Serial),
			Hint:    restoreHint})
		return r, nil
	}

	fold := state.Empty()
	fold.Lineage, fold.Serial, fold.Journal = tr.Lineage, tr.Serial, tr.Journal
	fold.Segmented(tr.Batches, trustedLoader(t))

	var snap *Snapshot
	compare := func(hash string) {
		loaded := fold.Loaded()
		want := make(map[string]bool, len(loaded))
		for _, b := range loaded {
			want[b] = true
		}
		s, err := readSegments(l.Path, cur, strict, LocalSegments(l.Path), func(b string) bool { return want[b] })
		if err != nil {
			r.Problems = append(r.Problems, &Finding{Kind: KindUnreadable, File: l.Path, Message: err.Error(), Hint: segmentHint})
			return
		}
		snap = s
		r.Problems = append(r.Problems, s.Problems...)
		r.Problems = append(r.Problems, untouched(l.Path, tr, cur, want)...)
		r.Problems = append(r.Problems, compareFold(fold, s, hash)...)
		r.Problems = append(r.Problems, r.checkPaid(s.Snapshot, s)...)
		r.Compared = true
		r.From.Batches = len(loaded)
	}
	if cur.Serial == tr.Serial {
		compare(tr.Journal.Hash)
	}

	prev, folding := tr.Journal.Hash, true
	last, beyond := tr.Serial, uint64(0)
	var afterTrusted, afterState *state.Event
	torn, err := l.ReadJournalFrom(ctx, tr.Journal, tr.Serial, func(e *state.Event) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.Records++
		last = e.Seq
		if e.Kind == state.KindCheckpoint {
			if e.Seq == tr.Serial+1 {
				afterTrusted = e
			}
			if e.Seq == cur.Serial+1 {
				afterState = e
			}
		} else if e.Seq > cur.Serial {
			beyond++
		}
		if e.Prev != prev {
			msg := fmt.Sprintf("record %d chains to a previous record with hash %s, but record %d has hash %s: a record before it was changed and re-hashed, or removed", e.Seq, short(e.Prev), e.Seq-1, short(prev))
			if e.Seq == tr.Serial+1 {
				msg = fmt.Sprintf("record %d chains to a previous record with hash %s, but the trusted state's last record (%d) has hash %s: the journal was replaced since the trusted state", e.Seq, short(e.Prev), tr.Serial, short(prev))
			}
			r.Problems = append(r.Problems, &Finding{Kind: KindChainBroken, File: l.JournalPath(), Line: e.Seq, Message: msg, Hint: restoreHint})
		}
		prev = e.Hash
		if folding {
			if err := fold.Apply(e); err != nil {
				folding = false
				var ts *trustedSegmentError
				if errors.As(err, &ts) {
					r.Problems = append(r.Problems, &Finding{Kind: KindUnreadable, Line: e.Seq,
						Message: fmt.Sprintf("record %d touches a batch of the trusted state that cannot be read: %v", e.Seq, ts.err),
						Hint:    "verify from a revision whose state verifies, or verify everything without -from"})
				} else {
					r.Problems = append(r.Problems, &Finding{Kind: KindFoldFailed, File: l.JournalPath(), Line: e.Seq,
						Message: fmt.Sprintf("record %d does not follow from the trusted state and the records since: %v", e.Seq, foldMsg(err)),
						Hint:    restoreHint})
				}
			}
		}
		if e.Seq == cur.Serial && folding {
			compare(e.Hash)
		}
		return nil
	})
	damage, err := r.readProblems(err, torn, l.JournalPath())
	if err != nil {
		return nil, fmt.Errorf("read the journal of %s since the trusted state: %w", l.Path, err)
	}
	broken := damage != nil || torn != nil
	trustedDigest := statefile.SnapshotDigest(t.Root)
	switch {
	case afterTrusted == nil && !broken:
		r.Problems = append(r.Problems, &Finding{Kind: KindNotAncestor, File: l.JournalPath(), Line: tr.Serial + 1,
			Message: fmt.Sprintf("no checkpoint record follows the trusted state's serial %d: %s is not a state this journal went through", tr.Serial, t.Name),
			Hint:    "check -from: it names a revision of this state's own history; if it does, the journal was replaced since"})
	case afterTrusted != nil && afterTrusted.Snapshot != trustedDigest:
		r.Problems = append(r.Problems, &Finding{Kind: KindNotAncestor, File: l.JournalPath(), Line: afterTrusted.Seq,
			Message: fmt.Sprintf("journal record %d names the state %s, but the trusted state %s is %s: it is not a state this journal went through", afterTrusted.Seq, afterTrusted.Snapshot, t.Name, trustedDigest),
			Hint:    "check -from: it names a revision of this state's own history; if it does, the journal was replaced since"})
	}
	switch {
	case cur.Serial > last && !broken:
		r.Problems = append(r.Problems, &Finding{
			Kind: KindSnapshotAhead, File: l.Path, Pointer: "/serial",
			Message: fmt.Sprintf("the state has serial %d but the journal ends at record %d: records were removed from the end of the journal, or it was replaced", cur.Serial, last),
			Hint:    restoreHint,
		})
	case !r.Compared && (broken || !folding):
		r.Notes = append(r.Notes, fmt.Sprintf("the state (serial %d) was not compared: the journal since the trusted state cannot be read or folded that far", cur.Serial))
	case afterState == nil && !broken:
		r.Problems = append(r.Problems, &Finding{Kind: KindSnapshotDiffers, File: l.Path,
			Message: fmt.Sprintf("no checkpoint record follows the state's serial %d: payctl appends one before a root takes its place, so this root was not written by payctl", cur.Serial),
			Hint:    editHint})
	case afterState != nil && afterState.Snapshot != statefile.SnapshotDigest(data):
		r.Problems = append(r.Problems, &Finding{Kind: KindSnapshotDiffers, File: l.Path, Line: afterState.Seq,
			Message: fmt.Sprintf("the state's bytes are not the ones journal record %d says payctl wrote (%s, not %s): it was edited after it was written", afterState.Seq, afterState.Snapshot, statefile.SnapshotDigest(data)),
			Hint:    editHint})
	}
	if beyond > 0 && r.Compared {
		r.Notes = append(r.Notes, fmt.Sprintf("the journal holds %d records beyond the state's serial %d (a command stopped before rewriting the state); the next payctl command folds them in", beyond, cur.Serial))
	}
	if snap != nil && !r.has(KindJournalDamaged, KindJournalTorn, KindChainBroken, KindFoldFailed, KindSnapshotAhead) {
		if f := checkMark(l, snap); f != nil {
			r.Problems = append(r.Problems, f)
		}
	}
	r.Notes = append(r.Notes, fmt.Sprintf("checked from %s (serial %d): the %s since and the %s they touched were read; what came before was vouched for by the audit that trusted %s (verify without -from to check everything)", t.Name, tr.Serial, plural(int(r.Records), "record"), plural(r.From.Batches, "batch"), t.Name))
	r.OK = len(r.Problems) == 0
	return r, nil
}

// trustedLoader reads a batch of the trusted state for the fold, strictly:
// a trusted segment that is not the one its root names is no ground to
// stand on.
func trustedLoader(t Trusted) state.SegmentLoader {
	return func(e state.BatchEntry) ([]*state.Payout, []*state.Group, error) {
		name, data, err := t.Segments(e.Name)
		if err != nil {
			return nil, nil, &trustedSegmentError{fmt.Errorf("batch %s: %w", e.Name, err)}
		}
		if d := statefile.SnapshotDigest(data); d != e.Digest {
			return nil, nil, &trustedSegmentError{fmt.Errorf("%s is not the segment the trusted root names (%s, not %s)", name, d, e.Digest)}
		}
		ps, gs, err := statefile.ParseSegment(name, e.Name, data)
		if err != nil {
			return nil, nil, &trustedSegmentError{err}
		}
		if len(ps) != e.Payouts {
			return nil, nil, &trustedSegmentError{fmt.Errorf("%s holds %d payouts where the trusted root says %d", name, len(ps), e.Payouts)}
		}
		return ps, gs, nil
	}
}

// untouched reports batches that no record since the trusted state touched
// but that are not the trusted ones: only a record can change a batch.
func untouched(file string, tr, cur *statefile.Root, touched map[string]bool) []*Finding {
	trusted := make(map[string]state.BatchEntry, len(tr.Batches))
	for _, e := range tr.Batches {
		trusted[e.Name] = e
	}
	var out []*Finding
	seen := make(map[string]bool, len(cur.Batches))
	for i, e := range cur.Batches {
		seen[e.Name] = true
		if touched[e.Name] {
			continue
		}
		te, ok := trusted[e.Name]
		ptr := fmt.Sprintf("/batches/%d", i)
		switch {
		case !ok:
			out = append(out, &Finding{Kind: KindSnapshotDiffers, File: file, Pointer: ptr,
				Message: fmt.Sprintf("batch %s (%d payouts) is in the state, but no record since serial %d created it", e.Name, e.Payouts, tr.Serial), Hint: editHint})
		case te.Digest != e.Digest:
			out = append(out, &Finding{Kind: KindSnapshotDiffers, File: file, Pointer: ptr,
				Message: fmt.Sprintf("batch %s's segment is not the trusted one (%s, not %s), but no record since serial %d touched it", e.Name, e.Digest, te.Digest, tr.Serial), Hint: editHint})
		}
	}
	for _, e := range tr.Batches {
		if !seen[e.Name] && !touched[e.Name] {
			out = append(out, &Finding{Kind: KindSnapshotDiffers, File: file, Pointer: "/batches",
				Message: fmt.Sprintf("batch %s (%d payouts in the trusted state) is missing from the state", e.Name, e.Payouts), Hint: editHint})
		}
	}
	return out
}

// JournalSince is the journal of l from the trusted state on, for a
// history of what happened since an audit: the records after t's serial,
// each checked to chain from t, whose own bytes the first one must name.
func JournalSince(l *localstate.Backend, t Trusted) (Journal, error) {
	if statefile.PeekVersion(t.Root) != state.SegmentedVersion {
		return nil, fmt.Errorf("the trusted state %s: %w (format %d)", t.Name, ErrTrustedFormat, statefile.PeekVersion(t.Root))
	}
	root, err := statefile.ParseRoot(t.Name, t.Root)
	if err != nil {
		return nil, fmt.Errorf("the trusted state cannot be read: %w", err)
	}
	return &journalSince{l: l, t: t, root: root}, nil
}

type journalSince struct {
	l    *localstate.Backend
	t    Trusted
	root *statefile.Root
}

// ErrNotSince is returned by a JournalSince whose journal does not grow
// out of the trusted state.
var ErrNotSince = errors.New("the journal does not continue the trusted state")

func (j *journalSince) ReadJournal(ctx context.Context, fn func(*state.Event) error) (*state.Torn, error) {
	prev, digest := j.root.Journal.Hash, statefile.SnapshotDigest(j.t.Root)
	first := true
	return j.l.ReadJournalFrom(ctx, j.root.Journal, j.root.Serial, func(e *state.Event) error {
		if first && (e.Kind != state.KindCheckpoint || e.Snapshot != digest) {
			return fmt.Errorf("%w: record %d does not name %s's bytes (%s): it is not a state this journal went through", ErrNotSince, e.Seq, j.t.Name, digest)
		}
		if e.Prev != prev {
			return fmt.Errorf("%w: record %d does not chain to record %d", ErrNotSince, e.Seq, e.Seq-1)
		}
		first, prev = false, e.Hash
		return fn(e)
	})
}
