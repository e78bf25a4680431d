package localstate

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofrs/flock"

	"github.com/payctl/payctl/internal/atomicfile"
	"github.com/payctl/payctl/internal/crash"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/statefile"
)

// Backend is the state backend on the local filesystem.
type Backend struct {
	Path string // snapshot path
	// Format is the snapshot format of a state this backend creates:
	// state.SegmentedVersion when 0. An existing state keeps its format
	// until `payctl state migrate`.
	Format int

	logger *slog.Logger
	now    func() time.Time

	lock *flock.Flock
	jf   *os.File // journal, open for appending while locked
	end  int64    // journal size: records end here
	// sealed is the size of the journal's sealed segments, where the file
	// jf appends to begins.
	sealed int64
	// JournalSegment is the size past which a checkpoint seals the
	// journal: DefaultJournalSegment when 0, never when negative.
	JournalSegment int64
	fsyncs         atomic.Int64
	// appendBuf is Append's buffer, kept between group commits.
	appendBuf []byte
	// version is the format of the snapshot file as loaded (0: none yet,
	// 1: whole, 2: segmented); a checkpoint keeps it, and writes a new
	// state segmented.
	version int

	// createTemp is a seam for fault injection in tests.
	createTemp func(name string, perm os.FileMode) (atomicfile.File, error)
}

var _ state.Backend = (*Backend)(nil)

// New returns the local backend of the snapshot at path.
func New(path string, logger *slog.Logger, now func() time.Time) *Backend {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Backend{Path: path, logger: logger, now: now}
}

func (l *Backend) journalPath() string { return l.Path + ".journal" }
func (l *Backend) lockPath() string    { return l.Path + ".lock" }

// BackupPath is where the previous snapshot is kept.
func (l *Backend) BackupPath() string { return l.Path + ".backup" }

// JournalPath is the journal's path.
func (l *Backend) JournalPath() string { return l.journalPath() }

// Describe names the state for messages.
func (l *Backend) Describe() string { return l.Path }

// Fsyncs counts journal fsyncs since the backend was opened.
func (l *Backend) Fsyncs() int64 { return l.fsyncs.Load() }

