// Package dinardragon is payctl's client for Dinar Dragon, a USD bank
// payout provider paid from a prefunded dashboard balance.
//
// Dinar Dragon is a batch provider: one provider payout carries many
// accounts. Paying is two steps, and this package keeps them apart:
//
//   - Quote calls POST /get-authcode. It moves no money, so it is retried
//     freely (timeouts, resets, 5xx, 429) within a bound. Its answer is the
//     charge for the whole payout and an authcode that expires after 15
//     minutes; letting it expire is the only way to cancel.
//   - Execute calls POST /execute with the authcode, once. It is retried
//     only while no byte of the request has been written (connection
//     refused, DNS, TLS handshake). An answer that is lost, late, 5xx, 429,
//     truncated, unparsable or that does not match the request leaves every
//     payout of the quote unknown and returns an error wrapping
//     providers.ErrStop: Dinar Dragon has no idempotency key and no lookup
//     by authcode, so only a person with the dashboard can settle it. The
//     client also refuses to send a second execute for an authcode it has
//     sent before, and to quote an attempt (by its idempotency key) that
//     was in such an execute.
//   - Check calls POST /status by payment_id (falling back to uniqueid).
//
// payment_id and uniqueid are documented only as strings (the examples are
// 16 lower-case hex characters): any non-empty printable text up to 128
// bytes is accepted, so an unusual spelling from an irreversible execute
// never turns a made payment into an unknown one. Accounts and amounts in
// the answer are matched strictly against the request.
//
// The charge is per provider payout, not per payout: each Result of an
// execute has Fee nil and carries the charge in Answer["charge_in_usd"]
// (as returned) and Answer[providers.AnswerGroupFee] (for the engine),
// and IDs[providers.IDGroup] ("payment_id") groups the results of one
// provider payout, so the charge is recorded once per payment_id.
//
// Where the documentation contradicts itself the client takes the reading
// that cannot pay twice or leak a secret, and says so where it matters:
// the private key travels in the Authorization header, never in a body
// (wire.go); the recipient's name is sent under both documented field
// names; success is code 200 or 201.
//
// The private key never appears in errors, logs, Results, Requests or
// Quotes.
package dinardragon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// TypeName is the provider type's name in payctl.yaml.
const TypeName = "dinardragon"

// DefaultBaseURL is Dinar Dragon's documented API host.
const DefaultBaseURL = "https://dinardragon.com"

// DefaultMaxBatch is the accounts per provider payout when the config sets
// none. Dinar Dragon documents no limit; 100 keeps one execute answer, and
// one unknown outcome a person may have to resolve, to a reviewable size.
const DefaultMaxBatch = 100

// AuthcodeLifetime is how long an authcode is valid, per the docs.
const AuthcodeLifetime = 15 * time.Minute

// Retry bounds. Quotes and status calls move no money; an execute is
// retried only while nothing was written, so a bound of 2 retries covers a
// short network blip without delaying a run for long.
const (
	defaultRetryMax     = 4
	defaultExecuteRetry = 2
	defaultRetryWaitMin = 250 * time.Millisecond
	defaultRetryWaitMax = 5 * time.Second
)

// ErrAuth reports that Dinar Dragon refused the private key (401 or 403):
// every further request would be refused too, so the run stops.
var ErrAuth = errors.New("the private key was refused by Dinar Dragon; check the environment variable named by privateKeyEnv")

var (
	_ providers.Provider = (*Client)(nil)
	_ providers.Batch    = (*Client)(nil)
	_ providers.Checker  = (*Client)(nil)
)

// Type describes Dinar Dragon to the rest of payctl.
var Type = providers.Type{
	Name:            TypeName,
	Title:           "Dinar Dragon",
	Batch:           true,
	Rules:           Rules,
	DefaultMaxBatch: DefaultMaxBatch,
	DefaultFees: fee.Schedule{
		Percent: new(money.MustParse("2.5")),
		Payer:   fee.Sender,
		Basis:   fee.PerBatch,
		// The provider charges in mills: the docs' example charges 4.875
		// USD on 195 USD, and the plan must show that, not 4.88.
		Rounding: money.HalfEven,
		Places:   3,
	},
	Credentials: []providers.Credential{
		{Field: "privateKeyEnv"},
		// The public key's purpose is never explained; it is accepted so
		// that configs following the docs' JavaScript example validate,
		// and not sent, since no documented reading needs it beside the
		// private key in the header.
		{Field: "publicKeyEnv", Optional: true},
	},
	Open: func(o providers.Options) (providers.Provider, error) { return New(o) },
}

