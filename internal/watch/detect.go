package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Temporary names are never taken: writers use them until a file is
// complete, then rename it.
func temporary(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, ".part")
}

// barrierPrefix names the watcher's own marker files in inbox (see
// detector); they are temporary names, so nothing else takes them.
const barrierPrefix = ".payctl-barrier-"

// barrierTimeout is how long a barrier's event may take before the files
// waiting for it fall back to the quiet period.
const barrierTimeout = time.Second

// observation is what one lstat said about a file.
type observation struct {
	mode  fs.FileMode
	size  int64
	mtime time.Time
	ino   uint64
	nlink uint64
}

func observe(fi fs.FileInfo) observation {
	o := observation{mode: fi.Mode().Type(), size: fi.Size(), mtime: fi.ModTime()}
	o.ino, o.nlink = statDetails(fi)
	return o
}

func (o observation) same(p observation) bool {
	return o.mode == p.mode && o.size == p.size && o.mtime.Equal(p.mtime) && o.ino == p.ino
}

// candidate is a file in inbox that is not taken yet.
type candidate struct {
	seen  bool // obs holds an observation
	obs   observation
	since time.Time // the last change seen (a Write, a different look)
	// live: its Create event was received while events were not lost.
	live bool
	// written: it was written in inbox (a Write event, or observations
	// that differ); such a file is taken only after the quiet period.
	written bool
	// barrier is the barrier whose arrival decides whether it was renamed
	// in; 0 when it is not waiting for one.
	barrier uint64
	next    time.Time // when to look at it again
}

// detector decides when a file in inbox is complete. It is owned by the
// watcher's event goroutine.
//
// A file renamed into inbox is taken at once; any other file once its
// size, modification time and inode have not changed for Quiet. Telling
// the two apart without guessing: fsnotify reports both a rename into
// inbox and a creation in it as Create, but a file created in inbox gets
// its content by writes, each reported as Write after the Create. So when
// a Create arrives and the file already has content, the detector creates
// and removes a marker file in inbox (a barrier). The kernel reports a
// folder's events in order, so by the time the barrier's own Create
// arrives, every Write for writes made before the file was looked at has
// arrived too. No Write by then: the content was there before the file
// appeared in inbox, so it was renamed in, complete. Files found by a
// listing (at start, by the periodic rescan, after events were lost) have
// no known history and wait for the quiet period.
//
// Files that must be refused (not regular, hard-linked, oversized) are
// handed over at once: they are never read, so waiting gains nothing.
type detector struct {
	inbox   string
	clock   Clock
	quiet   time.Duration
	maxSize int64
	log     *slog.Logger
	take    func(name string)

	cands map[string]*candidate
	dirs  map[string]bool // folders in inbox, logged once

	issued     uint64 // the last barrier written
	inflight   bool   // its event has not arrived yet
	inflightAt time.Time
	noBarriers bool // writing one failed: quiet periods only
}

func newDetector(inbox string, clock Clock, quiet time.Duration, maxSize int64, log *slog.Logger, take func(string)) *detector {
	return &detector{
		inbox: inbox, clock: clock, quiet: quiet, maxSize: maxSize, log: log, take: take,
		cands: map[string]*candidate{}, dirs: map[string]bool{},
	}
}

// event handles one fsnotify event on inbox.
func (d *detector) event(ev fsnotify.Event) {
	if filepath.Dir(ev.Name) != d.inbox {
		return
	}
	name := filepath.Base(ev.Name)
	if seq, ok := strings.CutPrefix(name, barrierPrefix); ok {
		if n, err := strconv.ParseUint(seq, 10, 64); err == nil && ev.Has(fsnotify.Create) {
			d.arrived(n)
		}
		return
	}
	if temporary(name) {
		return
	}
	now := d.clock.Now()
	c := d.cands[name]
	switch {
	case ev.Has(fsnotify.Create):
		// A new file, or another file renamed over this name: start over.
		c = &candidate{live: true}
		d.cands[name] = c
		d.look(name, c, now)
	case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
		delete(d.cands, name)
	case ev.Has(fsnotify.Write):
		if c == nil {
			c = &candidate{}
			d.cands[name] = c
		}
		// No stat per write (a large copy makes thousands): the quiet
		// period restarts from the write, and the next look takes a new
		// baseline.
		c.written, c.seen, c.since, c.barrier = true, false, now, 0
		c.next = now.Add(d.baseline())
	case ev.Has(fsnotify.Chmod):
		// Attributes or the link count changed: look again now (a file
		// waiting for its barrier is looked at when it arrives).
		if c == nil {
			c = &candidate{}
			d.cands[name] = c
		}
		if c.barrier == 0 {
			d.look(name, c, now)
		}
	}
}

