// Package workspace puts a payctl.yaml to work: it resolves provider
// defaults, opens the state backend, reads credentials from the
// environment (only when a command needs a provider), and starts built-in
// emulators for providers configured with `emulator: true`.
//
// cmd/payctl, watch and serve all go through it, so every command sees a
// config the same way.
package workspace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/payctl/payctl/apply"
	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/gitstate"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/internal/reserved"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/registry"
	"github.com/payctl/payctl/schema"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
	"github.com/payctl/payctl/state/pgstate"
)

// Workspace is a loaded config and what it opens.
type Workspace struct {
	Config *config.Config
	Logger *slog.Logger
	Getenv func(string) string
	Now    func() time.Time
	// StateNow, if set, is the state's own clock (journal event times);
	// nil means Now. Tests give the state a clock of its own so that event
	// times do not depend on what other goroutines read meanwhile.
	StateNow func() time.Time
	// NewID, if set, makes lineages and provider payout ids (tests set it
	// for byte-stable files).
	NewID func() string

	// CreateState lets a writer that finds no state start it (`apply
	// -init`): its first record creates it. Otherwise a writer refuses a
	// missing state.
	CreateState bool
	// StateFormat is the format a new state is created in:
	// segmented when 0 (tests of the single-file format, which states
	// created before segments keep, set state.Version).
	StateFormat int
	// JournalSegment is the size past which a local state's checkpoint
	// seals its journal (see localstate.DefaultJournalSegment); 0 for the
	// default.
	JournalSegment int64
	// Warn prints a warning to a person; nil logs it.
	Warn func(msg string)

	mu        sync.Mutex
	emulators []*runningEmulator
	backend   state.Backend
	fresh     *state.State // the state CreateState let a writer start
	warned    map[string]bool
	// outsideGit records that the state is in no git work tree (or git
	// is not installed): that does not change while payctl runs, so the
	// git processes are not started again at every open of a watch or
	// serve session.
	outsideGit bool
}

type runningEmulator struct {
	name string
	em   providers.Emulator
	host *providers.EmulatorHost
	url  string
}

// Load reads the config at path.
func Load(path string, logger *slog.Logger, getenv func(string) string) (*Workspace, error) {
	cfg, errs := config.Load(path)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	w := &Workspace{Config: cfg, Logger: logger, Getenv: getenv, Now: time.Now}
	var errList diag.List
	for _, name := range cfg.ProviderNames() {
		p := cfg.Providers[name]
		if _, ok := registry.Lookup(p.Type); !ok {
			errList.Add(cfg.File, p.Pos["type"], "provider %s: unknown type %q (known: %s)", name, p.Type, strings.Join(registry.Names(), ", "))
		}
	}
	if err := errList.Err(); err != nil {
		return nil, err
	}
	return w, nil
}

// Type returns a configured provider's type.
func (w *Workspace) Type(name string) *providers.Type {
	p := w.Config.Providers[name]
	if p == nil {
		return nil
	}
	t, _ := registry.Lookup(p.Type)
	return t
}

// PlanProvider resolves what the plan needs of a provider: its fee
// schedule (the type's defaults unless payctl.yaml sets one) and its shape.
func (w *Workspace) PlanProvider(name string) *plan.Provider {
	p, t := w.Config.Providers[name], w.Type(name)
	if p == nil || t == nil {
		return nil
	}
	c := money.CurrencyOf(t.Rules.Currency())
	fees := t.DefaultFees
	if p.FeesSet {
		fees = p.Fees
		if fees.Places < 0 {
			fees.Places = c.Scale
		}
	}
	pp := &plan.Provider{Name: name, Type: p.Type, Batch: t.Batch, Currency: c, Fees: fees}
	if t.Batch {
		pp.MaxBatch = maxBatch(p, t)
	}
	return pp
}

// maxBatch is a batch provider's payouts per provider payout: payctl.yaml's
// maxBatch, else the type's default.
func maxBatch(p *config.Provider, t *providers.Type) int {
	if p.MaxBatch > 0 {
		return p.MaxBatch
	}
	return t.DefaultMaxBatch
}

// PlanProviders resolves every configured provider.
func (w *Workspace) PlanProviders() map[string]*plan.Provider {
	out := map[string]*plan.Provider{}
	for _, n := range w.Config.ProviderNames() {
		if pp := w.PlanProvider(n); pp != nil {
			out[n] = pp
		}
	}
	return out
}

