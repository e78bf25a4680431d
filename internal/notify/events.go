package notify

import (
	"fmt"
	"time"

	"github.com/payctl/payctl/apply"
	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/providers"
)

// FromConfig resolves payctl.yaml's webhooks with their URLs from the
// environment. A webhook whose variable is unset is left out, with a
// warning for a person: alerts must never stop a payment.
func FromConfig(c config.Notify, getenv func(string) string) (hooks []Webhook, warnings []string) {
	for _, h := range c.Webhooks {
		u := getenv(h.URLEnv)
		if u == "" {
			warnings = append(warnings, fmt.Sprintf("notify webhook %s: %s is not set, so its alerts are not sent", h.Name, h.URLEnv))
			continue
		}
		hooks = append(hooks, Webhook{Name: h.Name, Kind: h.Kind, URL: u, Events: h.Events})
	}
	return hooks, warnings
}

// ResolveCommand is what a person runs for an unknown payout.
func ResolveCommand(address string) string {
	return fmt.Sprintf("payctl state resolve %s -paid|-failed -reason TEXT", address)
}

// ForOutcome is the event of a payout outcome that needs a person
// (failed or unknown), and false for any other.
func ForOutcome(o *apply.Outcome, at time.Time) (Event, bool) {
	subject := fmt.Sprintf("%s#%d", o.Address, o.Attempt)
	switch o.Status {
	case providers.StatusFailed:
		ev := NewEvent(Failed, subject, at, fmt.Sprintf("payout %s (%s %s via %s) failed: %s", o.Address, o.Amount, o.Currency.Code, o.Provider, reasonOr(o.Reason, "the provider says it did not pay")))
		ev.Address, ev.Provider = o.Address, o.Provider
		ev.Command = "payctl plan"
		return ev, true
	case providers.StatusUnknown:
		ev := NewEvent(Unknown, subject, at, fmt.Sprintf("payout %s (%s %s via %s) has an unknown outcome and needs a person: %s", o.Address, o.Amount, o.Currency.Code, o.Provider, reasonOr(o.Reason, "the provider cannot tell")))
		ev.Address, ev.Provider = o.Address, o.Provider
		ev.Command = ResolveCommand(o.Address)
		return ev, true
	}
	return Event{}, false
}

func reasonOr(r, def string) string {
	if r == "" {
		return def
	}
	return r
}

// StoppedRun is the event of a run that stopped so that nothing is paid
// twice; op names the command (apply, watch).
func StoppedRun(op string, err error, at time.Time) Event {
	ev := NewEvent(Stopped, fmt.Sprintf("%s\x00%s\x00%d", op, err, at.Unix()), at, fmt.Sprintf("payctl %s stopped: %v", op, err))
	ev.Command = "payctl state list"
	return ev
}
