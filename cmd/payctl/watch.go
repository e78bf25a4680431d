package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/payctl/payctl/internal/daemon"
	"github.com/payctl/payctl/internal/watch"
)

func runWatch(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "watch", "[-config FILE] [-listen ADDR] [-quiet D] [-lock-hold D] [-log-format text|json] DIR", `
Turns DIR into a payout pipeline. Manifests dropped into DIR/inbox are claimed
(renamed into DIR/processing), validated, planned and, within policy.autoApply
of payctl.yaml, paid through the same engine and state lock as payctl apply:

  DIR/done      paid (or already paid) files, with NAME.result.json
  DIR/rejected  invalid or refused files, with NAME.errors.txt
  DIR/held      files outside the policy, with NAME.plan.json (for
                "payctl apply DIR/held/NAME.plan.json") and NAME.plan.txt

Write a file elsewhere on the same filesystem (or under a temporary name in
inbox: .NAME, NAME.tmp, NAME.part) and rename it into inbox: it is taken at
once. A file written in place is taken once its size and modification time
have not changed for -quiet. Only regular files directly in inbox are read.

A file dropped again never pays twice; a crash or kill at any moment is
finished safely by the next start, from DIR/processing and the state's journal.
SIGTERM or Ctrl-C finishes the file in progress, then exits.

With -listen, also serves the status page (with the held files), /healthz,
/metrics and the Cronos callbacks (see "payctl help serve").`)
	listen := f.String("listen", "", "also serve the status page, /healthz, /metrics and Cronos callbacks on `ADDR`")
	page := f.Bool("status-page", true, "with -listen, serve the status page at /")
	quiet := f.Duration("quiet", watch.DefaultQuiet, "take a file written in place once unchanged for `D`")
	rescan := f.Duration("rescan", watch.DefaultRescan, "list inbox every `D` to catch what file events missed")
	lockWait := f.Duration("lock-timeout", daemon.DefaultLockWait, "wait up to `D` for the state's lock before retrying a file later")
	lockHold := f.Duration("lock-hold", watch.DefaultLockHold, "keep the state's lock over consecutive files for up to `D` (0: release it after every file)")
	maxSize := f.Int64("max-size", 0, "refuse files larger than `BYTES` unread (default 64 MiB)")
	logFormat := f.String("log-format", "text", "log `FORMAT`: text or json")
	pendingAfter := f.Duration("pending-alert", daemon.DefaultPendingAfter, "count payouts pending longer than `D` in payctl_payouts_pending_too_long")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := needArgs(f, "the folder to watch"); err != nil {
		return err
	}
	if f.NArg() > 1 {
		return withHint(fmt.Errorf("watch takes one folder, got %d arguments", f.NArg()), "payctl watch DIR")
	}
	w, logger, reg, gate, err := f.service(e, *logFormat, *lockWait)
	if err != nil {
		return err
	}
	defer w.Close()
	alerts, stopAlerts := startNotifier(f, w, logger)
	defer stopAlerts()
	if w.Config.Policy.AutoApply == nil {
		logger.Warn("payctl.yaml has no policy.autoApply: every file is planned and held for a person")
	}
	var d *daemon.Daemon
	var health *daemon.Health
	if *listen != "" {
		o := daemon.Options{Gate: gate, Registry: reg, Logger: logger, Notifier: alerts}
		if *page {
			var closePage func()
			if o.Page, closePage, err = f.statusPage(e, *listen, logger, f.Arg(0)); err != nil {
				return err
			}
			defer closePage()
		}
		if d, err = daemon.New(o); err != nil {
			return err
		}
		health = d.Health()
	}
	wt, err := watch.New(watch.Options{
		Dir: f.Arg(0), Gate: gate, Logger: logger, Registerer: reg, Health: health,
		Quiet: *quiet, Rescan: *rescan, LockHold: *lockHold, MaxFileSize: *maxSize,
		PendingAfter: *pendingAfter, Notifier: alerts,
	})
	if err != nil {
		return err
	}
	// A service stops on SIGTERM (systemd) as on Ctrl-C, whoever runs
	// this command: finish what is in progress, then return.
	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	if d != nil {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return withHint(err, "choose another -listen address, or stop what listens there")
		}
		fmt.Fprintf(e.Stderr, "payctl: serving on http://%s\n", ln.Addr())
		go func() {
			err := d.Serve(ctx, ln)
			if err != nil {
				cancel() // no health checks or callbacks: stop rather than run blind
			}
			served <- err
		}()
	} else {
		served <- nil
	}
	fmt.Fprintf(e.Stderr, "payctl: watching %s\n", f.Arg(0))
	err = wt.Run(ctx)
	cancel()
	return errors.Join(err, <-served)
}
