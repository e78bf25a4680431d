package pgstate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payctl/payctl/internal/atomicfile"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
	"github.com/payctl/payctl/state/statefile"
)

// TransferOptions adjust Push and Pull.
type TransferOptions struct {
	// Force replaces a target with a different lineage, a newer serial or a
	// history that diverged from the source's.
	Force bool
	// LockWait is how long to wait for the target's lock.
	LockWait time.Duration
}

// Transfer is what a Push or Pull moved.
type Transfer struct {
	Lineage string
	// Serial is the state's serial: its last journal record.
	Serial uint64
	// Copied is how many journal records were written to the target (the
	// records it lacked, or all of them when it was replaced).
	Copied int64
	// Snapshot is true when the source's snapshot was written.
	Snapshot bool
	// Replaced says why the target's own history was replaced (-force);
	// empty when the target was empty or a prefix of the source.
	Replaced string
}

// ConflictError is a transfer refused because it would replace a history
// the source does not contain.
type ConflictError struct {
	From, To string
	Reason   string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("will not replace %s with %s: %s; pass -force to replace it anyway", e.To, e.From, e.Reason)
}

// compare decides whether a target (lineage, serial, hash of its last
// record) may take a source's history, given the source's hash at the
// target's serial (empty if the source is shorter). It returns why not.
func compare(srcLineage string, srcSerial uint64, srcHashAtTarget string, tgt head, tgtLineage string) string {
	switch {
	case tgt.seq == 0:
		return ""
	case tgtLineage != srcLineage:
		return fmt.Sprintf("it has lineage %s, a different state than lineage %s", tgtLineage, srcLineage)
	case tgt.seq > srcSerial:
		return fmt.Sprintf("it is at serial %d, newer than serial %d: %d journal records would be lost", tgt.seq, srcSerial, tgt.seq-srcSerial)
	case srcHashAtTarget != tgt.hash:
		return fmt.Sprintf("its history diverged: its record %d differs from the source's", tgt.seq)
	}
	return ""
}

// fileJournal reads a local journal file record by record, checking each
// record's hash, sequence and chain as it goes.
type fileJournal struct {
	path string
	f    *os.File
	r    *bufio.Reader
	cur  head
}

func openFileJournal(path string) (*fileJournal, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &fileJournal{path: path}, nil
	}
	if err != nil {
		return nil, err
	}
	return &fileJournal{path: path, f: f, r: bufio.NewReaderSize(f, 1<<20)}, nil
}

// next returns the next record and its line, or io.EOF. A final line
// without its newline is a torn record, which ends the journal as it does
// for the local backend's readers.
func (j *fileJournal) next() (*state.Event, []byte, error) {
	if j.f == nil {
		return nil, nil, io.EOF
	}
	line, err := j.r.ReadBytes('\n')
	if err == io.EOF {
		return nil, nil, io.EOF
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", j.path, err)
	}
	want := j.cur.seq + 1
	e, derr := decodeLine(line)
	switch {
	case derr != nil:
		// A bad last record is torn; anything after it makes it damage.
		if _, perr := j.r.Peek(1); perr == io.EOF {
			return nil, nil, io.EOF
		}
		return nil, nil, &state.DamageError{File: j.path, Seq: want, Err: derr}
	case e.Seq != want:
		return nil, nil, &state.DamageError{File: j.path, Seq: want, Err: fmt.Errorf("has sequence number %d where %d belongs", e.Seq, want)}
	case e.Prev != j.cur.hash:
		return nil, nil, &state.DamageError{File: j.path, Seq: want, Err: errors.New("its previous-record hash does not match the record before it")}
	}
	j.cur = head{seq: want, bytes: j.cur.bytes + int64(len(line)), hash: e.Hash}
	return e, line, nil
}

func (j *fileJournal) Close() {
	if j.f != nil {
		j.f.Close()
	}
}

// fileSummary is a local state as a transfer needs it.
type fileSummary struct {
	lineage string
	end     head            // the journal's last record
	at      map[uint64]head // the journal at chosen sequence numbers
	snap    *state.Snapshot // the snapshot file as stored, if any
	// root is a segmented state's root as read, and rootData its bytes.
	root     *statefile.Root
	rootData []byte
}

