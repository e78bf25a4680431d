package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
	"github.com/payctl/payctl/state/statefile"
)

// Report is what Verify found.
type Report struct {
	FormatVersion int    `json:"format_version"`
	State         string `json:"state"`
	OK            bool   `json:"ok"`
	// Records is how many journal records were read.
	Records uint64 `json:"records"`
	// Serial and Lineage are the snapshot's; Serial is 0 without one.
	Serial  uint64 `json:"serial"`
	Lineage string `json:"lineage,omitempty"`
	// Compared says whether the snapshot was compared with the journal
	// folded up to its serial.
	Compared bool `json:"compared"`
	// From is the trusted state a verify started from (VerifyFrom); nil
	// when everything was checked.
	From *From `json:"from,omitempty"`
	// Permissions says whether file permissions were checked (local
	// states only).
	Permissions bool `json:"permissions_checked"`
	// Paid counts paid payouts; PaidByPerson those paid on a person's word
	// without provider ids.
	Paid         int        `json:"paid"`
	PaidByPerson int        `json:"paid_by_person"`
	Problems     []*Finding `json:"problems"`
	// Notes are facts worth knowing that are not problems.
	Notes []string `json:"notes"`
}

// ErrNoState is returned by Verify when there is neither a snapshot nor a
// journal.
var ErrNoState = errors.New("no state")

const (
	restoreHint = "restore the journal and snapshot from a backup or version control; payctl never repairs a state by guessing"
	editHint    = "the snapshot was edited without the journal: the journal is the record, so restore the snapshot from version control or the .backup file, or rebuild it from the journal with `payctl state rebuild`"
)

