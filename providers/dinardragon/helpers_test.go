package dinardragon

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/dinardragon/emulator"
	"github.com/payctl/payctl/providers/providertest"
)

// recorder keeps the bodies of the requests a client sent, by path.
type recorder struct {
	mu     sync.Mutex
	bodies map[string][][]byte
	next   http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(b))
		r.mu.Lock()
		r.bodies[req.URL.Path] = append(r.bodies[req.URL.Path], b)
		r.mu.Unlock()
	}
	return r.next.RoundTrip(req)
}

func (r *recorder) last(path string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	bs := r.bodies[path]
	if len(bs) == 0 {
		return ""
	}
	return string(bs[len(bs)-1])
}

// env is a client talking to an emulator over real HTTP on loopback.
type env struct {
	clock  *providertest.Clock
	em     *emulator.Emulator
	srv    *httptest.Server
	client *Client
	rec    *recorder
}

type envOption func(*providers.Options)

func withTimeout(d time.Duration) envOption {
	return func(o *providers.Options) { o.Timeout = d }
}

func withTransport(rt func(next http.RoundTripper) http.RoundTripper) envOption {
	return func(o *providers.Options) {
		o.HTTPClient = &http.Client{Transport: rt(o.HTTPClient.Transport)}
	}
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	clk := providertest.NewClock(time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC))
	em, err := emulator.New(providers.EmulatorOptions{Now: clk.Now, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	em.SetDelay(5 * time.Second)
	srv := httptest.NewServer(em)
	t.Cleanup(func() {
		em.Close()
		srv.Close()
	})
	rec := &recorder{bodies: map[string][][]byte{}, next: srv.Client().Transport}
	o := providers.Options{
		Name:        "usd-main",
		BaseURL:     srv.URL,
		Credentials: em.Credentials(),
		Timeout:     5 * time.Second,
		HTTPClient:  &http.Client{Transport: rec},
		Now:         clk.Now,
	}
	for _, opt := range opts {
		opt(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	fast(c)
	return &env{clock: clk, em: em, srv: srv, client: c, rec: rec}
}

// fast shortens the client's retry waits; the counts stay as in production.
func fast(c *Client) {
	c.retryWaitMin = time.Millisecond
	c.retryWaitMax = 2 * time.Millisecond
}

// payout builds a valid payout of batch "b".
func payout(id, amount, account, country string) providers.Payout {
	usd, _ := money.LookupCurrency("USD")
	return providers.Payout{
		Address:  "b/" + id,
		Attempt:  1,
		Key:      "key-" + id,
		Amount:   money.MustParse(amount),
		Currency: usd,
		Recipient: providers.Recipient{
			Name:    "Recipient " + id,
			Bank:    "Bank of " + country,
			Account: account,
			Country: country,
		},
	}
}

// docsExample is the docs' payout: 50, 70 and 75 USD to US, SA and US banks.
func docsExample() []providers.Payout {
	return []providers.Payout{
		payout("alice", "50", "123456789", "US"),
		payout("bob", "70", "987654321", "SA"),
		payout("carol", "75", "555000111", "US"),
	}
}

func statuses(rs []providers.Result) []providers.Status {
	out := make([]providers.Status, len(rs))
	for i, r := range rs {
		out[i] = r.Status
	}
	return out
}

func allStatus(t *testing.T, rs []providers.Result, want providers.Status, n int) {
	t.Helper()
	if len(rs) != n {
		t.Fatalf("got %d results, want %d", len(rs), n)
	}
	for _, r := range rs {
		if r.Status != want {
			t.Fatalf("got statuses %v, want all %s (reason %q)", statuses(rs), want, r.Reason)
		}
	}
}

// attempts turns execute results into the attempts the engine would check.
func attempts(q providers.Quote, rs []providers.Result, sentAt time.Time) []providers.Attempt {
	out := make([]providers.Attempt, len(rs))
	for i, r := range rs {
		out[i] = providers.Attempt{Payout: q.Payouts[i], IDs: r.IDs, Token: q.Token, SentAt: sentAt, Status: r.Status}
	}
	return out
}

func ledgerAccounts(em *emulator.Emulator) int {
	n := 0
	for _, p := range em.Ledger() {
		n += len(p.Accounts)
	}
	return n
}

func (e *env) quote(t *testing.T, ctx context.Context, ps []providers.Payout) providers.Quote {
	t.Helper()
	q, err := e.client.Quote(ctx, ps)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func (e *env) execute(t *testing.T, ctx context.Context, q providers.Quote) []providers.Result {
	t.Helper()
	rs, err := e.client.Execute(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func (e *env) check(t *testing.T, ctx context.Context, as []providers.Attempt) []providers.Result {
	t.Helper()
	rs, err := e.client.Check(ctx, as)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}