// summarise reads a local journal through, remembering it at the given
// sequence numbers, and the snapshot file, checking that the snapshot's
// mark points at a record of this journal.
func summarise(path string, at ...uint64) (*fileSummary, error) {
	s := &fileSummary{at: map[uint64]head{}}
	want := map[uint64]bool{}
	for _, a := range at {
		want[a] = true
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	case statefile.PeekVersion(data) == state.SegmentedVersion:
		// A segmented state is proven whole (its root by the journal,
		// every batch and the account index by the root) before its files
		// are pushed as they are.
		ld, err := localstate.New(path, nil, nil).Load(context.Background())
		if err != nil {
			return nil, err
		}
		if err := ld.Snapshot.LoadAll(); err != nil {
			return nil, err
		}
		if s.root, err = statefile.ParseRoot(path, data); err != nil {
			return nil, err
		}
		s.rootData = data
		want[s.root.Serial] = true
	default:
		if s.snap, err = statefile.ParseSnapshot(path, data); err != nil {
			return nil, err
		}
		want[s.snap.Serial] = true
	}
	j, err := openFileJournal(path + ".journal")
	if err != nil {
		return nil, err
	}
	defer j.Close()
	for {
		e, _, err := j.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if e.Kind == state.KindCreate {
			s.lineage = e.Lineage
		}
		if want[e.Seq] {
			s.at[e.Seq] = j.cur
		}
	}
	s.end = j.cur
	if s.snap != nil {
		h, ok := s.at[s.snap.Serial]
		if !ok || h.bytes != s.snap.Journal.Offset || h.hash != s.snap.Journal.Hash {
			return nil, fmt.Errorf("%s: the snapshot (serial %d, journal offset %d) does not match %s.journal: run `payctl state verify`", path, s.snap.Serial, s.snap.Journal.Offset, path)
		}
		if s.snap.Lineage != s.lineage {
			return nil, fmt.Errorf("%s: the snapshot's lineage %s differs from its journal's %s", path, s.snap.Lineage, s.lineage)
		}
	}
	if s.root != nil {
		h, ok := s.at[s.root.Serial]
		if !ok || h.bytes != s.root.Journal.Offset || h.hash != s.root.Journal.Hash || s.root.Lineage != s.lineage {
			return nil, fmt.Errorf("%s: the root (serial %d, journal offset %d) does not match %s.journal: run `payctl state verify`", path, s.root.Serial, s.root.Journal.Offset, path)
		}
	}
	return s, nil
}

// readLocalNamed reads a file a local segmented root names by digest: in
// place, or beside it where a checkpoint cut short left it.
func readLocalNamed(path, digest string) ([]byte, error) {
	for _, p := range []string{path, path + ".next"} {
		data, err := os.ReadFile(p)
		if err == nil && statefile.SnapshotDigest(data) == digest {
			return data, nil
		}
	}
	return nil, fmt.Errorf("%s is not the file its root names (%s): it changed while it was pushed, or was edited; run `payctl state verify`", path, digest)
}

