package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/audit"
	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
)

// The auditors' commands: state diff, state verify, state export (here)
// and history (history.go). They read states and never write one.

func runStateDiff(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "state diff", "[-config FILE] [-json | -markdown] (OLD NEW | OLD | -git REV [FILE])", `
Compares two snapshots of one state and reports the payouts added, the status
changes (with the journal records behind them, from the newer snapshot's
journal), the payouts a person resolved, and the interval's totals per provider
and currency: paid, fees charged, returned, still pending and unknown.

  payctl state diff OLD NEW         two snapshot files (no payctl.yaml needed)
  payctl state diff OLD             OLD against the current state of payctl.yaml
  payctl state diff -git REV [FILE] FILE as of git revision REV against FILE now
                                    (FILE: payctl.yaml's state file by default)

Anything a legitimate history never does is a finding: a payout removed; an
amount, currency, recipient, provider, idempotency key or provider id changed; a
serial that went backwards or content changed without it; a different lineage;
a file that payctl itself would refuse. Findings are printed as errors and make
the command exit 1.`)
	gitRev := f.String("git", "", "compare with the state file as of git revision `REV` (HEAD, HEAD~3, a tag)")
	asJSON := f.Bool("json", false, "print the diff as JSON")
	asMarkdown := f.Bool("markdown", false, "print the diff as Markdown, for a pull request comment")
	if err := f.parse(args); err != nil {
		return err
	}
	if *asJSON && *asMarkdown {
		return errors.New("-json and -markdown cannot be combined: choose one output format")
	}
	var (
		old, cur    *audit.Snapshot
		journal     audit.Journal
		journalName string
		err         error
	)
	switch {
	case *gitRev != "":
		if f.NArg() > 1 {
			return withHint(fmt.Errorf("-git takes at most one state file, got %d arguments", f.NArg()), "payctl state diff -git HEAD~1 payctl.state.json")
		}
		path := f.Arg(0)
		if path == "" {
			if path, err = configuredStateFile(f); err != nil {
				return err
			}
		}
		data, err := audit.GitRevision(ctx, path, *gitRev)
		if errors.Is(err, audit.ErrGit) {
			return withHint(err, "the file must be committed at that revision: `git log --oneline -- %s` lists the revisions that have it", filepath.Base(path))
		}
		if err != nil {
			return err
		}
		if old, err = audit.ReadSnapshot(path+"@"+*gitRev, data, audit.GitSegments(ctx, path, *gitRev)); err != nil {
			return err
		}
		if cur, err = readSnapshotFile(path); err != nil {
			return err
		}
		journal, journalName = journalBeside(path)
	case f.NArg() == 2:
		if old, err = readSnapshotFile(f.Arg(0)); err != nil {
			return err
		}
		if cur, err = readSnapshotFile(f.Arg(1)); err != nil {
			return err
		}
		journal, journalName = journalBeside(f.Arg(1))
	case f.NArg() == 1:
		if old, err = readSnapshotFile(f.Arg(0)); err != nil {
			return err
		}
		w, err := f.workspace()
		if err != nil {
			return err
		}
		defer w.Close()
		st, err := w.OpenState(ctx, false, "state diff", 0)
		if err != nil {
			return withHint(err, "`payctl state verify` says what is wrong; to compare the files as they are, name both: payctl state diff %s STATEFILE", f.Arg(0))
		}
		cur = audit.FromState(w.StateLocation(), st.Snapshot())
		b, err := w.Backend()
		if err != nil {
			return err
		}
		journal, journalName = b, w.StateLocation()+" journal"
	case f.NArg() == 0:
		f.Usage()
		return &reported{summary: "missing the snapshots to compare"}
	default:
		return withHint(fmt.Errorf("state diff compares two snapshots, got %d arguments", f.NArg()), "payctl state diff OLD NEW")
	}
	d := audit.Compare(old, cur)
	if journal != nil {
		if err := d.AttachEvents(ctx, journalName, journal, old, cur); err != nil {
			return err
		}
	}
	switch {
	case *asJSON:
		err = d.WriteJSON(e.Stdout)
	case *asMarkdown:
		err = d.WriteMarkdown(e.Stdout)
	default:
		err = d.WriteText(e.Stdout)
	}
	if err != nil {
		return err
	}
	return findingsError(d.Findings)
}

