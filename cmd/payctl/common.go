package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/term"

	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/safetext"
	"github.com/payctl/payctl/internal/workspace"
	"github.com/payctl/payctl/state"
)

// flags is a subcommand's flag set with the flags every command shares.
type flags struct {
	*flag.FlagSet
	config  string
	verbose bool
	e       *Env
	args    []string
}

func newFlags(e *Env, name, usage, help string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	f := &flags{FlagSet: fs, e: e}
	fs.StringVar(&f.config, "config", "", "the config file (default: payctl.yaml in the working directory)")
	fs.BoolVar(&f.verbose, "v", false, "log what payctl does to stderr (also PAYCTL_LOG=debug|info|warn)")
	fs.Usage = func() {
		fmt.Fprintf(e.Stderr, "usage: payctl %s %s\n\n%s\n\nFlags:\n", name, usage, strings.TrimSpace(help))
		fs.PrintDefaults()
	}
	return f
}

// parse parses args, allowing flags after positional arguments
// ("payctl state resolve ADDR -paid -reason ..."); "--" ends flags. -h
// prints usage and ends the command successfully.
func (f *flags) parse(args []string) error {
	var pos []string
	for {
		err := f.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			return exitCode(0)
		}
		if err != nil {
			return &reported{summary: err.Error()}
		}
		rest := f.FlagSet.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	f.args = pos
	return nil
}

// Args are the positional arguments.
func (f *flags) Args() []string { return f.args }

// NArg is the number of positional arguments.
func (f *flags) NArg() int { return len(f.args) }

// Arg is the i-th positional argument.
func (f *flags) Arg(i int) string {
	if i < len(f.args) {
		return f.args[i]
	}
	return ""
}

// logLevel is PAYCTL_LOG's level (debug, info, warn, error), or def.
func logLevel(e *Env, def slog.Level) slog.Level {
	switch strings.ToLower(e.Getenv("PAYCTL_LOG")) {
	case "debug":
		return slog.LevelDebug
	case "info":
		return slog.LevelInfo
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return def
}

func (f *flags) logger() *slog.Logger {
	level := logLevel(f.e, slog.LevelWarn)
	if f.verbose && level > slog.LevelInfo {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(f.e.Stderr, &slog.HandlerOptions{Level: level, ReplaceAttr: escapeAttr}))
}

// configPath finds payctl.yaml: -config, else PAYCTL_CONFIG, else the
// working directory.
func (f *flags) configPath() (string, error) {
	if f.config != "" {
		return f.config, nil
	}
	if p := f.e.Getenv("PAYCTL_CONFIG"); p != "" {
		return p, nil
	}
	// Relative, so messages say "payctl.yaml:6", not a long path.
	p, err := config.Find(".")
	if errors.Is(err, config.ErrNotFound) {
		wd, _ := os.Getwd()
		return "", withHint(fmt.Errorf("no %s in %s", config.DefaultFile, wd),
			"run payctl in the folder holding payctl.yaml, or pass -config FILE; examples/quickstart/payctl.yaml is a working example")
	}
	return p, err
}

func (f *flags) workspace() (*workspace.Workspace, error) {
	path, err := f.configPath()
	if err != nil {
		return nil, err
	}
	w, err := workspace.Load(path, f.logger(), f.e.Getenv)
	if err != nil {
		return nil, err
	}
	w.Warn = func(msg string) { fmt.Fprintf(f.e.Stderr, "payctl: warning: %s\n", msg) }
	if err := testSeams(w, f.e.Getenv); err != nil {
		return nil, err
	}
	return w, nil
}

// steppingClock starts at t0 and advances one second per reading.
func steppingClock(t0 time.Time) func() time.Time {
	var mu sync.Mutex
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t0 = t0.Add(time.Second)
		return t0
	}
}

// testSeams makes a run byte-for-byte repeatable for payctl's own tests:
// PAYCTL_TEST_NOW starts a clock at an RFC 3339 time that advances one
// second per reading, and PAYCTL_TEST_IDS=1 derives lineages and provider
// payout ids from a counter. PAYCTL_TEST_STATE_FORMAT=1 creates a new
// state (local or PostgreSQL) in the single-file format, for the tests of states created
// before segments, and PAYCTL_TEST_JOURNAL_SEGMENT=N seals the journal
// into a new segment past N bytes. Never set them in production.
func testSeams(w *workspace.Workspace, getenv func(string) string) error {
	if getenv("PAYCTL_TEST_STATE_FORMAT") == "1" {
		w.StateFormat = state.Version
	}
	if v := getenv("PAYCTL_TEST_JOURNAL_SEGMENT"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("PAYCTL_TEST_JOURNAL_SEGMENT: %w", err)
		}
		w.JournalSegment = n
	}
	if v := getenv("PAYCTL_TEST_NOW"); v != "" {
		t0, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return fmt.Errorf("PAYCTL_TEST_NOW: %w", err)
		}
		// The state gets a clock of its own: its event times then step
		// with the journal, whatever other goroutines read meanwhile.
		w.Now, w.StateNow = steppingClock(t0), steppingClock(t0)
	}
	if getenv("PAYCTL_TEST_IDS") != "" {
		var n atomic.Int64
		w.NewID = func() string {
			return uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("payctl-test-", n.Add(1)))).String()
		}
	}
	return nil
}

// diagErrors returns the positioned errors inside err, if it is a list.
func diagErrors(err error) diag.List {
	var l diag.List
	if errors.As(err, &l) {
		return l
	}
	return nil
}

func isTerminal(f any) bool {
	if w, ok := f.(*safetext.Writer); ok {
		f = w.W
	}
	if fd, ok := f.(interface{ Fd() uintptr }); ok {
		return term.IsTerminal(int(fd.Fd()))
	}
	return false
}

func (e *Env) stderrIsTerminal() bool { return e.IsTerminal != nil && e.IsTerminal(e.Stderr) }
func (e *Env) stdinIsTerminal() bool  { return e.IsTerminal != nil && e.IsTerminal(e.Stdin) }

func needArgs(f *flags, what string) error {
	if f.NArg() == 0 {
		f.Usage()
		return &reported{summary: "missing " + what}
	}
	return nil
}

// esc is how payctl prints text it did not write (names, file names,
// provider ids and answers): unsafe characters as \uXXXX escapes.
func esc(s string) string { return safetext.Escape(s) }

// escv is esc of a value's text.
func escv(v any) string { return safetext.Escape(fmt.Sprint(v)) }

// escapeAttr is the ReplaceAttr of payctl's loggers: log lines carry file
// names, provider answers and errors quoting them, so every string value
// and error text is escaped (safetext.Escape), in text and JSON logs alike.
func escapeAttr(_ []string, a slog.Attr) slog.Attr {
	switch v := a.Value; v.Kind() {
	case slog.KindString:
		if s := v.String(); s != safetext.Escape(s) {
			a.Value = slog.StringValue(safetext.Escape(s))
		}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			a.Value = slog.StringValue(safetext.Escape(x.Error()))
		}
	}
	return a
}