// pushSegmented stores a local segmented state's files as they are: every
// segment and the account index its root names, and the root, replacing
// the target's snapshot (the target's journal holds the root's record).
func (b *Backend) pushSegmented(ctx context.Context, tx pgx.Tx, path string, sum *fileSummary) error {
	if err := b.clearSnapshot(ctx, tx); err != nil {
		return err
	}
	local := localstate.New(path, nil, nil)
	i := 0
	rows := pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(sum.root.Batches) {
			return nil, nil
		}
		e := sum.root.Batches[i]
		i++
		data, err := readLocalNamed(local.SegmentPath(e.Name), e.Digest)
		if err != nil {
			return nil, err
		}
		return []any{b.name, e.Name, e.Digest, int32(e.Payouts), data}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"payctl_segments"}, []string{"state", "batch", "digest", "payouts", "segment"}, rows); err != nil {
		return b.wrap("write the snapshot's batches", err)
	}
	if idx := sum.root.Accounts; idx.Digest != "" {
		data, err := readLocalNamed(local.AccountsPath(), idx.Digest)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO payctl_account_indexes (state, digest, entries, accounts) VALUES ($1, $2, $3, $4)`,
			b.name, idx.Digest, int32(idx.Entries), data); err != nil {
			return b.wrap("write the account index", err)
		}
	}
	r := sum.root
	_, err := tx.Exec(ctx, `UPDATE payctl_states SET snapshot_version = $2, snapshot_serial = $3, snapshot_offset = $4, snapshot_hash = $5, snapshot_root = $6 WHERE name = $1`,
		b.name, int32(state.SegmentedVersion), int64(r.Serial), r.Journal.Offset, r.Journal.Hash, sum.rootData)
	return b.wrap("write the snapshot's root", err)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// Push copies the local state at path (its snapshot and journal) into this
// backend's state. The local state is locked while it is read, and this
// state while it is written; the whole copy is one transaction. Without
// opts.Force it refuses a target of another lineage, a newer serial or a
// diverged history; a target that is a prefix of the file gets the records
// it lacks.
func (b *Backend) Push(ctx context.Context, path string, opts TransferOptions) (*Transfer, error) {
	if !exists(path) && !exists(path+".journal") {
		return nil, fmt.Errorf("no local state at %s (neither it nor %s.journal exists)", path, path)
	}
	local := localstate.New(path, b.logger, b.now)
	src, err := state.Open(ctx, local, state.Options{Write: true, Op: "state push", LockWait: opts.LockWait, Now: b.now})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if src.Snapshot().Lineage == "" {
		return nil, fmt.Errorf("%s holds no records: nothing to push", path)
	}
	if _, err := b.Lock(ctx, "state push", opts.LockWait); err != nil {
		return nil, err
	}
	defer b.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	conn := b.lock
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, b.wrap("push", err)
	}
	defer tx.Rollback(context.Background())
	h, err := readHeader(ctx, tx, b.name)
	if err != nil {
		return nil, b.wrap("read the state", err)
	}
	sum, err := summarise(path, h.journal.seq)
	if err != nil {
		return nil, err
	}
	t := &Transfer{Lineage: sum.lineage, Serial: sum.end.seq}
	from := h.journal
	if why := compare(sum.lineage, sum.end.seq, sum.at[h.journal.seq].hash, h.journal, h.lineage); why != "" {
		if !opts.Force {
			return nil, &ConflictError{From: path, To: b.Describe(), Reason: why}
		}
		t.Replaced, from = why, head{}
	}
	if t.Replaced != "" {
		if _, err := tx.Exec(ctx, `SET LOCAL payctl.rewrite_journal = 'on'`); err != nil {
			return nil, b.wrap("push", err)
		}
		for _, q := range []string{
			`DELETE FROM payctl_journal WHERE state = $1`,
			`UPDATE payctl_states SET snapshot_version = NULL, snapshot_serial = 0, snapshot_offset = 0, snapshot_hash = '', snapshot_root = NULL WHERE name = $1`,
		} {
			if _, err := tx.Exec(ctx, q, b.name); err != nil {
				return nil, b.wrap("replace the state", err)
			}
		}
		if err := b.clearSnapshot(ctx, tx); err != nil {
			return nil, err
		}
		h.version = nil
	}

	// The records the target lacks, streamed from the file.
	j, err := openFileJournal(path + ".journal")
	if err != nil {
		return nil, err
	}
	defer j.Close()
	src2 := pgx.CopyFromFunc(func() ([]any, error) {
		for {
			e, line, err := j.next()
			if err == io.EOF {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			if e.Seq > from.seq {
				return []any{b.name, int64(e.Seq), string(e.Kind), e.Hash, j.cur.bytes, line}, nil
			}
			if e.Seq == from.seq && e.Hash != from.hash {
				return nil, fmt.Errorf("%s.journal changed while it was pushed", path)
			}
		}
	})
	t.Copied, err = tx.CopyFrom(ctx, pgx.Identifier{"payctl_journal"}, []string{"state", "seq", "kind", "hash", "end_offset", "line"}, src2)
	if err != nil {
		return nil, b.wrap("copy the journal", err)
	}
	if j.cur != sum.end {
		return nil, fmt.Errorf("%s.journal changed while it was pushed", path)
	}
	// The file's snapshot, unless the target's own is as far along the
	// same history (both are checkpoints of one journal; the later one
	// saves folding).
	if sum.snap != nil && (h.version == nil || h.serial < sum.snap.Serial) {
		if err := b.storeSnapshot(ctx, tx, sum.snap); err != nil {
			return nil, err
		}
		t.Snapshot = true
	}
	if sum.root != nil && (h.version == nil || h.serial < sum.root.Serial) {
		if err := b.pushSegmented(ctx, tx, path, sum); err != nil {
			return nil, err
		}
		t.Snapshot = true
	}
	_, err = tx.Exec(ctx, `UPDATE payctl_states SET lineage = $2, journal_seq = $3, journal_bytes = $4, journal_hash = $5, updated_at = now() WHERE name = $1`,
		b.name, sum.lineage, int64(sum.end.seq), sum.end.bytes, sum.end.hash)
	if err != nil {
		return nil, b.wrap("push", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, b.wrap("commit the push", err)
	}
	b.head, b.payouts, b.groups, b.version = sum.end, nil, nil, 0
	return t, nil
}

// clearSnapshot removes the rows of the state's snapshot, in either
// format, for a transfer to write its own.
func (b *Backend) clearSnapshot(ctx context.Context, tx pgx.Tx) error {
	for _, table := range []string{"payctl_payouts", "payctl_groups", "payctl_segments", "payctl_account_indexes"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE state = $1`, b.name); err != nil {
			return b.wrap("replace the snapshot", err)
		}
	}
	return nil
}