// Client talks to one configured Dinar Dragon account. It is safe for
// concurrent use.
//
// It implements neither providers.BalanceReader nor
// providers.AccountVerifier: Dinar Dragon publishes no balance endpoint
// and no account inquiry (its pages document /get-authcode, /execute and
// /status only). The charge of a payout is known from its quote; whether
// the dashboard balance covers it is only learnt from the execute.
type Client struct {
	name     string
	baseURL  string
	key      string // the private key: only ever put into a header
	hc       *http.Client
	maxBatch int
	now      func() time.Time
	log      *slog.Logger

	// Retry tuning; tests shorten the waits.
	retryMax, executeRetryMax  int
	retryWaitMin, retryWaitMax time.Duration

	mu sync.Mutex
	// sent holds every authcode whose execute request may have reached
	// Dinar Dragon, with when it was sent: the guard against a second
	// execute.
	sent map[string]time.Time
	// keys maps the idempotency key of every payout in such an execute
	// to its authcode. Dinar Dragon takes no idempotency key, so a second
	// quote for the same attempt would be paid again: the client refuses
	// it instead, in case the engine ever asks.
	keys map[string]string
}

// New returns a client for the provider configured by o.
func New(o providers.Options) (*Client, error) {
	name := o.Name
	if name == "" {
		name = TypeName
	}
	key := o.Credentials["privateKeyEnv"]
	if key == "" {
		return nil, fmt.Errorf("provider %s: the Dinar Dragon private key is empty: set the environment variable named by privateKeyEnv", name)
	}
	if strings.ContainsAny(key, "\r\n") {
		return nil, fmt.Errorf("provider %s: the Dinar Dragon private key contains a line break: check the variable named by privateKeyEnv", name)
	}
	base := o.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	if !strings.HasPrefix(base, "https://") && !strings.HasPrefix(base, "http://") {
		return nil, fmt.Errorf("provider %s: baseURL %q must start with https://", name, base)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	var hc http.Client
	if o.HTTPClient != nil {
		hc = *o.HTTPClient
	} else {
		// Its own connection pool: Execute closes idle connections, which
		// must not touch other clients sharing http.DefaultTransport.
		hc.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	hc.Timeout = timeout
	// A redirect would re-send the body somewhere the config does not name.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	maxBatch := o.MaxBatch
	if maxBatch <= 0 {
		maxBatch = DefaultMaxBatch
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{
		name:            name,
		baseURL:         strings.TrimRight(base, "/"),
		key:             key,
		hc:              &hc,
		maxBatch:        maxBatch,
		now:             now,
		log:             log,
		retryMax:        defaultRetryMax,
		executeRetryMax: defaultExecuteRetry,
		retryWaitMin:    defaultRetryWaitMin,
		retryWaitMax:    defaultRetryWaitMax,
		sent:            map[string]time.Time{},
		keys:            map[string]string{},
	}, nil
}

// Name is the provider's name in payctl.yaml.
func (c *Client) Name() string { return c.name }

// Type is "dinardragon".
func (c *Client) Type() string { return TypeName }

// MaxBatch is the most payouts one provider payout carries.
func (c *Client) MaxBatch() int { return c.maxBatch }

// answer is an HTTP answer read in full.
type answer struct {
	status int
	body   []byte
}

// call sends a request that moves no money (get-authcode, status): any
// failure may be retried, including after the request was written.
func (c *Client) call(ctx context.Context, path string, body []byte) (answer, error) {
	rc := c.retryClient(c.retryMax, func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if err != nil {
			return true, nil
		}
		return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, nil
	})
	req, err := c.newRequest(ctx, path, body)
	if err != nil {
		return answer{}, err
	}
	// A truncated body is retried like a reset: the answer is read inside
	// the retry loop.
	var got []byte
	read := false
	req.SetResponseHandler(func(resp *http.Response) error {
		defer resp.Body.Close()
		b, err := readAnswer(resp.Body)
		if err != nil {
			return fmt.Errorf("reading the answer: %w", err)
		}
		got, read = b, true
		return nil
	})
	resp, err := rc.Do(req)
	if err != nil {
		return answer{}, c.redact(err)
	}
	if !read {
		// The retries ran out on a 5xx or 429, whose body the handler
		// does not see.
		defer resp.Body.Close()
		if got, err = readAnswer(resp.Body); err != nil {
			return answer{}, fmt.Errorf("reading the answer: %w", c.redact(err))
		}
	}
	c.log.Debug("dinardragon request", "provider", c.name, "path", path, "status", resp.StatusCode)
	return answer{status: resp.StatusCode, body: got}, nil
}

// send posts an execute request. It is retried only while no byte of it
// has been written in any attempt; wrote reports whether one was.
func (c *Client) send(ctx context.Context, path string, body []byte) (ans answer, wrote bool, err error) {
	var flag atomic.Bool
	trace := &httptrace.ClientTrace{
		// WroteHeaders fires once the headers are in the write buffer,
		// before anything reaches the socket: from here on the provider
		// may receive the request. Taking this early point is deliberate:
		// it can only make the client say "unknown" where "not sent"
		// would have been true, never the reverse.
		WroteHeaders: func() { flag.Store(true) },
	}
	ctx = httptrace.WithClientTrace(ctx, trace)
	rc := c.retryClient(c.executeRetryMax, func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		// A response of any status, 429 included, means the request was
		// received: never again for this authcode.
		return resp == nil && err != nil && !flag.Load(), nil
	})
	req, err := c.newRequest(ctx, path, body)
	if err != nil {
		return answer{}, false, err
	}
	// A kept-alive connection the server has just closed fails after the
	// headers went into the buffer, which this client must then call
	// unknown. Starting the one execute on a fresh connection avoids that
	// race for the price of one handshake.
	c.hc.CloseIdleConnections()
	resp, err := rc.Do(req)
	if err != nil {
		return answer{}, flag.Load(), c.redact(err)
	}
	defer resp.Body.Close()
	b, err := readAnswer(resp.Body)
	c.log.Debug("dinardragon request", "provider", c.name, "path", path, "status", resp.StatusCode)
	if err != nil {
		return answer{status: resp.StatusCode}, true, fmt.Errorf("reading the answer: %w", c.redact(err))
	}
	return answer{status: resp.StatusCode, body: b}, true, nil
}

func (c *Client) retryClient(retries int, check retryablehttp.CheckRetry) *retryablehttp.Client {
	return &retryablehttp.Client{
		HTTPClient:   c.hc,
		RetryMax:     retries,
		RetryWaitMin: c.retryWaitMin,
		RetryWaitMax: c.retryWaitMax,
		CheckRetry:   check,
		Backoff:      backoff,
		// The last answer is returned as is, so its status and message
		// reach the user instead of "giving up after N attempts".
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
}

// backoff doubles from min, capped at max. A Retry-After on a 429 or 503
// is honoured but capped at max too: Dinar Dragon documents no rate limit,
// and a proxy asking for minutes must not stall a run unboundedly.
func backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s >= 0 {
			return min(time.Duration(s)*time.Second, hi)
		}
	}
	return retryablehttp.DefaultBackoff(lo, hi, attempt, nil)
}

