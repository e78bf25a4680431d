package state

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofrs/flock"

	"github.com/payctl/payctl/internal/atomicfile"
	"github.com/payctl/payctl/internal/crash"
)

// Local is the state backend on the local filesystem.
type Local struct {
	Path string // snapshot path

	logger *slog.Logger
	now    func() time.Time

	lock   *flock.Flock
	jf     *os.File // journal, open for appending while locked
	end    int64    // journal size: records end here
	fsyncs atomic.Int64

	// Seams for fault injection in tests.
	CreateTemp func(name string, perm os.FileMode) (atomicfile.File, error)
}

var _ Backend = (*Local)(nil)

// NewLocal returns the local backend of the snapshot at path.
func NewLocal(path string, logger *slog.Logger, now func() time.Time) *Local {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Local{Path: path, logger: logger, now: now}
}

func (l *Local) journalPath() string { return l.Path + ".journal" }
func (l *Local) lockPath() string    { return l.Path + ".lock" }

// BackupPath is where the previous snapshot is kept.
func (l *Local) BackupPath() string { return l.Path + ".backup" }

// JournalPath is the journal's path.
func (l *Local) JournalPath() string { return l.journalPath() }

// Describe names the state for messages.
func (l *Local) Describe() string { return l.Path }

// Fsyncs counts journal fsyncs since the backend was opened.
func (l *Local) Fsyncs() int64 { return l.fsyncs.Load() }