// LoadManifests reads and checks manifests: decoding, schema, provider
// rules, policy limits, and a fee the recipient bears that would leave
// them nothing (plan refuses it as well). All errors of all files come
// back at once, sorted, at most diag.MaxPerFile of each file and then a
// count of the rest. payctl.yaml and the state's files in a folder are
// skipped (see OwnFiles).
func (w *Workspace) LoadManifests(paths []string) ([]*schema.Batch, diag.List) {
	batches, errs := schema.LoadWith(paths, w.Config.ImportRules(), w.OwnFiles()...)
	errs = append(errs, schema.Check(batches, w.Config.Deployment(), registry.Rules)...)
	errs = append(errs, plan.CheckFees(batches, w.PlanProviders())...)
	errs.Sort()
	errs.Limit(diag.MaxPerFile)
	return batches, errs
}

// OwnFiles are payctl.yaml and the local state's files, with what each
// is: never read as manifests, never written over by a command's output.
func (w *Workspace) OwnFiles() []reserved.File {
	files := []reserved.File{{Path: w.Config.File, What: "the config file"}}
	if b := w.Config.State.Backend; b == "" || b == config.BackendLocal {
		files = append(files, StateFiles(w.Config.State.Path)...)
	}
	return files
}

// StateFiles are the files of a local state whose snapshot is at path.
func StateFiles(path string) []reserved.File {
	return []reserved.File{
		{Path: path, What: "the state's snapshot"},
		{Path: path + ".journal", What: "the state's journal"},
		{Path: path + ".lock", What: "the state's lock"},
		{Path: path + ".backup", What: "the state's backup"},
		{Path: path + ".journal.backup", What: "the state's journal backup"},
	}
}

// Backend opens the configured state backend.
func (w *Workspace) Backend() (state.Backend, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.backend != nil {
		return w.backend, nil
	}
	switch w.Config.State.Backend {
	case "", config.BackendLocal:
		l := localstate.New(w.Config.State.Path, w.Logger, w.Now)
		l.Format, l.JournalSegment = w.StateFormat, w.JournalSegment
		w.backend = l
	case config.BackendPostgres:
		b, err := w.openPostgres()
		if err != nil {
			return nil, err
		}
		w.backend = b
	default:
		return nil, fmt.Errorf("%s: state backend %q is not available in this build", w.Config.File, w.Config.State.Backend)
	}
	return w.backend, nil
}

func (w *Workspace) openPostgres() (state.Backend, error) {
	st := w.Config.State
	if st.DSNEnv == "" || st.Name == "" {
		return nil, fmt.Errorf("%s: the postgres state backend needs dsnEnv (the environment variable holding the connection string) and name (the state's name in the database)", w.Config.File)
	}
	dsn := w.Getenv(st.DSNEnv)
	if dsn == "" {
		return nil, diag.WithHint(
			fmt.Errorf("the state postgres:%s needs the environment variable %s (named by state.dsnEnv in %s), which is not set", st.Name, st.DSNEnv, w.Config.File),
			"export %s=postgres://USER:PASSWORD@HOST:5432/DATABASE (the password belongs in the environment only, never in payctl.yaml)", st.DSNEnv)
	}
	return pgstate.New(pgstate.Options{DSN: dsn, DSNEnv: st.DSNEnv, Name: st.Name, Format: w.StateFormat, Logger: w.Logger, Now: w.Now})
}

// OpenState opens the state, for writing (with the lock) or reading.
func (w *Workspace) OpenState(ctx context.Context, write bool, op string, wait time.Duration) (*state.State, error) {
	return w.Open(ctx, state.Options{Write: write, Op: op, LockWait: wait})
}

