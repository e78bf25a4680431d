package pgstate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payctl/payctl/state"
)

// Options configure a backend.
type Options struct {
	// DSN is the connection string (URL or key=value form), password
	// included. It is never printed: errors carry it redacted.
	DSN string
	// DSNEnv names where the DSN came from, for messages.
	DSNEnv string
	// Name is the state's name in the database; several states can share
	// one database.
	Name string
	// Format is the snapshot format a new state is created in: segmented
	// when 0 (tests of states created before segments set state.Version).
	Format int
	Logger *slog.Logger
	Now    func() time.Time
}

// Backend is a state kept in PostgreSQL. It implements state.Backend; a
// writer's every write goes through the database session holding the
// state's advisory lock.
type Backend struct {
	name   string
	dsn    string
	dsnEnv string
	logger *slog.Logger
	now    func() time.Time

	mu sync.Mutex // one statement at a time on each connection; guards below
	// read is a reader's connection, opened on first use.
	read *pgx.Conn
	// lock is the writer's session: it holds the advisory lock, and every
	// write of this backend runs on it (see the package doc: fencing).
	lock *pgx.Conn
	info *state.LockInfo
	// head is the journal's head as last read or written by this writer.
	head head
	// payouts and groups are the snapshot rows as stored (writer), so that
	// a checkpoint writes only the rows that changed.
	payouts, groups map[string]string

	// format is the snapshot format for a state with none yet; version
	// the format of the snapshot last loaded (0: none).
	format, version int

	// schemaOK is set once a connection found the schema this payctl needs.
	schemaOK atomic.Bool

	appends     atomic.Int64
	checkpoints atomic.Int64
	records     atomic.Int64
}

// head is the last record of a journal.
type head struct {
	seq   uint64
	bytes int64
	hash  string
}

