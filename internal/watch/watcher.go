package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/gofrs/flock"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/payctl/payctl/apply"
	"github.com/payctl/payctl/internal/atomicfile"
	"github.com/payctl/payctl/internal/daemon"
	"github.com/payctl/payctl/internal/notify"
	"github.com/payctl/payctl/schema"
)

// The folders of a watched directory.
const (
	Inbox      = "inbox"
	Processing = "processing"
	Done       = "done"
	Rejected   = "rejected"
	Held       = "held"
)

// Defaults of Options.
const (
	DefaultQuiet      = 10 * time.Second
	DefaultRescan     = 30 * time.Second
	DefaultLockHold   = 2 * time.Second
	DefaultRetryEvery = time.Second
	DefaultMaxTries   = 12
	// maxRetryDelay caps the backoff between passes over one file.
	maxRetryDelay = 5 * time.Minute
	// yield is how long the worker leaves the state's lock free after
	// holding it for LockHold with more files waiting: longer than the
	// local backend's 50 ms lock poll, so a waiting `payctl apply
	// -lock-timeout` gets in.
	yield = 150 * time.Millisecond
)

// Options configure a Watcher.
type Options struct {
	// Dir holds inbox, processing, done, rejected and held (created if
	// missing). All five must be on one filesystem.
	Dir string
	// Gate gives the watcher the state, one file (or LockHold) at a time.
	Gate   *daemon.Gate
	Logger *slog.Logger
	// Registerer receives the watcher's metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// Health, if set, hears about problems that stop files from moving on.
	Health *daemon.Health
	// Quiet is how long a file not known to have been renamed into inbox
	// must keep its size and modification time before it is taken.
	Quiet time.Duration
	// Rescan is the period of the full listing of inbox that catches what
	// events missed.
	Rescan time.Duration
	// MaxFileSize refuses larger files unread; 0 means schema.MaxFileSize.
	MaxFileSize int64
	// LockHold is how long the state's lock is kept over consecutive
	// files; 0 releases it after every file. Either way it is released
	// whenever no file is waiting.
	LockHold time.Duration
	// RetryEvery is the first delay before a file is tried again (state
	// busy, payouts not settled yet); it doubles with each pass.
	RetryEvery time.Duration
	// LargeFile is the size above which a file is read and checked on a
	// lane of its own, so that files dropped after it are not kept
	// waiting; 0 means DefaultLargeFile.
	LargeFile int64
	// MaxTries is how many passes a file with unsettled payouts gets
	// before it goes to done/ as incomplete.
	MaxTries int
	// Clock measures quiet periods and delays; nil means the system clock.
	Clock Clock
	// Finished, if set, is called after each file reaches its folder
	// (tests and benchmarks measure with it).
	Finished func(Finished)
	// Notifier, if set, hears about files held and rejected, payouts
	// failed or unknown, and stopped runs; it never blocks.
	Notifier *notify.Notifier
	// PendingAfter is the threshold of payctl_payouts_pending_too_long; 0
	// means daemon.DefaultPendingAfter.
	PendingAfter time.Duration
}

// Finished says where a file ended up.
type Finished struct {
	Name    string // the name it was taken under
	Folder  string // Done, Rejected or Held
	Final   string // its name there
	Outcome string // for done/: an Outcome*; else the folder
}

// Watcher turns a folder into a payout pipeline.
type Watcher struct {
	o          Options
	log        *slog.Logger
	clock      Clock
	dir        string
	configFile string
	q          *jobQueue
	m          *metrics
	det        *detector

	running atomic.Bool // inbox is watched and was listed once

	// The worker's own.
	sess      *apply.Session
	sessAt    time.Time
	broken    bool              // the session's state failed to write
	leftAlone map[string]uint64 // files that could not be moved: name -> inode

	// parsed holds valid large files that the lane handed over, for the
	// worker's next round (the worker's own).
	parsed []*item
	lane   *lane

	mu         sync.Mutex
	pauseUntil time.Time
	reserved   map[string]bool // folder/name chosen by a move in progress
}