// Open opens the state with o, the workspace's clock and lineages.
func (w *Workspace) Open(ctx context.Context, o state.Options) (*state.State, error) {
	b, err := w.Backend()
	if err != nil {
		return nil, err
	}
	o.Now, o.NewLineage = w.stateNow(), w.NewID
	st, err := state.Open(ctx, b, o)
	if err != nil {
		return nil, err
	}
	if err := w.checkIdentity(ctx, st, o.Write); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// LineageError is a state whose lineage is not the one payctl.yaml pins:
// another state than the one the config pays from.
type LineageError struct {
	Location string
	Lineage  string // the state's
	Pin      string // payctl.yaml's
	Line     string // payctl.yaml's state line, as it would pin Lineage
}

func (e *LineageError) Error() string {
	return fmt.Sprintf("the state %s has lineage %s, but payctl.yaml pins lineage %s: it is another state than the one this config pays from", e.Location, e.Lineage, e.Pin)
}

// checkIdentity makes sure st is the state payctl.yaml means. Any command
// refuses a state of another lineage than the pin. A writer refuses a
// missing state (unless CreateState, and then only without a pin: a
// pinned state exists somewhere, and a new one would forget what it
// paid), and an unpinned state when a provider cannot look a payout up
// by payctl's key; it warns about any other unpinned state.
func (w *Workspace) checkIdentity(ctx context.Context, st *state.State, write bool) error {
	loc, pin, lineage := w.StateLocation(), w.Config.State.Lineage, st.Lineage()
	if write {
		if err := w.checkNotBehind(ctx); err != nil {
			return err
		}
	}
	if lineage == "" {
		if !write {
			return nil
		}
		if pin != "" {
			return diag.WithHint(fmt.Errorf("%w at %s, but %s pins lineage %s: payctl will not start a new state in place of the one it paid from", state.ErrNotExist, loc, w.Config.File, pin),
				"restore the state of lineage %s (from version control, a backup or the machine that ran the last apply) before paying; `payctl init` would start a state of another lineage, which this config refuses", pin)
		}
		if !w.CreateState {
			return diag.WithHint(fmt.Errorf("%w at %s: payctl does not start a state implicitly, since a new state does not know what an earlier one paid", state.ErrNotExist, loc),
				"run `payctl init` to create it (and pin its lineage in %s), or restore the state if it exists elsewhere; `payctl apply -init` creates it on first use", w.Config.File)
		}
		// The create record goes to the journal with the first event, as
		// for `payctl init`; a run that records nothing leaves no state.
		w.mu.Lock()
		w.fresh = st
		w.mu.Unlock()
		return nil
	}
	if pin != "" && lineage != pin {
		return diag.WithHint(&LineageError{Location: loc, Lineage: lineage, Pin: pin, Line: w.Config.PinLine(lineage)},
			"use the state of lineage %s (restore it from version control or a backup); if this state is really the one to pay from, pin it in %s with: %s", pin, w.Config.File, w.Config.PinLine(lineage))
	}
	if pin != "" || !write || lineage == w.Created() {
		return nil
	}
	if names := w.UnkeyedProviders(); len(names) > 0 {
		return diag.WithHint(fmt.Errorf("%s does not pin the state's lineage, and %s cannot look a payout up by payctl's key: a missing or stale state would pay again", w.Config.File, strings.Join(names, ", ")),
			"check that %s (lineage %s) is the latest state, then pin it in %s with: %s", loc, lineage, w.Config.File, w.Config.PinLine(lineage))
	}
	w.warn(fmt.Sprintf("%s does not pin the state's lineage; pin it with: %s", w.Config.File, w.Config.PinLine(lineage)))
	return nil
}

// AllowBehindEnv names the environment variable that lets a writer use a
// local state whose git checkout is behind its upstream, for a deliberate
// case (the upstream's commits are known not to have paid anything).
const AllowBehindEnv = "PAYCTL_ALLOW_STALE_CHECKOUT"

// checkNotBehind refuses a local state whose git checkout lacks commits
// of its upstream that change the state, or whose journal in the work tree
// is not the committed one with records appended: either is an older
// state, which would pay again what the newer one recorded. A PostgreSQL state is
// never stale this way: every writer reads the one database. Changes to
// the files that payctl did not make are refused by the state's own
// checks (the snapshot's digest, the journal's hash chain).
func (w *Workspace) checkNotBehind(ctx context.Context) error {
	if w.Config.State.Backend == config.BackendPostgres || w.Getenv(AllowBehindEnv) == "1" {
		return nil
	}
	w.mu.Lock()
	outside := w.outsideGit
	w.mu.Unlock()
	if outside {
		return nil
	}
	g := gitstate.Of(ctx, w.Config.State.Path)
	if !g.InWorkTree {
		w.mu.Lock()
		w.outsideGit = true
		w.mu.Unlock()
		return nil
	}
	if g.Rewound {
		return diag.WithHint(fmt.Errorf("the state %s is not the one committed in git: its journal is not the committed journal with records added (payctl only ever appends), so an older state was checked out over it, or it was cut or replaced", w.StateLocation()),
			"restore the committed state (git checkout -- %s %s.journal) and run again; if the files in the work tree are deliberately the right ones, set %s=1 for this run", filepath.Base(w.Config.State.Path), filepath.Base(w.Config.State.Path), AllowBehindEnv)
	}
	if g.Behind == 0 {
		return nil
	}
	commits := fmt.Sprintf("%d commits", g.Behind)
	if g.Behind == 1 {
		commits = "1 commit"
	}
	return diag.WithHint(fmt.Errorf("the state %s is stale: its git checkout is %s behind its upstream for the state's files (as of the last fetch), which it does not know of", w.StateLocation(), commits),
		"pull (git pull --ff-only) and run again; if those commits are known to have paid nothing, set %s=1 for this run", AllowBehindEnv)
}

// CheckState checks, without taking the lock, what a writer's OpenState
// checks: that the state exists, is of the pinned lineage, and is pinned
// where a provider needs it. Services run it at their start.
func (w *Workspace) CheckState(ctx context.Context) error {
	b, err := w.Backend()
	if err != nil {
		return err
	}
	st, err := state.Open(ctx, b, state.Options{Op: "check", Now: w.stateNow()})
	if err != nil {
		return err
	}
	defer st.Close()
	return w.checkIdentity(ctx, st, true)
}

// UnkeyedProviders names the configured providers that cannot look a
// payout up by payctl's key (see providers.Type.KeyedLookup), with their
// type's title.
func (w *Workspace) UnkeyedProviders() []string {
	var names []string
	for _, n := range w.Config.ProviderNames() {
		if t := w.Type(n); t != nil && !t.KeyedLookup {
			names = append(names, fmt.Sprintf("provider %s (%s)", n, t.Title))
		}
	}
	return names
}

func (w *Workspace) warn(msg string) {
	w.mu.Lock()
	seen := w.warned[msg]
	if w.warned == nil {
		w.warned = map[string]bool{}
	}
	w.warned[msg] = true
	w.mu.Unlock()
	if seen {
		return // a service opens the state again and again
	}
	if w.Warn != nil {
		w.Warn(msg)
		return
	}
	w.Logger.Warn(msg)
}

// Created is the lineage of the state this workspace created (CreateState),
// "" if it created none.
func (w *Workspace) Created() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fresh == nil {
		return ""
	}
	return w.fresh.Lineage()
}

