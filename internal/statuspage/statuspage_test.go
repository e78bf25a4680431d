package statuspage

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
	"github.com/payctl/payctl/state/pgstate"
	"github.com/payctl/payctl/state/pgstate/pgtest"
	"github.com/payctl/payctl/state/statetest"
)

// statetest's clock starts at 2026-11-22 10:00:00 UTC.
var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// newState records, in a local state under a temporary folder: batch
// "nov" with alice paid (1,250,000 IDR) and bob unknown, both with the
// given recipient name and account, and batch "dec" with carol pending.
func newState(t *testing.T, name, account string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "payctl.state.json")
	record(t, localstate.New(path, nil, nil), name, account)
	return path
}

func record(t *testing.T, b state.Backend, name, account string) {
	t.Helper()
	st := statetest.OpenWriter(t, b)
	intent := func(addr, amount string) *state.Event {
		e := statetest.Intent(addr, 1, amount)
		r := *e.Payouts[0].Recipient
		r.Name, r.Account = name, account
		ep := &e.Payouts[0]
		ep.Recipient = &r
		ep.Digest = state.Details{Provider: e.Provider, Currency: ep.Currency, Amount: *ep.Amount, Recipient: r}.Digest()
		return e
	}
	evs := []*state.Event{
		intent("nov/alice", "1250000"), statetest.Outcome("nov/alice", 1, providers.StatusPaid, "tx-1"),
		intent("nov/bob", "300000"), statetest.Outcome("nov/bob", 1, providers.StatusUnknown, ""),
		intent("dec/carol", "75000"), statetest.Outcome("dec/carol", 1, providers.StatusPending, "tx-3"),
	}
	for _, e := range evs {
		if err := st.Record(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, h http.Handler, header ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest("GET", "/", nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func page(t *testing.T, path string, o Options) *Page {
	o.Backend = localstate.New(path, nil, nil)
	o.Now = func() time.Time { return now }
	return New(o)
}

func TestPageShowsTheState(t *testing.T) {
	path := newState(t, "Alice Example", "1234567890")
	res, body := get(t, page(t, path, Options{ConfigFlag: "ops/payctl.yaml"}))
	if res.StatusCode != 200 {
		t.Fatalf("status %d:\n%s", res.StatusCode, body)
	}
	for _, want := range []string{
		`<b id="payout-count">3</b>`,
		`<b id="unknown-count">1</b>`,
		// Totals with thousands separators: 1,250,000 + 300,000 + 75,000.
		`<span class="total">1,625,000 IDR</span>`,
		// The unknown payout with the exact command that resolves it.
		`<code class="resolve">payctl state resolve -config ops/payctl.yaml nov/bob -paid|-failed -reason TEXT</code>`,
		// Masked account, never the number.
		`******7890`,
		// Batches, most recently active first, with status counts.
		`<td>dec</td>`, `<span class="st st-paid">paid 1</span>`,
		// The chart has the day alice was paid.
		`2026-11-22: 1,250,000 IDR paid`,
		// Recent activity, newest first.
		`<td>outcome</td><td>dec/carol</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "1234567890") {
		t.Error("the page shows an account number unmasked")
	}
	if strings.Index(body, "<td>dec</td>") > strings.Index(body, "<td>nov</td>") {
		t.Error("batches are not listed most recently active first")
	}
	if strings.Contains(body, "held files") {
		t.Error("serve's page (no watched folder) speaks of held files")
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Cache-Control"} {
		if res.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP %q: want default-src 'none' and only the style's hash", csp)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "http://") && !strings.Contains(body, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Error("the page has a script or loads something from elsewhere")
	}
}

func TestPageEscapesHostileText(t *testing.T) {
	hostile := `<script>alert(1)</script><img src=x onerror=alert(2)>` + "\u202e" + `evil`
	path := newState(t, hostile, `<b>99</b>1234`)
	_, body := get(t, page(t, path, Options{}))
	for _, bad := range []string{"<script>alert", "<img", "<b>99", "\u202e"} {
		if strings.Contains(body, bad) {
			t.Errorf("the page contains %q unescaped", bad)
		}
	}
	if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the hostile name is not shown escaped")
	}
	if !strings.Contains(body, `\u202e`) && !strings.Contains(body, `\u202E`) {
		t.Error("the right-to-left override is not shown as an escape")
	}
	// The account is masked before escaping: only its last four remain.
	if !strings.Contains(body, "*********1234") {
		t.Error("the hostile account is not masked")
	}
}

func TestPageToken(t *testing.T) {
	path := newState(t, "Alice", "1234567890")
	p := page(t, path, Options{Token: "s3cret-token"})
	for _, c := range []struct {
		name   string
		header []string
		want   int
	}{
		{"none", nil, 401},
		{"wrong bearer", []string{"Authorization", "Bearer nope"}, 401},
		{"empty bearer", []string{"Authorization", "Bearer "}, 401},
		{"bearer", []string{"Authorization", "Bearer s3cret-token"}, 200},
		{"basic password", []string{"Authorization", "Basic " + basic("anyone", "s3cret-token")}, 200},
		{"basic wrong", []string{"Authorization", "Basic " + basic("s3cret-token", "x")}, 401},
	} {
		res, body := get(t, p, c.header...)
		if res.StatusCode != c.want {
			t.Errorf("%s: got %d, want %d", c.name, res.StatusCode, c.want)
		}
		if c.want == 401 {
			if strings.Contains(body, "nov/bob") {
				t.Errorf("%s: the refusal shows the state", c.name)
			}
			if res.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: no WWW-Authenticate: a browser would not ask for the token", c.name)
			}
		}
	}
}

func basic(user, pw string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pw)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

func TestPageReadOnly(t *testing.T) {
	path := newState(t, "Alice", "1234567890")
	before, _ := os.ReadFile(path + ".journal")
	p := page(t, path, Options{})
	req := httptest.NewRequest("POST", "/", strings.NewReader("x"))
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: got %d, want 405", rec.Code)
	}
	// A writer holds the lock: the page still reads.
	w := statetest.OpenWriter(t, localstate.New(path, nil, nil))
	defer w.Close()
	if res, body := get(t, p); res.StatusCode != 200 || !strings.Contains(body, "nov/bob") {
		t.Errorf("with the writer lock held: status %d", res.StatusCode)
	}
	after, _ := os.ReadFile(path + ".journal")
	if string(before) != string(after) {
		t.Error("serving the page changed the journal")
	}
}

func TestPageStateErrors(t *testing.T) {
	path := newState(t, "Alice", "1234567890")
	p := page(t, path, Options{})
	// A journal record changed by hand: the page says so, the handler
	// does not crash, and the next request after a repair works.
	j := path + ".journal"
	good, err := os.ReadFile(j)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(good), `"tx-3"`, `"tx-9"`, 1)
	if bad == string(good) {
		t.Fatal("the journal has no tx-3 to change")
	}
	os.WriteFile(j, []byte(bad), 0o600)
	res, body := get(t, p)
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `id="error"`) {
		t.Fatalf("damaged journal: status %d, want 503 with the error page:\n%s", res.StatusCode, body)
	}
	if strings.Contains(body, "nov/bob") && !strings.Contains(body, "The state cannot be read") {
		t.Error("the error page shows the state")
	}
	os.WriteFile(j, good, 0o600)
	if res, _ := get(t, p); res.StatusCode != 200 {
		t.Errorf("after the repair: status %d, want 200", res.StatusCode)
	}
	// No state at all: an empty page, not an error.
	empty := page(t, filepath.Join(t.TempDir(), "none.json"), Options{})
	if res, body := get(t, empty); res.StatusCode != 200 || !strings.Contains(body, "No payout recorded yet") {
		t.Errorf("no state: status %d", res.StatusCode)
	}
}

// The page reads a PostgreSQL state through a backend of its own, while
// another holds the writer lock.
func TestPageOnPostgres(t *testing.T) {
	dsn := pgtest.Schema(t)
	openPG := func() *pgstate.Backend {
		b, err := pgstate.New(pgstate.Options{DSN: dsn, DSNEnv: pgtest.Env, Name: "status-test"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
	writer := openPG()
	if _, _, err := writer.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	record(t, writer, "Alice Example", "1234567890")
	w := statetest.OpenWriter(t, writer)
	defer w.Close()
	p := New(Options{Backend: openPG(), Now: func() time.Time { return now }})
	res, body := get(t, p)
	if res.StatusCode != 200 {
		t.Fatalf("status %d:\n%s", res.StatusCode, body)
	}
	for _, want := range []string{`<b id="payout-count">3</b>`, `<span class="total">1,625,000 IDR</span>`, `payctl state resolve nov/bob -paid|-failed -reason TEXT`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestHeldIn(t *testing.T) {
	dir := t.TempDir()
	held := filepath.Join(dir, "held")
	os.MkdirAll(held, 0o700)
	for _, n := range []string{"big.yaml", "big.yaml.plan.json", "big.yaml.plan.txt", ".hidden"} {
		os.WriteFile(filepath.Join(held, n), []byte("x"), 0o600)
	}
	path := newState(t, "Alice", "1234567890")
	_, body := get(t, page(t, path, Options{Held: HeldIn(dir)}))
	if !strings.Contains(body, `<b id="held-count">1</b>`) {
		t.Error("held count is not 1")
	}
	want := "payctl apply " + filepath.Join(held, "big.yaml.plan.json")
	if !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(body) {
		t.Errorf("page lacks the command %q", want)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"nov/bob": "nov/bob", "a b": "'a b'", "it's": `'it'\''s'`, "$(rm)": "'$(rm)'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8787": true, "localhost:1": true, "[::1]:80": true,
		":8787": false, "0.0.0.0:8787": false, "10.0.0.5:80": false, "example.com:80": false, "garbage": false,
	} {
		if got := Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
