// Package notify sends payctl's alerts to webhooks: a generic JSON POST
// ("json") or a Slack-compatible incoming webhook ("slack", {"text": ...}).
// Events are what needs a person: a file held or rejected by watch, a
// payout failed, a payout whose outcome is unknown (with the exact
// `payctl state resolve` command), a stopped run, a reconcile finding.
//
// Guarantees:
//
//   - Never in the way of a payment: Notify only puts the event on a
//     bounded queue and returns. A full queue drops the event, logs an
//     error and counts it (Dropped); it never waits.
//   - At least once: each delivery is retried with exponential backoff
//     (go-retryablehttp) on connection errors, 429 and 5xx, until
//     Options.RetryMax; a receiver may so see an event twice. Every event
//     carries an idempotency key (also in the Idempotency-Key header),
//     derived from what the event is about, so a receiver de-duplicates
//     deliveries, and the same event raised again (a restarted watch) has
//     the same key.
//   - Every delivery and every failure is logged through slog, naming the
//     webhook by its name in payctl.yaml. A webhook's URL is a secret (it
//     holds the token): it is never logged, printed or put in an error.
//   - Close stops taking events and waits, at most until its context ends,
//     for the queue to drain; what is left is logged as not delivered.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-retryablehttp"
)

// The events.
const (
	Held      = "held"      // watch parked a file for a person
	Rejected  = "rejected"  // watch refused a file
	Failed    = "failed"    // a payout failed at its provider
	Unknown   = "unknown"   // a payout's outcome is unknown: payctl state resolve
	Stopped   = "stopped"   // a run stopped so that nothing is paid twice
	Reconcile = "reconcile" // payctl reconcile found a difference
)

// Kinds lists the events, for payctl.yaml's events lists.
var Kinds = []string{Held, Rejected, Failed, Unknown, Stopped, Reconcile}

// Event is one alert.
type Event struct {
	Kind string `json:"event"`
	// Key is the idempotency key (set by NewEvent).
	Key string    `json:"idempotency_key"`
	At  time.Time `json:"at"`
	// Summary is one line for a person.
	Summary  string `json:"summary"`
	Address  string `json:"address,omitempty"`
	File     string `json:"file,omitempty"`
	Provider string `json:"provider,omitempty"`
	// Command is what a person runs next, when there is one.
	Command string            `json:"command,omitempty"`
	Details map[string]string `json:"details,omitempty"`
}

// keySpace names payctl's event keys (UUIDv5).
var keySpace = uuid.MustParse("6f1d3b2e-8c4a-5e7f-9a0b-1c2d3e4f5a6b")

// NewEvent returns an event whose key is derived from kind and subject:
// the same subject (an address and attempt with its status, a file and
// its digest, a finding) always gives the same key.
func NewEvent(kind, subject string, at time.Time, summary string) Event {
	return Event{Kind: kind, Key: uuid.NewSHA1(keySpace, []byte(kind+"\x00"+subject)).String(), At: at.UTC(), Summary: summary}
}

// Webhook is one configured receiver.
type Webhook struct {
	Name string // its name in payctl.yaml, for logs
	Kind string // "json" or "slack"
	URL  string // a secret
	// Events it receives; empty means all.
	Events []string
}

func (w Webhook) wants(kind string) bool {
	if len(w.Events) == 0 {
		return true
	}
	for _, k := range w.Events {
		if k == kind {
			return true
		}
	}
	return false
}

// Options tune a Notifier.
type Options struct {
	Logger *slog.Logger
	// QueueSize bounds the events waiting for delivery; 0 means 256.
	QueueSize int
	// RetryMax is the retries of one delivery; 0 means 5.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the backoff; 0 means 1s and 30s.
	RetryWaitMin, RetryWaitMax time.Duration
	// HTTPClient is the underlying client (tests); nil means a default one
	// with a 10 s timeout.
	HTTPClient *http.Client
}

type delivery struct {
	hook Webhook
	ev   Event
}

// Notifier delivers events. A nil *Notifier takes events and does nothing.
type Notifier struct {
	hooks   []Webhook
	log     *slog.Logger
	client  *retryablehttp.Client
	queue   chan delivery
	done    chan struct{}
	mu      sync.Mutex // guards closed against sends on a closed queue
	closed  bool
	dropped atomic.Int64
	sent    atomic.Int64
	failed  atomic.Int64
}

