package statefile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/state"
)

// A segmented state (format version 2) is a root file and one segment file
// per batch. The root is small: the lineage, serial and journal mark, the
// table of batches with each segment's digest, and the addresses of the
// open payouts. A checkpoint record carries the root's digest, and the root
// the digest of every segment, so a segment edited, swapped or taken from
// another state does not load. Each segment is canonical JSON like a whole
// snapshot (one provider payout and one payout per line, sorted), so `git
// diff` of a batch shows one line per changed payout.

// PeekVersion returns the format version a state file declares in its
// first field (every state payctl writes begins with it), or 0.
func PeekVersion(data []byte) int {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0
	}
	if t, err := dec.Token(); err != nil || t != "version" {
		return 0
	}
	var v int
	if err := dec.Decode(&v); err != nil {
		return 0
	}
	return v
}

// batchName is what a batch name may be to name a segment file as it is
// (the manifest schema's batch pattern); any other name is escaped.
var batchName = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$`)

// SegmentFile is the name of a batch's segment file in the segments
// folder.
func SegmentFile(batch string) string {
	if batchName.MatchString(batch) {
		return batch + ".json"
	}
	// Names the schema never produced (states written before it held
	// them) are hex-escaped; "_" cannot begin a batch name.
	return fmt.Sprintf("_%x.json", batch)
}

// WriteRoot writes a segmented snapshot's root in canonical bytes, its
// table as s.Table() gives it.
func WriteRoot(w io.Writer, s *state.Snapshot, open []string) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(SnapshotHeader(state.SegmentedVersion, s.Lineage, s.Serial, s.Journal))
	idx := s.AccountsIndexed()
	fmt.Fprintf(bw, "  \"accounts\": {\"entries\":%d,\"digest\":\"%s\"},\n", idx.Entries, idx.Digest)
	bw.WriteString("  \"batches\": [")
	table := s.Table()
	for i, e := range table {
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n    ")
		n, _ := json.Marshal(e.Name)
		fmt.Fprintf(bw, `{"name":%s,"payouts":%d,"digest":"%s"`, n, e.Payouts, e.Digest)
		if e.Unindexed {
			bw.WriteString(`,"unindexed":true`)
		}
		bw.WriteString("}")
	}
	if len(table) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("],\n  \"open\": [")
	for i, a := range open {
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n    ")
		b, _ := json.Marshal(a)
		bw.Write(b)
	}
	if len(open) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	return bw.Flush()
}

// rootWire is a root as decoded.
type rootWire struct {
	Version  int                 `json:"version"`
	Lineage  string              `json:"lineage"`
	Serial   uint64              `json:"serial"`
	Journal  state.JournalMark   `json:"journal"`
	Accounts state.AccountsIndex `json:"accounts"`
	Batches  []state.BatchEntry  `json:"batches"`
	Open     []string            `json:"open"`
}

// Root is a segmented snapshot's root as read.
type Root struct {
	Lineage string
	Serial  uint64
	Journal state.JournalMark
	// Accounts is where the account index is (see state.Accepted).
	Accounts state.AccountsIndex
	Batches  []state.BatchEntry
	// Open are the addresses of payouts sending, pending or unknown.
	Open []string
}

// Snapshot is the segmented snapshot r describes, its batches and account
// index read when a command needs them, by load and accounts.
func (r *Root) Snapshot(load state.SegmentLoader, accounts state.AccountsLoader) *state.Snapshot {
	s := state.Empty()
	s.Lineage, s.Serial, s.Journal = r.Lineage, r.Serial, r.Journal
	s.Segmented(r.Batches, load)
	s.SetAccounts(r.Accounts, accounts)
	return s
}

// ParseRoot decodes and checks a root file strictly: unknown fields, a
// table out of order, a digest that is not one, an open payout in no
// batch are refused, each positioned.
func ParseRoot(file string, data []byte) (*Root, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var w rootWire
	if err := dec.Decode(&w); err != nil {
		return nil, &diag.Error{File: file, Msg: fmt.Sprintf("not a payctl state root: %v", err)}
	}
	if dec.More() {
		return nil, &diag.Error{File: file, Msg: "data after the end of the state"}
	}
	if w.Version != state.SegmentedVersion {
		return nil, &diag.Error{File: file, Pointer: "/version", Msg: fmt.Sprintf("format version %d where a segmented state's root has %d", w.Version, state.SegmentedVersion)}
	}
	var errs diag.List
	bad := func(ptr, format string, args ...any) {
		errs = append(errs, &diag.Error{File: file, Pointer: ptr, Msg: fmt.Sprintf(format, args...)})
	}
	checkHeader(bad, w.Lineage, w.Journal)
	if d := w.Accounts.Digest; d != "" && (!strings.HasPrefix(d, "sha256:") || !isHash(d[len("sha256:"):])) {
		bad("/accounts/digest", "account index digest %q is not sha256: and 64 lower-case hex digits", d)
	}
	names := map[string]bool{}
	for i, e := range w.Batches {
		ptr := fmt.Sprintf("/batches/%d", i)
		switch {
		case e.Name == "" || strings.Contains(e.Name, "/"):
			bad(ptr+"/name", "batch name %q cannot be a batch's", e.Name)
		case i > 0 && e.Name <= w.Batches[i-1].Name:
			bad(ptr+"/name", "batch %q is out of order or appears twice", e.Name)
		}
		if !strings.HasPrefix(e.Digest, "sha256:") || !isHash(e.Digest[len("sha256:"):]) {
			bad(ptr+"/digest", "segment digest %q is not sha256: and 64 lower-case hex digits", e.Digest)
		}
		if e.Payouts < 0 {
			bad(ptr+"/payouts", "negative payout count")
		}
		names[e.Name] = true
	}
	for i, a := range w.Open {
		b, _, _ := strings.Cut(a, "/")
		switch {
		case !names[b]:
			bad(fmt.Sprintf("/open/%d", i), "open payout %s is in no batch of the table", a)
		case i > 0 && a <= w.Open[i-1]:
			bad(fmt.Sprintf("/open/%d", i), "open payout %s is out of order or appears twice", a)
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return &Root{Lineage: w.Lineage, Serial: w.Serial, Journal: w.Journal, Accounts: w.Accounts, Batches: w.Batches, Open: w.Open}, nil
}

// RootBytes returns the canonical bytes of s's root.
func RootBytes(s *state.Snapshot) []byte {
	var b bytes.Buffer
	WriteRoot(&b, s, s.OpenAddresses())
	return b.Bytes()
}

// WriteSegment writes one batch's segment in canonical bytes.
func WriteSegment(w io.Writer, batch string, ps []*state.Payout, gs []*state.Group) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	n, _ := json.Marshal(batch)
	fmt.Fprintf(bw, "{\n  \"version\": %d,\n  \"batch\": %s,\n", state.SegmentedVersion, n)
	if err := writeBody(bw, gs, len(ps), func(i int) *state.Payout { return ps[i] }); err != nil {
		return err
	}
	return bw.Flush()
}

// SegmentBytes returns one batch's segment of s in canonical bytes.
func SegmentBytes(s *state.Snapshot, batch string) []byte {
	ps, gs := s.BatchPayouts(batch)
	var b bytes.Buffer
	WriteSegment(&b, batch, ps, gs)
	return b.Bytes()
}

// ParseBatch parses the segment of the root's entry e, whose bytes the
// caller has proven are the ones e names, and checks it holds as many
// payouts as e says.
func ParseBatch(file string, e state.BatchEntry, data []byte) ([]*state.Payout, []*state.Group, error) {
	ps, gs, err := ParseSegment(file, e.Name, data)
	if err != nil {
		return nil, nil, err
	}
	if len(ps) != e.Payouts {
		return nil, nil, &state.SnapshotError{File: file, Reason: fmt.Sprintf("it holds %d payouts where the root says %d", len(ps), e.Payouts), Segment: true}
	}
	return ps, gs, nil
}

// ParseSegment decodes and checks one batch's segment as strictly as a
// whole snapshot: every payout must be one payctl would have written, in
// the batch, once; every provider payout must name payouts of the segment.
// Payouts and provider payouts are returned in the file's order.
//
// data must not be modified afterwards: the payouts' strings share it.
func ParseSegment(file, batch string, data []byte) ([]*state.Payout, []*state.Group, error) {
	var ps []*state.Payout
	seen := map[string]bool{}
	var dups []string
	w, probs, err := decodeWire(data, state.SegmentedVersion, payoutChecker(file), func(i int, p *state.Payout) {
		if p == nil {
			return
		}
		if seen[p.Address] {
			dups = append(dups, fmt.Sprintf("/payouts/%d\x00%s", i, p.Address))
			return
		}
		seen[p.Address] = true
		ps = append(ps, p)
	})
	switch {
	case err == errNoVersion:
		return nil, nil, &diag.Error{File: file, Msg: "not a payctl state segment: no \"version\" field"}
	case err == errVersion:
		return nil, nil, &diag.Error{File: file, Pointer: "/version", Msg: fmt.Sprintf("format version %d where a segment has %d", w.Version, state.SegmentedVersion)}
	case err != nil:
		return nil, nil, decodeError(file, data, err)
	}
	var errs diag.List
	bad := func(ptr, format string, args ...any) {
		errs = append(errs, &diag.Error{File: file, Pointer: ptr, Msg: fmt.Sprintf(format, args...)})
	}
	if w.Batch != batch {
		bad("/batch", "segment of batch %q where the root names %q", w.Batch, batch)
	}
	errs = append(errs, probs...)
	for _, d := range dups {
		ptr, addr, _ := strings.Cut(d, "\x00")
		bad(ptr, "payout %s appears twice", addr)
	}
	for i, p := range ps {
		if p.Batch() != batch {
			bad(fmt.Sprintf("/payouts/%d", i), "payout %s is not in batch %s", p.Address, batch)
		}
	}
	ids := map[string]bool{}
	for i, g := range w.Groups {
		ptr := fmt.Sprintf("/groups/%d", i)
		if g == nil || g.ID == "" {
			bad(ptr, "provider payout without an id")
			continue
		}
		if ids[g.ID] {
			bad(ptr, "provider payout %s appears twice", g.ID)
		}
		ids[g.ID] = true
		for _, a := range g.Addresses {
			if !seen[a] {
				bad(ptr, "provider payout %s names %s, which is not in the segment", g.ID, a)
			}
		}
	}
	if err := errs.Err(); err != nil {
		return nil, nil, err
	}
	return ps, w.Groups, nil
}

// SegmentTable returns the batch table of a snapshot held whole: each
// batch with the digest of its canonical segment.
func SegmentTable(s *state.Snapshot) []state.BatchEntry {
	var out []state.BatchEntry
	for _, b := range s.BatchNames() {
		ps, gs := s.BatchPayouts(b)
		var buf bytes.Buffer
		WriteSegment(&buf, b, ps, gs)
		out = append(out, state.BatchEntry{Name: b, Payouts: len(ps), Digest: SnapshotDigest(buf.Bytes())})
	}
	return out
}

// AccountsFile returns the account index a checkpoint writes: its bytes,
// what the root says of it, and its entries. Call it while the changed
// batches are still marked so: the index is the one last written with
// their payouts folded in.
func AccountsFile(s *state.Snapshot) ([]byte, state.AccountsIndex, []*state.AccountEntry, error) {
	es, err := s.Accepted()
	if err != nil {
		return nil, state.AccountsIndex{}, nil, err
	}
	state.SortAccounts(es)
	var buf bytes.Buffer
	if err := WriteAccounts(&buf, es); err != nil {
		return nil, state.AccountsIndex{}, nil, err
	}
	return buf.Bytes(), state.AccountsIndex{Entries: len(es), Digest: SnapshotDigest(buf.Bytes())}, es, nil
}

// WriteAccounts writes a segmented state's account index in canonical
// bytes: one entry per line, sorted by recipient and account.
func WriteAccounts(w io.Writer, es []*state.AccountEntry) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "{\n  \"version\": %d,\n  \"accounts\": [", state.SegmentedVersion)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i, e := range es {
		buf.Reset()
		if err := enc.Encode(e); err != nil {
			return err
		}
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n    ")
		bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
	if len(es) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	return bw.Flush()
}

// ParseAccounts decodes a segmented state's account index strictly: a
// plan reads it whole, so it is decoded as the snapshot is, without
// reflection.
//
// With keep, only the entries it accepts are returned (every entry is still
// checked).
//
// data must not be modified afterwards: the entries' strings share it.
func ParseAccounts(file string, data []byte, keep func(who, account string) bool) ([]*state.AccountEntry, error) {
	if !utf8.Valid(data) {
		return nil, decodeError(file, data, &syntaxError{off: invalidUTF8At(data), msg: "invalid UTF-8"})
	}
	d := &decoder{data: data, text: unsafe.String(unsafe.SliceData(data), len(data))}
	version := 0
	var es []*state.AccountEntry
	d.object(func(k string) {
		switch k {
		case "version":
			version = int(d.int())
		case "accounts":
			if keep == nil {
				es = make([]*state.AccountEntry, 0, len(data)/256)
			}
			d.array(func() {
				e := &state.AccountEntry{}
				d.object(func(k string) {
					switch k {
					case "who":
						e.Who = d.rawString()
					case "account":
						e.Account = d.rawString()
					case "address":
						e.Address = d.rawString()
					case "at":
						e.At = d.time()
					case "recipient":
						e.Recipient = d.recipient()
					default:
						d.unknown("an account entry", k)
					}
				})
				if e.Who == "" || e.Address == "" {
					d.fail("incomplete account entry")
					return
				}
				if keep == nil || keep(e.Who, e.Account) {
					es = append(es, e)
				}
			})
		default:
			d.unknown("the account index", k)
		}
	})
	if d.err == nil {
		d.ws()
		if d.pos != len(d.data) {
			d.fail("data after the end of the account index")
		}
	}
	if d.err != nil {
		return nil, decodeError(file, data, d.err)
	}
	if version != state.SegmentedVersion {
		return nil, &diag.Error{File: file, Pointer: "/version", Msg: fmt.Sprintf("format version %d where an account index has %d", version, state.SegmentedVersion)}
	}
	return es, nil
}
