package localstate

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/payctl/payctl/internal/atomicfile"
)

// DefaultJournalSegment is the size past which a checkpoint seals the
// journal (renames it to FILE.journal.NNNNNN) and starts a new one: every
// file of a state stays small enough for git hosting, and a sealed segment
// never changes again. The records chain across segments as within one:
// a segment's first record carries the hash of the last record of the
// segment before it.
const DefaultJournalSegment = 64 << 20

// sealedPaths lists the sealed journal segments, oldest first.
func (l *Backend) sealedPaths() ([]string, error) {
	m, err := filepath.Glob(l.journalPath() + ".[0-9][0-9][0-9][0-9][0-9][0-9]")
	sort.Strings(m)
	return m, err
}

// JournalFiles are the journal's files in order: the sealed segments, then
// the one records are appended to.
func (l *Backend) JournalFiles() ([]string, error) {
	sealed, err := l.sealedPaths()
	if err != nil {
		return nil, err
	}
	return append(sealed, l.journalPath()), nil
}

// journalView reads the journal's files as one: offsets (a root's journal
// mark, a record's end) count from the first byte of the first segment.
type journalView struct {
	files  []*os.File
	starts []int64
	// sealed is the size of the sealed segments: where the file records
	// are appended to begins.
	sealed int64
	size   int64
}

// openJournal opens the journal's files; nil when there are none.
func (l *Backend) openJournal() (*journalView, error) {
	paths, err := l.JournalFiles()
	if err != nil {
		return nil, err
	}
	v := &journalView{}
	for i, p := range paths {
		if fi, err := os.Stat(p); err == nil && !fi.Mode().IsRegular() {
			v.Close()
			return nil, fmt.Errorf("open journal: %s is not a regular file (%s): payctl reads its state only from regular files", p, fi.Mode().Type())
		}
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) && i == len(paths)-1 {
			// A crash between sealing a segment and starting the next
			// leaves no file to append to: the journal ends with the
			// sealed ones.
			break
		}
		if err != nil {
			v.Close()
			return nil, fmt.Errorf("open journal: %w", err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			v.Close()
			return nil, fmt.Errorf("open journal: %w", err)
		}
		v.files = append(v.files, f)
		v.starts = append(v.starts, v.size)
		v.size += fi.Size()
		if i < len(paths)-1 {
			v.sealed = v.size
		}
	}
	if len(v.files) == 0 {
		return nil, nil
	}
	return v, nil
}

// ReadAt reads across segment boundaries.
func (v *journalView) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		at := off + int64(n)
		if at >= v.size {
			return n, io.EOF
		}
		i := sort.Search(len(v.starts), func(i int) bool { return v.starts[i] > at }) - 1
		end := v.size
		if i+1 < len(v.starts) {
			end = v.starts[i+1]
		}
		want := min(int64(len(p)-n), end-at)
		m, err := v.files[i].ReadAt(p[n:n+int(want)], at-v.starts[i])
		n += m
		if err != nil && err != io.EOF {
			return n, err
		}
		if int64(m) < want {
			// The file is shorter than it was when opened.
			return n, io.ErrUnexpectedEOF
		}
	}
	return n, nil
}

func (v *journalView) Close() {
	for _, f := range v.files {
		f.Close()
	}
}

// sealJournal makes the journal's current file a sealed segment and
// starts a new one, once it has grown past the segment size. It runs at
// the start of a checkpoint, after every record is durable.
func (l *Backend) sealJournal() error {
	limit := l.JournalSegment
	if limit == 0 {
		limit = DefaultJournalSegment
	}
	if limit < 0 || l.end-l.sealed < limit || l.jf == nil {
		return nil
	}
	sealed, err := l.sealedPaths()
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s.%06d", l.journalPath(), len(sealed)+1)
	if _, err := os.Lstat(name); err == nil {
		return fmt.Errorf("seal the journal: %s exists already", name)
	}
	l.jf.Close()
	l.jf = nil
	if err := os.Rename(l.journalPath(), name); err != nil {
		return fmt.Errorf("seal the journal: %w", err)
	}
	jf, err := os.OpenFile(l.journalPath(), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("start a new journal segment: %w", err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(l.journalPath())); err != nil {
		jf.Close()
		return err
	}
	l.jf, l.sealed = jf, l.end
	return nil
}

// JournalReader reads the journal's files as one.
type JournalReader interface {
	io.ReaderAt
	Size() int64
	Close()
}

// Size is the journal's size, every segment included.
func (v *journalView) Size() int64 { return v.size }

// OpenJournal opens the journal's files as one reader, offsets counting
// from the first byte of the first segment; nil when there are none.
func (l *Backend) OpenJournal() (JournalReader, error) {
	v, err := l.openJournal()
	if v == nil || err != nil {
		return nil, err
	}
	return v, nil
}