// readSnapshotFile reads a snapshot leniently, for auditing.
func readSnapshotFile(path string) (*audit.Snapshot, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, withHint(fmt.Errorf("%s does not exist", path), "name a payctl state snapshot, such as payctl.state.json")
	}
	if err != nil {
		return nil, err
	}
	return audit.ReadSnapshot(path, data, audit.LocalSegments(path))
}

// journalBeside is the journal of the local state at path, if it has one.
func journalBeside(path string) (audit.Journal, string) {
	l := localstate.New(path, nil, nil)
	if _, err := os.Stat(l.JournalPath()); err != nil {
		return nil, ""
	}
	return l, l.JournalPath()
}

// configuredStateFile is payctl.yaml's local state file, as a path
// relative to the working directory when it is below it.
func configuredStateFile(f *flags) (string, error) {
	w, err := f.workspace()
	if err != nil {
		return "", err
	}
	defer w.Close()
	if b := w.Config.State.Backend; b != "" && b != config.BackendLocal {
		return "", withHint(fmt.Errorf("-git needs a state file, and %s keeps its state in %s", w.Config.File, w.StateLocation()),
			"export the state to a file, or compare two snapshot files: payctl state diff OLD NEW")
	}
	return displayPath(w.Config.State.Path), nil
}

// displayPath shortens an absolute path to one relative to the working
// directory when it is below it, for messages and reports.
func displayPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

// auditBackend is the state an auditor's command reads: the local state
// given with -state (no payctl.yaml needed), or payctl.yaml's backend. The
// returned close releases what was opened.
func auditBackend(f *flags, stateFile string) (state.Backend, func(), error) {
	if stateFile != "" {
		if f.config != "" {
			return nil, nil, errors.New("-state and -config cannot be combined: -state names the state directly")
		}
		l := localstate.New(stateFile, f.logger(), nil)
		return l, func() { l.Close() }, nil
	}
	w, err := f.workspace()
	if err != nil {
		return nil, nil, withHint(err, "or name a local state directly with -state FILE")
	}
	b, err := w.Backend()
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	if l, ok := b.(*localstate.Backend); ok {
		// The same files, named as the user would type them.
		b = localstate.New(displayPath(l.Path), f.logger(), nil)
	}
	return b, func() { w.Close() }, nil
}

// maxPrinted bounds the findings repeated as errors on stderr; the report
// on stdout has them all.
const maxPrinted = 20

// findingsError prints findings as errors: each once, each distinct hint
// once, after the last finding that has it.
func findingsError(list []*audit.Finding) error {
	if len(list) == 0 {
		return nil
	}
	shown := list
	if len(shown) > maxPrinted {
		shown = shown[:maxPrinted]
	}
	lastWith := map[string]int{}
	for i, f := range shown {
		if f.Hint != "" {
			lastWith[f.Hint] = i
		}
	}
	var errs []error
	for i, f := range shown {
		var err error = f
		if f.Hint != "" && lastWith[f.Hint] == i {
			err = withHint(f, "%s", f.Hint)
		}
		errs = append(errs, err)
	}
	if n := len(list) - len(shown); n > 0 {
		errs = append(errs, fmt.Errorf("and %d more findings; the report above lists them all", n))
	}
	return errors.Join(errs...)
}