// Verify checks a state: the journal's self-hashes, sequence and hash
// chain; that folding the journal up to the snapshot's serial gives exactly
// the snapshot; for local states, file permissions and the snapshot's
// offset into the journal; and that every paid payout has provider ids. It
// streams the journal. Problems are in the report; the error is only for
// a state that cannot be read at all.
func Verify(ctx context.Context, b state.Backend) (*Report, error) {
	r := &Report{FormatVersion: FormatVersion, State: b.Describe(), Problems: []*Finding{}, Notes: []string{}}
	journalName := b.Describe() + " journal"
	var snap *Snapshot
	var snapDigest string
	local, isLocal := b.(*localstate.Backend)
	exists := false
	if isLocal {
		journalName = local.JournalPath()
		data, err := os.ReadFile(local.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, err
		default:
			exists = true
			snapDigest = statefile.SnapshotDigest(data)
			read := ReadSnapshot
			if statefile.PeekVersion(data) == state.SegmentedVersion {
				read = readRootOnly
			}
			if snap, err = read(local.Path, data, LocalSegments(local.Path)); err != nil {
				r.Problems = append(r.Problems, &Finding{Kind: KindUnreadable, Message: err.Error(), Hint: "restore the snapshot from version control or the .backup file, or rebuild it from the journal with `payctl state rebuild`"})
			}
		}
		r.Permissions = true
		r.Problems = append(r.Problems, permissions(local)...)
	} else {
		ld, err := b.Load(ctx)
		var damage *state.DamageError
		var edited *state.SnapshotError
		switch {
		case errors.As(err, &edited):
			exists = true
			r.Problems = append(r.Problems, &Finding{Kind: KindSnapshotDiffers, Message: err.Error(), Hint: editHint})
		case errors.As(err, &damage):
			// The journal scan below reports the damage itself.
			r.Notes = append(r.Notes, "the snapshot was not compared: the backend does not load it while its journal is damaged")
		case err != nil:
			r.Problems = append(r.Problems, &Finding{Kind: KindUnreadable, Message: err.Error(), Hint: restoreHint})
		case ld.Snapshot != nil:
			exists = true
			// A segmented snapshot's batches are read, and each proven by
			// its root, before it is compared with the fold.
			if err := ld.Snapshot.LoadAll(); err != nil {
				r.Problems = append(r.Problems, &Finding{Kind: KindSnapshotDiffers, Message: err.Error(), Hint: editHint})
				break
			}
			snap = FromState(b.Describe(), ld.Snapshot)
		}
	}
	if snap != nil {
		r.Problems = append(r.Problems, snap.Problems...)
		r.Serial, r.Lineage = snap.Serial, snap.Lineage
	}

	fold := &state.Snapshot{Version: state.Version, Groups: map[string]*state.Group{}, Payouts: map[string]*state.Payout{}}
	if snap != nil && snap.Serial == 0 {
		r.compare(fold, snap, "")
	}
	prev, folding := "", true
	var last, beyond uint64
	var checkpoint *state.Event // the record right after the snapshot's serial, if a checkpoint
	torn, err := b.ReadJournal(ctx, func(e *state.Event) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.Records++
		last = e.Seq
		if snap != nil && e.Seq > snap.Serial {
			if e.Seq == snap.Serial+1 && e.Kind == state.KindCheckpoint {
				checkpoint = e
			}
			if e.Kind != state.KindCheckpoint {
				beyond++
			}
		}
		if e.Prev != prev {
			msg := fmt.Sprintf("record %d chains to a previous record with hash %s, but record %d has hash %s: a record before it was changed and re-hashed, or removed", e.Seq, short(e.Prev), e.Seq-1, short(prev))
			if e.Seq == 1 {
				msg = fmt.Sprintf("the first record chains to a previous record with hash %s, but nothing comes before it: it was altered", short(e.Prev))
			}
			r.Problems = append(r.Problems, &Finding{Kind: KindChainBroken, File: journalName, Line: e.Seq, Message: msg, Hint: restoreHint})
		}
		prev = e.Hash
		if folding {
			if err := fold.Apply(e); err != nil {
				r.Problems = append(r.Problems, &Finding{
					Kind: KindFoldFailed, File: journalName, Line: e.Seq,
					Message: fmt.Sprintf("record %d does not follow from the records before it: %v", e.Seq, foldMsg(err)),
					Hint:    restoreHint,
				})
				folding = false
			}
		}
		if snap != nil && e.Seq == snap.Serial {
			if folding {
				if err := r.compare(fold, snap, e.Hash); err != nil {
					return err
				}
			}
		}
		return nil
	})
	damage, err := r.readProblems(err, torn, journalName)
	if err != nil {
		return nil, fmt.Errorf("read the journal of %s: %w", b.Describe(), err)
	}
	if torn != nil {
		exists = true
	}
	if r.Records > 0 {
		exists = true
	}
	if !exists {
		return nil, fmt.Errorf("%s: %w: there is no snapshot and no journal to verify", b.Describe(), ErrNoState)
	}
	switch {
	case snap == nil && r.Records > 0:
		r.Notes = append(r.Notes, fmt.Sprintf("there is no snapshot yet; the journal's %d records are the whole state (a command stopped before writing one; the next one does)", r.Records))
	case snap == nil:
	case r.Compared:
		if beyond > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("the journal holds %d records beyond the snapshot's serial %d (a command stopped before rewriting the snapshot); the next payctl command folds them in", beyond, snap.Serial))
		}
	case damage != nil || !folding:
		r.Notes = append(r.Notes, fmt.Sprintf("the snapshot (serial %d) was not compared: the journal cannot be read or folded that far", snap.Serial))
	case snap.Serial > last:
		r.Problems = append(r.Problems, &Finding{
			Kind: KindSnapshotAhead, File: snap.Name, Pointer: "/serial",
			Message: fmt.Sprintf("the snapshot has serial %d but the journal ends at record %d: records were removed from the end of the journal, or it was replaced", snap.Serial, last),
			Hint:    restoreHint,
		})
	}
	// A journal that is itself damaged or cut short also misplaces the
	// snapshot's offset; saying so again would blame the wrong file.
	if isLocal && snap != nil && !r.has(KindJournalDamaged, KindJournalTorn, KindChainBroken, KindFoldFailed, KindSnapshotAhead) {
		if f := checkMark(local, snap); f != nil {
			r.Problems = append(r.Problems, f)
		}
	}
	// The checkpoint proves the snapshot's exact bytes; a difference
	// the fold did not show (spacing, order) still makes payctl
	// refuse the snapshot, so it is a problem here too.
	if r.Compared && checkpoint != nil && snapDigest != "" && checkpoint.Snapshot != snapDigest && !r.has(KindSnapshotDiffers, KindJournalMark, KindJournalDamaged, KindJournalTorn, KindChainBroken, KindFoldFailed, KindSnapshotAhead) {
		r.Problems = append(r.Problems, &Finding{
			Kind: KindSnapshotDiffers, File: snap.Name, Line: checkpoint.Seq,
			Message: fmt.Sprintf("the snapshot's bytes are not the ones journal record %d says payctl wrote (%s, not %s): it was edited after it was written", checkpoint.Seq, checkpoint.Snapshot, snapDigest),
			Hint:    editHint,
		})
	}
	switch {
	case snap != nil && snap.lazy != nil:
		// Compared batch by batch, paid payouts included; or, when the
		// journal did not reach it, still read for its own problems.
		if !r.Compared {
			err := snap.eachBatch(func(_ string, b *Snapshot) {
				r.Problems = append(r.Problems, r.checkPaid(b.Snapshot, b)...)
			})
			if err != nil {
				return nil, err
			}
		}
	case snap != nil:
		r.Problems = append(r.Problems, r.checkPaid(snap.Snapshot, snap)...)
	case folding:
		r.Problems = append(r.Problems, r.checkPaid(fold, nil)...)
	}
	r.OK = len(r.Problems) == 0
	return r, nil
}