// New checks options; Run creates the folders.
func New(o Options) (*Watcher, error) {
	if o.Gate == nil {
		return nil, errors.New("watch: no gate")
	}
	if o.Dir == "" {
		return nil, errors.New("watch: no folder")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Quiet <= 0 {
		o.Quiet = DefaultQuiet
	}
	if o.Rescan <= 0 {
		o.Rescan = DefaultRescan
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = schema.MaxFileSize
	}
	if o.LockHold < 0 {
		o.LockHold = 0
	}
	if o.RetryEvery <= 0 {
		o.RetryEvery = DefaultRetryEvery
	}
	if o.MaxTries <= 0 {
		o.MaxTries = DefaultMaxTries
	}
	if o.LargeFile <= 0 {
		o.LargeFile = DefaultLargeFile
	}
	cfg := o.Gate.Workspace().Config
	w := &Watcher{
		o: o, log: o.Logger, clock: o.Clock, dir: dir,
		configFile: filepath.Join(cfg.Dir, filepath.Base(cfg.File)),
		q:          newJobQueue(o.Clock),
		leftAlone:  map[string]uint64{},
		reserved:   map[string]bool{},
		lane:       newLane(),
	}
	w.m = newMetrics(o.Registerer, func() float64 { return float64(w.q.len()) }, w.heldFiles, o.PendingAfter)
	w.det = newDetector(w.path(Inbox), o.Clock, o.Quiet, o.MaxFileSize, o.Logger, func(name string) {
		w.q.push(job{from: fromInbox, name: name})
	})
	return w, nil
}

func (w *Watcher) path(folder string, name ...string) string {
	return filepath.Join(append([]string{w.dir, folder}, name...)...)
}

// Run watches until ctx ends, then finishes the file in progress, releases
// the state and returns nil. Files in processing/ at the start (an earlier
// run was cut short) are finished first.
func (w *Watcher) Run(ctx context.Context) error {
	if err := w.prepare(); err != nil {
		return err
	}
	lock := flock.New(filepath.Join(w.dir, ".payctl-watch.lock"), flock.SetPermissions(0o600))
	ok, err := lock.TryLock()
	if err != nil {
		return fmt.Errorf("lock %s: %w", w.dir, err)
	}
	if !ok {
		return fmt.Errorf("%s is already watched by another payctl watch; two watchers on one folder would take turns on the same files, so stop the other one first", w.dir)
	}
	defer lock.Unlock()

	fw, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		return fmt.Errorf("watch %s: %w", w.path(Inbox), err)
	}
	defer fw.Close()
	// Watch before listing, so that nothing arrives unseen in between.
	if err := fw.Add(w.path(Inbox)); err != nil {
		return fmt.Errorf("watch %s: %w", w.path(Inbox), err)
	}
	w.sweep()
	if err := w.resume(); err != nil {
		return err
	}
	if err := w.det.rescan(); err != nil {
		return fmt.Errorf("list %s: %w", w.path(Inbox), err)
	}
	w.running.Store(true)
	defer w.running.Store(false)
	w.log.Info("watching", "dir", w.dir, "quiet", w.o.Quiet, "lock_hold", w.o.LockHold)

	workerDone, laneDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(workerDone)
		w.work(ctx)
	}()
	go func() {
		defer close(laneDone)
		w.largeFiles(ctx)
	}()
	w.loop(ctx, fw)
	<-workerDone
	<-laneDone
	w.log.Info("stopped watching", "dir", w.dir)
	return nil
}

// prepare creates the folders and checks they share a filesystem.
func (w *Watcher) prepare() error {
	var dev uint64
	for i, f := range []string{Inbox, Processing, Done, Rejected, Held} {
		p := w.path(f)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", p, err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a folder", p)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			continue
		}
		if i == 0 {
			dev = uint64(st.Dev)
		} else if uint64(st.Dev) != dev {
			return fmt.Errorf("%s is on another filesystem than %s: watch moves files by renaming them, which cannot cross filesystems; keep inbox, processing, done, rejected and held on one filesystem", p, w.path(Inbox))
		}
	}
	return nil
}

