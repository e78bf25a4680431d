package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/statefile"
)

// Snapshot is a state snapshot as an auditor reads it: the folded state,
// what the strict parser objects to, and where each payout sits in its
// file so that findings can point at it.
type Snapshot struct {
	*state.Snapshot
	// Name is how reports call it: a path, "path@REV", a backend.
	Name string
	// Problems are the strict parser's objections, as findings.
	Problems []*Finding

	payoutAt map[string]int // address -> index in the file's "payouts"
	groupAt  map[string]int // group id -> index in the file's "groups"
	// payoutFile and groupFile name the segment each is in, for a
	// segmented state (the index is then in that file).
	payoutFile map[string]string
	groupFile  map[string]string
	// lazy, for a segmented snapshot read root first, are its batches
	// not read yet (see eachBatch).
	lazy *lazyBatches
}

// ReadSnapshot reads a snapshot for auditing with statefile's lenient
// reader: it accepts what the strict parser (statefile.ParseSnapshot)
// refuses for its content, such as an amount edited by hand, and returns
// those objections in Problems; it fails only when the file is not a
// payctl snapshot it can read at all (not JSON, a value of the wrong type,
// no or a newer version).
//
// The result must never be used to pay: that is what the strict parser is
// for.
//
// A segmented state's root is read with its batches' segments, which seg
// gives; each segment that differs from the digest its root records is a
// problem, as is one that is missing.
func ReadSnapshot(name string, data []byte, seg SegmentSource) (*Snapshot, error) {
	if statefile.PeekVersion(data) == state.SegmentedVersion {
		return readSegmented(name, data, seg)
	}
	l, err := statefile.ParseLenient(name, data)
	if err != nil {
		return nil, err
	}
	return &Snapshot{
		Snapshot: l.Snapshot,
		Name:     name,
		Problems: strictFindings(name, l.Strict),
		payoutAt: l.PayoutAt,
		groupAt:  l.GroupAt,
	}, nil
}

// SegmentSource gives a segmented state's segment of one batch, or with
// batch "" its account index: how reports name it, and its bytes
// (fs.ErrNotExist when it is missing).
type SegmentSource func(batch string) (name string, data []byte, err error)

// segmentName is the file of a batch's segment, or with batch "" the
// account index, of the state at path.
func segmentName(path, batch string) string {
	if batch == "" {
		return path + ".accounts"
	}
	return filepath.Join(path+".batches", statefile.SegmentFile(batch))
}

// LocalSegments reads the segments of the state at path from disk.
func LocalSegments(path string) SegmentSource {
	return func(batch string) (string, []byte, error) {
		name := segmentName(path, batch)
		// A device or a named pipe in its place would hang the audit.
		if fi, err := os.Stat(name); err == nil && !fi.Mode().IsRegular() {
			return name, nil, fmt.Errorf("%s is not a regular file (%s)", name, fi.Mode().Type())
		}
		data, err := os.ReadFile(name)
		return name, data, err
	}
}

// GitSegments reads the segments of the state at path as of a git
// revision.
func GitSegments(ctx context.Context, path, rev string) SegmentSource {
	return func(batch string) (string, []byte, error) {
		name := segmentName(path, batch)
		data, err := GitRevision(ctx, name, rev)
		if errors.Is(err, ErrGit) {
			err = fmt.Errorf("%w: %v", fs.ErrNotExist, err)
		}
		return name + "@" + rev, data, err
	}
}

func readSegmented(name string, data []byte, seg SegmentSource) (*Snapshot, error) {
	root, strict, err := statefile.LenientRoot(name, data)
	if err != nil {
		return nil, err
	}
	return readSegments(name, root, strict, seg, nil)
}

// emptySegmented is a segmented snapshot of no batches yet, for its
// segments to be added to (addBatch).
func emptySegmented(name, lineage string, serial uint64, mark state.JournalMark) *Snapshot {
	st := state.Empty()
	st.Version, st.Lineage, st.Serial, st.Journal = state.SegmentedVersion, lineage, serial, mark
	return &Snapshot{
		Snapshot: st, Name: name,
		payoutAt: map[string]int{}, groupAt: map[string]int{},
		payoutFile: map[string]string{}, groupFile: map[string]string{},
	}
}

