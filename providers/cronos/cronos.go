// Package cronos is payctl's client for Cronos Engine, an Indonesian
// disbursement API: one disbursement per payout, amounts in whole rupiah,
// requests signed with an HMAC over a PHP json_encode of the body.
//
// What the client guarantees, beyond the providers contract:
//
//   - Prepare builds the exact body PHP would encode (package phpjson), so
//     the journaled request, the signed bytes and the sent bytes are one
//     byte sequence. The payout's idempotency key is the Cronos reference.
//   - Send retries only what cannot have reached Cronos: failures before a
//     connection existed (refused, DNS, TLS handshake, a dial timeout), and
//     429 answers with a Retry-After of at most maxRetryAfter. Everything
//     after a connection existed (timeouts, resets, EOF, 5xx, a truncated
//     or unreadable answer) is StatusUnknown and is never re-sent.
//   - An answer is trusted only when it parses strictly where money is
//     decided: one object without duplicate fields, a known status, the
//     sent amount, and the sent reference and account whenever it names
//     them; a contradicting answer stops the run (providers.ErrStop).
//     Where the page is silent the client is tolerant: an id is any
//     printable text up to 128 bytes (the page says "unique identifier"),
//     merchantRef may be absent, and fields the page does not list decide
//     nothing and are kept in Result.Answer (top-level ones under
//     "envelope."), bounded.
//   - Result.Answer holds, as returned, status, amount, fee, totalAmount,
//     feePayer, the dates and the bank's recipientName
//     (providers.AnswerFeePayer, AnswerTotal, AnswerBankName), on create
//     and on every Check; Result.Fee is the answer's fee.
//   - Check asks GET /check/{id} when the attempt has a Cronos id, and
//     otherwise scans GET /transactions for the reference (see check.go for
//     how a "not found" is proven). Attempts older than Cronos's 7-day
//     retention come back unknown: a person decides.
//   - Callbacks are unauthenticated hints (ParseCallback, CallbackHandler);
//     nothing is recorded from them without a Check.
//   - VerifyAccount (POST /account-inquiry) and Balance (GET /balance)
//     move no money; they are retried like lookups and their errors name
//     the provider and say what to do (inquiry.go).
//   - The project key and token never appear in requests as journaled,
//     results, errors or logs.
//
// Which HTTP answers mean what (the API's error list is not public, so the
// reading that cannot cause a double payout is chosen where it is unclear):
//
//	2xx envelope 200 + valid record  -> the record's status (pending,
//	                                    paid, failed)
//	429 (after bounded retries)      -> not-sent: nothing was created
//	400, 422                         -> failed (validation: nothing was
//	                                    created), unless the message speaks
//	                                    of the reference (a duplicate) ->
//	                                    unknown; Laravel's validation answer
//	                                    ({"message", "errors"}, outside the
//	                                    envelope) is read the same way
//	401, 403                         -> failed and the run stops: the
//	                                    credentials or signature are wrong
//	409                              -> unknown (duplicate reference: a
//	                                    disbursement with it exists)
//	any other 4xx, 3xx, 5xx          -> unknown
//	no answer after connecting       -> unknown
//	no connection                    -> not-sent
package cronos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// Type describes Cronos Engine to the rest of payctl.
var Type = providers.Type{
	Name:        "cronos",
	KeyedLookup: true,
	Title:       "Cronos",
	Rules:       Rules{},
	// The disbursement fee looks flat at 3000 IDR in every source; who
	// bears it is a project setting at Cronos (feePayer), so the default
	// says the sender pays, as the docs' example (totalAmount = amount +
	// fee) does.
	DefaultFees: fee.Schedule{
		Fixed:    new(money.FromInt64(3000)),
		Payer:    fee.Sender,
		Basis:    fee.PerPayout,
		Rounding: money.HalfEven,
		Places:   0,
	},
	Credentials: []providers.Credential{{Field: "keyEnv"}, {Field: "tokenEnv"}},
	Open: func(o providers.Options) (providers.Provider, error) {
		return Open(o)
	},
	Callbacks: CallbackHandler,
}

// maxIdlePerHost bounds the idle connections kept to Cronos; more payouts
// in flight than this is unusual (Cronos's rate limits are unknown).
const maxIdlePerHost = 64

// Client is an opened Cronos provider. It is safe for concurrent use: the
// apply engine sends several payouts at once.
type Client struct {
	name     string
	base     string // without a trailing slash
	key      string
	token    string
	callback string
	now      func() time.Time
	log      *slog.Logger

	// create sends POST /disburse: it retries only what cannot have
	// reached Cronos. read sends lookups, which move no money and may be
	// retried after any failure.
	create *retryablehttp.Client
	read   *retryablehttp.Client

	// backoff decides the wait before a retry; tests replace it to record
	// the waits asked for without sleeping through them.
	backoff retryablehttp.Backoff
}

var (
	_ providers.Provider = (*Client)(nil)
	_ providers.Single   = (*Client)(nil)
	_ providers.Checker  = (*Client)(nil)
)

// DefaultTimeout bounds one HTTP request when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Retry bounds. maxRetryAfter caps how long a 429's Retry-After is honoured;
// a longer one ends the attempt as not-sent rather than holding an apply.
const (
	createRetries = 4
	readRetries   = 3
	retryWaitMin  = 250 * time.Millisecond
	retryWaitMax  = 4 * time.Second
	maxRetryAfter = 10 * time.Second
)