// New starts a Notifier delivering to hooks. With no hooks it returns nil.
func New(hooks []Webhook, o Options) *Notifier {
	if len(hooks) == 0 {
		return nil
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 256
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5
	}
	if o.RetryWaitMin <= 0 {
		o.RetryWaitMin = time.Second
	}
	if o.RetryWaitMax <= 0 {
		o.RetryWaitMax = 30 * time.Second
	}
	c := retryablehttp.NewClient()
	c.Logger = nil // its logs carry the URL, which is a secret
	c.RetryMax, c.RetryWaitMin, c.RetryWaitMax = o.RetryMax, o.RetryWaitMin, o.RetryWaitMax
	if o.HTTPClient != nil {
		c.HTTPClient = o.HTTPClient
	} else {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	// The last answer or error comes back as it is, to be reported without
	// the URL retryablehttp would put in its own error.
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	n := &Notifier{hooks: hooks, log: o.Logger, client: c, queue: make(chan delivery, o.QueueSize), done: make(chan struct{})}
	go n.run()
	return n
}

// Notify queues ev for every webhook that wants it. It never blocks.
func (n *Notifier) Notify(ev Event) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, h := range n.hooks {
		if !h.wants(ev.Kind) {
			continue
		}
		if n.closed {
			n.drop(h, ev, "payctl is exiting")
			continue
		}
		select {
		case n.queue <- delivery{h, ev}:
		default:
			n.drop(h, ev, "the queue is full")
		}
	}
}

func (n *Notifier) drop(h Webhook, ev Event, why string) {
	n.dropped.Add(1)
	n.log.Error("notify: alert dropped, "+why, "webhook", h.Name, "event", ev.Kind, "key", ev.Key, "summary", ev.Summary)
}

// Dropped, Sent and Failed count events dropped unsent, delivered, and
// given up after retries.
func (n *Notifier) Dropped() int64 { return n.dropped.Load() }

// Sent counts events delivered.
func (n *Notifier) Sent() int64 { return n.sent.Load() }

// Failed counts events given up after retries.
func (n *Notifier) Failed() int64 { return n.failed.Load() }

func (n *Notifier) run() {
	defer close(n.done)
	for d := range n.queue {
		n.deliver(d)
	}
}

// deliver sends one event to one webhook, with retries.
func (n *Notifier) deliver(d delivery) {
	body, err := encode(d.hook.Kind, d.ev)
	if err != nil {
		n.failed.Add(1)
		n.log.Error("notify: alert not delivered", "webhook", d.hook.Name, "event", d.ev.Kind, "key", d.ev.Key, "error", err)
		return
	}
	req, err := retryablehttp.NewRequest(http.MethodPost, d.hook.URL, body)
	if err != nil {
		n.failed.Add(1)
		n.log.Error("notify: alert not delivered: the webhook's URL is not usable", "webhook", d.hook.Name, "event", d.ev.Kind, "key", d.ev.Key)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", d.ev.Key)
	req.Header.Set("User-Agent", "payctl-notify")
	tries := 0
	req.Request = req.Request.WithContext(context.Background())
	n.client.RequestLogHook = func(_ retryablehttp.Logger, _ *http.Request, attempt int) { tries = attempt + 1 }
	resp, err := n.client.Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	switch {
	case err != nil:
		n.failed.Add(1)
		n.log.Error("notify: alert not delivered", "webhook", d.hook.Name, "event", d.ev.Kind, "key", d.ev.Key, "tries", tries, "error", redact(err, d.hook.URL))
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		n.failed.Add(1)
		n.log.Error("notify: alert not delivered", "webhook", d.hook.Name, "event", d.ev.Kind, "key", d.ev.Key, "tries", tries, "status", resp.StatusCode)
	default:
		n.sent.Add(1)
		n.log.Info("notify: alert delivered", "webhook", d.hook.Name, "event", d.ev.Kind, "key", d.ev.Key, "tries", tries, "status", resp.StatusCode)
	}
}

// redact is err's text without the URL (or any part of it).
func redact(err error, secret string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "(the webhook's URL)")
	}
	if u, perr := url.Parse(secret); perr == nil && u.Path != "" && u.Path != "/" {
		s = strings.ReplaceAll(s, u.Path, "(path)")
	}
	return s
}

// encode is the request body for a webhook kind.
func encode(kind string, ev Event) ([]byte, error) {
	switch kind {
	case "slack":
		text := "payctl: " + ev.Summary
		if ev.Command != "" {
			text += "\n`" + ev.Command + "`"
		}
		text += fmt.Sprintf("\n(%s, key %s)", ev.Kind, ev.Key)
		return json.Marshal(map[string]string{"text": text})
	case "json", "":
		return json.Marshal(struct {
			FormatVersion int `json:"format_version"`
			Event
		}{1, ev})
	}
	return nil, fmt.Errorf("unknown webhook kind %q", kind)
}

// Close stops taking events and waits for those queued to be delivered,
// until ctx ends; it reports how many were left undelivered.
func (n *Notifier) Close(ctx context.Context) int {
	if n == nil {
		return 0
	}
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		close(n.queue)
	}
	n.mu.Unlock()
	select {
	case <-n.done:
		return 0
	case <-ctx.Done():
		left := len(n.queue)
		n.log.Error("notify: exiting with alerts not delivered", "left", left)
		return left
	}
}
