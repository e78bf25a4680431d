package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/payctl/payctl/internal/daemon"
	"github.com/payctl/payctl/internal/statuspage"
	"github.com/payctl/payctl/internal/workspace"
)

func runServe(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "serve", "[-config FILE] -listen ADDR [-lock-timeout D] [-log-format text|json]", `
Runs until stopped (SIGTERM or Ctrl-C), serving on ADDR:

  /          the status page: batches, what needs a person, recent activity
             and amounts paid per day (read-only HTML, no JavaScript)
  /healthz   200 when healthy, 503 with the problems otherwise
  /metrics   Prometheus metrics: callbacks received, confirmed and ignored,
             lookup errors, state changes recorded, build info
  the path of each Cronos provider's callbackURL
             Cronos status callbacks

A callback is only a hint: payctl looks the payout up at Cronos with a signed
request and records what Cronos answers, never what the callback claims, so
duplicate, late or forged callbacks change nothing. A reference payctl does not
know is logged and answered 200. The state's lock is taken only for each lookup;
when another payctl holds it, callbacks are queued and looked up later.

End each callbackURL with a long random secret (e.g. the output of
"openssl rand -hex 16"): the path is all that keeps strangers from making
payctl look payouts up. A Cronos provider without callbackURL is an error here.

The status page reads the state without its lock. With PAYCTL_STATUS_TOKEN set,
it asks for that token (as a bearer token, or as the password a browser asks
for); without it, it is served only when ADDR is a loopback address.

Logs go to stderr (info and above; PAYCTL_LOG=debug for more).`)
	listen := f.String("listen", "", "serve on `ADDR` (host:port), e.g. 127.0.0.1:8787")
	page := f.Bool("status-page", true, "serve the status page at /")
	lockWait := f.Duration("lock-timeout", daemon.DefaultLockWait, "wait up to `D` for the state's lock before queueing a callback for later")
	logFormat := f.String("log-format", "text", "log `FORMAT`: text or json")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return withHint(fmt.Errorf("serve takes no arguments, got %q", f.Arg(0)), "payctl serve -listen 127.0.0.1:8787")
	}
	if *listen == "" {
		return withHint(errors.New("serve needs -listen ADDR"), "payctl serve -listen 127.0.0.1:8787; put a TLS-terminating proxy in front of it for Cronos to reach it")
	}
	w, logger, reg, gate, err := f.service(e, *logFormat, *lockWait)
	if err != nil {
		return err
	}
	defer w.Close()
	alerts, stopAlerts := startNotifier(f, w, logger)
	defer stopAlerts()
	o := daemon.Options{Gate: gate, Registry: reg, Logger: logger, RequireCallbacks: true, Notifier: alerts}
	if *page {
		var closePage func()
		if o.Page, closePage, err = f.statusPage(e, *listen, logger, ""); err != nil {
			return err
		}
		defer closePage()
	}
	d, err := daemon.New(o)
	if err != nil {
		return err
	}
	// A service stops on SIGTERM (systemd) as on Ctrl-C, whoever runs
	// this command: finish what is in progress, then return.
	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return withHint(err, "choose another -listen address, or stop what listens there")
	}
	var names []string
	for _, cb := range d.Callbacks() {
		names = append(names, cb.Provider)
	}
	what := "no cronos provider: health and metrics only"
	if len(names) > 0 {
		what = "callbacks of " + strings.Join(names, ", ")
	}
	fmt.Fprintf(e.Stderr, "payctl: serving on http://%s (%s)\n", ln.Addr(), what)
	return d.Serve(ctx, ln)
}

// statusPage is the status page of serve and watch -listen (watch names
// its folder, for the held files). It reads the state through a workspace
// of its own: a backend keeps what it loaded, and the page's must not be
// the one the gate writes through.
func (f *flags) statusPage(e *Env, listen string, logger *slog.Logger, watchDir string) (http.Handler, func(), error) {
	token := e.Getenv(statuspage.TokenEnv)
	if token == "" && !statuspage.Loopback(listen) {
		logger.Warn("the status page is off: " + listen + " is reachable from other machines and " + statuspage.TokenEnv + " is not set; set it to a long random secret (openssl rand -hex 32) to serve the page there, or listen on 127.0.0.1")
		return statuspage.Refused, func() {}, nil
	}
	pw, err := f.workspace()
	if err != nil {
		return nil, nil, err
	}
	pw.Logger = logger
	b, err := pw.Backend()
	if err != nil {
		pw.Close()
		return nil, nil, err
	}
	o := statuspage.Options{Backend: b, Token: token, ConfigFlag: f.config, Logger: logger}
	if watchDir != "" {
		o.Held = statuspage.HeldIn(watchDir)
	}
	return statuspage.New(o), func() { pw.Close() }, nil
}

// serviceLogger is the logger of long-running commands: info and above by
// default (PAYCTL_LOG changes the level), as text or JSON lines.
func serviceLogger(e *Env, format string) (*slog.Logger, error) {
	o := &slog.HandlerOptions{Level: logLevel(e, slog.LevelInfo), ReplaceAttr: escapeAttr}
	var h slog.Handler
	switch format {
	case "text", "":
		h = slog.NewTextHandler(e.Stderr, o)
	case "json":
		h = slog.NewJSONHandler(e.Stderr, o)
	default:
		return nil, fmt.Errorf("-log-format %q: use text or json", format)
	}
	return slog.New(h), nil
}

// buildVersion is the version `payctl version` prints.
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// service is how serve and watch both start: service logs, the workspace
// logging through them, a metrics registry, and the gate to the state. The
// caller closes the workspace.
func (f *flags) service(e *Env, logFormat string, lockWait time.Duration) (*workspace.Workspace, *slog.Logger, *prometheus.Registry, *daemon.Gate, error) {
	logger, err := serviceLogger(e, logFormat)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	w, err := f.workspace()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	w.Logger = logger
	// A missing state, another lineage or a missing pin stops the service
	// at its start, not at the first file or callback.
	if err := w.CheckState(context.Background()); err != nil {
		w.Close()
		return nil, nil, nil, nil, err
	}
	reg := daemon.NewRegistry(buildVersion())
	return w, logger, reg, daemon.NewGate(w, daemon.GateOptions{LockWait: lockWait, Registerer: reg}), nil
}
