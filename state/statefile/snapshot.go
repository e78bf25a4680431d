package statefile

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/state"
)

// WriteSnapshot writes the snapshot's canonical bytes: fixed key order, one group
// and one payout per line sorted by id and address, trailing newline. The
// same content always gives the same bytes, and `git diff` of two
// snapshots shows one line per changed payout.
func WriteSnapshot(w io.Writer, s *state.Snapshot) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString(SnapshotHeader(state.Version, s.Lineage, s.Serial, s.Journal))
	ids := make([]string, 0, len(s.Groups))
	for id := range s.Groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	gs := make([]*state.Group, len(ids))
	for i, id := range ids {
		gs[i] = s.Groups[id]
	}
	addrs := s.Addresses()
	if err := writeBody(bw, gs, len(addrs), func(i int) *state.Payout { return s.Payouts[addrs[i]] }); err != nil {
		return err
	}
	return bw.Flush()
}

// writeBody writes the groups and payouts arrays that end a snapshot or a
// segment, one element per line, and its closing brace.
func writeBody(bw *bufio.Writer, gs []*state.Group, n int, payout func(i int) *state.Payout) error {
	bw.WriteString("  \"groups\": [")
	for i, g := range gs {
		b, err := GroupLine(g)
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n    ")
		bw.Write(b)
	}
	if len(gs) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("],\n  \"payouts\": [")
	var b []byte
	for i := 0; i < n; i++ {
		b = b[:0]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    "...)
		b = AppendPayout(b, payout(i))
		bw.Write(b)
	}
	if n > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	return nil
}

// SnapshotHeader is the canonical snapshot's first lines, up to its groups.
func SnapshotHeader(version int, lineage string, serial uint64, mark state.JournalMark) string {
	l, _ := json.Marshal(lineage)
	m, _ := json.Marshal(mark)
	return fmt.Sprintf("{\n  \"version\": %d,\n  \"lineage\": %s,\n  \"serial\": %d,\n  \"journal\": %s,\n", version, l, serial, m)
}

// GroupLine is one group's line of the canonical snapshot: compact JSON
// without HTML escaping. Groups are few (one per provider payout of a
// batch provider), so they go through encoding/json.
func GroupLine(g *state.Group) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(g); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// SnapshotBytes returns the snapshot's canonical bytes.
func SnapshotBytes(s *state.Snapshot) []byte {
	var b bytes.Buffer
	WriteSnapshot(&b, s)
	return b.Bytes()
}

// wire is the snapshot as decoded from JSON.
type wire struct {
	Version int               `json:"version"`
	Batch   string            `json:"batch"`
	Lineage string            `json:"lineage"`
	Serial  uint64            `json:"serial"`
	Journal state.JournalMark `json:"journal"`
	Groups  []*state.Group    `json:"groups"`
	Payouts []*state.Payout   `json:"payouts"`
}

// ErrNewerVersion is returned for a snapshot written by a newer payctl.
var ErrNewerVersion = errors.New("state written by a newer payctl")

// ParseSnapshot decodes and checks a snapshot. file names it in errors.
//
// data must not be modified afterwards: the snapshot's strings share it.
func ParseSnapshot(file string, data []byte) (*state.Snapshot, error) {
	// Loading builds hundreds of MB of live objects at once for a large
	// state and almost no garbage: collecting on the way would only
	// re-mark what is being built. The collector resumes afterwards.
	if len(data) > 64<<20 {
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
	}
	// A payout line is rarely under 400 bytes: a hint that keeps the map
	// from growing step by step on a large state.
	s := state.Empty()
	s.Payouts = make(map[string]*state.Payout, len(data)/400)
	var dups []string
	w, probs, err := decodeWire(data, state.Version, payoutChecker(file), func(i int, p *state.Payout) {
		if p == nil {
			return
		}
		if _, dup := s.Payouts[p.Address]; dup {
			dups = append(dups, fmt.Sprintf("/payouts/%d\x00%s", i, p.Address))
			return
		}
		s.Add(p)
	})
	switch {
	case err == errNoVersion:
		return nil, &diag.Error{File: file, Msg: "not a payctl state: no \"version\" field"}
	case err == errVersion && w.Version == state.SegmentedVersion:
		return nil, &diag.Error{File: file, Pointer: "/version", Msg: "this is a segmented state's root, read with its batches' segments, not a whole snapshot"}
	case err == errVersion && w.Version > state.SegmentedVersion:
		return nil, fmt.Errorf("%s: format version %d: %w; this payctl reads up to version %d: upgrade payctl", file, w.Version, ErrNewerVersion, state.SegmentedVersion)
	case err == errVersion:
		return nil, &diag.Error{File: file, Pointer: "/version", Msg: fmt.Sprintf("unknown format version %d", w.Version)}
	case err != nil:
		return nil, decodeError(file, data, err)
	}
	s.Lineage, s.Serial, s.Journal = w.Lineage, w.Serial, w.Journal
	var errs diag.List
	bad := func(ptr, format string, args ...any) {
		errs = append(errs, &diag.Error{File: file, Pointer: ptr, Msg: fmt.Sprintf(format, args...)})
	}
	checkHeader(bad, w.Lineage, w.Journal)
	for i, g := range w.Groups {
		ptr := fmt.Sprintf("/groups/%d", i)
		if g == nil || g.ID == "" {
			bad(ptr, "provider payout without an id")
			continue
		}
		if _, dup := s.Groups[g.ID]; dup {
			bad(ptr, "provider payout %s appears twice", g.ID)
		}
		s.Groups[g.ID] = g
	}
	errs = append(errs, probs...)
	for _, d := range dups {
		ptr, addr, _ := strings.Cut(d, "\x00")
		bad(ptr, "payout %s appears twice", addr)
	}
	for i, g := range w.Groups {
		if g == nil {
			continue
		}
		for _, a := range g.Addresses {
			if s.Payouts[a] == nil {
				bad(fmt.Sprintf("/groups/%d", i), "provider payout %s names %s, which is not in the state", g.ID, a)
			}
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

// payoutChecker checks each payout of a snapshot or segment in file as
// payctl would have written it.
func payoutChecker(file string) func(*state.Payout) []*diag.Error {
	return func(p *state.Payout) (out []*diag.Error) {
		if p == nil {
			return []*diag.Error{{File: file, Msg: "null payout"}}
		}
		p.Check(func(ptr, format string, args ...any) {
			out = append(out, &diag.Error{File: file, Pointer: ptr, Msg: fmt.Sprintf(format, args...)})
		})
		return out
	}
}

// checkHeader checks what a whole snapshot and a segmented state's root
// both begin with: the lineage and the journal mark.
func checkHeader(bad func(ptr, format string, args ...any), lineage string, mark state.JournalMark) {
	if _, err := uuid.Parse(lineage); err != nil {
		bad("/lineage", "lineage %q is not a UUID", lineage)
	}
	if mark.Hash != "" && !isHash(mark.Hash) {
		bad("/journal/hash", "journal hash %q is not 64 lower-case hex digits", mark.Hash)
	}
	if mark.Offset < 0 {
		bad("/journal/offset", "negative journal offset")
	}
}

// isHash reports whether s is 64 lower-case hex digits: a SHA-256 (as
// package state checks a checkpoint's digest).
func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// SnapshotDigest is the digest a checkpoint record carries: "sha256:" and
// the hex SHA-256 of the snapshot file's bytes.
func SnapshotDigest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func offsetPos(data []byte, off int64) diag.Pos {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := int(off) - bytes.LastIndexByte(data[:off], '\n')
	return diag.Pos{Line: line, Col: col}
}