// storeSnapshot replaces the state's snapshot rows and header with s.
func (b *Backend) storeSnapshot(ctx context.Context, tx pgx.Tx, s *state.Snapshot) error {
	payouts := payoutLines(s)
	groups, err := groupLines(s)
	if err != nil {
		return fmt.Errorf("%s: encode the snapshot: %w", b.Describe(), err)
	}
	if err := b.clearSnapshot(ctx, tx); err != nil {
		return err
	}
	var prow [][]any
	for addr, l := range payouts {
		prow = append(prow, []any{b.name, addr, string(s.Payouts[addr].Status), l})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"payctl_payouts"}, []string{"state", "address", "status", "payout"}, pgx.CopyFromRows(prow)); err != nil {
		return b.wrap("write the snapshot", err)
	}
	var grow [][]any
	for id, l := range groups {
		grow = append(grow, []any{b.name, id, string(s.Groups[id].Status), l})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"payctl_groups"}, []string{"state", "id", "status", "payout_group"}, pgx.CopyFromRows(grow)); err != nil {
		return b.wrap("write the snapshot", err)
	}
	_, err = tx.Exec(ctx, `UPDATE payctl_states SET snapshot_version = $2, snapshot_serial = $3, snapshot_offset = $4, snapshot_hash = $5, snapshot_root = NULL WHERE name = $1`,
		b.name, int32(state.Version), int64(s.Serial), s.Journal.Offset, s.Journal.Hash)
	return b.wrap("write the snapshot", err)
}