// compare compares the fold with the snapshot at the snapshot's serial. A
// snapshot read root first is compared one batch at a time, with each
// batch's paid payouts checked while it is read.
func (r *Report) compare(fold *state.Snapshot, snap *Snapshot, hash string) error {
	r.Compared = true
	if snap.lazy == nil {
		r.Problems = append(r.Problems, compareFold(fold, snap, hash)...)
		return nil
	}
	r.Problems = append(r.Problems, compareHeader(fold, snap, hash)...)
	payouts := map[string]map[string]*state.Payout{}
	for a, p := range fold.Payouts {
		b := p.Batch()
		if payouts[b] == nil {
			payouts[b] = map[string]*state.Payout{}
		}
		payouts[b][a] = p
	}
	groups := map[string]map[string]*state.Group{}
	for id, g := range fold.Groups {
		b := ""
		if len(g.Addresses) > 0 {
			b, _, _ = strings.Cut(g.Addresses[0], "/")
		}
		if groups[b] == nil {
			groups[b] = map[string]*state.Group{}
		}
		groups[b][id] = g
	}
	part := func(b string) *state.Snapshot {
		ps, gs := payouts[b], groups[b]
		if ps == nil {
			ps = map[string]*state.Payout{}
		}
		if gs == nil {
			gs = map[string]*state.Group{}
		}
		delete(payouts, b)
		delete(groups, b)
		return &state.Snapshot{Version: fold.Version, Payouts: ps, Groups: gs}
	}
	err := snap.eachBatch(func(name string, b *Snapshot) {
		r.Problems = append(r.Problems, compareBody(part(name), b)...)
		r.Problems = append(r.Problems, r.checkPaid(b.Snapshot, b)...)
	})
	if err != nil {
		return err
	}
	// Batches the journal has and the root does not.
	rest := map[string]bool{}
	for b := range payouts {
		rest[b] = true
	}
	for b := range groups {
		rest[b] = true
	}
	for _, b := range sortedKeys(rest) {
		r.Problems = append(r.Problems, compareBody(part(b), snap)...)
	}
	return nil
}

// readProblems adds to the report what a read of the journal ending in err
// and torn found: a damaged record, an incomplete last one. The damage is
// returned for the caller's own decisions; another error ends the verify.
func (r *Report) readProblems(err error, torn *state.Torn, journal string) (*state.DamageError, error) {
	var damage *state.DamageError
	switch {
	case errors.As(err, &damage):
		r.Problems = append(r.Problems, &Finding{
			Kind: KindJournalDamaged, File: damage.File, Line: damage.Seq,
			Message: fmt.Sprintf("record %d is damaged: %v; records from here on cannot be trusted", damage.Seq, damage.Err),
			Hint:    restoreHint,
		})
	case err != nil:
		return nil, err
	}
	if torn != nil {
		r.Problems = append(r.Problems, &Finding{
			Kind: KindJournalTorn, File: journal, Line: torn.Seq,
			Message: fmt.Sprintf("the last record (%d, %d bytes) is incomplete: a write cut short", torn.Seq, torn.Bytes),
			Hint:    "a payctl command that crashed in the middle of a write leaves this, and the next command that writes the state discards it; if a command is running now, verify again when it is done; if none crashed, the record was altered",
		})
	}
	return damage, nil
}