// Lock takes the writer lock, waiting up to wait for a live holder. A lock
// left by a dead process on this host is taken over; one left on another
// host is reported as possibly stale.
func (l *Local) Lock(ctx context.Context, op string, wait time.Duration) (LockInfo, error) {
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o700); err != nil {
		return LockInfo{}, fmt.Errorf("create state directory: %w", err)
	}
	fl := flock.New(l.lockPath(), flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	deadline := time.Now().Add(wait)
	for {
		ok, err := fl.TryLock()
		if err != nil {
			return LockInfo{}, fmt.Errorf("lock %s: %w", l.lockPath(), err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			holder, _ := readLockInfo(l.lockPath())
			return LockInfo{}, &LockedError{State: l.Path, Holder: holder}
		}
		select {
		case <-ctx.Done():
			return LockInfo{}, ctx.Err()
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
			return LockInfo{}, &LockedError{State: l.Path, Holder: prev, Stale: true}
		}
		l.logger.Warn("taking over a lock left by a process that is gone", "holder", prev.String())
	}
	info := NewLockInfo(op, l.now())
	b, _ := json.Marshal(info)
	if err := writeLockInfo(l.lockPath(), b); err != nil {
		fl.Unlock()
		return LockInfo{}, err
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

func readLockInfo(path string) (LockInfo, error) {
	var info LockInfo
	b, err := os.ReadFile(path)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return info, err
	}
	err = json.Unmarshal(b, &info)
	return info, err
}

// Unlock releases the lock, clearing its info first so that nobody reads
// a released lock as held.
func (l *Local) Unlock() error {
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
func (l *Local) ForceUnlock(ctx context.Context, id string) error {
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
		return fmt.Errorf("%w: the lock is %s", ErrLockMismatch, holder)
	}
	return writeLockInfo(l.lockPath(), nil)
}

// LockHolder reads who holds the lock, if anyone.
func (l *Local) LockHolder() (LockInfo, bool) {
	info, err := readLockInfo(l.lockPath())
	return info, err == nil && info.ID != ""
}

// Load reads the snapshot and the journal records after it. A writer (one
// holding the lock) truncates a torn final record; a reader ignores it.
func (l *Local) Load(ctx context.Context) (*Loaded, error) {
	out := &Loaded{}
	data, err := readFile(l.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read state: %w", err)
	default:
		s, err := ParseSnapshot(l.Path, data)
		if err != nil {
			return nil, err
		}
		out.Snapshot = s
	}
	var from int64
	var firstSeq uint64 = 1
	if out.Snapshot != nil {
		from, firstSeq = out.Snapshot.Journal.Offset, out.Snapshot.Serial+1
	}
	f, err := os.Open(l.journalPath())
	if errors.Is(err, fs.ErrNotExist) {
		if from > 0 {
			return nil, fmt.Errorf("%s: the journal is missing but the snapshot has folded %d bytes of it; restore %s from a backup", l.Path, from, l.journalPath())
		}
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	if st.Size() < from {
		return nil, fmt.Errorf("%s is %d bytes but the snapshot has folded %d bytes of it: the journal was truncated or replaced; payctl will not guess, restore it from a backup", l.journalPath(), st.Size(), from)
	}
	end, torn, err := readRecords(l.journalPath(), f, from, firstSeq, func(e *Event) error {
		out.Tail = append(out.Tail, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if l.lock != nil {
		if torn != nil {
			l.logger.Warn("discarding a torn final journal record (a crash in the middle of a write)", "journal", l.journalPath(), "record", torn.Seq, "bytes", torn.Bytes)
			if err := os.Truncate(l.journalPath(), end); err != nil {
				return nil, fmt.Errorf("discard torn journal record: %w", err)
			}
		}
		jf, err := os.OpenFile(l.journalPath(), os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open journal: %w", err)
		}
		l.jf, l.end = jf, end
	}
	return out, nil
}

// readRecords reads records from offset from. seq numbers the first one
// (for messages: a record's line number is its sequence number).
func readRecords(name string, r io.ReaderAt, from int64, seq uint64, fn func(*Event) error) (int64, *Torn, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, from, 1<<62), 1<<20)
	pos := from
	var pending *Torn
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			full := append([]byte{}, line...)
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				full = append(full, line...)
			}
			line = full
		}
		if len(line) == 0 && err == io.EOF {
			break
		}
		if err != nil && err != io.EOF {
			return 0, nil, fmt.Errorf("read %s: %w", name, err)
		}
		complete := err == nil
		body := bytes.TrimSuffix(line, []byte("\n"))
		if pending != nil {
			// A bad record followed by more data is damage, not a torn tail.
			return 0, nil, damaged(name, pending.Seq, pending.err)
		}
		e, derr := Decode(body)
		if derr == nil && e.Seq != seq {
			derr = fmt.Errorf("has sequence number %d where %d belongs: records were dropped or reordered", e.Seq, seq)
			return 0, nil, damaged(name, seq, derr)
		}
		if derr != nil || !complete {
			if derr == nil {
				derr = errors.New("record has no end of line")
			}
			pending = &Torn{Seq: seq, Bytes: int64(len(line)), err: derr}
			if !complete {
				break
			}
			continue
		}
		if err := fn(e); err != nil {
			return 0, nil, err
		}
		pos += int64(len(line))
		seq++
		if !complete {
			break
		}
	}
	return pos, pending, nil
}

func damaged(name string, seq uint64, err error) error {
	return &DamageError{File: name, Seq: seq, Err: err}
}

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

// Append writes records and fsyncs once for all of them.
func (l *Local) Append(ctx context.Context, recs []Record) error {
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
	var buf []byte
	intent, outcome := false, false
	for _, r := range recs {
		buf = append(buf, r.Line...)
		intent = intent || r.Kind == KindIntent
		outcome = outcome || r.Kind == KindOutcome
	}
	if intent {
		crash.Point(crash.IntentBeforeWrite)
	}
	n, err := l.jf.Write(buf)
	if err != nil {
		// Take back a partial write so the journal ends on a record.
		if n > 0 {
			l.jf.Truncate(l.end)
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

func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

// Checkpoint rewrites the snapshot atomically, keeping the previous one as
// a backup. The snapshot's journal mark is set to the journal's end.
func (l *Local) Checkpoint(ctx context.Context, s *Snapshot) error {
	if l.lock == nil {
		return errors.New("checkpoint of a state that is not locked")
	}
	s.Journal.Offset = l.end
	return atomicfile.Write(l.Path, func(w io.Writer) error {
		_, err := s.WriteTo(w)
		return err
	}, atomicfile.Options{
		Backup: l.BackupPath(),
		BeforeRename: func() error {
			crash.Point(crash.SnapshotBeforeRename)
			return nil
		},
		Create: l.CreateTemp,
	})
}

// ReadJournal calls fn for every record of the journal from the start, for
// verification and history. A torn final record is reported, not returned.
func (l *Local) ReadJournal(ctx context.Context, fn func(e *Event) error) (*Torn, error) {
	f, err := os.Open(l.journalPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	_, torn, err := readRecords(l.journalPath(), f, 0, 1, fn)
	return torn, err
}

// Close releases the lock if held.
func (l *Local) Close() error { return l.Unlock() }

// readFile reads a file; a large one with a read per core, so that the
// copy from the page cache (and the page faults of the new buffer) are
// shared out instead of delaying everything that follows.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size < 64<<20 {
		return io.ReadAll(f)
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