// Open returns a client for a configured Cronos provider. It checks the
// configuration and does no I/O.
func Open(o providers.Options) (*Client, error) {
	where := fmt.Sprintf("provider %q", o.Name)
	base, err := checkBaseURL(o.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("%s: baseURL: %v", where, err)
	}
	key, token := o.Credentials["keyEnv"], o.Credentials["tokenEnv"]
	for _, c := range []struct{ field, value string }{{"keyEnv", key}, {"tokenEnv", token}} {
		if c.value == "" {
			return nil, fmt.Errorf("%s: the environment variable named by providers.%s.%s is empty or unset: set it to the Cronos project credential", where, o.Name, c.field)
		}
		if strings.TrimSpace(c.value) != c.value || !utf8.ValidString(c.value) {
			// Reported without the value: it is a secret.
			return nil, fmt.Errorf("%s: the environment variable named by providers.%s.%s has surrounding spaces or invalid UTF-8: set it to the credential exactly", where, o.Name, c.field)
		}
	}
	if err := checkCallbackURL(o.CallbackURL); err != nil {
		return nil, fmt.Errorf("%s: callbackURL: %v (Cronos requires additionalInfo.callback on every disbursement; set providers.%s.callbackURL in payctl.yaml)", where, err, o.Name)
	}
	c := &Client{
		name:     o.Name,
		base:     base,
		key:      key,
		token:    token,
		callback: o.CallbackURL,
		now:      o.Now,
		log:      o.Logger,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.backoff = c.retryWait
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	hc := cleanhttp.DefaultPooledClient()
	// Keep a connection per payout in flight: cleanhttp keeps GOMAXPROCS+1,
	// and every request beyond that would dial (and later close) its own.
	hc.Transport.(*http.Transport).MaxIdleConnsPerHost = maxIdlePerHost
	if o.HTTPClient != nil {
		copied := *o.HTTPClient
		hc = &copied
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	// The per-request timeout lives in the transport, not in
	// http.Client.Timeout: the client replaces a timed-out request's error
	// with a plain message, which would hide whether a connection existed.
	hc.Timeout = 0
	hc.Transport = &tracingTransport{base: rt, timeout: timeout}
	// A redirected POST becomes a GET elsewhere; an answer that is not the
	// API's own is treated as what it is, an unexpected answer.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	c.create = c.retryClient(hc, createRetries, c.retryCreate)
	c.read = c.retryClient(hc, readRetries, c.retryRead)
	return c, nil
}

func (c *Client) retryClient(hc *http.Client, retries int, policy retryablehttp.CheckRetry) *retryablehttp.Client {
	// go-retryablehttp formats the URL of every request for its logger
	// before the logger can say it drops debug messages: without a logger
	// that keeps them, it gets none.
	var logger any
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		logger = retryLogger{c.log}
	}
	return &retryablehttp.Client{
		HTTPClient:   hc,
		Logger:       logger,
		RetryWaitMin: retryWaitMin,
		RetryWaitMax: retryWaitMax,
		RetryMax:     retries,
		CheckRetry:   policy,
		Backoff: func(min, max time.Duration, n int, resp *http.Response) time.Duration {
			return c.backoff(min, max, n, resp)
		},
		// The last answer or error comes back as it is, so that a final
		// 429 is read as "rate limited" and an error keeps its cause.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
}

func checkBaseURL(s string) (string, error) {
	if s == "" {
		return "", errors.New("is empty: set it to the Cronos API base, e.g. https://api.cronosengine.com/api")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("is not a URL such as https://api.cronosengine.com/api")
	}
	if u.User != nil {
		return "", errors.New("must not carry credentials: they belong in keyEnv and tokenEnv")
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) URL such as https://api.cronosengine.com/api", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q must not have a query or fragment", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// checkCallbackURL rejects what Cronos could not use and what a PHP
// re-encode would change (surrounding spaces, invalid UTF-8).
func checkCallbackURL(s string) error {
	if s == "" {
		return errors.New("is empty")
	}
	if !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return errors.New("has surrounding spaces or invalid UTF-8")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// Name is the provider's name in payctl.yaml.
func (c *Client) Name() string { return c.name }

// Type is "cronos".
func (c *Client) Type() string { return Type.Name }

// String names the client without its credentials.
func (c *Client) String() string { return fmt.Sprintf("cronos provider %q at %s", c.name, c.base) }

// Format keeps every fmt verb, %#v included, away from the credentials.
func (c *Client) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// LogValue keeps slog away from the credentials.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("provider", c.name), slog.String("type", Type.Name))
}

// scrub removes the credentials from text that came from outside (an
// answer that echoes headers, an error that quotes a request) before it is
// put in a Result, an error or a log.
func (c *Client) scrub(s string) string {
	for _, secret := range []string{c.token, c.key} {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// retryLogger sends go-retryablehttp's messages to slog at debug level:
// failed attempts are expected and reported through Results.
type retryLogger struct{ l *slog.Logger }

func (r retryLogger) Error(msg string, kv ...any) { r.l.Debug("cronos: "+msg, kv...) }
func (r retryLogger) Info(msg string, kv ...any)  { r.l.Debug("cronos: "+msg, kv...) }
func (r retryLogger) Debug(msg string, kv ...any) { r.l.Debug("cronos: "+msg, kv...) }
func (r retryLogger) Warn(msg string, kv ...any)  { r.l.Debug("cronos: "+msg, kv...) }