// barrier writes the next barrier unless one is on its way.
func (d *detector) barrier() {
	if d.inflight || d.noBarriers {
		return
	}
	d.issued++
	p := filepath.Join(d.inbox, fmt.Sprintf("%s%d", barrierPrefix, d.issued))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		f.Close()
		err = os.Remove(p)
	}
	if err != nil {
		d.log.Warn("cannot write a marker file in inbox, so files renamed in wait for the quiet period too", "error", err)
		d.noBarriers = true
		d.fallBack()
		return
	}
	d.inflight, d.inflightAt = true, d.clock.Now()
}

// arrived decides the candidates that waited for barrier n.
func (d *detector) arrived(n uint64) {
	if n != d.issued {
		return // an old barrier, arriving after a timeout
	}
	d.inflight = false
	now := d.clock.Now()
	more := false
	for name, c := range d.cands {
		switch {
		case c.barrier == 0:
		case c.barrier <= n:
			c.barrier = 0
			d.look(name, c, now)
		default:
			more = true
		}
	}
	if more {
		d.barrier()
	}
}

// fallBack sends the candidates waiting for a barrier to the quiet period.
func (d *detector) fallBack() {
	for _, c := range d.cands {
		if c.barrier != 0 {
			c.barrier, c.live = 0, false
		}
	}
	d.inflight = false
}

// lost forgets every candidate's history: events were dropped, so none
// can be trusted not to have been written in place.
func (d *detector) lost() {
	now := d.clock.Now()
	for _, c := range d.cands {
		c.live, c.seen, c.since, c.next, c.barrier = false, false, now, now, 0
	}
	d.inflight = false
}

// rescan lists inbox: new files become candidates (their history unknown),
// vanished ones are forgotten, and every candidate is looked at.
func (d *detector) rescan() error {
	entries, err := os.ReadDir(d.inbox)
	if err != nil {
		return err
	}
	now := d.clock.Now()
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		name := e.Name()
		if temporary(name) {
			continue
		}
		present[name] = true
		c := d.cands[name]
		if c == nil {
			c = &candidate{}
			d.cands[name] = c
		}
		if c.barrier == 0 {
			d.look(name, c, now)
		}
	}
	for name := range d.cands {
		if !present[name] {
			delete(d.cands, name)
		}
	}
	return nil
}

// due looks at the candidates whose time has come.
func (d *detector) due() {
	now := d.clock.Now()
	if d.inflight && now.Sub(d.inflightAt) >= barrierTimeout {
		d.log.Warn("a marker file's event did not arrive in time; files renamed in meanwhile wait for the quiet period")
		d.fallBack()
	}
	for name, c := range d.cands {
		if c.barrier == 0 && !c.next.After(now) {
			d.look(name, c, now)
		}
	}
}

// wake is when the detector needs to run next (zero: never).
func (d *detector) wake() time.Time {
	var t time.Time
	if d.inflight {
		t = d.inflightAt.Add(barrierTimeout)
	}
	for _, c := range d.cands {
		if c.barrier == 0 && (t.IsZero() || c.next.Before(t)) {
			t = c.next
		}
	}
	return t
}

// look observes a candidate and hands it over when it is complete or must
// be refused.
func (d *detector) look(name string, c *candidate, now time.Time) {
	fi, err := os.Lstat(filepath.Join(d.inbox, name))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			d.log.Warn("cannot look at a file in inbox", "file", name, "error", err)
			c.next = now.Add(d.quiet)
			return
		}
		delete(d.cands, name)
		return
	}
	o := observe(fi)
	if c.since.IsZero() {
		c.since = now
	}
	switch {
	case o.mode == fs.ModeDir:
		if !d.dirs[name] {
			d.dirs[name] = true
			d.log.Warn("ignoring a folder in inbox: only files directly in inbox are taken", "folder", name)
		}
		delete(d.cands, name)
		return
	case refusal(o, d.maxSize) != "":
		// Refused without being read; waiting would change nothing.
		delete(d.cands, name)
		d.take(name)
		return
	}
	first := !c.seen
	switch {
	case first:
		c.seen, c.obs = true, o
	case !o.same(c.obs):
		c.written, c.obs, c.since = true, o, now
	}
	if c.live && !c.written && o.size > 0 {
		if first {
			// Renamed in, unless a Write arrives before the barrier.
			c.barrier = d.issued + 1
			d.barrier()
			if c.barrier != 0 {
				return
			}
		} else {
			// Its barrier came and no Write with it: renamed in, complete.
			delete(d.cands, name)
			d.take(name)
			return
		}
	}
	switch {
	case first && now.Sub(c.since) >= d.quiet:
		// One look proves nothing about a file with no known history:
		// look again shortly.
		c.next = now.Add(d.baseline())
	case now.Sub(c.since) >= d.quiet:
		delete(d.cands, name)
		d.take(name)
	default:
		c.next = c.since.Add(d.quiet)
	}
}

// baseline is how soon after a write (or a lost history) a file is first
// looked at; the look at the end of the quiet period must find it
// unchanged since then. A write whose event is late is caught by that
// comparison.
func (d *detector) baseline() time.Duration {
	return min(d.quiet/4, time.Second)
}
