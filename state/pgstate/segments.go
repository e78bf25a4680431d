package pgstate

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payctl/payctl/internal/crash"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/statefile"
)

// A segmented snapshot (format 2) is kept as the files a local segmented
// state holds, byte for byte (see migrations/0002_segments.sql): the root
// in payctl_states.snapshot_root, each batch's segment in payctl_segments,
// the account index in payctl_account_indexes. Load reads the root; the
// batches a command needs are read when it asks for them, each proven by
// the digest the root gives it, and the root by its checkpoint record, as
// the local backend proves its files. So both backends accept exactly the
// same snapshots, and a state moves between them file for file.

// loadTimeout bounds one read of a segment or of the account index: they
// are read on demand, outside the command's own context.
const loadTimeout = 2 * closeTimeout * 4

// readRoot parses the root and checks it against the header and the
// journal.
func (b *Backend) readRoot(ctx context.Context, tx pgx.Tx, h header) (*statefile.Root, error) {
	if len(h.root) == 0 {
		return nil, &state.SnapshotError{File: b.Describe(), Reason: "its header says it is segmented but it has no root", Restore: true}
	}
	root, err := statefile.ParseRoot(b.Describe(), h.root)
	if err != nil {
		return nil, err
	}
	if root.Lineage != h.lineage || root.Serial != h.serial || root.Journal != (state.JournalMark{Offset: h.offset, Hash: h.snapHash}) {
		return nil, &state.SnapshotError{File: b.Describe(), Reason: fmt.Sprintf("its root (lineage %s, serial %d, journal offset %d) differs from the state's header (lineage %s, serial %d, journal offset %d): the root was edited or replaced after it was written", root.Lineage, root.Serial, root.Journal.Offset, h.lineage, h.serial, h.offset)}
	}
	if err := b.checkMark(ctx, tx, h); err != nil {
		return nil, err
	}
	return root, nil
}

// proveRoot checks that the record right after the root's serial is the
// checkpoint payctl recorded for the root's exact bytes: a root is put in
// place only after its record is committed.
func (b *Backend) proveRoot(h header, out *state.Loaded) error {
	digest := statefile.SnapshotDigest(h.root)
	if len(out.Tail) == 0 || out.Tail[0].Kind != state.KindCheckpoint {
		return &state.SnapshotError{File: b.Describe(), Reason: fmt.Sprintf("the checkpoint record that proves its root (journal record %d) is missing: the journal was cut or replaced", h.serial+1), Restore: true}
	}
	if cp := out.Tail[0]; cp.Snapshot != digest {
		return &state.SnapshotError{File: b.Describe(), Reason: fmt.Sprintf("its root's bytes are not the ones journal record %d says payctl wrote (%s, not %s): the root was edited or replaced after it was written", cp.Seq, cp.Snapshot, digest)}
	}
	return nil
}

// readNamed reads one stored file of a segmented snapshot by the digest
// the root gives it, and proves its bytes are the ones named.
func (b *Backend) readNamed(what, query string, args ...any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	b.mu.Lock()
	defer b.mu.Unlock()
	conn, err := b.reader(ctx)
	if err != nil {
		return nil, err
	}
	var data []byte
	err = conn.QueryRow(ctx, query, args...).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		reason := what + " is missing (the root names it)"
		if b.lock == nil {
			reason += ", or another payctl replaced it while this one read the state (if so, run the command again)"
		}
		return nil, &state.SnapshotError{File: b.Describe(), Reason: reason, Segment: true}
	}
	if err != nil {
		return nil, b.wrap("read "+what, err)
	}
	return data, nil
}

// segmentName names a batch's segment in messages, as a file would be.
func (b *Backend) segmentName(batch string) string {
	return b.Describe() + ".batches/" + statefile.SegmentFile(batch)
}

// loadSegment reads a batch's segment and proves it is the one the root
// names.
func (b *Backend) loadSegment(e state.BatchEntry) ([]*state.Payout, []*state.Group, error) {
	name := b.segmentName(e.Name)
	data, err := b.readNamed("batch "+e.Name+"'s segment",
		`SELECT segment FROM payctl_segments WHERE state = $1 AND batch = $2 AND digest = $3`, b.name, e.Name, e.Digest)
	if err != nil {
		return nil, nil, err
	}
	if d := statefile.SnapshotDigest(data); d != e.Digest {
		return nil, nil, &state.SnapshotError{File: name, Reason: fmt.Sprintf("its bytes are not the ones the root says payctl wrote for batch %s (%s, not %s): the segment was edited after it was written", e.Name, e.Digest, d), Segment: true}
	}
	return statefile.ParseBatch(name, e, data)
}

