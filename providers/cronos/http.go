package cronos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/payctl/payctl/providers/cronos/internal/wire"
)

// maxAnswer caps an answer body. A /transactions page of a few hundred
// records is far below it.
const maxAnswer = 4 << 20

// notSentError marks a request attempt that provably never reached Cronos:
// no connection to it existed.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// exchange follows one logical request through its retries.
type exchange struct {
	// reached is set when an attempt may have reached Cronos; no attempt
	// follows such an attempt of a create.
	reached atomic.Bool
}

type exchangeKey struct{}

// tracingTransport bounds each attempt with the configured timeout and
// proves, per attempt, whether a connection existed. net/http calls
// GetConn before it looks for a connection and GotConn once it has one,
// before writing a byte (HTTP/2 included); an error between the two
// happened before the request could be written.
type tracingTransport struct {
	base    http.RoundTripper
	timeout time.Duration
}

func (t *tracingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var getConn, gotConn atomic.Bool
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GetConn: func(string) { getConn.Store(true) },
		GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) },
	})
	ex, _ := req.Context().Value(exchangeKey{}).(*exchange)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		if provesNotSent(err, getConn.Load(), gotConn.Load()) {
			return nil, &notSentError{err}
		}
		if ex != nil {
			ex.reached.Store(true)
		}
		return nil, err
	}
	if ex != nil && resp.StatusCode != http.StatusTooManyRequests {
		ex.reached.Store(true)
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// provesNotSent decides whether a failed attempt cannot have reached
// Cronos. Without the transport's trace (a custom transport that does not
// report it) only an error that exists before any connection counts.
func provesNotSent(err error, getConn, gotConn bool) bool {
	if gotConn {
		return false
	}
	if getConn {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// cancelOnClose ends an attempt's timeout when its body is closed, so the
// timeout also bounds reading the answer.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// retryCreate is the retry policy of POST /disburse.
func (c *Client) retryCreate(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, nil
	}
	if err != nil {
		var ns *notSentError
		return errors.As(err, &ns), nil
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		d, ok := retryAfter(resp, c.now())
		return !ok || d <= maxRetryAfter, nil
	}
	return false, nil
}

// retryRead is the retry policy of lookups, which move no money.
func (c *Client) retryRead(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, nil
	}
	if err != nil {
		return true, nil
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		d, ok := retryAfter(resp, c.now())
		return !ok || d <= maxRetryAfter, nil
	}
	return resp.StatusCode >= 500, nil
}

// retryWait honours a 429's Retry-After (on the client's clock) and
// otherwise backs off exponentially between min and max.
func (c *Client) retryWait(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
		if d, ok := retryAfter(resp, c.now()); ok {
			return d
		}
	}
	return retryablehttp.DefaultBackoff(min, max, attempt, nil)
}

// retryAfter reads Retry-After in seconds or as an HTTP date.
func retryAfter(resp *http.Response, now time.Time) (time.Duration, bool) {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(v, 10, 31); err == nil {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// reply is what came back for one logical request.
type reply struct {
	status int    // HTTP status; 0 when no answer came
	body   []byte // the whole answer body
	// reached: the request may have reached Cronos. False only when every
	// attempt provably failed before a connection existed, or answered 429.
	reached bool
	err     error // transport or read failure
}

// roundTrip sends one signed request through rc and reads the whole answer.
func (c *Client) roundTrip(ctx context.Context, rc *retryablehttp.Client, method, path string, query url.Values, body []byte) reply {
	ex := &exchange{}
	ctx = context.WithValue(ctx, exchangeKey{}, ex)
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var raw any
	if body != nil {
		raw = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, u, raw)
	if err != nil {
		return reply{err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set(wire.HeaderKey, c.key)
	req.Header.Set(wire.HeaderToken, c.token)
	req.Header.Set(wire.HeaderSignature, wire.Sign(c.key, c.token, body))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "payctl")

	resp, err := rc.Do(req)
	if err != nil {
		return reply{reached: ex.reached.Load(), err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	r := reply{status: resp.StatusCode, body: b, reached: ex.reached.Load() || resp.StatusCode != http.StatusTooManyRequests}
	switch {
	case err != nil:
		r.err = fmt.Errorf("read the answer (HTTP %d): %w", resp.StatusCode, err)
	case len(b) > maxAnswer:
		r.err = fmt.Errorf("the answer (HTTP %d) is larger than %d bytes", resp.StatusCode, maxAnswer)
	}
	return r
}