func runStateVerify(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "state verify", "[-config FILE | -state FILE] [-from REV] [-json]", `
Checks that a state can be trusted, and prints a one-line verdict and every
problem with what to do about it:

  - every journal record matches its own hash, the sequence has no gap or
    reordering, and each record names the hash of the one before it;
  - folding the journal up to the snapshot's serial gives exactly the snapshot
    (an edit to the snapshot alone shows here, field by field);
  - the snapshot is one payctl would load, and its journal mark is right;
  - local state files are private (mode 0600);
  - every paid payout has the provider's ids (a payout a person resolved as
    paid may have none; it is listed as a note, with who and why).

The journal is streamed, so verify works on journals of any length. Exit status
1 on any problem.

-from REV verifies a local state kept in git from a revision an earlier audit
verified: payctl checks that the journal record after that revision's serial
names its exact bytes and chains to it, then reads only the records since and
the batches they touched, and checks that every other batch is unchanged. Its
cost follows what happened since, not the whole history; what came before is
what the earlier audit vouched for, so run verify without -from to check
everything.`)
	stateFile := f.String("state", "", "verify the local state at `FILE` instead of payctl.yaml's (no config needed)")
	asJSON := f.Bool("json", false, "print the report as JSON")
	from := f.String("from", "", "verify from the state at git revision `REV`, trusted by an earlier audit (local segmented states)")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return withHint(fmt.Errorf("state verify takes no arguments, got %q", f.Arg(0)), "to verify a state file, pass -state %s", f.Arg(0))
	}
	b, closeState, err := auditBackend(f, *stateFile)
	if err != nil {
		return err
	}
	defer closeState()
	var rep *audit.Report
	if *from != "" {
		rep, err = verifyFrom(ctx, b, *from)
	} else {
		rep, err = audit.Verify(ctx, b)
	}
	if errors.Is(err, audit.ErrNoState) {
		return withHint(err, "check the path (payctl.yaml's state:, or -state FILE); a state is created by the first apply")
	}
	if err != nil {
		return err
	}
	if *asJSON {
		err = rep.WriteJSON(e.Stdout)
	} else {
		err = rep.WriteText(e.Stdout)
	}
	if err != nil {
		return err
	}
	return findingsError(rep.Problems)
}

// trustedAt reads the local state b as of git revision rev, for -from.
func trustedAt(ctx context.Context, b state.Backend, rev string) (*localstate.Backend, audit.Trusted, error) {
	l, ok := b.(*localstate.Backend)
	if !ok {
		return nil, audit.Trusted{}, withHint(fmt.Errorf("-from needs a local state kept in git; %s is not one", b.Describe()), "leave out -from to read the whole journal")
	}
	t, err := audit.TrustedAt(ctx, l.Path, rev)
	if errors.Is(err, audit.ErrGit) {
		return nil, t, withHint(err, "name a commit, branch or tag that holds the state (`git log -- %s`)", l.Path)
	}
	return l, t, err
}

const trustedFormatHint = "leave out -from to read everything, or name a revision after `payctl state migrate`"

// verifyFrom verifies the local state b from its version at git revision
// rev.
func verifyFrom(ctx context.Context, b state.Backend, rev string) (*audit.Report, error) {
	l, t, err := trustedAt(ctx, b, rev)
	if err != nil {
		return nil, err
	}
	rep, err := audit.VerifyFrom(ctx, l, t)
	if errors.Is(err, audit.ErrTrustedFormat) {
		return nil, withHint(err, trustedFormatHint)
	}
	return rep, err
}

// journalSince is the journal of the local state b since its version at
// git revision rev.
func journalSince(ctx context.Context, b state.Backend, rev string) (audit.Journal, error) {
	l, t, err := trustedAt(ctx, b, rev)
	if err != nil {
		return nil, err
	}
	j, err := audit.JournalSince(l, t)
	if errors.Is(err, audit.ErrTrustedFormat) {
		return nil, withHint(err, trustedFormatHint)
	}
	return j, err
}