func (c *Client) newRequest(ctx context.Context, path string, body []byte) (*retryablehttp.Request, error) {
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+path, body)
	if err != nil {
		return nil, fmt.Errorf("building the request to %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	// The raw key, no scheme: the docs name none.
	req.Header.Set("Authorization", c.key)
	return req, nil
}

// redact removes the private key from an error's text. net/http does not
// put headers into errors, but a wrapped error from a custom transport
// might, and a secret in a message would be printed and perhaps journaled.
func (c *Client) redact(err error) error {
	if err == nil || !strings.Contains(err.Error(), c.key) {
		return err
	}
	return redacted{msg: strings.ReplaceAll(err.Error(), c.key, "[private key]"), err: err}
}

type redacted struct {
	msg string
	err error
}

func (r redacted) Error() string { return r.msg }
func (r redacted) Unwrap() error { return r.err }

func readAnswer(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxAnswer+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxAnswer {
		return nil, fmt.Errorf("the answer is larger than %d bytes", maxAnswer)
	}
	return bytes.TrimSpace(b), nil
}

// failureText describes an answer that is not a success for a message.
func failureText(a answer) string {
	if f, err := parseFailure(a.body); err == nil {
		return fmt.Sprintf("HTTP %d, code %d: %s", a.status, f.Code, providers.Clip(f.Msg, 200))
	}
	if len(a.body) == 0 {
		return fmt.Sprintf("HTTP %d with an empty body", a.status)
	}
	return fmt.Sprintf("HTTP %d: %s", a.status, providers.Clip(string(a.body), 200))
}