// sweep removes the temporary files of reports that a killed watcher was
// writing (atomicfile names them ".NAME.tmp-PID"); the report itself is
// written again when its file is finished.
func (w *Watcher) sweep() {
	for _, f := range []string{Done, Rejected, Held} {
		entries, err := os.ReadDir(w.path(f))
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			i := strings.LastIndex(name, ".tmp-")
			if !strings.HasPrefix(name, ".") || i < 0 || !e.Type().IsRegular() {
				continue
			}
			pid, err := strconv.Atoi(name[i+len(".tmp-"):])
			if err != nil || pid <= 0 || processAlive(pid) {
				continue
			}
			if err := os.Remove(w.path(f, name)); err == nil {
				w.log.Info("removed a report left half-written by a run that was cut short", "file", filepath.Join(f, name))
			}
		}
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// resume queues the files an earlier run left in processing/.
func (w *Watcher) resume() error {
	entries, err := os.ReadDir(w.path(Processing))
	if err != nil {
		return fmt.Errorf("list %s: %w", w.path(Processing), err)
	}
	var names []string
	for _, e := range entries {
		if !temporary(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		w.q.push(job{from: fromProcessing, name: n, found: true})
	}
	if len(names) > 0 {
		w.log.Warn("finishing files an earlier run left in processing/; the state's journal says what was already paid", "files", len(names))
	}
	return nil
}

// loop feeds events to the detector until ctx ends.
func (w *Watcher) loop(ctx context.Context, fw *fsnotify.Watcher) {
	nextRescan := w.clock.Now().Add(w.o.Rescan)
	for {
		now := w.clock.Now()
		wake := nextRescan
		if t := w.det.wake(); !t.IsZero() && t.Before(wake) {
			wake = t
		}
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-fw.Events:
			if !ok {
				return
			}
			w.det.event(ev)
		case err, ok := <-fw.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.log.Warn("file events were dropped (too many at once); listing inbox again")
				w.det.lost()
			} else {
				w.log.Warn("file events", "error", err)
			}
			w.rescan(fw)
			nextRescan = w.clock.Now().Add(w.o.Rescan)
		case <-w.clock.After(wake.Sub(now)):
			w.det.due()
			if !w.clock.Now().Before(nextRescan) {
				w.rescan(fw)
				nextRescan = w.clock.Now().Add(w.o.Rescan)
			}
		}
	}
}

func (w *Watcher) rescan(fw *fsnotify.Watcher) {
	if len(fw.WatchList()) == 0 {
		// inbox was removed or moved away; watch the new one.
		if err := os.MkdirAll(w.path(Inbox), 0o700); err == nil {
			if err := fw.Add(w.path(Inbox)); err == nil {
				w.det.lost()
			}
		}
	}
	if err := w.det.rescan(); err != nil {
		w.log.Error("cannot list inbox", "error", err)
		w.health(healthInbox, "cannot list inbox: "+err.Error())
		return
	}
	w.health(healthInbox, "")
}

// Health components of the watcher.
const (
	healthState = "watch: state"
	healthInbox = "watch: inbox"
	healthFiles = "watch: files"
)

func (w *Watcher) health(component, problem string) {
	if w.o.Health != nil {
		w.o.Health.Set(component, problem)
	}
}

