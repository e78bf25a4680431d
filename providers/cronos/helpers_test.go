package cronos

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/cronos/emulator"
	"github.com/payctl/payctl/providers/cronos/internal/wire"
	"github.com/payctl/payctl/providers/providertest"
)

// start is a Tuesday morning in Jakarta.
var start = time.Date(2026, 11, 3, 10, 0, 0, 0, wire.Zone)

// waits records the retry waits a client asked for, without sleeping
// through them.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

// fastRetries makes c record its retry waits and wait a millisecond.
func fastRetries(c *Client) *waits {
	w := &waits{}
	real := c.backoff
	c.backoff = func(min, max time.Duration, n int, resp *http.Response) time.Duration {
		w.mu.Lock()
		w.d = append(w.d, real(min, max, n, resp))
		w.mu.Unlock()
		return time.Millisecond
	}
	return w
}

// testEnv is an emulator behind a test server and a client opened on it.
type testEnv struct {
	clock  *providertest.Clock
	em     *emulator.Emulator
	srv    *httptest.Server
	client *Client
	waits  *waits
	// callbacks receives what the emulator POSTs to the callback URL.
	callbacks *httptest.Server
}

// envSettings are what envOptions adjust.
type envSettings struct {
	opts     providers.Options
	cfg      emulator.Config
	callback http.Handler
}

type envOption func(*envSettings)

func withTimeout(d time.Duration) envOption {
	return func(s *envSettings) { s.opts.Timeout = d }
}

func withConfig(f func(*emulator.Config)) envOption {
	return func(s *envSettings) { f(&s.cfg) }
}

func withCallbackHandler(h http.Handler) envOption {
	return func(s *envSettings) { s.callback = h }
}

func newEnv(t *testing.T, opts ...envOption) *testEnv {
	t.Helper()
	e := &testEnv{clock: providertest.NewClock(start)}
	s := envSettings{
		opts:     providers.Options{Name: "idr-main", Timeout: 2 * time.Second, Now: e.clock.Now},
		cfg:      emulator.Config{SettleDelay: time.Minute},
		callback: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
	}
	for _, opt := range opts {
		opt(&s)
	}
	o, cfg, h := s.opts, s.cfg, s.callback
	e.callbacks = httptest.NewServer(h)
	t.Cleanup(e.callbacks.Close)
	o.CallbackURL = e.callbacks.URL + "/callbacks/cronos"
	em, err := emulator.NewWithConfig(providers.EmulatorOptions{Now: e.clock.Now, Seed: 1}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.em = em
	e.srv = httptest.NewServer(em)
	t.Cleanup(func() {
		e.srv.Close()
		em.Close()
	})
	o.BaseURL = e.srv.URL
	o.Credentials = em.Credentials()
	c, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	e.client = c
	e.waits = fastRetries(c)
	return e
}

// demoClient opens a client with the demo credentials on baseURL.
func demoClient(tb testing.TB, baseURL string, edit ...func(*providers.Options)) *Client {
	tb.Helper()
	o := providers.Options{
		Name: "idr-main", BaseURL: baseURL, Timeout: time.Second,
		Credentials: map[string]string{"keyEnv": wire.DemoKey, "tokenEnv": wire.DemoToken},
		CallbackURL: "https://payouts.example.com/callbacks/cronos",
	}
	for _, f := range edit {
		f(&o)
	}
	c, err := Open(o)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// payout is the i-th valid payout.
func payout(i int) providers.Payout {
	idr, _ := money.LookupCurrency("IDR")
	return providers.Payout{
		Address:  fmt.Sprintf("contractors-2026-11/p%d", i),
		Attempt:  1,
		Key:      fmt.Sprintf("6f1c1bde-1f3e-5c55-9d6a-%012d", i),
		Amount:   money.FromInt64(int64(150000 + i)),
		Currency: idr,
		Recipient: providers.Recipient{
			Name:     "Agus Salim",
			BankCode: "014",
			Account:  fmt.Sprintf("08218371823%05d", i+1),
		},
	}
}

// send prepares and sends p.
func (e *testEnv) send(t *testing.T, p providers.Payout) (providers.Result, error) {
	t.Helper()
	req, err := e.client.Prepare(p)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	return e.client.Send(t.Context(), p, req)
}

// ledgerCount is how many disbursements the emulator holds for ref.
func (e *testEnv) ledgerCount(ref string) int {
	n := 0
	for _, d := range e.em.Ledger() {
		if d.MerchantRef == ref {
			n++
		}
	}
	return n
}