var _ state.Backend = (*Backend)(nil)

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$`)

// New returns the backend of the state name in the database at o.DSN. It
// does no I/O: the first command that needs the database connects.
func New(o Options) (*Backend, error) {
	if !nameRE.MatchString(o.Name) {
		return nil, fmt.Errorf("postgres state name %q: must be 1 to 64 lower case letters, digits, '.', '_' or '-', starting and ending with a letter or digit", o.Name)
	}
	if strings.TrimSpace(o.DSN) == "" {
		src := "the DSN"
		if o.DSNEnv != "" {
			src = o.DSNEnv
		}
		return nil, fmt.Errorf("postgres:%s: %s is empty: set it to the database's connection string (postgres://USER:PASSWORD@HOST:PORT/DATABASE)", o.Name, src)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Format == 0 {
		o.Format = state.SegmentedVersion
	}
	return &Backend{name: o.Name, dsn: o.DSN, dsnEnv: o.DSNEnv, format: o.Format, logger: o.Logger, now: o.Now}, nil
}

// Describe names the state in messages: postgres:NAME (never the DSN).
func (b *Backend) Describe() string { return "postgres:" + b.name }

// Name is the state's name in the database.
func (b *Backend) Name() string { return b.name }

// Stats count what this backend wrote since it was created.
type Stats struct {
	Appends     int64 // journal transactions (one per group commit)
	Records     int64 // journal records written
	Checkpoints int64 // snapshot transactions
}

// Stats returns the write counters.
func (b *Backend) Stats() Stats {
	return Stats{Appends: b.appends.Load(), Records: b.records.Load(), Checkpoints: b.checkpoints.Load()}
}

// Session settings payctl insists on. A commit must be durable before
// Record returns (the write-ahead rule), so synchronous_commit is never
// off; keepalives let the server notice a vanished holder's session, and
// so free its lock, within about a minute.
var sessionDefaults = map[string]string{
	"tcp_keepalives_idle":     "30",
	"tcp_keepalives_interval": "10",
	"tcp_keepalives_count":    "3",
}

// connect opens a session named app (shown in pg_stat_activity), and
// checks the schema's version once per backend.
func (b *Backend) connect(ctx context.Context, app string) (*pgx.Conn, error) {
	conn, err := b.dial(ctx, app)
	if err != nil || b.schemaOK.Load() {
		return conn, err
	}
	v, err := schemaVersion(ctx, conn)
	if err != nil {
		conn.Close(context.Background())
		return nil, b.wrap("read the schema version", err)
	}
	if v != SchemaVersion {
		conn.Close(context.Background())
		return nil, &SchemaError{State: b.Describe(), Have: v, Want: SchemaVersion}
	}
	b.schemaOK.Store(true)
	return conn, nil
}

// dial opens a session with payctl's settings.
func (b *Backend) dial(ctx context.Context, app string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(b.dsn)
	if err != nil {
		return nil, b.redact(fmt.Errorf("%s: the connection string%s does not parse: %w", b.Describe(), b.from(), err))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 15 * time.Second
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = app
	}
	switch strings.ToLower(cfg.RuntimeParams["synchronous_commit"]) {
	case "on", "true", "yes", "1", "local", "remote_write", "remote_apply":
		// Durable on this server at least; stronger settings are kept.
	default:
		cfg.RuntimeParams["synchronous_commit"] = "on"
	}
	for k, v := range sessionDefaults {
		if _, ok := cfg.RuntimeParams[k]; !ok {
			cfg.RuntimeParams[k] = v
		}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, b.redact(fmt.Errorf("%s: connect to the database%s: %w", b.Describe(), b.from(), err))
	}
	return conn, nil
}

func (b *Backend) from() string {
	if b.dsnEnv == "" {
		return ""
	}
	return " in " + b.dsnEnv
}

// reader returns a connection for reads: the writer's session if this
// backend holds the lock (it sees its own writes), else the reader's.
// b.mu must be held.
func (b *Backend) reader(ctx context.Context) (*pgx.Conn, error) {
	if b.lock != nil {
		return b.lock, nil
	}
	if b.read != nil && !b.read.IsClosed() {
		return b.read, nil
	}
	conn, err := b.connect(ctx, "payctl")
	if err != nil {
		return nil, err
	}
	b.read = conn
	return conn, nil
}

// wrap names the state and what failed, with the DSN redacted.
func (b *Backend) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return b.redact(fmt.Errorf("%s: %s: %w", b.Describe(), what, err))
}

// redact returns err with the DSN and its password removed from its
// message. pgx already leaves passwords out of its errors; this holds even
// if a driver or server message someday quotes the connection string. The
// result hides err's chain except what callers inspect (a server error, a
// cancelled context): a driver's joined errors deep in a chain would
// otherwise be printed without the context around them, and an unredacted
// message could be reached through it.
func (b *Backend) redact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, secret := range secretsOf(b.dsn) {
		msg = strings.ReplaceAll(msg, secret, "xxxxx")
	}
	e := &plainError{msg: msg}
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe):
		e.cause = pe
	case errors.Is(err, context.Canceled):
		e.cause = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		e.cause = context.DeadlineExceeded
	}
	return e
}

// secretsOf returns the strings of a DSN that must never be printed: the
// whole DSN and its password in the forms it may appear in, longest first.
func secretsOf(dsn string) []string {
	out := []string{dsn}
	add := func(pw string) {
		if pw != "" {
			out = append(out, pw, url.QueryEscape(pw), url.PathEscape(pw))
		}
	}
	if cfg, err := pgconn.ParseConfig(dsn); err == nil {
		add(cfg.Password)
	}
	// A DSN that does not parse may still hold a password.
	if u, err := url.Parse(dsn); err == nil {
		if u.User != nil {
			pw, _ := u.User.Password()
			add(pw)
		}
		add(u.Query().Get("password"))
	}
	add(keywordValue(dsn, "password"))
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	var keep []string
	for _, s := range out {
		if len(s) >= 3 { // a one- or two-letter password would blank ordinary words
			keep = append(keep, s)
		}
	}
	return keep
}

// keywordValue finds key's value in a keyword=value connection string:
// bare up to a space, or single-quoted with backslash escapes.
func keywordValue(dsn, key string) string {
	for i := 0; i < len(dsn); {
		for i < len(dsn) && dsn[i] == ' ' {
			i++
		}
		k := i
		for i < len(dsn) && dsn[i] != '=' && dsn[i] != ' ' {
			i++
		}
		name := dsn[k:i]
		for i < len(dsn) && dsn[i] == ' ' {
			i++
		}
		if i >= len(dsn) || dsn[i] != '=' {
			continue
		}
		i++
		for i < len(dsn) && dsn[i] == ' ' {
			i++
		}
		var v strings.Builder
		if i < len(dsn) && dsn[i] == '\'' {
			for i++; i < len(dsn) && dsn[i] != '\''; i++ {
				if dsn[i] == '\\' && i+1 < len(dsn) {
					i++
				}
				v.WriteByte(dsn[i])
			}
			i++
		} else {
			for ; i < len(dsn) && dsn[i] != ' '; i++ {
				if dsn[i] == '\\' && i+1 < len(dsn) {
					i++
				}
				v.WriteByte(dsn[i])
			}
		}
		if name == key {
			return v.String()
		}
	}
	return ""
}

type plainError struct {
	msg   string
	cause error
}

func (e *plainError) Error() string { return e.msg }
func (e *plainError) Unwrap() error { return e.cause }

// Migrate creates or upgrades the payctl tables to SchemaVersion, in one
// transaction; concurrent runs wait for each other. It refuses a database
// whose schema is newer than this payctl knows.
func (b *Backend) Migrate(ctx context.Context) (from, to int, err error) {
	return b.migrate(ctx, builtin)
}

func (b *Backend) migrate(ctx context.Context, ms []migration) (from, to int, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	conn, err := b.dial(ctx, "payctl state migrate-schema")
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(context.Background())
	from, to, err = migrate(ctx, conn, b.Describe(), ms)
	b.schemaOK.Store(false) // the next connection checks the new schema
	var se *SchemaError
	if err != nil && !errors.As(err, &se) {
		err = b.wrap("migrate the schema", err)
	}
	return from, to, err
}

// Close releases the lock if held and closes the connections.
func (b *Backend) Close() error {
	err := b.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.read != nil {
		b.read.Close(context.Background())
		b.read = nil
	}
	return err
}