func (r *Report) has(kinds ...Kind) bool {
	for _, p := range r.Problems {
		for _, k := range kinds {
			if p.Kind == k {
				return true
			}
		}
	}
	return false
}

// foldMsg drops FoldError's "journal record N:" prefix, which the finding
// already says.
func foldMsg(err error) string {
	var fe *state.FoldError
	if errors.As(err, &fe) {
		return fe.Msg
	}
	return err.Error()
}

// compareFold reports every difference between the journal folded up to
// the snapshot's serial and the snapshot. hash is the hash of that record.
func compareFold(fold *state.Snapshot, snap *Snapshot, hash string) []*Finding {
	return append(compareHeader(fold, snap, hash), compareBody(fold, snap)...)
}

// compareHeader compares what the snapshot says of the journal.
func compareHeader(fold *state.Snapshot, snap *Snapshot, hash string) []*Finding {
	var out []*Finding
	bad := func(kind Kind, ptr, format string, args ...any) {
		out = append(out, &Finding{Kind: kind, File: snap.Name, Pointer: ptr, Message: fmt.Sprintf(format, args...), Hint: editHint})
	}
	if fold.Lineage != snap.Lineage {
		bad(KindSnapshotDiffers, "/lineage", "the snapshot's lineage is %s but the journal's is %s: they are not of the same state", snap.Lineage, orNone(fold.Lineage))
	}
	if snap.Journal.Hash != hash {
		bad(KindJournalMark, "/journal/hash", "the snapshot says the last record it folded has hash %s, but record %d has hash %s", short(snap.Journal.Hash), snap.Serial, short(hash))
	}
	return out
}

// compareBody compares the fold's payouts and provider payouts with the
// snapshot's.
func compareBody(fold *state.Snapshot, snap *Snapshot) []*Finding {
	var out []*Finding
	bad := func(kind Kind, ptr, addr, format string, args ...any) {
		file := snap.Name
		if addr != "" {
			file = snap.payoutIn(addr)
		}
		out = append(out, &Finding{Kind: kind, File: file, Pointer: ptr, Address: addr, Message: fmt.Sprintf(format, args...), Hint: editHint})
	}
	addrs := map[string]bool{}
	for a := range fold.Payouts {
		addrs[a] = true
	}
	for a := range snap.Payouts {
		addrs[a] = true
	}
	var fb, sb []byte
	for _, a := range sortedKeys(addrs) {
		fp, sp := fold.Payouts[a], snap.Payouts[a]
		if fp != nil && sp != nil {
			// Most payouts are the same: their canonical lines say so
			// without walking every field.
			fb, sb = statefile.AppendPayout(fb[:0], fp), statefile.AppendPayout(sb[:0], sp)
			if bytes.Equal(fb, sb) {
				continue
			}
		}
		switch {
		case sp == nil:
			bad(KindSnapshotDiffers, "/payouts", a, "%s is in the journal (%s %s, %s) but not in the snapshot", a, amountText(fp.Amount, fp.Currency), fp.Currency, fp.Status)
		case fp == nil:
			bad(KindSnapshotDiffers, snap.payoutPointer(a), a, "%s (%s %s, %s) is in the snapshot but no journal record up to serial %d created it", a, amountText(sp.Amount, sp.Currency), sp.Currency, sp.Status, snap.Serial)
		default:
			for _, c := range fieldChanges(fp, sp) {
				oldV, newV := c.Old, c.New
				if strings.HasSuffix(c.Path, "/account") {
					oldV, newV = maskJSON(oldV), maskJSON(newV)
				}
				bad(KindSnapshotDiffers, snap.payoutPointer(a)+c.Path, a, "%s: the snapshot has %s at %s where the journal gives %s", a, orNothing(newV), strings.TrimPrefix(c.Path, "/"), orNothing(oldV))
			}
		}
	}
	ids := map[string]bool{}
	for id := range fold.Groups {
		ids[id] = true
	}
	for id := range snap.Groups {
		ids[id] = true
	}
	for _, id := range sortedKeys(ids) {
		fg, sg := fold.Groups[id], snap.Groups[id]
		switch {
		case sg == nil:
			bad(KindSnapshotDiffers, "/groups", "", "provider payout %s is in the journal but not in the snapshot", id)
		case fg == nil:
			bad(KindSnapshotDiffers, snap.groupPointer(id), "", "provider payout %s is in the snapshot but no journal record up to serial %d created it", id, snap.Serial)
		default:
			for _, c := range fieldChanges(fg, sg) {
				bad(KindSnapshotDiffers, snap.groupPointer(id)+c.Path, "", "provider payout %s: the snapshot has %s at %s where the journal gives %s", id, orNothing(c.New), strings.TrimPrefix(c.Path, "/"), orNothing(c.Old))
			}
		}
	}
	return out
}

