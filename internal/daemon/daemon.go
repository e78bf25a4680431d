package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/notify"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/registry"
	"github.com/payctl/payctl/state"
)

// Defaults of Options.
const (
	DefaultReplyWait  = 5 * time.Second
	DefaultRetryEvery = 2 * time.Second
	DefaultMaxTries   = 10
	// maxRetryDelay caps the backoff between lookups of one hint.
	maxRetryDelay = time.Minute
	// shutdownWait bounds how long Serve waits for requests in progress.
	shutdownWait = 30 * time.Second
)

// Options configure a Daemon.
type Options struct {
	Gate *Gate
	// Registry serves /metrics; nil means NewRegistry("").
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// RequireCallbacks makes New refuse a provider whose type calls back
	// (providers.Type.Callbacks, as Cronos does) and that has no
	// callbackURL (payctl serve exists to receive them); otherwise such a
	// provider is skipped with a warning (payctl watch -listen).
	RequireCallbacks bool
	// ReplyWait is how long a callback request waits for its lookup before
	// it is answered 500 (the hint stays queued); 0 means DefaultReplyWait.
	ReplyWait time.Duration
	// RetryEvery is the delay before a queued hint is tried again, doubled
	// after each failed lookup; 0 means DefaultRetryEvery.
	RetryEvery time.Duration
	// MaxTries is how many failed lookups of one hint are made before it
	// is given up (logged as an error); 0 means DefaultMaxTries.
	MaxTries int
	// Notifier, if set, hears about payouts a callback's lookup found
	// failed or unknown; it never blocks.
	Notifier *notify.Notifier
	// Page, when set, is served at GET / (the status page).
	Page http.Handler
}

// Callback is a provider whose callbacks the daemon receives.
type Callback struct {
	Provider string
	Path     string // secret: never log it
	handler  providers.CallbackHandler
}

// Daemon is the HTTP side of a long-running payctl.
type Daemon struct {
	o       Options
	log     *slog.Logger
	reg     *prometheus.Registry
	health  *Health
	q       *hintQueue
	m       *callbackMetrics
	routes  map[string]http.Handler // callback path -> handler
	cbs     []Callback
	handler http.Handler
}

