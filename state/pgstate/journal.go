package pgstate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/payctl/payctl/internal/crash"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/statefile"
)

// header is a state's row of payctl_states.
type header struct {
	exists   bool
	lineage  string
	journal  head
	version  *int32 // nil: no snapshot yet
	serial   uint64
	offset   int64
	snapHash string
	// root is a segmented snapshot's root file (version 2), byte for byte.
	root []byte
}

// querier is a connection or a transaction.
type querier interface {
	QueryRow(context.Context, string, ...any) pgx.Row
	Query(context.Context, string, ...any) (pgx.Rows, error)
}

func readHeader(ctx context.Context, q querier, name string) (header, error) {
	var h header
	var seq, serial int64
	err := q.QueryRow(ctx, `SELECT lineage, journal_seq, journal_bytes, journal_hash,
			snapshot_version, snapshot_serial, snapshot_offset, snapshot_hash, snapshot_root
		FROM payctl_states WHERE name = $1`, name).
		Scan(&h.lineage, &seq, &h.journal.bytes, &h.journal.hash, &h.version, &serial, &h.offset, &h.snapHash, &h.root)
	if errors.Is(err, pgx.ErrNoRows) {
		return h, nil
	}
	if err != nil {
		return h, err
	}
	h.exists = true
	h.journal.seq, h.serial = uint64(seq), uint64(serial)
	return h, nil
}

// readOnly begins a transaction that sees one consistent state of the
// database for all of its reads.
func readOnly(ctx context.Context, conn *pgx.Conn) (pgx.Tx, error) {
	return conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
}

func (b *Backend) journalName() string { return b.Describe() + ".journal" }

// view begins a read-only transaction on conn and reads the state's
// header in it: the consistent start of every read of a state.
func (b *Backend) view(ctx context.Context, conn *pgx.Conn, what string) (pgx.Tx, header, error) {
	tx, err := readOnly(ctx, conn)
	if err != nil {
		return nil, header{}, b.wrap(what, err)
	}
	h, err := readHeader(ctx, tx, b.name)
	if err != nil {
		tx.Rollback(context.Background())
		return nil, header{}, b.wrap(what, err)
	}
	return tx, h, nil
}

func (b *Backend) damaged(seq uint64, format string, args ...any) error {
	return &state.DamageError{File: b.journalName(), Seq: seq, Err: fmt.Errorf(format, args...)}
}