// Lock takes the writer lock, waiting up to wait for a live holder. A lock
// left by a dead process on this host is taken over; one left on another
// host is reported as possibly stale.
func (l *Backend) Lock(ctx context.Context, op string, wait time.Duration) (state.LockInfo, error) {
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o700); err != nil {
		return state.LockInfo{}, fmt.Errorf("create state directory: %w", err)
	}
	fl := flock.New(l.lockPath(), flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	deadline := time.Now().Add(wait)
	for {
		ok, err := fl.TryLock()
		if err != nil {
			return state.LockInfo{}, fmt.Errorf("lock %s: %w", l.lockPath(), err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			holder, _ := readLockInfo(l.lockPath())
			return state.LockInfo{}, &state.LockedError{State: l.Path, Holder: holder}
		}
		select {
		case <-ctx.Done():
			return state.LockInfo{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	// We hold the flock. A leftover info names a holder that did not
	// release: on this host the flock proves that process is gone.
	prev, err := readLockInfo(l.lockPath())
	if err == nil && prev.ID != "" {
		host, _ := os.Hostname()
		if prev.Host != host {
			fl.Unlock()
			return state.LockInfo{}, &state.LockedError{State: l.Path, Holder: prev, Stale: true}
		}
		l.logger.Warn("taking over a lock left by a process that is gone", "holder", prev.String())
	}
	info := state.NewLockInfo(op, l.now())
	b, _ := json.Marshal(info)
	if err := writeLockInfo(l.lockPath(), b); err != nil {
		fl.Unlock()
		return state.LockInfo{}, err
	}
	l.lock = fl
	return info, nil
}

// writeLockInfo replaces the lock file's contents through its own file
// descriptor; the flock is advisory and stays with the locking descriptor.
func writeLockInfo(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("write lock info: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("write lock info: %w", err)
	}
	if len(b) > 0 {
		if _, err := f.WriteAt(append(b, '\n'), 0); err != nil {
			return fmt.Errorf("write lock info: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write lock info: %w", err)
	}
	return nil
}

func readLockInfo(path string) (state.LockInfo, error) {
	var info state.LockInfo
	b, err := os.ReadFile(path)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return info, err
	}
	err = json.Unmarshal(b, &info)
	return info, err
}

// Unlock releases the lock, clearing its info first so that nobody reads
// a released lock as held.
func (l *Backend) Unlock() error {
	if l.jf != nil {
		l.jf.Close()
		l.jf = nil
	}
	if l.lock == nil {
		return nil
	}
	err := writeLockInfo(l.lockPath(), nil)
	if uerr := l.lock.Unlock(); err == nil {
		err = uerr
	}
	l.lock = nil
	return err
}

// ForceUnlock clears a lock left by a dead host, given its ID. A lock held
// by a live process on this host cannot be broken.
func (l *Backend) ForceUnlock(ctx context.Context, id string) error {
	fl := flock.New(l.lockPath(), flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return fmt.Errorf("lock %s: %w", l.lockPath(), err)
	}
	if !ok {
		holder, _ := readLockInfo(l.lockPath())
		return fmt.Errorf("%s is held by a running process: %s; it cannot be unlocked from here", l.Path, holder)
	}
	defer fl.Unlock()
	holder, err := readLockInfo(l.lockPath())
	if err != nil || holder.ID == "" {
		return fmt.Errorf("%s is not locked", l.Path)
	}
	if holder.ID != id {
		return fmt.Errorf("%w: the lock is %s", state.ErrLockMismatch, holder)
	}
	return writeLockInfo(l.lockPath(), nil)
}

// lockHolder reads who holds the lock, if anyone.
func (l *Backend) lockHolder() (state.LockInfo, bool) {
	info, err := readLockInfo(l.lockPath())
	return info, err == nil && info.ID != ""
}

// Load reads the snapshot and the journal records after it, and proves the
// snapshot is the one payctl wrote for this journal (see verifySnapshot).
// A writer (one holding the lock) truncates a torn final record; a reader
// ignores it.
func (l *Backend) Load(ctx context.Context) (*state.Loaded, error) { return l.load(ctx, true) }

// LoadJournal is Load without the snapshot: the whole journal is the tail,
// so folding it rebuilds the snapshot (`payctl state rebuild`).
func (l *Backend) LoadJournal(ctx context.Context) (*state.Loaded, error) { return l.load(ctx, false) }

func (l *Backend) load(ctx context.Context, withSnapshot bool) (*state.Loaded, error) {
	out := &state.Loaded{}
	var data []byte
	var digest <-chan string
	if withSnapshot {
		var err error
		data, err = readFile(l.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read state: %w", err)
		case statefile.PeekVersion(data) == state.SegmentedVersion:
			l.version = state.SegmentedVersion
			d := make(chan string, 1)
			d <- statefile.SnapshotDigest(data)
			digest = d
			root, err := statefile.ParseRoot(l.Path, data)
			if err != nil {
				return nil, err
			}
			out.Snapshot, out.Open = root.Snapshot(l.loadSegment, l.loadAccounts), root.Open
		default:
			l.version = state.Version
			// Hashing runs beside parsing: on a large state it costs a
			// fraction of the parse.
			digest = digestAsync(data)
			s, err := statefile.ParseSnapshot(l.Path, data)
			if err != nil {
				return nil, err
			}
			out.Snapshot = s
		}
	} else if _, err := os.Stat(l.Path); err == nil {
		// Rebuilding: the new snapshot keeps the file's format.
		if data, err := readFile(l.Path); err == nil {
			l.version = statefile.PeekVersion(data)
		}
	}
	var from int64
	var firstSeq uint64 = 1
	if out.Snapshot != nil {
		from, firstSeq = out.Snapshot.Journal.Offset, out.Snapshot.Serial+1
	}
	f, err := l.openJournal()
	if err != nil {
		return nil, err
	}
	if f == nil {
		if out.Snapshot != nil {
			return nil, &state.SnapshotError{File: l.Path, Reason: fmt.Sprintf("the journal %s is missing, so the snapshot cannot be checked", l.journalPath()), Restore: true}
		}
		return out, nil
	}
	defer f.Close()
	if f.size < from {
		return nil, fmt.Errorf("%s is %d bytes but the snapshot has folded %d bytes of it: the journal was truncated or replaced; payctl will not guess, restore it from a backup", l.journalPath(), f.size, from)
	}
	end, torn, unterminated, err := readRecords(l.journalPath(), f, from, firstSeq, func(e *state.Event) error {
		out.Tail = append(out.Tail, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out.Snapshot != nil {
		if err := l.verifySnapshot(f, data, <-digest, out); err != nil {
			return nil, err
		}
	}
	if l.lock != nil {
		if torn != nil {
			l.logger.Warn("discarding a torn final journal record (a crash in the middle of a write: it was never made durable, so nothing it announced was sent)", "journal", l.journalPath(), "record", torn.Seq, "bytes", torn.Bytes)
			if end < f.sealed {
				return nil, damaged(l.journalPath(), torn.Seq, errors.New("a sealed journal segment ends in the middle of a record"))
			}
			if err := os.Truncate(l.journalPath(), end-f.sealed); err != nil {
				return nil, fmt.Errorf("discard torn journal record: %w", err)
			}
		}
		jf, err := os.OpenFile(l.journalPath(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open journal: %w", err)
		}
		if unterminated {
			// The last record is whole but for its newline: it may have
			// been made durable, so it is kept and ended.
			l.logger.Warn("ending the journal's last record, which was written whole but for its newline", "journal", l.journalPath())
			if _, err := jf.Write([]byte("\n")); err != nil {
				jf.Close()
				return nil, fmt.Errorf("end the journal's last record: %w", err)
			}
			if err := fdatasync(jf); err != nil {
				jf.Close()
				return nil, fmt.Errorf("sync journal: %w", err)
			}
			end++
		}
		l.jf, l.end, l.sealed = jf, end, f.sealed
	}
	return out, nil
}

// verifySnapshot proves that the snapshot is the one payctl wrote after
// folding the journal up to its mark, so that no edited, merged or swapped
// snapshot can make payctl pay again what the journal says was sent.
//
// The fast proof: the record right after the snapshot's mark is the
// checkpoint payctl appended after writing it, and carries the digest of
// the snapshot's exact bytes (its chain to the snapshot's journal hash is
// checked when the tail is folded). Without one (a state written before
// checkpoints existed, or a crash between the snapshot's rename and its
// checkpoint), the journal is folded from its start up to the mark and the
// snapshot must be byte for byte that fold: slow, but once, since the next
// command that writes records a checkpoint. A segmented root always has
// its record: it is appended before the root takes the old one's place.
func (l *Backend) verifySnapshot(f io.ReaderAt, data []byte, digest string, out *state.Loaded) error {
	s := out.Snapshot
	if len(out.Tail) > 0 && out.Tail[0].Kind == state.KindCheckpoint {
		cp := out.Tail[0]
		if cp.Snapshot != digest {
			return &state.SnapshotError{File: l.Path, Reason: fmt.Sprintf("its bytes are not the ones journal record %d says payctl wrote (%s, not %s): the snapshot was edited or replaced after it was written", cp.Seq, cp.Snapshot, digest)}
		}
		return nil
	}
	if s.IsSegmented() {
		// A segmented root is put in place only once its checkpoint
		// record is durable: without one, the journal was cut.
		return &state.SnapshotError{File: l.Path, Reason: fmt.Sprintf("the checkpoint record that proves it (journal record %d, at offset %d) is missing from %s: the journal was cut or replaced", s.Serial+1, s.Journal.Offset, l.journalPath()), Restore: true}
	}
	fold := state.Empty()
	var last string
	_, torn, unterminated, err := readRecords(l.journalPath(), io.NewSectionReader(f, 0, s.Journal.Offset), 0, 1, func(e *state.Event) error {
		if e.Prev != last {
			return damaged(l.journalPath(), e.Seq, errors.New("its previous-record hash does not match: a record before it was changed or removed"))
		}
		if err := fold.Apply(e); err != nil {
			return damaged(l.journalPath(), e.Seq, err)
		}
		last = e.Hash
		return nil
	})
	switch {
	case err != nil:
		return &state.SnapshotError{File: l.Path, Reason: fmt.Sprintf("it cannot be checked against the journal it has folded: %v", err), Restore: true}
	case torn != nil || unterminated:
		return &state.SnapshotError{File: l.Path, Reason: fmt.Sprintf("its journal offset %d is not the end of a record of %s", s.Journal.Offset, l.journalPath())}
	}
	fold.Journal = state.JournalMark{Offset: s.Journal.Offset, Hash: last}
	if !bytes.Equal(statefile.SnapshotBytes(fold), data) {
		what := "its payouts differ from"
		switch {
		case fold.Serial != s.Serial:
			what = fmt.Sprintf("its serial is %d but the journal it has folded ends at record %d; it differs from", s.Serial, fold.Serial)
		case fold.Journal.Hash != s.Journal.Hash:
			what = "its journal hash is not the hash of the record it has folded last; it differs from"
		case fold.Lineage != s.Lineage:
			what = "its lineage differs from"
		}
		return &state.SnapshotError{File: l.Path, Reason: what + " the journal folded up to it: the snapshot was edited or replaced after it was written"}
	}
	out.NeedsCheckpoint = true
	return nil
}

func digestAsync(data []byte) <-chan string {
	c := make(chan string, 1)
	go func() { c <- statefile.SnapshotDigest(data) }()
	return c
}

// readRecords reads records from offset from. seq numbers the first one
// (for messages: a record's line number is its sequence number).
//
// Torn means incomplete. Records are appended in one write and acted on
// only after the fsync that follows it returns, so a crash in the middle of
// a write leaves, at the very end of the journal, a prefix of a record with
// no newline; that record never reached the disk for sure, so nothing it
// announces was sent (an intent's request leaves only after its fsync).
// Such a prefix is returned as torn, for a writer to discard. Anything else
// that does not decode is damage: a complete line (with its newline), or a
// final line that is not a prefix of a record (a record whose newline was
// replaced, or one followed by other bytes). A final record that is whole
// but for its newline is kept, and reported as unterminated: it may have
// been made durable, so it is never thrown away.
func readRecords(name string, r io.ReaderAt, from int64, seq uint64, fn func(*state.Event) error) (end int64, torn *state.Torn, unterminated bool, err error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, from, 1<<62), 1<<20)
	pos := from
	for {
		line, rerr := br.ReadSlice('\n')
		if rerr == bufio.ErrBufferFull {
			full := append([]byte{}, line...)
			for rerr == bufio.ErrBufferFull {
				line, rerr = br.ReadSlice('\n')
				full = append(full, line...)
			}
			line = full
		}
		if len(line) == 0 && rerr == io.EOF {
			return pos, nil, false, nil
		}
		if rerr != nil && rerr != io.EOF {
			return 0, nil, false, fmt.Errorf("read %s: %w", name, rerr)
		}
		complete := rerr == nil
		body := bytes.TrimSuffix(line, []byte("\n"))
		e, derr := statefile.Decode(body)
		if derr != nil && !complete && isRecordPrefix(body) {
			return pos, &state.Torn{Seq: seq, Bytes: int64(len(line))}, false, nil
		}
		if derr != nil {
			if !complete {
				derr = fmt.Errorf("the journal's last line has no end of line and is not the beginning of a record cut short by a crash: %w", derr)
			}
			return 0, nil, false, damaged(name, seq, derr)
		}
		if e.Seq != seq {
			return 0, nil, false, damaged(name, seq, fmt.Errorf("has sequence number %d where %d belongs: records were dropped or reordered", e.Seq, seq))
		}
		if err := fn(e); err != nil {
			return 0, nil, false, err
		}
		pos += int64(len(line))
		seq++
		if !complete {
			return pos, nil, true, nil
		}
	}
}

// isRecordPrefix reports whether b is JSON cut short, perhaps followed by
// zeros: what a torn write of a record leaves. A whole object, or bytes no
// record could begin with, are not.
func isRecordPrefix(b []byte) bool {
	// Some filesystems extend a file before its data reaches the disk: a
	// crash then leaves zeros where the write was going.
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return true
	}
	if b[0] != '{' {
		return false
	}
	var v any
	err := json.Unmarshal(b, &v)
	var se *json.SyntaxError
	return errors.As(err, &se) && se.Offset == int64(len(b)) && strings.Contains(se.Error(), "unexpected end of JSON input")
}

func damaged(name string, seq uint64, err error) error {
	return &state.DamageError{File: name, Seq: seq, Err: err}
}

// Append writes records and fsyncs once for all of them.
func (l *Backend) Append(ctx context.Context, recs []state.Record) error {
	if l.jf == nil {
		if l.lock == nil {
			return errors.New("append to a state that is not locked")
		}
		jf, err := os.OpenFile(l.journalPath(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("open journal: %w", err)
		}
		l.jf = jf
		if err := atomicfile.SyncDir(filepath.Dir(l.journalPath())); err != nil {
			return err
		}
	}
	n := 0
	for _, r := range recs {
		n += len(r.Line)
	}
	// One flusher appends at a time: its buffer is kept for the next
	// group commit.
	buf := slices.Grow(l.appendBuf[:0], n)
	defer func() {
		if cap(buf) <= 1<<20 {
			l.appendBuf = buf[:0]
		}
	}()
	intent, outcome := false, false
	for _, r := range recs {
		buf = append(buf, r.Line...)
		intent = intent || r.Kind == state.KindIntent
		outcome = outcome || r.Kind == state.KindOutcome
	}
	if intent {
		crash.Point(crash.IntentBeforeWrite)
	}
	n, err := l.jf.Write(buf)
	if err != nil {
		// Take back a partial write so the journal ends on a record.
		if n > 0 {
			l.jf.Truncate(l.end - l.sealed)
		}
		return fmt.Errorf("write journal: %w", err)
	}
	if intent {
		crash.Point(crash.IntentAfterWrite)
	}
	if outcome {
		crash.Point(crash.OutcomeAfterWrite)
	}
	if err := fdatasync(l.jf); err != nil {
		return fmt.Errorf("sync journal: %w", err)
	}
	l.fsyncs.Add(1)
	l.end += int64(n)
	return nil
}

// Checkpoint rewrites the snapshot atomically, keeping the previous one as
// a backup. The snapshot's journal mark is set to the journal's end. It
// returns the digest of the bytes written, for the checkpoint record.
func (l *Backend) Checkpoint(ctx context.Context, s *state.Snapshot, commit func(digest string) error) error {
	if l.lock == nil {
		return errors.New("checkpoint of a state that is not locked")
	}
	format := l.version
	if format == 0 {
		format = l.Format
	}
	if format != state.Version || s.IsSegmented() {
		return l.checkpointSegmented(s, commit)
	}
	s.Journal.Offset = l.end
	return l.writeRoot(func(w io.Writer) error { return statefile.WriteSnapshot(w, s) }, commit)
}

// writeRoot writes the state's root file (a whole snapshot, or a segmented
// state's root) with write, and before it takes the old one's place hands
// its digest to commit, which journals the checkpoint that proves it.
func (l *Backend) writeRoot(write func(io.Writer) error, commit func(digest string) error) error {
	h := sha256.New()
	return atomicfile.Write(l.Path, func(w io.Writer) error {
		return write(io.MultiWriter(w, h))
	}, atomicfile.Options{
		Backup: l.BackupPath(),
		BeforeRename: func() error {
			crash.Point(crash.SnapshotBeforeRename)
			return commit("sha256:" + hex.EncodeToString(h.Sum(nil)))
		},
		Create: l.createTemp,
	})
}

// ReadJournal calls fn for every record of the journal from the start, for
// verification and history. A torn final record is reported, not returned.
func (l *Backend) ReadJournal(ctx context.Context, fn func(e *state.Event) error) (*state.Torn, error) {
	f, err := l.openJournal()
	if f == nil || err != nil {
		return nil, err
	}
	defer f.Close()
	return readAhead(l.journalPath(), f, 0, 1, fn)
}

// readAhead is readRecords with the reading, hash checks and decoding on a
// goroutine of their own, a batch of records ahead of fn: an audit of a
// long journal decodes on one core while it folds on another. fn sees the
// same records in the same order, and the same error or torn tail after
// them, as with readRecords.
func readAhead(name string, r io.ReaderAt, from int64, seq uint64, fn func(*state.Event) error) (*state.Torn, error) {
	const batch = 256
	type result struct {
		torn *state.Torn
		err  error
	}
	batches := make(chan []*state.Event, 4)
	done := make(chan struct{})
	res := make(chan result, 1)
	errStopped := errors.New("stopped")
	go func() {
		defer close(batches)
		buf := make([]*state.Event, 0, batch)
		_, torn, _, err := readRecords(name, r, from, seq, func(e *state.Event) error {
			buf = append(buf, e)
			if len(buf) < batch {
				return nil
			}
			select {
			case batches <- buf:
				buf = make([]*state.Event, 0, batch)
				return nil
			case <-done:
				return errStopped
			}
		})
		if len(buf) > 0 && err != errStopped {
			select {
			case batches <- buf:
			case <-done:
			}
		}
		res <- result{torn, err}
	}()
	for b := range batches {
		for _, e := range b {
			if err := fn(e); err != nil {
				close(done)
				for range batches {
				}
				<-res
				return nil, err
			}
		}
	}
	out := <-res
	return out.torn, out.err
}

// ReadJournalFrom calls fn for every record after the one that ends at
// mark.Offset, which must be record serial: an audit that trusts the state
// as of serial reads only what came after it, however long the history.
// Whether the first record read chains to mark.Hash is the caller's check.
func (l *Backend) ReadJournalFrom(ctx context.Context, mark state.JournalMark, serial uint64, fn func(e *state.Event) error) (*state.Torn, error) {
	f, err := l.openJournal()
	if err != nil {
		return nil, err
	}
	if f == nil {
		if mark.Offset > 0 {
			return nil, fmt.Errorf("the journal %s is missing, but the trusted state had folded %d bytes of it", l.journalPath(), mark.Offset)
		}
		return nil, nil
	}
	defer f.Close()
	if f.size < mark.Offset {
		return nil, fmt.Errorf("%s is %d bytes but the trusted state had folded %d bytes of it: the journal was truncated or replaced", l.journalPath(), f.size, mark.Offset)
	}
	return readAhead(l.journalPath(), f, mark.Offset, serial+1, fn)
}

// Encode encodes e as a journal record, with statefile.Encode.
func (l *Backend) Encode(e *state.Event) (state.Record, error) { return statefile.Encode(e) }

// Close releases the lock if held.
func (l *Backend) Close() error { return l.Unlock() }

// readFile reads a file; a large one with a read per core, so that the
// copy from the page cache (and the page faults of the new buffer) are
// shared out instead of delaying everything that follows.
//
// Only a regular file is read: a state file that is a device, a named pipe
// or a link to one would hang or exhaust payctl before any check could
// refuse it.
func readFile(path string) ([]byte, error) {
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s): payctl reads its state only from regular files", path, fi.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s): payctl reads its state only from regular files", path, fi.Mode().Type())
	}
	size := fi.Size()
	if size < 64<<20 {
		// Sized once: io.ReadAll's doubling from 512 bytes made and
		// cleared about twice the file's size in buffers (a quarter of a
		// plan's CPU with a 2 MB account index).
		buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
		_, err := buf.ReadFrom(f)
		return buf.Bytes(), err
	}
	data := make([]byte, size)
	n := int64(runtime.GOMAXPROCS(0))
	part := (size + n - 1) / n
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := int64(0); i < n; i++ {
		lo, hi := i*part, min(size, (i+1)*part)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.ReadAt(data[lo:hi], lo)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// A file that grew while being read is read again whole: the snapshot
	// is only ever replaced by rename, so this does not happen in practice.
	if fi2, err := f.Stat(); err != nil || fi2.Size() != size {
		return os.ReadFile(path)
	}
	return data, nil
}

// SegmentsDir is the folder of a segmented state's batch segments.
func (l *Backend) SegmentsDir() string { return l.Path + ".batches" }

// SegmentPath is where a batch's segment is kept.
func (l *Backend) SegmentPath(batch string) string {
	return filepath.Join(l.SegmentsDir(), statefile.SegmentFile(batch))
}

// nextSuffix marks a segment written by a checkpoint whose root may not be
// in place yet: the root is the commit point, so a segment is written
// beside the one the current root names, and renamed over it only once
// the new root is durable.
const nextSuffix = ".next"

// AccountsPath is where a segmented state's account index is kept.
func (l *Backend) AccountsPath() string { return l.Path + ".accounts" }

// readNamed reads a file a segmented state's root names by digest. A file
// left beside it by a checkpoint cut short is used if it is the one named
// (the root was replaced, the rename did not happen), and renamed into
// place by a writer.
func (l *Backend) readNamed(path, digest, what string) ([]byte, error) {
	data, err := readFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	missing := err != nil
	if !missing && statefile.SnapshotDigest(data) == digest {
		return data, nil
	}
	next, nerr := readFile(path + nextSuffix)
	if nerr == nil && statefile.SnapshotDigest(next) == digest {
		if l.lock != nil {
			if err := os.Rename(path+nextSuffix, path); err != nil {
				return nil, fmt.Errorf("finish the last checkpoint: %w", err)
			}
			if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
				return nil, err
			}
		}
		return next, nil
	}
	if missing {
		return nil, &state.SnapshotError{File: path, Reason: fmt.Sprintf("%s is missing (the root %s names it)", what, l.Path), Segment: true}
	}
	reason := fmt.Sprintf("its bytes are not the ones the root %s says payctl wrote for %s (%s, not %s): the file was edited or replaced after it was written", l.Path, what, digest, statefile.SnapshotDigest(data))
	if l.lock == nil {
		reason += ", or another payctl replaced it while this one read the state (if so, run the command again)"
	}
	return nil, &state.SnapshotError{File: path, Reason: reason, Segment: true}
}

// loadSegment reads a batch's segment and proves it is the one the root
// names.
func (l *Backend) loadSegment(e state.BatchEntry) ([]*state.Payout, []*state.Group, error) {
	path := l.SegmentPath(e.Name)
	data, err := l.readNamed(path, e.Digest, "batch "+e.Name+"'s segment")
	if err != nil {
		return nil, nil, err
	}
	return statefile.ParseBatch(path, e, data)
}

// loadAccounts reads the account index and proves it is the one the root
// names.
func (l *Backend) loadAccounts(digest string, keep func(who, account string) bool) ([]*state.AccountEntry, error) {
	data, err := l.readNamed(l.AccountsPath(), digest, "the account index")
	if err != nil {
		return nil, err
	}
	return statefile.ParseAccounts(l.AccountsPath(), data, keep)
}

// checkpointSegmented writes the batches changed since they were read, each
// beside the segment the current root names, then the root (the commit
// point: a crash before it leaves the old root and its segments whole),
// then renames the new segments into place.
func (l *Backend) checkpointSegmented(s *state.Snapshot, commit func(digest string) error) error {
	if !s.IsSegmented() {
		// A new state, or one rebuilt from its journal: every batch is
		// written.
		s.Segmented(nil, l.loadSegment)
	}
	if err := l.sealJournal(); err != nil {
		return err
	}
	if err := os.MkdirAll(l.SegmentsDir(), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", l.SegmentsDir(), err)
	}
	// The account index is rewritten only once the batches it does not
	// cover hold many payouts (half its entries, at least reindexAfter):
	// until then a plan folds those batches in, and a checkpoint writes
	// just the batches it changed and the root.
	var renames []string
	reindex := s.ReindexDue()
	if reindex {
		data, idx, es, err := statefile.AccountsFile(s)
		if err != nil {
			return err
		}
		if idx != s.AccountsIndexed() {
			if err := atomicfile.WriteFile(l.AccountsPath()+nextSuffix, data, atomicfile.Options{Create: l.createTemp}); err != nil {
				return err
			}
			renames = append(renames, l.AccountsPath())
		}
		s.AccountsWritten(idx, es)
		s.SetAccounts(idx, l.loadAccounts)
		s.Indexed()
	}
	for _, b := range s.Dirty() {
		ps, gs := s.BatchPayouts(b)
		if len(ps) == 0 {
			continue
		}
		h := sha256.New()
		err := atomicfile.Write(l.SegmentPath(b)+nextSuffix, func(w io.Writer) error {
			return statefile.WriteSegment(io.MultiWriter(w, h), b, ps, gs)
		}, atomicfile.Options{Create: l.createTemp})
		if err != nil {
			return err
		}
		s.Written(state.BatchEntry{Name: b, Payouts: len(ps), Digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), Unindexed: !reindex})
		renames = append(renames, l.SegmentPath(b))
	}
	s.Journal.Offset = l.end
	err := l.writeRoot(func(w io.Writer) error { return statefile.WriteRoot(w, s, s.OpenAddresses()) }, commit)
	if err != nil {
		return err
	}
	l.version = state.SegmentedVersion
	crash.Point(crash.SegmentsBeforeRename)
	for _, p := range renames {
		if err := os.Rename(p+nextSuffix, p); err != nil {
			// The root names the new file, which loads from beside the
			// old one until the next writer renames it.
			return fmt.Errorf("put %s in place: %w", p, err)
		}
	}
	if len(renames) > 0 {
		for _, d := range []string{l.SegmentsDir(), filepath.Dir(l.Path)} {
			if err := atomicfile.SyncDir(d); err != nil {
				return err
			}
		}
	}
	return nil
}

// Segment makes a state held whole segmented at its next checkpoint
// (`payctl state migrate`).
func (l *Backend) Segment(s *state.Snapshot) error {
	if err := s.ToSegments(l.loadSegment); err != nil {
		return err
	}
	l.version = state.SegmentedVersion
	return nil
}