// work processes rounds of jobs until ctx ends; the round in progress is
// finished with a context that does not end.
func (w *Watcher) work(ctx context.Context) {
	bg := context.WithoutCancel(ctx)
	defer w.release(bg)
	for ctx.Err() == nil {
		w.mu.Lock()
		pause := w.pauseUntil
		w.mu.Unlock()
		if now := w.clock.Now(); now.Before(pause) {
			w.release(bg)
			select {
			case <-ctx.Done():
				return
			case <-w.clock.After(pause.Sub(now)):
			}
			continue
		}
		jobs, next := w.q.pop(maxRound)
		select {
		case it := <-w.lane.out:
			w.parsed = append(w.parsed, it)
		default:
		}
		if len(jobs) == 0 && len(w.parsed) == 0 {
			w.release(bg)
			var due <-chan time.Time
			if !next.IsZero() {
				due = w.clock.After(next.Sub(w.clock.Now()))
			}
			select {
			case <-ctx.Done():
				return
			case <-w.q.wake:
			case <-due:
			case it := <-w.lane.out:
				w.parsed = append(w.parsed, it)
			}
			continue
		}
		w.round(ctx, jobs)
		if w.broken || (w.sess != nil && w.clock.Now().Sub(w.sessAt) >= w.o.LockHold) {
			w.release(bg)
			if w.o.LockHold > 0 && w.q.ready() {
				w.mu.Lock()
				w.pauseUntil = w.clock.Now().Add(yield)
				w.mu.Unlock()
			}
		}
	}
}

// session returns the open session, or opens one.
func (w *Watcher) session(ctx context.Context) (*apply.Session, error) {
	if w.sess != nil {
		return w.sess, nil
	}
	s, err := w.o.Gate.Open(ctx, "watch")
	if err != nil {
		return nil, err
	}
	w.sess, w.sessAt = s, w.clock.Now()
	return s, nil
}

// release checkpoints the state and releases its lock, if held.
func (w *Watcher) release(ctx context.Context) {
	if w.sess == nil {
		return
	}
	w.broken = false
	if err := w.sess.Close(ctx); err != nil {
		w.m.errors.WithLabelValues("state").Inc()
		w.log.Error("closing the state (its journal holds every change; the next open folds it in)", "error", err)
	}
	w.sess = nil
}

// reserve returns a name in folder that no file has, derived from name:
// "batch.yaml", then "batch~2.yaml", "batch~3.yaml"... Reports of a name
// (NAME.result.json and the like) left without their file by a crash are
// this watcher's own and are overwritten.
func (w *Watcher) reserve(folder, name string) string {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	// Leave room for "~N" and ".result.json" within a 255-byte name.
	const maxName = 200
	if len(stem)+len(ext) > maxName {
		if len(ext) > 16 {
			ext = ""
		}
		stem = truncate(stem, maxName-len(ext))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := 1; ; i++ {
		cand := stem + ext
		if i > 1 {
			cand = fmt.Sprintf("%s~%d%s", stem, i, ext)
		}
		if w.reserved[folder+"/"+cand] {
			continue
		}
		if _, err := os.Lstat(w.path(folder, cand)); errors.Is(err, fs.ErrNotExist) {
			w.reserved[folder+"/"+cand] = true
			return cand
		}
	}
}

func (w *Watcher) unreserve(folder, name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.reserved, folder+"/"+name)
}

// truncate cuts s to at most n bytes on a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

// move renames folder/name into to under a free name, after writing its
// reports with write(final), and makes both durable. A clash (a file that
// appeared meanwhile) picks the next free name; nothing is overwritten.
func (w *Watcher) move(from, name, to string, write func(final string) error) (string, error) {
	for range 5 {
		final := w.reserve(to, name)
		err := w.moveAs(from, name, to, final, write)
		w.unreserve(to, final)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return final, nil
	}
	return "", fmt.Errorf("move %s to %s: every free name was taken as it was chosen", name, to)
}

func (w *Watcher) moveAs(from, name, to, final string, write func(final string) error) error {
	if write != nil {
		if err := write(final); err != nil {
			return err
		}
	}
	if err := renameNoReplace(w.path(from, name), w.path(to, final)); err != nil {
		return err
	}
	if err := atomicfile.SyncDir(w.path(to)); err != nil {
		return err
	}
	return atomicfile.SyncDir(w.path(from))
}