// New prepares a daemon: one callback handler per provider of the gate's
// workspace whose type calls back, at the path of its callbackURL.
func New(o Options) (*Daemon, error) {
	if o.Gate == nil {
		return nil, errors.New("daemon: no gate")
	}
	if o.Registry == nil {
		o.Registry = NewRegistry("")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ReplyWait <= 0 {
		o.ReplyWait = DefaultReplyWait
	}
	if o.RetryEvery <= 0 {
		o.RetryEvery = DefaultRetryEvery
	}
	if o.MaxTries <= 0 {
		o.MaxTries = DefaultMaxTries
	}
	d := &Daemon{o: o, log: o.Logger, reg: o.Registry, health: NewHealth(), q: newHintQueue(), routes: map[string]http.Handler{}}
	d.m = newCallbackMetrics(o.Registry, func() float64 { return float64(d.q.len()) })
	cbs, err := callbacks(o.Gate.Workspace().Config, o.RequireCallbacks, o.Logger)
	if err != nil {
		return nil, err
	}
	d.cbs = cbs
	for _, cb := range cbs {
		d.m.init(cb.Provider)
		d.routes[cb.Path] = d.count(cb.Provider, cb.handler(d.onHint(cb.Provider), o.Logger.With("provider", cb.Provider)))
	}
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", d.health)
	mux.Handle("GET /metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(o.Logger.Handler(), slog.LevelError)}))
	if o.Page != nil {
		mux.Handle("GET /{$}", o.Page)
	}
	d.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := d.routes[r.URL.Path]; ok {
			h.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	return d, nil
}

// callbackPath is the path a provider's callbacks are received at: its
// callbackURL's, or for a built-in emulator without one, the path of the
// callback URL workspace.OpenProvider gives it.
func callbackPath(p *config.Provider) (string, bool) {
	if p.CallbackURL == "" {
		if p.Emulator {
			return "/callbacks/" + p.Name, true
		}
		return "", false
	}
	u, err := url.Parse(p.CallbackURL)
	if err != nil || u.Path == "" {
		return "", false
	}
	return u.Path, true
}

// minSecretLen is the shortest last path segment not warned about: 16
// characters of a random hex string are 64 bits.
const minSecretLen = 16

func callbacks(cfg *config.Config, require bool, log *slog.Logger) ([]Callback, error) {
	var errs diag.List
	var out []Callback
	used := map[string]string{"/healthz": "payctl's health check", "/metrics": "payctl's metrics"}
	for _, name := range cfg.ProviderNames() {
		p := cfg.Providers[name]
		t, _ := registry.Lookup(p.Type)
		if t == nil || t.Callbacks == nil {
			continue
		}
		path, ok := callbackPath(p)
		switch {
		case !ok && p.CallbackURL == "":
			if require {
				errs.Add(cfg.File, p.Pos[""], "provider %s: payctl serve receives %s callbacks at the path of callbackURL, and %s has none; set callbackURL: https://YOUR-HOST/callbacks/%s/SECRET, with SECRET a long random string (openssl rand -hex 16)", name, t.Title, name, name)
			} else {
				log.Warn(t.Name+" provider has no callbackURL: its callbacks are not received here; payctl refresh learns final statuses instead", "provider", name)
			}
			continue
		case !ok || path == "/" || !strings.HasPrefix(path, "/"):
			errs.Add(cfg.File, p.Pos["callbackURL"], "provider %s: callbackURL needs a path to receive callbacks at, such as https://YOUR-HOST/callbacks/%s/SECRET", name, name)
			continue
		}
		if other, taken := used[path]; taken {
			errs.Add(cfg.File, p.Pos["callbackURL"], "provider %s: callbackURL's path is already %s's; give each provider a path of its own", name, other)
			continue
		}
		used[path] = "provider " + name
		seg := path[strings.LastIndex(strings.TrimSuffix(path, "/"), "/")+1:]
		if len(strings.TrimSuffix(seg, "/")) < minSecretLen && !p.Emulator {
			log.Warn("the callback path has no long random segment: anyone who guesses it can make payctl look payouts up (they cannot change what is recorded); end callbackURL with a secret such as the output of `openssl rand -hex 16`", "provider", name)
		}
		out = append(out, Callback{Provider: name, Path: path, handler: t.Callbacks})
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Handler serves /healthz, /metrics, the callback paths and the page.
func (d *Daemon) Handler() http.Handler { return d.handler }

// Health is the daemon's health, which other components report into.
func (d *Daemon) Health() *Health { return d.health }

// Callbacks lists the providers whose callbacks are received.
func (d *Daemon) Callbacks() []Callback { return append([]Callback(nil), d.cbs...) }

// Serve serves HTTP on ln and looks up callback hints until ctx ends; then
// it stops accepting requests, finishes the lookup in progress, answers
// callbacks still waiting with 500 (so that the provider sends them again)
// and returns nil.
func (d *Daemon) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           d.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	hintsCtx, stopHints := context.WithCancel(ctx)
	defer stopHints()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.RunHints(hintsCtx)
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	stopHints()
	wg.Wait()
	if n := d.q.stop(); n > 0 {
		d.log.Warn("stopping with callback hints not yet looked up; their callbacks were answered 500, so the providers may send them again, and payctl refresh catches up", "hints", n)
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = serr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// RunHints looks up queued hints until ctx ends, finishing the lookup in
// progress. Serve runs it; tests call it with their own server.
func (d *Daemon) RunHints(ctx context.Context) {
	var timer *time.Timer
	for {
		batch, next := d.q.take(time.Now())
		if len(batch) > 0 {
			d.confirm(context.WithoutCancel(ctx), batch)
			if ctx.Err() != nil {
				return
			}
			continue
		}
		var due <-chan time.Time
		if !next.IsZero() {
			if timer == nil {
				timer = time.NewTimer(time.Until(next))
			} else {
				timer.Reset(time.Until(next))
			}
			due = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-d.q.wake:
		case <-due:
		}
	}
}

// onHint is a provider's callback handler's onHint: queue the hint and
// wait for its lookup.
func (d *Daemon) onHint(provider string) func(context.Context, providers.Hint) error {
	return func(ctx context.Context, h providers.Hint) error {
		ch := d.q.add(provider, h, time.Now())
		t := time.NewTimer(d.o.ReplyWait)
		defer t.Stop()
		select {
		case err := <-ch:
			return err
		case <-t.C:
			return fmt.Errorf("not looked up within %s (the state is busy); the hint stays queued and is retried", d.o.ReplyWait)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// confirm looks up a batch of hints in one session.
func (d *Daemon) confirm(ctx context.Context, batch []*hint) {
	defer d.q.done(len(batch))
	sess, err := d.o.Gate.Open(ctx, "serve")
	if err != nil {
		var le *state.LockedError
		switch {
		case errors.As(err, &le) && le.Stale:
			// Only a person can tell whether that host is gone.
			d.log.Error("the state is locked by another host that may be down; callback hints stay queued", "hints", len(batch), "error", err)
			d.health.Set("callbacks", err.Error())
		case errors.Is(err, ErrBusy):
			d.log.Info("state busy: callback hints stay queued", "hints", len(batch), "retry_in", d.o.RetryEvery, "holder", err.Error())
		default:
			d.log.Error("cannot open the state to confirm callbacks; they stay queued", "hints", len(batch), "error", err)
			d.health.Set("callbacks", "cannot open the state: "+err.Error())
		}
		due := time.Now().Add(d.o.RetryEvery)
		for _, h := range batch {
			h.due = due
		}
		d.q.retry(batch)
		return
	}
	d.health.Set("callbacks", "")
	// Which address each reference belongs to: the payout whose latest
	// attempt has it as idempotency key. A reference of an earlier attempt
	// is ignored too: that attempt's outcome is already settled.
	refs := make(map[string]bool, len(batch))
	for _, h := range batch {
		refs[h.ref] = true
	}
	addrs := map[string]string{}
	sess.State.View(func(s *state.Snapshot) {
		for addr, p := range s.Payouts {
			if a := p.Latest(); a != nil && refs[a.Key] {
				addrs[hintKey(p.Provider, a.Key)] = addr
			}
		}
	})
	byProvider := map[string][]*hint{}
	var names []string
	var done []*hint
	var errs []error
	for _, h := range batch {
		if _, ok := addrs[hintKey(h.provider, h.ref)]; !ok {
			d.m.ignored.WithLabelValues(h.provider).Inc()
			d.log.Info("callback for a reference that is not the latest attempt of any payout: ignored", "provider", h.provider, "reference", h.ref, "id", h.id, "claimed", h.claimed)
			done = append(done, h)
			errs = append(errs, nil)
			continue
		}
		if byProvider[h.provider] == nil {
			names = append(names, h.provider)
		}
		byProvider[h.provider] = append(byProvider[h.provider], h)
	}
	sort.Strings(names)
	var retry []*hint
	for _, name := range names {
		hs := byProvider[name]
		list := make([]string, len(hs))
		for i, h := range hs {
			list[i] = addrs[hintKey(h.provider, h.ref)]
		}
		before := sess.State.Stats().Records
		outs, cerr := sess.Engine.CheckAddresses(ctx, list)
		changed := sess.State.Stats().Records - before
		for _, o := range outs {
			if ev, ok := notify.ForOutcome(o, time.Now()); ok {
				d.o.Notifier.Notify(ev)
			}
		}
		d.m.changed.WithLabelValues(name).Add(float64(changed))
		if cerr != nil {
			d.m.errors.WithLabelValues(name).Inc()
			for _, h := range hs {
				h.tries++
				if h.tries >= d.o.MaxTries {
					d.m.dropped.WithLabelValues(name).Inc()
					d.log.Error("gave up confirming a callback: the lookup kept failing; run payctl refresh once the provider answers", "provider", name, "reference", h.ref, "tries", h.tries, "error", cerr)
					done = append(done, h)
					errs = append(errs, fmt.Errorf("lookup failed %d times: %w", h.tries, cerr))
					continue
				}
				delay := min(d.o.RetryEvery<<min(h.tries-1, 16), maxRetryDelay)
				h.due = time.Now().Add(delay)
				retry = append(retry, h)
				d.log.Warn("lookup for a callback failed; retrying", "provider", name, "reference", h.ref, "retry_in", delay, "error", cerr)
			}
			continue
		}
		status := map[string]string{}
		for _, o := range outs {
			status[o.Address] = string(o.Status)
		}
		for _, h := range hs {
			addr := addrs[hintKey(h.provider, h.ref)]
			d.m.confirmed.WithLabelValues(name).Inc()
			d.log.Info("callback confirmed by lookup", "provider", name, "address", addr, "claimed", h.claimed, "status", status[addr])
			done = append(done, h)
			errs = append(errs, nil)
		}
	}
	if err := sess.Close(ctx); err != nil {
		d.log.Error("closing the state after confirming callbacks", "error", err)
	}
	for i, h := range done {
		h.finish(errs[i])
	}
	if len(retry) > 0 {
		d.q.retry(retry)
	}
}

// count wraps a callback handler to count requests and refusals.
func (d *Daemon) count(provider string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.m.received.WithLabelValues(provider).Inc()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		switch rec.code {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusMethodNotAllowed:
			d.m.rejected.WithLabelValues(provider, strconv.Itoa(rec.code)).Inc()
		}
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.code, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Health collects the problems components report; /healthz answers 200
// when there are none and 503 with them otherwise.
type Health struct {
	mu       sync.Mutex
	problems map[string]string
}

// NewHealth returns a healthy Health.
func NewHealth() *Health { return &Health{problems: map[string]string{}} }

// Set records a component's problem; an empty problem clears it.
func (h *Health) Set(component, problem string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if problem == "" {
		delete(h.problems, component)
		return
	}
	h.problems[component] = problem
}

// Problems returns the current problems by component.
func (h *Health) Problems() map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]string, len(h.problems))
	for k, v := range h.problems {
		out[k] = v
	}
	return out
}

func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := h.Problems()
	body := map[string]any{"status": "ok"}
	code := http.StatusOK
	if len(p) > 0 {
		body = map[string]any{"status": "unhealthy", "problems": p}
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(body)
}