func runStateExport(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "state export", "[-config FILE | -state FILE] [-format csv|json|xlsx] [-bom] [-provider NAME] [-status S] [BATCH...]", `
Writes one row per payout attempt for a spreadsheet or an accounting import:
batch, id, attempt, recipient name, account (last four digits), bank, country,
currency, amount, fee, fee bearer, provider, provider type, provider ids,
provider payout, status, sent at, final at, resolved by, idempotency key; then,
when any exported payout has them, its reference and one column per metadata
key (metadata.invoice, metadata.costCentre, ...).

Amounts are exact decimal strings; times are RFC 3339 in UTC. CSV follows RFC
4180 with a header row; a text cell that a spreadsheet would run as a formula
(starting with = + - @, a tab or a carriage return) gets a leading apostrophe.
-bom starts the CSV with a UTF-8 byte order mark, which Excel needs to read
non-ASCII names right; it is off by default because other readers take the mark
for part of the first column's name. JSON is an array of the same rows, values
unchanged. xlsx is an Excel workbook whose cells are text (accounts and amounts
are never turned into numbers); it is written to standard output, which must be
redirected to a file.

The fee is the one the provider returned. A batch provider (Dinar Dragon)
charges one fee per provider payout: it is on the row of the provider payout's
first payout, and the other rows of that provider payout leave it empty, so the
column adds up to what was charged.`)
	stateFile := f.String("state", "", "export the local state at `FILE` instead of payctl.yaml's (no config needed)")
	format := f.String("format", "csv", "`csv`, json or xlsx")
	bom := f.Bool("bom", false, "start the CSV with a UTF-8 byte order mark, for Excel")
	provider := f.String("provider", "", "only attempts of this provider")
	status := f.String("status", "", "only attempts with this `status` (pending, paid, failed, unknown, sending, not-sent)")
	if err := f.parse(args); err != nil {
		return err
	}
	switch *format {
	case "csv", "json", "xlsx":
	default:
		return fmt.Errorf("-format %q: use csv, json or xlsx", *format)
	}
	if *bom && *format != "csv" {
		return fmt.Errorf("-bom is for -format csv: JSON and xlsx files need no byte order mark")
	}
	raw := e.RawStdout
	if raw == nil {
		raw = e.Stdout
	}
	if *format == "xlsx" && e.IsTerminal != nil && (e.IsTerminal(e.Stdout) || e.IsTerminal(raw)) {
		return withHint(fmt.Errorf("-format xlsx writes a binary workbook; not writing it to the terminal"), "redirect it to a file: payctl state export -format xlsx > payouts.xlsx")
	}
	if err := checkStatus(*status); err != nil {
		return err
	}
	b, closeState, err := auditBackend(f, *stateFile)
	if err != nil {
		return err
	}
	defer closeState()
	st, err := state.Open(ctx, b, state.Options{Op: "state export"})
	if err != nil {
		return withHint(err, "`payctl state verify` says what is wrong with the state")
	}
	rows := audit.Rows(st.Snapshot(), audit.RowFilter{Batches: f.Args(), Provider: *provider, Status: providers.Status(*status)})
	switch *format {
	case "json":
		return audit.WriteRowsJSON(e.Stdout, rows)
	case "xlsx":
		// A zip file: the escaping backstop of standard output would
		// corrupt it. Every text cell is escaped by WriteXLSX itself.
		return audit.WriteXLSX(raw, rows)
	}
	if *bom {
		// The mark is the one invisible character the backstop must let
		// through; every cell after it is escaped by WriteCSV itself.
		if _, err := io.WriteString(raw, audit.BOM); err != nil {
			return err
		}
	}
	return audit.WriteCSV(e.Stdout, rows)
}

// statuses are the statuses a state records, for -status flags.
var statuses = []providers.Status{
	providers.StatusPending, providers.StatusPaid, providers.StatusFailed,
	providers.StatusUnknown, providers.StatusSending, providers.StatusNotSent,
}

func checkStatus(s string) error {
	if s == "" {
		return nil
	}
	var names []string
	for _, st := range statuses {
		if string(st) == s {
			return nil
		}
		names = append(names, string(st))
	}
	return fmt.Errorf("-status %q is not a status: use one of %s", s, strings.Join(names, ", "))
}

// parseWhen reads a -since/-until value: a date (midnight UTC starting it)
// or an RFC 3339 time.
func parseWhen(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("-%s %q: use a date such as 2026-11-01 (midnight UTC) or an RFC 3339 time such as 2026-11-01T09:00:00+07:00", flag, v)
	}
	return t, nil
}