// Pull writes this backend's state to the local files path (snapshot) and
// path.journal, from one consistent read: the journal byte for byte, and
// the snapshot as the local backend writes it. The local state is locked
// meanwhile. Without opts.Force it refuses to replace a local state of
// another lineage, a newer serial or a diverged history. The previous
// snapshot is kept as path.backup, and a replaced (forced) journal as
// path.journal.backup.
func (b *Backend) Pull(ctx context.Context, path string, opts TransferOptions) (*Transfer, error) {
	local := localstate.New(path, b.logger, b.now)
	if _, err := local.Lock(ctx, "state pull", opts.LockWait); err != nil {
		return nil, err
	}
	defer local.Unlock()
	var cur *fileSummary
	var curErr error
	if exists(path) || exists(path+".journal") {
		cur, curErr = summarise(path)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	conn, err := b.reader(ctx)
	if err != nil {
		return nil, err
	}
	tx, h, err := b.view(ctx, conn, "read the state")
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.Background())
	if h.journal.seq == 0 {
		return nil, fmt.Errorf("%s holds no records yet: nothing to pull", b.Describe())
	}
	t := &Transfer{Lineage: h.lineage, Serial: h.journal.seq}
	var why string
	switch {
	case curErr != nil:
		why = fmt.Sprintf("it cannot be read (%v)", curErr)
	case cur != nil && cur.end.seq > 0:
		var hashThere string
		if cur.end.seq <= h.journal.seq {
			err := tx.QueryRow(ctx, `SELECT hash FROM payctl_journal WHERE state = $1 AND seq = $2`, b.name, int64(cur.end.seq)).Scan(&hashThere)
			if err != nil {
				return nil, b.wrap("read the journal", err)
			}
		}
		why = compare(h.lineage, h.journal.seq, hashThere, cur.end, cur.lineage)
	}
	if why != "" {
		if !opts.Force {
			return nil, &ConflictError{From: b.Describe(), To: path, Reason: why}
		}
		t.Replaced = why
	}
	jo := atomicfile.Options{}
	if t.Replaced != "" {
		jo.Backup = path + ".journal.backup"
	}
	err = atomicfile.Write(path+".journal", func(w io.Writer) error {
		end, err := b.scanJournal(ctx, tx, head{}, func(_ *state.Event, line []byte) error {
			_, err := w.Write(line)
			return err
		})
		if err != nil {
			return err
		}
		return b.checkEnd(h, end)
	}, jo)
	if err != nil {
		return nil, err
	}
	t.Copied = int64(h.journal.seq)
	if h.version != nil && *h.version == state.SegmentedVersion {
		if err := b.pullSegmented(ctx, tx, h, path); err != nil {
			return nil, err
		}
		t.Snapshot = true
	} else if h.version != nil {
		snap, _, err := b.readSnapshot(ctx, tx, h)
		if err != nil {
			return nil, err
		}
		if err := atomicfile.WriteFile(path, statefile.SnapshotBytes(snap), atomicfile.Options{Backup: path + ".backup"}); err != nil {
			return nil, err
		}
		t.Snapshot = true
	} else if exists(path) {
		// The database's state has no snapshot yet (its first command
		// stopped before writing one): neither has the file, whose journal
		// alone is the state.
		if err := os.Rename(path, path+".backup"); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, b.wrap("read the state", err)
	}
	// What was written must load as a local state, as any command will,
	// every batch of it.
	st, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{})
	if err == nil {
		err = st.Snapshot().LoadAll()
	}
	if err != nil {
		return nil, fmt.Errorf("the pulled state does not load: %w", err)
	}
	return t, nil
}

// pullSegmented writes a segmented snapshot's files: every segment and the
// account index the root names, then the root (kept as path.backup if one
// was there), so that the root, put in place last, names only files that
// are.
func (b *Backend) pullSegmented(ctx context.Context, tx pgx.Tx, h header, path string) error {
	root, err := b.readRoot(ctx, tx, h)
	if err != nil {
		return err
	}
	local := localstate.New(path, nil, nil)
	if err := os.MkdirAll(local.SegmentsDir(), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", local.SegmentsDir(), err)
	}
	named := map[string]string{}
	for _, e := range root.Batches {
		named[e.Name] = e.Digest
	}
	rows, err := tx.Query(ctx, `SELECT batch, digest, segment FROM payctl_segments WHERE state = $1`, b.name)
	if err != nil {
		return b.wrap("read the snapshot's batches", err)
	}
	defer rows.Close()
	var batch, digest string
	var data []byte
	for rows.Next() {
		if err := rows.Scan(&batch, &digest, &data); err != nil {
			return b.wrap("read the snapshot's batches", err)
		}
		if named[batch] != digest {
			continue
		}
		if err := atomicfile.WriteFile(local.SegmentPath(batch), data, atomicfile.Options{}); err != nil {
			return err
		}
		delete(named, batch)
	}
	if err := rows.Err(); err != nil {
		return b.wrap("read the snapshot's batches", err)
	}
	for name := range named {
		return &state.SnapshotError{File: b.segmentName(name), Reason: "batch " + name + "'s segment is missing (the root names it)", Segment: true}
	}
	if root.Accounts.Digest != "" {
		var acc []byte
		err := tx.QueryRow(ctx, `SELECT accounts FROM payctl_account_indexes WHERE state = $1 AND digest = $2`, b.name, root.Accounts.Digest).Scan(&acc)
		if errors.Is(err, pgx.ErrNoRows) {
			return &state.SnapshotError{File: b.Describe() + ".accounts", Reason: "the account index is missing (the root names it)", Segment: true}
		}
		if err != nil {
			return b.wrap("read the account index", err)
		}
		if err := atomicfile.WriteFile(local.AccountsPath(), acc, atomicfile.Options{}); err != nil {
			return err
		}
	}
	return atomicfile.WriteFile(path, h.root, atomicfile.Options{Backup: path + ".backup"})
}