func maskJSON(v string) string {
	if len(v) < 2 || v[0] != '"' {
		return v
	}
	return `"` + plan.MaskAccount(v[1:len(v)-1]) + `"`
}

func orNothing(v string) string {
	if v == "" {
		return "nothing"
	}
	return v
}

func orNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}

// checkPaid reports paid payouts without provider ids. One a person
// resolved as paid may have none (the provider could not say; that is why
// a person decided): it is noted, with who and why, not reported.
func (r *Report) checkPaid(s *state.Snapshot, file *Snapshot) []*Finding {
	var out []*Finding
	for _, a := range s.Addresses() {
		p := s.Payouts[a]
		at := p.Latest()
		if p.Status != providers.StatusPaid || at == nil {
			continue
		}
		r.Paid++
		if len(at.IDs) > 0 {
			continue
		}
		if at.ResolvedBy != "" {
			r.PaidByPerson++
			r.Notes = append(r.Notes, fmt.Sprintf("%s is paid on the word of %s, without provider ids: %s", a, at.ResolvedBy, strings.TrimPrefix(at.Reason, "resolved by a person: ")))
			continue
		}
		f := &Finding{
			Kind: KindPaidWithoutIDs, Address: a,
			Message: fmt.Sprintf("%s is paid (attempt %d) but has no provider ids: nothing ties it to a payment at %s", a, at.N, p.Provider),
			Hint:    "payctl records the provider's ids with every paid outcome: find the payment in the provider's dashboard by the attempt's key and compare with the journal (`payctl history " + a + "`)",
		}
		if file != nil {
			f.File, f.Pointer = file.payoutIn(a), fmt.Sprintf("%s/attempts/%d/ids", file.payoutPointer(a), at.N-1)
		}
		out = append(out, f)
	}
	return out
}

// permissions reports state files that others may read or write.
func permissions(l *localstate.Backend) []*Finding {
	var out []*Finding
	paths := []string{l.Path, l.BackupPath(), l.Path + ".lock", l.AccountsPath()}
	journal, _ := l.JournalFiles()
	paths = append(paths, journal...)
	segs, _ := filepath.Glob(filepath.Join(l.SegmentsDir(), "*.json"))
	paths = append(paths, segs...)
	for _, path := range paths {
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			out = append(out, &Finding{
				Kind: KindPermissions, File: path,
				Message: fmt.Sprintf("mode %04o lets other users read or change it; payctl creates its state files 0600", perm),
				Hint:    "chmod 600 " + path + " (and check who could have changed it meanwhile)",
			})
		}
	}
	return out
}

