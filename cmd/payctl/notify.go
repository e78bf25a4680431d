package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/payctl/payctl/internal/notify"
	"github.com/payctl/payctl/internal/workspace"
)

// notifyFlush bounds how long a command waits at exit for its alerts.
const notifyFlush = 15 * time.Second

// startNotifier starts the alerts of payctl.yaml's notify block (nil when
// it has none); stop delivers what is queued, waiting at most notifyFlush.
// Deliveries and failures are logged to logger (nil: the command's).
func startNotifier(f *flags, w *workspace.Workspace, logger *slog.Logger) (n *notify.Notifier, stop func()) {
	if logger == nil {
		logger = f.logger()
	}
	hooks, warnings := notify.FromConfig(w.Config.Notify, w.Getenv)
	for _, msg := range warnings {
		fmt.Fprintf(f.e.Stderr, "payctl: warning: %s\n", esc(msg))
	}
	n = notify.New(hooks, notify.Options{Logger: logger})
	return n, func() {
		ctx, cancel := context.WithTimeout(context.Background(), notifyFlush)
		defer cancel()
		if left := n.Close(ctx); left > 0 {
			fmt.Fprintf(f.e.Stderr, "payctl: warning: %d alerts were not delivered before exiting (see the log)\n", left)
		}
	}
}
