// Package appendlog is a file of JSON lines that records are appended to
// and made durable in groups: the emulators' ledgers log each change here
// instead of rewriting a whole ledger file per change.
//
// Guarantees: a record whose Sync returned nil survives a crash of the
// process or the machine; Sync calls that overlap share one write and one
// fsync (group commit), so many writers cost few fsyncs. A crash during a
// write leaves at most one torn last line, which Replay skips: it was never
// acknowledged. Every complete line is a record; a complete line that is
// not JSON is damage, and Replay reports it.
package appendlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Log is an open log. Its methods are safe for concurrent use.
type Log struct {
	path string

	mu      sync.Mutex
	cond    *sync.Cond
	f       *os.File
	buf     []byte // appended, not yet written
	seq     uint64 // records appended
	durable uint64 // records written and fsynced
	syncing bool
	err     error // sticky: once a write fails, the log takes nothing more
}

// Open opens the log at path for appending, creating it if needed.
func Open(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	l := &Log{path: path, f: f}
	l.cond = sync.NewCond(&l.mu)
	return l, nil
}

// Append queues v as one line and returns its sequence number, for Sync.
// Nothing is written until a Sync covers it.
func (l *Log) Append(v any) (uint64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return 0, l.err
	}
	l.buf = append(append(l.buf, b...), '\n')
	l.seq++
	return l.seq, nil
}

// Sync returns once record seq (and every one before it) is durable. One
// caller writes and fsyncs what all callers appended; the others wait
// for it.
func (l *Log) Sync(seq uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		switch {
		case l.durable >= seq:
			return nil
		case l.err != nil:
			return l.err
		case l.syncing:
			l.cond.Wait()
			continue
		}
		buf, upto := l.buf, l.seq
		l.buf, l.syncing = nil, true
		l.mu.Unlock()
		_, err := l.f.Write(buf)
		if err == nil {
			err = l.f.Sync()
		}
		l.mu.Lock()
		l.syncing = false
		if err != nil {
			l.err = fmt.Errorf("append to %s: %w", l.path, err)
		} else {
			l.durable = upto
		}
		l.cond.Broadcast()
	}
}

// Close closes the file; records appended and not synced are dropped.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = errors.New("log closed")
	}
	return l.f.Close()
}

// Resume takes over the log at path that a process left behind: it
// replays its lines with fn, has persist write what they changed (when
// there were any), removes the log and opens an empty one. fn must be
// idempotent: a crash between persist and the removal replays the same
// lines again at the next start. Errors name the log and its line.
func Resume(path string, fn func(line []byte) error, persist func() error) (*Log, error) {
	n := 0
	err := Replay(path, func(line []byte) error {
		n++
		return fn(line)
	})
	if err != nil {
		return nil, fmt.Errorf("journal %v; move it away to drop the changes it holds", err)
	}
	if n > 0 {
		if err := persist(); err != nil {
			return nil, err
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	return Open(path)
}

// Replay calls fn with each complete line of the log at path, in order.
// A missing file is an empty log; a torn last line is skipped.
func Replay(path string, fn func(line []byte) error) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return nil // line, if any, is torn: its append never returned
		}
		if err != nil {
			return err
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		if !json.Valid(line) {
			return fmt.Errorf("%s: line %d is not a JSON record", path, n)
		}
		if err := fn(line); err != nil {
			return fmt.Errorf("%s: line %d: %w", path, n, err)
		}
	}
}