// InitState creates the configured state: it refuses a state that exists
// already (state.ErrExists). It returns the new lineage.
func (w *Workspace) InitState(ctx context.Context, wait time.Duration) (string, error) {
	b, err := w.Backend()
	if err != nil {
		return "", err
	}
	st, err := state.Open(ctx, b, state.Options{Write: true, Op: "init", LockWait: wait, Now: w.stateNow(), NewLineage: w.NewID})
	if err != nil {
		return "", err
	}
	defer st.Close()
	l, err := st.Create(ctx)
	if err != nil {
		return "", err
	}
	if err := st.Checkpoint(ctx); err != nil {
		return "", err
	}
	return l, nil
}

// Identity reads the state's lineage ("" for no state) and serial,
// without the lock and without checking them against payctl.yaml.
func (w *Workspace) Identity(ctx context.Context) (string, uint64, error) {
	b, err := w.Backend()
	if err != nil {
		return "", 0, err
	}
	st, err := state.Open(ctx, b, state.Options{Op: "doctor", Now: w.stateNow()})
	if err != nil {
		return "", 0, err
	}
	defer st.Close()
	snap := st.Snapshot()
	return snap.Lineage, snap.Serial, nil
}

func (w *Workspace) stateNow() func() time.Time {
	if w.StateNow != nil {
		return w.StateNow
	}
	return w.Now
}