// Load reads the snapshot rows and the journal records after them, in one
// consistent read. The database has no torn records: a transaction
// commits whole or not at all.
func (b *Backend) Load(ctx context.Context) (*state.Loaded, error) {
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
	out := &state.Loaded{}
	if !h.exists {
		return out, nil
	}
	var rows snapshotRows
	segmented := h.version != nil && *h.version == state.SegmentedVersion
	switch {
	case segmented:
		root, err := b.readRoot(ctx, tx, h)
		if err != nil {
			return nil, err
		}
		out.Snapshot, out.Open = root.Snapshot(b.loadSegment, b.loadAccounts), root.Open
	case h.version != nil:
		snap, r, err := b.readSnapshot(ctx, tx, h)
		if err != nil {
			return nil, err
		}
		out.Snapshot, rows = snap, r
	}
	end, err := b.readTail(ctx, tx, h, func(e *state.Event, _ []byte) error {
		out.Tail = append(out.Tail, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := b.checkEnd(h, end); err != nil {
		return nil, err
	}
	if segmented {
		if err := b.proveRoot(h, out); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, b.wrap("read the state", err)
	}
	b.version = 0
	if h.version != nil {
		b.version = int(*h.version)
	}
	if b.lock != nil {
		b.head = end
		b.payouts, b.groups = rows.payouts, rows.groups
	}
	return out, nil
}

// snapshotRows are a snapshot's stored lines by address and by group id.
type snapshotRows struct {
	payouts, groups map[string]string
}

// readSnapshot rebuilds the canonical snapshot file from the header and the
// rows and parses it with the local backend's parser, so both backends
// accept exactly the same snapshots.
func (b *Backend) readSnapshot(ctx context.Context, tx pgx.Tx, h header) (*state.Snapshot, snapshotRows, error) {
	rows := snapshotRows{payouts: map[string]string{}, groups: map[string]string{}}
	var buf bytes.Buffer
	buf.WriteString(statefile.SnapshotHeader(int(*h.version), h.lineage, h.serial, state.JournalMark{Offset: h.offset, Hash: h.snapHash}))
	list := func(field, query string, into map[string]string) error {
		buf.WriteString("  \"" + field + "\": [")
		r, err := tx.Query(ctx, query, b.name)
		if err != nil {
			return err
		}
		defer r.Close()
		n := 0
		var key, line string
		for r.Next() {
			if err := r.Scan(&key, &line); err != nil {
				return err
			}
			if n > 0 {
				buf.WriteString(",")
			}
			buf.WriteString("\n    ")
			buf.WriteString(line)
			into[key] = line
			n++
		}
		if n > 0 {
			buf.WriteString("\n  ")
		}
		buf.WriteString("]")
		return r.Err()
	}
	if err := list("groups", `SELECT id, payout_group FROM payctl_groups WHERE state = $1 ORDER BY id`, rows.groups); err != nil {
		return nil, rows, b.wrap("read the snapshot", err)
	}
	buf.WriteString(",\n")
	if err := list("payouts", `SELECT address, payout FROM payctl_payouts WHERE state = $1 ORDER BY address`, rows.payouts); err != nil {
		return nil, rows, b.wrap("read the snapshot", err)
	}
	buf.WriteString("\n}\n")
	snap, err := statefile.ParseSnapshot(b.Describe(), buf.Bytes())
	if err != nil {
		return nil, rows, err
	}
	if err := b.checkMark(ctx, tx, h); err != nil {
		return nil, rows, err
	}
	return snap, rows, nil
}

// checkMark proves that the snapshot's journal mark is a record of this
// journal: the one it says it folded last, at the byte it says.
func (b *Backend) checkMark(ctx context.Context, tx pgx.Tx, h header) error {
	if h.serial > h.journal.seq {
		return b.damaged(h.serial, "the snapshot has folded %d records but the journal holds %d: records were removed", h.serial, h.journal.seq)
	}
	if h.serial == 0 {
		return nil
	}
	var hash string
	var end int64
	err := tx.QueryRow(ctx, `SELECT hash, end_offset FROM payctl_journal WHERE state = $1 AND seq = $2`, b.name, int64(h.serial)).Scan(&hash, &end)
	if errors.Is(err, pgx.ErrNoRows) {
		return b.damaged(h.serial, "the snapshot has folded it, but it is missing")
	}
	if err != nil {
		return b.wrap("read the journal", err)
	}
	if hash != h.snapHash || end != h.offset {
		return b.damaged(h.serial, "the snapshot says it ends at byte %d with hash %s, the journal at byte %d with hash %s: the snapshot does not belong to this journal", h.offset, h.snapHash, end, hash)
	}
	return nil
}

// readTail calls fn for each record after the snapshot, checking each
// record's own hash, its sequence and its byte offset, and returns the last
// record read (the snapshot's mark if none).
// checkEnd refuses a journal whose records end elsewhere than its header
// says.
func (b *Backend) checkEnd(h header, end head) error {
	if end != h.journal {
		return b.damaged(h.journal.seq, "the state's journal head (record %d, %d bytes) does not match its records (last %d, %d bytes)", h.journal.seq, h.journal.bytes, end.seq, end.bytes)
	}
	return nil
}

func (b *Backend) readTail(ctx context.Context, tx pgx.Tx, h header, fn func(*state.Event, []byte) error) (head, error) {
	end := head{}
	if h.version != nil {
		end = head{seq: h.serial, bytes: h.offset, hash: h.snapHash}
	}
	return b.scanJournal(ctx, tx, end, fn)
}

// scanJournal reads the records after from in order, checks them, calls
// fn, and returns the last one read.
func (b *Backend) scanJournal(ctx context.Context, q querier, from head, fn func(e *state.Event, line []byte) error) (head, error) {
	rows, err := q.Query(ctx, `SELECT seq, hash, end_offset, line FROM payctl_journal WHERE state = $1 AND seq > $2 ORDER BY seq`, b.name, int64(from.seq))
	if err != nil {
		return head{}, b.wrap("read the journal", err)
	}
	defer rows.Close()
	cur := from
	var seq, endOff int64
	var hash string
	var line []byte
	for rows.Next() {
		if err := rows.Scan(&seq, &hash, &endOff, &line); err != nil {
			return head{}, b.wrap("read the journal", err)
		}
		want := cur.seq + 1
		if uint64(seq) != want {
			return head{}, b.damaged(want, "record %d follows record %d: records were removed", seq, cur.seq)
		}
		e, err := decodeLine(line)
		if err != nil {
			return head{}, b.damaged(want, "%v", err)
		}
		if e.Seq != want {
			return head{}, b.damaged(want, "has sequence number %d where %d belongs: records were dropped or reordered", e.Seq, want)
		}
		if e.Hash != hash {
			return head{}, b.damaged(want, "its hash column %s differs from the record's hash %s", hash, e.Hash)
		}
		next := cur.bytes + int64(len(line))
		if endOff != next {
			return head{}, b.damaged(want, "ends at byte %d, but the records before it end at %d and it is %d bytes", endOff, cur.bytes, len(line))
		}
		if err := fn(e, line); err != nil {
			return head{}, err
		}
		cur = head{seq: want, bytes: next, hash: hash}
	}
	if err := rows.Err(); err != nil {
		return head{}, b.wrap("read the journal", err)
	}
	return cur, nil
}

// decodeLine decodes a stored record: one journal line with its newline.
func decodeLine(line []byte) (*state.Event, error) {
	body, ok := bytes.CutSuffix(line, []byte("\n"))
	if !ok || bytes.IndexByte(body, '\n') >= 0 {
		return nil, errors.New("is not one line ending in a newline")
	}
	return statefile.Decode(body)
}

// Encode encodes e as a journal record, with statefile.Encode: the same
// bytes and hash as in the local backend's journal.
func (b *Backend) Encode(e *state.Event) (state.Record, error) { return statefile.Encode(e) }

// Append commits records in one transaction on the lock's session. It
// also checks that the journal's head is where this writer left it, so a
// writer that lost its lock (its session ended) can never append.
func (b *Backend) Append(ctx context.Context, recs []state.Record) error {
	if len(recs) == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lock == nil {
		return fmt.Errorf("%s: append to a state that is not locked", b.Describe())
	}
	n := len(recs)
	seqs := make([]int64, n)
	kinds := make([]string, n)
	hashes := make([]string, n)
	ends := make([]int64, n)
	lines := make([][]byte, n)
	end := b.head.bytes
	lineage := ""
	intent, outcome := false, false
	for i, r := range recs {
		if r.Seq != b.head.seq+uint64(i)+1 {
			return fmt.Errorf("%s: record %d appended after record %d", b.Describe(), r.Seq, b.head.seq+uint64(i))
		}
		end += int64(len(r.Line))
		seqs[i], kinds[i], hashes[i], ends[i], lines[i] = int64(r.Seq), string(r.Kind), r.Hash, end, r.Line
		switch r.Kind {
		case state.KindCreate:
			e, err := decodeLine(r.Line)
			if err != nil {
				return fmt.Errorf("%s: create record: %w", b.Describe(), err)
			}
			lineage = e.Lineage
		case state.KindIntent:
			intent = true
		case state.KindOutcome:
			outcome = true
		}
	}
	last := recs[n-1]
	if intent {
		crash.Point(crash.IntentBeforeWrite)
	}
	batch := &pgx.Batch{}
	batch.BeginTx(pgx.TxOptions{})
	batch.Queue(`INSERT INTO payctl_journal (state, seq, kind, hash, end_offset, line)
		SELECT $1, r.* FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bytea[]) AS r`,
		b.name, seqs, kinds, hashes, ends, lines)
	batch.Queue(`UPDATE payctl_states SET journal_seq = $2, journal_bytes = $3, journal_hash = $4,
			lineage = CASE WHEN $5 = '' THEN lineage ELSE $5 END, updated_at = now()
		WHERE name = $1 AND journal_seq = $6 AND journal_hash = $7`,
		b.name, int64(last.Seq), end, last.Hash, lineage, int64(b.head.seq), b.head.hash)
	err := b.runTx(ctx, batch, 2, "write the journal",
		fmt.Errorf("the journal's head is no longer record %d: another writer appended to it (was this writer's lock lost?)", b.head.seq),
		func() {
			if intent {
				crash.Point(crash.IntentAfterWrite)
			}
			if outcome {
				crash.Point(crash.OutcomeAfterWrite)
			}
		})
	if err != nil {
		return err
	}
	b.head = head{seq: last.Seq, bytes: end, hash: last.Hash}
	b.appends.Add(1)
	b.records.Add(int64(n))
	return nil
}

// Checkpoint stores the snapshot: the rows that changed since they were
// read or last written, and the header, in one transaction that checks
// the journal's head. The digest it returns, for the checkpoint record, is
// of the snapshot as the local backend would write it. Its journal
// mark's offset is the journal's length as a local file, so the snapshot
// has the same bytes as the local backend's would.
//
// The checkpoint record follows the transaction: the database proves its
// snapshot by the transaction itself, and the record keeps the journal the
// local backend's to the byte.
func (b *Backend) Checkpoint(ctx context.Context, s *state.Snapshot, commit func(digest string) error) error {
	format := b.version
	if format == 0 {
		format = b.format
	}
	if format != state.Version || s.IsSegmented() {
		return b.checkpointSegmented(ctx, s, commit)
	}
	digest, err := b.checkpoint(ctx, s)
	if err != nil {
		return err
	}
	return commit(digest)
}

func (b *Backend) checkpoint(ctx context.Context, s *state.Snapshot) (string, error) {
	// Like a journal write, a snapshot write under way is finished even if
	// the command is being interrupted: it is the command's last step.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout*4)
	defer cancel()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lock == nil {
		return "", fmt.Errorf("%s: checkpoint of a state that is not locked", b.Describe())
	}
	if s.Serial != b.head.seq || s.Journal.Hash != b.head.hash {
		return "", fmt.Errorf("%s: checkpoint at record %d, but the journal ends at record %d", b.Describe(), s.Serial, b.head.seq)
	}
	s.Journal.Offset = b.head.bytes
	payouts := payoutLines(s)
	groups, err := groupLines(s)
	if err != nil {
		return "", fmt.Errorf("%s: encode the snapshot: %w", b.Describe(), err)
	}
	pu, pd := changedRows(b.payouts, payouts)
	gu, gd := changedRows(b.groups, groups)

	batch := &pgx.Batch{}
	batch.BeginTx(pgx.TxOptions{})
	if len(pu.keys) > 0 {
		batch.Queue(`INSERT INTO payctl_payouts (state, address, status, payout)
			SELECT $1, r.* FROM unnest($2::text[], $3::text[], $4::text[]) AS r
			ON CONFLICT (state, address) DO UPDATE SET status = EXCLUDED.status, payout = EXCLUDED.payout`,
			b.name, pu.keys, pu.statuses(s), pu.lines)
	}
	if len(pd) > 0 {
		batch.Queue(`DELETE FROM payctl_payouts WHERE state = $1 AND address = ANY($2)`, b.name, pd)
	}
	if len(gu.keys) > 0 {
		batch.Queue(`INSERT INTO payctl_groups (state, id, status, payout_group)
			SELECT $1, r.* FROM unnest($2::text[], $3::text[], $4::text[]) AS r
			ON CONFLICT (state, id) DO UPDATE SET status = EXCLUDED.status, payout_group = EXCLUDED.payout_group`,
			b.name, gu.keys, gu.groupStatuses(s), gu.lines)
	}
	if len(gd) > 0 {
		batch.Queue(`DELETE FROM payctl_groups WHERE state = $1 AND id = ANY($2)`, b.name, gd)
	}
	batch.Queue(`UPDATE payctl_states SET snapshot_version = $2, snapshot_serial = $3, snapshot_offset = $4,
			snapshot_hash = $5, lineage = $6, updated_at = now()
		WHERE name = $1 AND journal_seq = $3 AND journal_hash = $5`,
		b.name, int32(state.Version), int64(s.Serial), s.Journal.Offset, s.Journal.Hash, s.Lineage)
	err = b.runTx(ctx, batch, batch.Len()-1, "write the snapshot", headMoved(s.Serial), func() { crash.Point(crash.SnapshotBeforeRename) })
	if err != nil {
		return "", err
	}
	b.payouts, b.groups = payouts, groups
	b.checkpoints.Add(1)
	// The checkpoint record carries the digest of the snapshot as a file,
	// so that the journal is the local backend's to the byte and a state
	// pulled into a file loads as one the local backend wrote.
	h := sha256.New()
	if err := statefile.WriteSnapshot(h, s); err != nil {
		return "", fmt.Errorf("%s: digest of the snapshot: %w", b.Describe(), err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// ReadJournal calls fn for every record from the first, streaming them
// from one consistent read on a connection of its own (journals can hold
// millions of records). There are never torn records.
func (b *Backend) ReadJournal(ctx context.Context, fn func(*state.Event) error) (*state.Torn, error) {
	conn, err := b.connect(ctx, "payctl")
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	tx, h, err := b.view(ctx, conn, "read the journal")
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.Background())
	if !h.exists {
		return nil, nil
	}
	end, err := b.scanJournal(ctx, tx, head{}, func(e *state.Event, _ []byte) error { return fn(e) })
	if err != nil {
		return nil, err
	}
	if err := b.checkEnd(h, end); err != nil {
		return nil, err
	}
	return nil, nil
}

// payoutLines are the snapshot's payout lines by address, as the snapshot
// file holds them.
func payoutLines(s *state.Snapshot) map[string]string {
	out := make(map[string]string, len(s.Payouts))
	var b []byte
	for addr, p := range s.Payouts {
		b = statefile.AppendPayout(b[:0], p)
		out[addr] = string(b)
	}
	return out
}

func groupLines(s *state.Snapshot) (map[string]string, error) {
	out := make(map[string]string, len(s.Groups))
	for id, g := range s.Groups {
		l, err := statefile.GroupLine(g)
		if err != nil {
			return nil, err
		}
		out[id] = string(l)
	}
	return out, nil
}

// upserts are rows to insert or replace.
type upserts struct {
	keys, lines []string
}

func (u upserts) statuses(s *state.Snapshot) []string {
	out := make([]string, len(u.keys))
	for i, k := range u.keys {
		out[i] = string(s.Payouts[k].Status)
	}
	return out
}

func (u upserts) groupStatuses(s *state.Snapshot) []string {
	out := make([]string, len(u.keys))
	for i, k := range u.keys {
		out[i] = string(s.Groups[k].Status)
	}
	return out
}

// changedRows compares stored rows with new ones.
func changedRows(old, cur map[string]string) (up upserts, gone []string) {
	for k, l := range cur {
		if o, ok := old[k]; !ok || o != l {
			up.keys = append(up.keys, k)
			up.lines = append(up.lines, l)
		}
	}
	for k := range old {
		if _, ok := cur[k]; !ok {
			gone = append(gone, k)
		}
	}
	return up, gone
}