// loadAccounts reads the account index and proves it is the one the root
// names.
func (b *Backend) loadAccounts(digest string, keep func(who, account string) bool) ([]*state.AccountEntry, error) {
	name := b.Describe() + ".accounts"
	data, err := b.readNamed("the account index",
		`SELECT accounts FROM payctl_account_indexes WHERE state = $1 AND digest = $2`, b.name, digest)
	if err != nil {
		return nil, err
	}
	if d := statefile.SnapshotDigest(data); d != digest {
		return nil, &state.SnapshotError{File: name, Reason: fmt.Sprintf("its bytes are not the ones the root says payctl wrote (%s, not %s): the account index was edited after it was written", digest, d), Segment: true}
	}
	return statefile.ParseAccounts(name, data, keep)
}

// storedSegment is a segment a checkpoint writes.
type storedSegment struct {
	entry state.BatchEntry
	data  []byte
}

// checkpointSegmented writes a segmented snapshot in three steps, as the
// local backend does with files. First the batches changed since they were
// read, and the account index if it is due, each beside the rows the
// current root names (rows are keyed by digest); then the checkpoint
// record naming the new root's digest; then the root, in the transaction
// that removes the rows no root names any more. A crash before the record
// leaves the old root and its rows whole (and unnamed rows the next
// checkpoint removes); a crash after it leaves the old root, whose own
// record still proves it, with the new checkpoint record folded as any.
func (b *Backend) checkpointSegmented(ctx context.Context, s *state.Snapshot, commit func(digest string) error) error {
	// Like a journal write, a snapshot write under way is finished even if
	// the command is being interrupted: it is the command's last step.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout*4)
	defer cancel()
	if !s.IsSegmented() {
		// A new state, or one migrated: every batch is written.
		s.Segmented(nil, b.loadSegment)
	}
	// Everything that may read a batch or the index runs before b.mu is
	// taken: the loaders take it.
	var index *storedSegment
	reindex := s.ReindexDue()
	if reindex {
		data, idx, es, err := statefile.AccountsFile(s)
		if err != nil {
			return err
		}
		if idx != s.AccountsIndexed() {
			index = &storedSegment{entry: state.BatchEntry{Payouts: idx.Entries, Digest: idx.Digest}, data: data}
		}
		s.AccountsWritten(idx, es)
		s.SetAccounts(idx, b.loadAccounts)
		s.Indexed()
	}
	var segs []storedSegment
	for _, name := range s.Dirty() {
		ps, gs := s.BatchPayouts(name)
		if len(ps) == 0 {
			continue
		}
		var buf bytes.Buffer
		if err := statefile.WriteSegment(&buf, name, ps, gs); err != nil {
			return fmt.Errorf("%s: encode batch %s: %w", b.Describe(), name, err)
		}
		e := state.BatchEntry{Name: name, Payouts: len(ps), Digest: statefile.SnapshotDigest(buf.Bytes()), Unindexed: !reindex}
		s.Written(e)
		segs = append(segs, storedSegment{entry: e, data: buf.Bytes()})
	}

	b.mu.Lock()
	if b.lock == nil {
		b.mu.Unlock()
		return fmt.Errorf("%s: checkpoint of a state that is not locked", b.Describe())
	}
	if s.Serial != b.head.seq || s.Journal.Hash != b.head.hash {
		b.mu.Unlock()
		return fmt.Errorf("%s: checkpoint at record %d, but the journal ends at record %d", b.Describe(), s.Serial, b.head.seq)
	}
	s.Journal.Offset = b.head.bytes
	var root bytes.Buffer
	if err := statefile.WriteRoot(&root, s, s.OpenAddresses()); err != nil {
		b.mu.Unlock()
		return fmt.Errorf("%s: encode the root: %w", b.Describe(), err)
	}
	mark, serial, lineage := s.Journal, s.Serial, s.Lineage
	err := b.storeSegments(ctx, segs, index)
	b.mu.Unlock()
	if err != nil {
		return err
	}
	crash.Point(crash.SnapshotBeforeRename)
	if err := commit(statefile.SnapshotDigest(root.Bytes())); err != nil {
		return err
	}
	crash.Point(crash.SegmentsBeforeRename)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.storeRoot(ctx, root.Bytes(), serial, mark, lineage, s.Table(), s.AccountsIndexed().Digest); err != nil {
		return err
	}
	b.version = state.SegmentedVersion
	b.payouts, b.groups = nil, nil
	b.checkpoints.Add(1)
	return nil
}