// StateLocation names the state in plans and messages.
func (w *Workspace) StateLocation() string {
	if w.Config.State.Backend == config.BackendPostgres {
		return "postgres:" + w.Config.State.Name
	}
	if rel, err := filepath.Rel(w.Config.Dir, w.Config.State.Path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return w.Config.State.Path
}

// MissingCredentialError names an environment variable a provider needs.
type MissingCredentialError struct {
	Provider, Field, Var string
}

func (e *MissingCredentialError) Error() string {
	return fmt.Sprintf("provider %s needs the environment variable %s (named by %s in payctl.yaml), which is not set", e.Provider, e.Var, e.Field)
}

// HasCredentials reports whether a provider talks to its real API with
// credentials present in the environment: every credential payctl.yaml
// names is set, and it names at least one. An emulator has none.
func (w *Workspace) HasCredentials(name string) bool {
	p, t := w.Config.Providers[name], w.Type(name)
	if p == nil || t == nil || p.Emulator {
		return false
	}
	n := 0
	for _, c := range t.Credentials {
		v := p.Env[c.Field]
		switch {
		case v == "" && c.Optional:
			continue
		case v == "" || w.Getenv(v) == "":
			return false
		}
		n++
	}
	return n > 0
}

// OpenProvider opens a configured provider: the real API with credentials
// from the environment, or the built-in emulator.
func (w *Workspace) OpenProvider(name string) (providers.Provider, error) {
	p, t := w.Config.Providers[name], w.Type(name)
	if p == nil || t == nil {
		return nil, fmt.Errorf("provider %q is not in %s", name, w.Config.File)
	}
	o := providers.Options{
		Name: name, BaseURL: p.BaseURL, CallbackURL: p.CallbackURL, Timeout: p.Timeout,
		MaxBatch: p.MaxBatch, Logger: w.Logger.With("provider", name), Now: w.Now,
		Credentials: map[string]string{},
	}
	if t.Batch {
		o.MaxBatch = maxBatch(p, t)
	}
	if p.Emulator {
		em, err := w.startEmulator(name, t)
		if err != nil {
			return nil, err
		}
		o.BaseURL = em.url
		for k, v := range em.em.Credentials() {
			o.Credentials[k] = v
		}
		if o.CallbackURL == "" {
			// The discard port: nothing listens there, so an emulator's
			// callbacks reach no payctl serve by accident; the emulator
			// logs them as undeliverable and carries on.
			o.CallbackURL = "http://127.0.0.1:9/callbacks/" + name
		}
	} else {
		for _, c := range t.Credentials {
			v := p.Env[c.Field]
			if v == "" {
				if !c.Optional {
					return nil, fmt.Errorf("provider %s: %s is not set in %s", name, c.Field, w.Config.File)
				}
				continue
			}
			// Optional means payctl.yaml may leave the field out; a
			// variable it names must be set.
			val := w.Getenv(v)
			if val == "" {
				return nil, &MissingCredentialError{Provider: name, Field: c.Field, Var: v}
			}
			o.Credentials[c.Field] = val
		}
	}
	return t.Open(o)
}

func (w *Workspace) startEmulator(name string, t *providers.Type) (*runningEmulator, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.emulators {
		if e.name == name {
			return e, nil
		}
	}
	// Beside a local state; beside payctl.yaml for a database state.
	base := w.Config.Dir
	if w.Config.State.Backend == "" || w.Config.State.Backend == config.BackendLocal {
		base = filepath.Dir(w.Config.State.Path)
	}
	dir := filepath.Join(base, ".payctl-emulator")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("emulator for %s: %w", name, err)
	}
	host := providers.NewEmulatorHost()
	em, err := host.Start(t, "", providers.EmulatorOptions{
		LedgerPath: filepath.Join(dir, name+".json"),
		Now:        w.Now,
		Logger:     w.Logger.With("emulator", name),
	})
	if err != nil {
		return nil, fmt.Errorf("emulator for %s: %w", name, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		host.Close(context.Background())
		return nil, fmt.Errorf("emulator for %s: %w", name, err)
	}
	host.Serve(ln)
	re := &runningEmulator{name: name, em: em, host: host, url: host.URL()}
	w.emulators = append(w.emulators, re)
	return re, nil
}

// Settings returns a provider's apply settings.
func (w *Workspace) Settings(name string) apply.Settings {
	p := w.Config.Providers[name]
	if p == nil {
		return apply.Settings{}
	}
	return apply.Settings{Concurrency: p.Concurrency, RatePerSecond: p.RatePerSecond, LookupGrace: p.LookupGrace, QuoteTolerance: p.QuoteTolerance}
}

// PlanInput is what a plan of batches needs from payctl.yaml.
func (w *Workspace) PlanInput(batches []*schema.Batch) plan.Input {
	return plan.Input{Batches: batches, Config: w.Config, Providers: w.PlanProviders(), StateLocation: w.StateLocation()}
}

// ConfigDigest is payctl.yaml's digest, as saved plans pin it.
func (w *Workspace) ConfigDigest() string { return w.Config.Digest }

// Approvals is payctl.yaml's policy.approvals, or nil.
func (w *Workspace) Approvals() *config.Approvals { return w.Config.Policy.Approvals }

var _ apply.Workspace = (*Workspace)(nil)

// Engine returns an apply engine for an opened state.
func (w *Workspace) Engine(st *state.State) *apply.Engine {
	return &apply.Engine{
		State: st, Providers: w.OpenProvider, Settings: w.Settings,
		Now: w.Now, Logger: w.Logger, NewID: w.NewID,
	}
}

// Close stops emulators (persisting their ledgers) and closes the backend.
func (w *Workspace) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for _, e := range w.emulators {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, e.host.Close(ctx))
		cancel()
	}
	w.emulators = nil
	if w.backend != nil {
		errs = append(errs, w.backend.Close())
		w.backend = nil
	}
	return errors.Join(errs...)
}