// readSegments reads the segments root names. Every segment's bytes are
// checked against the root's digest; only the batches parse accepts (all,
// when nil) are decoded into the snapshot.
func readSegments(name string, root *statefile.Root, strict error, seg SegmentSource, parse func(batch string) bool) (*Snapshot, error) {
	s := emptySegmented(name, root.Lineage, root.Serial, root.Journal)
	s.Problems = strictFindings(name, strict)
	if seg == nil {
		return nil, fmt.Errorf("%s: a segmented state, read without its segments", name)
	}
	if d := root.Accounts.Digest; d != "" {
		idxName, idx, err := seg("")
		switch {
		case errors.Is(err, fs.ErrNotExist) && root.Accounts.Entries == 0:
			// An empty index tells nothing a diff or a verify needs.
		case errors.Is(err, fs.ErrNotExist):
			s.Problems = append(s.Problems, &Finding{Kind: KindInvalidSnapshot, File: name, Pointer: "/accounts", Message: fmt.Sprintf("the account index %s is missing", idxName), Hint: segmentHint})
		case err != nil:
			return nil, err
		case statefile.SnapshotDigest(idx) != d:
			s.Problems = append(s.Problems, &Finding{Kind: KindInvalidSnapshot, File: idxName, Message: fmt.Sprintf("its bytes are not the ones the root says payctl wrote for the account index (%s, not %s): it was edited or replaced after it was written", d, statefile.SnapshotDigest(idx)), Hint: segmentHint})
		}
	}
	for i, e := range root.Batches {
		if err := s.addBatch(i, e, seg, parse == nil || parse(e.Name)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// addBatch reads the segment of the root's batch i, checks it against the
// root's digest and, with decode, adds its payouts and provider payouts.
func (s *Snapshot) addBatch(i int, e state.BatchEntry, seg SegmentSource, decode bool) error {
	st := s.Snapshot
	segName, segData, err := seg(e.Name)
	ptr := fmt.Sprintf("/batches/%d", i)
	if errors.Is(err, fs.ErrNotExist) {
		s.Problems = append(s.Problems, &Finding{Kind: KindInvalidSnapshot, File: s.Name, Pointer: ptr, Message: fmt.Sprintf("batch %s's segment %s is missing", e.Name, segName), Hint: segmentHint})
		return nil
	}
	if err != nil {
		return err
	}
	if d := statefile.SnapshotDigest(segData); d != e.Digest {
		s.Problems = append(s.Problems, &Finding{Kind: KindInvalidSnapshot, File: segName, Message: fmt.Sprintf("its bytes are not the ones the root says payctl wrote for batch %s (%s, not %s): the segment was edited or replaced after it was written", e.Name, e.Digest, d), Hint: segmentHint})
	}
	if !decode {
		return nil
	}
	l, err := statefile.ParseLenientSegment(segName, e.Name, segData)
	if err != nil {
		s.Problems = append(s.Problems, &Finding{Kind: KindUnreadable, File: segName, Message: err.Error(), Hint: segmentHint})
		return nil
	}
	s.Problems = append(s.Problems, strictFindings(segName, l.Strict)...)
	for a, p := range l.Snapshot.Payouts {
		if st.Payouts[a] != nil {
			continue
		}
		st.Payouts[a] = p
		s.payoutAt[a] = l.PayoutAt[a]
		s.payoutFile[a] = segName
	}
	for id, g := range l.Snapshot.Groups {
		if st.Groups[id] != nil {
			continue
		}
		st.Groups[id] = g
		s.groupAt[id] = l.GroupAt[id]
		s.groupFile[id] = segName
	}
	return nil
}

// readRootOnly reads a segmented snapshot's root and its account index's
// digest, leaving its batches to be read one at a time (eachBatch): a
// verify of a long history then holds one batch's segment beside the
// journal's fold, not the whole snapshot twice.
func readRootOnly(name string, data []byte, seg SegmentSource) (*Snapshot, error) {
	root, strict, err := statefile.LenientRoot(name, data)
	if err != nil {
		return nil, err
	}
	s, err := readSegments(name, &statefile.Root{Lineage: root.Lineage, Serial: root.Serial, Journal: root.Journal, Accounts: root.Accounts}, strict, seg, nil)
	if err != nil {
		return nil, err
	}
	s.lazy = &lazyBatches{batches: root.Batches, seg: seg}
	return s, nil
}

// lazyBatches are the batches of a snapshot read by readRootOnly.
type lazyBatches struct {
	batches []state.BatchEntry
	seg     SegmentSource
}

// eachBatch calls fn with each batch of a snapshot read by readRootOnly,
// as a snapshot of its own (its problems are the snapshot's), in the
// root's order; the batch is dropped once fn returns.
func (s *Snapshot) eachBatch(fn func(batch string, b *Snapshot)) error {
	for i, e := range s.lazy.batches {
		b := emptySegmented(s.Name, s.Lineage, s.Serial, s.Journal)
		if err := b.addBatch(i, e, s.lazy.seg, true); err != nil {
			return err
		}
		s.Problems = append(s.Problems, b.Problems...)
		b.Problems = nil
		fn(e.Name, b)
	}
	return nil
}

const segmentHint = "payctl refuses to pay from this state; `payctl state verify` compares it with the journal; restore the segment and its root together from version control, or rebuild the state from the journal with `payctl state rebuild`"

// payoutIn names the file a payout is in: a segment, or the snapshot.
func (s *Snapshot) payoutIn(addr string) string {
	if f, ok := s.payoutFile[addr]; ok {
		return f
	}
	return s.Name
}

// groupIn names the file a provider payout is in.
func (s *Snapshot) groupIn(id string) string {
	if f, ok := s.groupFile[id]; ok {
		return f
	}
	return s.Name
}

// strictFindings turns the strict parser's error into findings.
func strictFindings(name string, err error) []*Finding {
	if err == nil {
		return nil
	}
	var list diag.List
	var one *diag.Error
	switch {
	case errors.As(err, &list):
	case errors.As(err, &one):
		list = diag.List{one}
	default:
		list = diag.List{{File: name, Msg: err.Error()}}
	}
	var out []*Finding
	for _, d := range list {
		f := &Finding{
			Kind: KindInvalidSnapshot, File: d.File, Pointer: d.Pointer, Message: d.Msg,
			Hint: "payctl refuses to pay from this file; `payctl state verify` compares it with the journal, from which a good snapshot can be restored",
		}
		if d.Pos.IsValid() {
			f.Pointer = ""
			f.Message = fmt.Sprintf("%d:%d: %s", d.Pos.Line, d.Pos.Col, d.Msg)
		}
		out = append(out, f)
	}
	return out
}

// FromState wraps a snapshot loaded by a backend (and therefore already
// checked by the strict parser). Its payouts are pointed at in the order
// the canonical file lists them.
func FromState(name string, st *state.Snapshot) *Snapshot {
	s := &Snapshot{Snapshot: st, Name: name, payoutAt: map[string]int{}, groupAt: map[string]int{}}
	for i, a := range st.Addresses() {
		s.payoutAt[a] = i
	}
	for i, id := range groupIDs(st) {
		s.groupAt[id] = i
	}
	return s
}

// payoutPointer is the JSON pointer of a payout in the file.
func (s *Snapshot) payoutPointer(addr string) string {
	if i, ok := s.payoutAt[addr]; ok {
		return fmt.Sprintf("/payouts/%d", i)
	}
	return ""
}

func (s *Snapshot) groupPointer(id string) string {
	if i, ok := s.groupAt[id]; ok {
		return fmt.Sprintf("/groups/%d", i)
	}
	return ""
}

// fieldChange is one value that differs between two JSON trees.
type fieldChange struct {
	Path     string // JSON pointer below the compared value
	Old, New string // JSON text; "" when absent
}

// fieldChanges lists every leaf that differs between a and b as encoded in
// JSON, sorted by path.
func fieldChanges(a, b any) []fieldChange {
	ab, aerr := json.Marshal(a)
	bb, berr := json.Marshal(b)
	if aerr == nil && berr == nil && bytes.Equal(ab, bb) {
		return nil
	}
	var out []fieldChange
	walkJSON("", tree(ab, aerr), tree(bb, berr), &out)
	return out
}

// tree decodes v's JSON encoding (raw, or err if it had none) for walkJSON.
func tree(raw []byte, err error) any {
	if err != nil {
		return fmt.Sprintf("unencodable: %v", err)
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var t any
	if err := d.Decode(&t); err != nil {
		return fmt.Sprintf("undecodable: %v", err)
	}
	return t
}

func walkJSON(path string, a, b any, out *[]fieldChange) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			walkJSON(path+"/"+pointerEscape(k), am[k], bm[k], out)
		}
		return
	}
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok {
		for i := 0; i < max(len(as), len(bs)); i++ {
			var x, y any
			if i < len(as) {
				x = as[i]
			}
			if i < len(bs) {
				y = bs[i]
			}
			walkJSON(fmt.Sprintf("%s/%d", path, i), x, y, out)
		}
		return
	}
	at, bt := leafText(a), leafText(b)
	if at != bt {
		*out = append(*out, fieldChange{Path: path, Old: at, New: bt})
	}
}

func leafText(v any) string {
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}