// storeSegments writes new segment and account index rows beside the
// current ones, checking on the way that this writer still holds the
// journal's head. b.mu must be held.
func (b *Backend) storeSegments(ctx context.Context, segs []storedSegment, index *storedSegment) error {
	batch := &pgx.Batch{}
	batch.BeginTx(pgx.TxOptions{})
	batch.Queue(`UPDATE payctl_states SET updated_at = now() WHERE name = $1 AND journal_seq = $2 AND journal_hash = $3`,
		b.name, int64(b.head.seq), b.head.hash)
	for _, sg := range segs {
		batch.Queue(`INSERT INTO payctl_segments (state, batch, digest, payouts, segment) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (state, batch, digest) DO NOTHING`,
			b.name, sg.entry.Name, sg.entry.Digest, int32(sg.entry.Payouts), sg.data)
	}
	if index != nil {
		batch.Queue(`INSERT INTO payctl_account_indexes (state, digest, entries, accounts) VALUES ($1, $2, $3, $4)
			ON CONFLICT (state, digest) DO NOTHING`,
			b.name, index.entry.Digest, int32(index.entry.Payouts), index.data)
	}
	return b.runTx(ctx, batch, 1, "write the snapshot's batches", headMoved(b.head.seq), nil)
}

// storeRoot puts a root in place and removes the rows no root names: the
// segments of older roots (or of a checkpoint cut short), and the rows of
// a snapshot held as rows before the state was migrated. b.mu must be
// held.
func (b *Backend) storeRoot(ctx context.Context, root []byte, serial uint64, mark state.JournalMark, lineage string, table []state.BatchEntry, accounts string) error {
	names := make([]string, len(table))
	digests := make([]string, len(table))
	for i, e := range table {
		names[i], digests[i] = e.Name, e.Digest
	}
	batch := &pgx.Batch{}
	batch.BeginTx(pgx.TxOptions{})
	batch.Queue(`UPDATE payctl_states SET snapshot_version = $2, snapshot_serial = $3, snapshot_offset = $4,
			snapshot_hash = $5, snapshot_root = $6, lineage = $7, updated_at = now()
		WHERE name = $1 AND journal_seq = $8 AND journal_hash = $9`,
		b.name, int32(state.SegmentedVersion), int64(serial), mark.Offset, mark.Hash, root, lineage, int64(b.head.seq), b.head.hash)
	batch.Queue(`DELETE FROM payctl_segments AS s WHERE s.state = $1 AND NOT EXISTS (
			SELECT 1 FROM unnest($2::text[], $3::text[]) AS t(batch, digest) WHERE t.batch = s.batch AND t.digest = s.digest)`,
		b.name, names, digests)
	batch.Queue(`DELETE FROM payctl_account_indexes WHERE state = $1 AND digest <> $2`, b.name, accounts)
	batch.Queue(`DELETE FROM payctl_payouts WHERE state = $1`, b.name)
	batch.Queue(`DELETE FROM payctl_groups WHERE state = $1`, b.name)
	return b.runTx(ctx, batch, 1, "write the snapshot's root", headMoved(b.head.seq), nil)
}

// runTx runs a batch that begins a transaction, of which statement guard
// (BEGIN is 0) must change exactly one row: the state's header, guarded by
// the journal's head; else the transaction fails with lost. beforeCommit,
// if not nil, runs between the statements and the commit.
func (b *Backend) runTx(ctx context.Context, batch *pgx.Batch, guard int, what string, lost error, beforeCommit func()) error {
	br := b.lock.SendBatch(ctx, batch)
	tx := br.Tx()
	var err error
	var tag pgconn.CommandTag
	for i := 0; i < batch.Len() && err == nil; i++ {
		tag, err = br.Exec()
		if i == guard && err == nil && tag.RowsAffected() != 1 {
			err = lost
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tx.Rollback(context.Background())
		return b.wrap(what, err)
	}
	if beforeCommit != nil {
		beforeCommit()
	}
	if err := tx.Commit(ctx); err != nil {
		return b.wrap("commit: "+what, err)
	}
	return nil
}

// headMoved is the error of a write whose guard found the journal's head
// elsewhere than this writer left it.
func headMoved(seq uint64) error {
	return fmt.Errorf("the journal's head is no longer record %d: another writer appended to it", seq)
}

// Segment makes a state held as rows segmented at its next checkpoint
// (`payctl state migrate`).
func (b *Backend) Segment(s *state.Snapshot) error {
	if err := s.ToSegments(b.loadSegment); err != nil {
		return err
	}
	b.version = state.SegmentedVersion
	return nil
}