// checkMark checks that the snapshot's journal offset ends the record it
// says it folded: the next command reads the journal from there.
func checkMark(l *localstate.Backend, snap *Snapshot) *Finding {
	bad := func(format string, args ...any) *Finding {
		return &Finding{Kind: KindJournalMark, File: snap.Name, Pointer: "/journal/offset", Message: fmt.Sprintf(format, args...), Hint: editHint}
	}
	off := snap.Journal.Offset
	f, err := l.OpenJournal()
	if err != nil {
		return bad("cannot open the journal: %v", err)
	}
	if f == nil {
		if off > 0 {
			return bad("the snapshot has folded %d bytes of %s, which does not exist", off, l.JournalPath())
		}
		return nil
	}
	defer f.Close()
	switch {
	case off > f.Size():
		return bad("the snapshot says it folded %d bytes of the journal, which is only %d bytes long: the snapshot's offset was edited, or the journal was cut and its records rewritten", off, f.Size())
	case off == 0 && snap.Serial == 0:
		return nil
	case off == 0:
		return bad("the snapshot has serial %d but says it folded none of the journal", snap.Serial)
	}
	line, err := lineEndingAt(f, off)
	if err != nil {
		return bad("offset %d is not the end of a journal record: %v", off, err)
	}
	e, err := statefile.Decode(line)
	if err != nil {
		return bad("the journal record ending at offset %d does not decode: %v", off, err)
	}
	if e.Seq != snap.Serial {
		return bad("offset %d ends record %d, not record %d (the snapshot's serial)", off, e.Seq, snap.Serial)
	}
	return nil
}

// maxRecord bounds how far lineEndingAt looks back for a record's start.
const maxRecord = 64 << 20

// lineEndingAt returns the line that ends (with its newline) at offset end.
func lineEndingAt(f io.ReaderAt, end int64) ([]byte, error) {
	var last [1]byte
	if _, err := f.ReadAt(last[:], end-1); err != nil {
		return nil, err
	}
	if last[0] != '\n' {
		return nil, errors.New("no end of line there")
	}
	const chunk = 64 << 10
	var buf []byte
	pos := end - 1
	for pos > 0 && int64(len(buf)) < maxRecord {
		n := min(int64(chunk), pos)
		b := make([]byte, n)
		if _, err := f.ReadAt(b, pos-n); err != nil {
			return nil, err
		}
		buf = append(b, buf...)
		pos -= n
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return buf[i+1:], nil
		}
	}
	if pos > 0 {
		return nil, fmt.Errorf("no record start within %d bytes", maxRecord)
	}
	return buf, nil
}

// WriteText writes a one-line verdict, then every problem with what to do,
// then the notes.
func (r *Report) WriteText(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString(esc(r.Verdict()) + "\n")
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  ! %s\n", esc(fmt.Sprint(p)))
		if p.Hint != "" {
			fmt.Fprintf(&b, "    what to do: %s\n", esc(p.Hint))
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  note: %s\n", esc(fmt.Sprint(n)))
	}
	return write(w, b.Bytes())
}

// Verdict is the report in one line.
func (r *Report) Verdict() string {
	if !r.OK {
		return fmt.Sprintf("%s: NOT verified: %s.", r.State, plural(len(r.Problems), "problem"))
	}
	parts := []string{fmt.Sprintf("%d journal records with an intact hash chain", r.Records)}
	if r.From != nil {
		parts[0] = fmt.Sprintf("%s since %s (serial %d) with an intact hash chain", plural(int(r.Records), "journal record"), r.From.State, r.From.Serial)
	}
	switch {
	case r.Compared && r.From != nil:
		parts = append(parts, fmt.Sprintf("%s touched since: exactly the trusted state with those records folded in; every other batch unchanged (serial %d)", plural(r.From.Batches, "batch"), r.Serial))
	case r.Compared:
		parts = append(parts, fmt.Sprintf("the snapshot (serial %d) is exactly the journal folded", r.Serial))
	}
	if r.Permissions {
		parts = append(parts, "files are private (0600)")
	}
	switch {
	case r.From != nil && r.Paid == 0:
		parts = append(parts, "no paid payouts in those batches")
	case r.From != nil:
		parts = append(parts, fmt.Sprintf("%s in those batches, all with provider ids", plural(r.Paid, "paid payout")))
	case r.Paid == 0:
		parts = append(parts, "no paid payouts")
	case r.PaidByPerson > 0:
		parts = append(parts, fmt.Sprintf("%d paid payouts, all with provider ids but %d resolved by a person", r.Paid, r.PaidByPerson))
	default:
		parts = append(parts, fmt.Sprintf("%d paid payouts, all with provider ids", r.Paid))
	}
	return fmt.Sprintf("%s: verified: %s.", r.State, strings.Join(parts, "; "))
}

// WriteJSON writes the report as indented JSON (format_version 1).
func (r *Report) WriteJSON(w io.Writer) error { return writeJSON(w, r) }
