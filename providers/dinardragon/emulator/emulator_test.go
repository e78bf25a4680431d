package emulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/providertest"
)

func newEmulator(t *testing.T, opts providers.EmulatorOptions) (*Emulator, *providertest.Clock) {
	t.Helper()
	clk := providertest.NewClock(time.Date(2026, 1, 31, 14, 35, 0, 0, time.UTC))
	opts.Now = clk.Now
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, clk
}

// post sends one request straight to the handler. key "" sends none.
func post(t *testing.T, e *Emulator, path, body, key string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if key != "" {
		r.Header.Set("Authorization", key)
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s answered %q: %v", path, w.Body.String(), err)
	}
	return w.Code, m
}

const docsQuote = `{"amount":195,"accounts":[` +
	`{"acc":123456789,"amount":50,"bank":"Bank A","country":"US","recipient":"Ann","recipientname":"Ann"},` +
	`{"acc":987654321,"amount":70,"bank":"Bank B","country":"SA","recipientname":"Bo"},` +
	`{"acc":555000999,"amount":75,"bank":"Bank C","country":"US","recipient":"Cy"}]}`

var (
	hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)
	hex16 = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

func quote(t *testing.T, e *Emulator, body string) string {
	t.Helper()
	code, m := post(t, e, "/get-authcode", body, PrivateKey)
	if code != 200 {
		t.Fatalf("get-authcode: got %d %v, want 200", code, m)
	}
	return m["authcode"].(string)
}

func TestDocsFlow(t *testing.T) {
	e, clk := newEmulator(t, providers.EmulatorOptions{})
	code, m := post(t, e, "/get-authcode", docsQuote, PrivateKey)
	if code != 200 || m["code"] != 200.0 || m["charge_in_usd"] != 4.875 || !hex32.MatchString(m["authcode"].(string)) {
		t.Fatalf("get-authcode: got %d %v, want 200 with charge 4.875 and a 32-hex authcode", code, m)
	}
	auth := m["authcode"].(string)

	code, m = post(t, e, "/execute", `{"authcode":"`+auth+`"}`, PrivateKey)
	if code != 200 || !hex16.MatchString(m["payment_id"].(string)) || m["charge_in_usd"] != 4.875 {
		t.Fatalf("execute: got %d %v", code, m)
	}
	accs := m["accounts"].([]any)
	if len(accs) != 3 {
		t.Fatalf("got %d accounts, want 3", len(accs))
	}
	first := accs[0].(map[string]any)
	if first["accNo"] != 123456789.0 || first["amount"] != 50.0 || first["recipientname"] != "Ann" ||
		first["date"] != "2026-01-31" || first["time"] != "14:35" || !hex16.MatchString(first["uniqueid"].(string)) {
		t.Errorf("first account: got %v", first)
	}
	if accs[1].(map[string]any)["recipientname"] != "Bo" || accs[2].(map[string]any)["recipientname"] != "Cy" {
		t.Errorf("names sent under one field name only were not kept: %v", accs)
	}
	pid := m["payment_id"].(string)

	status := func() []any {
		t.Helper()
		code, m := post(t, e, "/status", `{"payment_id":"`+pid+`"}`, PrivateKey)
		if code != 200 {
			t.Fatalf("status: got %d %v", code, m)
		}
		return m["payments"].([]any)
	}
	for _, p := range status() {
		if p.(map[string]any)["status"] != 0.0 {
			t.Fatalf("before the delay: got %v, want status 0", p)
		}
	}
	clk.Advance(DefaultSettleDelay)
	got := []float64{}
	for _, p := range status() {
		got = append(got, p.(map[string]any)["status"].(float64))
	}
	if len(got) != 3 || got[0] != 1 || got[1] != 1 || got[2] != 2 {
		t.Errorf("after the delay: got %v, want [1 1 2] (the last account ends in %s)", got, FailMarker)
	}
	uid := first["uniqueid"].(string)
	code, m = post(t, e, "/status", `{"uniqueid":"`+uid+`"}`, PrivateKey)
	if code != 200 || len(m["payments"].([]any)) != 1 {
		t.Errorf("status by uniqueid: got %d %v", code, m)
	}
	if n := e.Requests(); n["/get-authcode"] != 1 || n["/execute"] != 1 || n["/status"] != 3 {
		t.Errorf("requests: got %v", n)
	}
}

func TestErrors(t *testing.T) {
	e, clk := newEmulator(t, providers.EmulatorOptions{})
	for _, tc := range []struct {
		name, path, body, key string
		code                  int
		msg                   string
	}{
		{"missing key", "/get-authcode", docsQuote, "", 401, MsgMissingKey},
		{"wrong key", "/get-authcode", docsQuote, "nope", 403, MsgInvalidKey},
		{"missing key on status", "/status", `{"payment_id":"0000000000000000"}`, "", 401, MsgMissingKey},
		{"sum mismatch", "/get-authcode", strings.Replace(docsQuote, `"amount":195`, `"amount":194.99`, 1), PrivateKey, 400, MsgAmountMismatch},
		{"amount as string", "/get-authcode", strings.Replace(docsQuote, `"amount":195`, `"amount":"195"`, 1), PrivateKey, 400, "amount must be"},
		{"acc with leading zero", "/get-authcode", strings.Replace(docsQuote, `123456789`, `"0123"`, 1), PrivateKey, 400, "acc must be"},
		{"names disagree", "/get-authcode", strings.Replace(docsQuote, `"recipientname":"Ann"`, `"recipientname":"Anne"`, 1), PrivateKey, 400, "recipient's name"},
		{"unknown authcode", "/execute", `{"authcode":"` + strings.Repeat("0", 32) + `"}`, PrivateKey, 400, MsgAuthcode},
		{"status of nothing", "/status", `{"payment_id":"0000000000000000"}`, PrivateKey, 404, MsgNotFound},
		{"not json", "/execute", `authcode=x`, PrivateKey, 400, "JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, m := post(t, e, tc.path, tc.body, tc.key)
			if code != tc.code || m["code"] != float64(tc.code) || !strings.Contains(m["error"].(string), tc.msg) {
				t.Fatalf("got %d %v, want %d with %q", code, m, tc.code, tc.msg)
			}
		})
	}

	t.Run("key in the body", func(t *testing.T) {
		body := strings.Replace(docsQuote, `{"amount"`, `{"publickey":"`+PublicKey+`","privatekey":"`+PrivateKey+`","amount"`, 1)
		if code, m := post(t, e, "/get-authcode", body, ""); code != 200 {
			t.Fatalf("got %d %v, want the JavaScript example's reading accepted", code, m)
		}
	})

	t.Run("authcode works once", func(t *testing.T) {
		auth := quote(t, e, docsQuote)
		body := `{"authcode":"` + auth + `"}`
		if code, m := post(t, e, "/execute", body, PrivateKey); code != 200 {
			t.Fatalf("first execute: got %d %v", code, m)
		}
		if code, m := post(t, e, "/execute", body, PrivateKey); code != 400 || m["error"] != MsgAuthcode {
			t.Fatalf("second execute: got %d %v, want 400 %q", code, m, MsgAuthcode)
		}
		if got := e.Executes(auth); got != 2 {
			t.Errorf("executes: got %d, want 2", got)
		}
	})

	t.Run("authcode expires after 15 minutes", func(t *testing.T) {
		before := len(e.Ledger())
		auth := quote(t, e, docsQuote)
		clk.Advance(AuthcodeLifetime - time.Second)
		live := quote(t, e, docsQuote)
		clk.Advance(time.Second)
		if code, m := post(t, e, "/execute", `{"authcode":"`+auth+`"}`, PrivateKey); code != 400 || m["error"] != MsgAuthcode {
			t.Fatalf("at 15 minutes: got %d %v, want 400", code, m)
		}
		if code, m := post(t, e, "/execute", `{"authcode":"`+live+`"}`, PrivateKey); code != 200 {
			t.Fatalf("at 1 second: got %d %v, want 200", code, m)
		}
		if got := len(e.Ledger()); got != before+1 {
			t.Errorf("ledger: got %d payments, want %d", got, before+1)
		}
	})
}

func TestChargePercent(t *testing.T) {
	e, _ := newEmulator(t, providers.EmulatorOptions{})
	e.SetChargePercent(money.MustParse("1.333"))
	_, m := post(t, e, "/get-authcode", docsQuote, PrivateKey)
	// 195 × 1.333 % = 2.59935, in mills half-even 2.599.
	if m["charge_in_usd"] != 2.599 {
		t.Errorf("got %v, want 2.599", m["charge_in_usd"])
	}
	if err := e.Inject(FaultQuoteHigh, 1); err != nil {
		t.Fatal(err)
	}
	_, m = post(t, e, "/get-authcode", docsQuote, PrivateKey)
	// 195 × 1.833 % = 3.57435 -> 3.574.
	if m["charge_in_usd"] != 3.574 {
		t.Errorf("quote-high: got %v, want 3.574", m["charge_in_usd"])
	}
}

func TestLedgerPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dd-ledger.json")
	e, clk := newEmulator(t, providers.EmulatorOptions{LedgerPath: path, Seed: 3})
	auth := quote(t, e, docsQuote)
	post(t, e, "/execute", `{"authcode":"`+auth+`"}`, PrivateKey)
	first := e.Ledger()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ledger file: %v %v, want mode 0600", fi, err)
	}

	again, err := New(providers.EmulatorOptions{LedgerPath: path, Seed: 3, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	got := again.Ledger()
	if len(got) != 1 || got[0].PaymentID != first[0].PaymentID || len(got[0].Accounts) != 3 {
		t.Fatalf("reloaded ledger: got %+v, want %+v", got, first)
	}
	if again.Executes(auth) != 1 {
		t.Errorf("executes after reload: got %d, want 1", again.Executes(auth))
	}
	// The same seed after a reload never repeats an identifier.
	ids := map[string]bool{auth: true, first[0].PaymentID: true}
	for _, a := range first[0].Accounts {
		ids[a.UniqueID] = true
	}
	if next := quote(t, again, docsQuote); ids[next] {
		t.Errorf("authcode %s repeats an earlier identifier", next)
	}
	// An authcode used before the restart stays used.
	if code, _ := post(t, again, "/execute", `{"authcode":"`+auth+`"}`, PrivateKey); code != 400 {
		t.Errorf("re-executing after reload: got %d, want 400", code)
	}
	// Settling is persisted too: in the ledger file once closed.
	clk.Advance(DefaultSettleDelay)
	if again.Ledger()[0].Accounts[0].Status != 1 {
		t.Errorf("got status %d, want 1", again.Ledger()[0].Accounts[0].Status)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".journal"); !os.IsNotExist(err) {
		t.Errorf("journal after Close: %v, want none", err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `"status": 1`) {
		t.Errorf("the settled status is not on disk")
	}
}

func TestLedgerRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, content, want string }{
		{"garbage", "{", "move the file away"},
		{"future version", `{"version":2}`, "version 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".json")
			os.WriteFile(path, []byte(tc.content), 0o600)
			_, err := New(providers.EmulatorOptions{LedgerPath: path})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestFaultSpecs(t *testing.T) {
	for _, tc := range []struct {
		specs []string
		want  map[armKey]int
		err   string
	}{
		{specs: []string{"429-burst"}, want: map[armKey]int{{Fault429Burst, ""}: 3}},
		{specs: []string{"drop-after-commit:2", "quote-high"}, want: map[armKey]int{{FaultDropAfterCommit, "/execute"}: 2, {FaultQuoteHigh, "/get-authcode"}: 1}},
		{specs: []string{"explode"}, err: "unknown Dinar Dragon emulator fault"},
		{specs: []string{"quote-high:0"}, err: "whole number"},
		{specs: []string{"quote-high:x"}, err: "whole number"},
		{specs: []string{"quote-high=2"}, want: map[armKey]int{{FaultQuoteHigh, "/get-authcode"}: 2}},
		{specs: []string{"quote-high=0"}, err: "whole number"},
		{specs: []string{"quote-high=2000000"}, err: "from 1 to 1048576"},
	} {
		t.Run(strings.Join(tc.specs, ","), func(t *testing.T) {
			e, err := New(providers.EmulatorOptions{Faults: tc.specs})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(e.armed) != len(tc.want) {
				t.Fatalf("got %v, want %v", e.armed, tc.want)
			}
			for k, v := range tc.want {
				if e.armed[k] != v {
					t.Errorf("%v: got %d, want %d", k, e.armed[k], v)
				}
			}
		})
	}
	e, _ := newEmulator(t, providers.EmulatorOptions{})
	if err := e.InjectAt("/execute", FaultQuoteHigh, 1); err == nil {
		t.Error("quote-high was armed on /execute")
	}
	if err := e.InjectAt("/elsewhere", Fault5xxAfterCommit, 1); err == nil {
		t.Error("a fault was armed on an unknown endpoint")
	}
}

func TestFaultsOverHTTP(t *testing.T) {
	for _, tc := range []struct {
		fault     string
		wantPaid  bool
		wantCode  int // 0: no answer
		wantBody  bool
		wantFired int
	}{
		{Fault5xxBeforeCommit, false, 500, true, 1},
		{Fault5xxAfterCommit, true, 500, true, 1},
		{FaultDropBeforeCommit, false, 0, false, 1},
		{FaultDropAfterCommit, true, 0, false, 1},
		{FaultTruncateAfterCommit, true, 200, false, 1},
		{FaultExecuteMissing, true, 200, true, 1},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			e, _ := newEmulator(t, providers.EmulatorOptions{Faults: []string{tc.fault}})
			srv := httptest.NewServer(e)
			defer srv.Close()
			auth := quote(t, e, docsQuote)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/execute", strings.NewReader(`{"authcode":"`+auth+`"}`))
			req.Header.Set("Authorization", PrivateKey)
			resp, err := srv.Client().Do(req)
			code, bodyOK := 0, false
			if err == nil {
				code = resp.StatusCode
				var m map[string]any
				bodyOK = json.NewDecoder(resp.Body).Decode(&m) == nil
				resp.Body.Close()
			}
			if code != tc.wantCode || bodyOK != tc.wantBody {
				t.Errorf("got HTTP %d (body readable %v, err %v), want %d (%v)", code, bodyOK, err, tc.wantCode, tc.wantBody)
			}
			if got := len(e.Ledger()) == 1; got != tc.wantPaid {
				t.Errorf("paid: got %v, want %v", got, tc.wantPaid)
			}
			if got := e.Fired()[tc.fault]; got != tc.wantFired {
				t.Errorf("fired: got %d, want %d", got, tc.wantFired)
			}
			if got := e.Executes(auth); got != 1 {
				t.Errorf("executes: got %d, want 1", got)
			}
		})
	}
}

// TestBurst arms a 429 burst of 2 with either spelling of the count: "=N"
// as payctl sandbox's help says, or ":N".
func TestBurst(t *testing.T) {
	for _, spec := range []string{"429-burst=2", "429-burst:2"} {
		t.Run(spec, func(t *testing.T) {
			e, _ := newEmulator(t, providers.EmulatorOptions{Faults: []string{spec}})
			for i, want := range []int{429, 429, 200} {
				r := httptest.NewRequest(http.MethodPost, "/get-authcode", strings.NewReader(docsQuote))
				r.Header.Set("Authorization", PrivateKey)
				w := httptest.NewRecorder()
				e.ServeHTTP(w, r)
				if w.Code != want {
					t.Fatalf("request %d: got %d, want %d", i, w.Code, want)
				}
				if want == 429 && w.Header().Get("Retry-After") != "1" {
					t.Errorf("request %d: got Retry-After %q, want 1", i, w.Header().Get("Retry-After"))
				}
			}
			if got := e.Fired()[Fault429Burst]; got != 2 {
				t.Errorf("fired: got %d, want 2", got)
			}
		})
	}
}

func TestDelayReleasedByClose(t *testing.T) {
	e, _ := newEmulator(t, providers.EmulatorOptions{Faults: []string{FaultDelayAfterCommit}})
	e.SetDelay(time.Minute)
	auth := quote(t, e, docsQuote)
	done := make(chan int)
	go func() {
		r := httptest.NewRequest(http.MethodPost, "/execute", strings.NewReader(`{"authcode":"`+auth+`"}`))
		r.Header.Set("Authorization", PrivateKey)
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		done <- w.Code
	}()
	// The payment is made before the answer is held.
	for len(e.Ledger()) == 0 {
		time.Sleep(time.Millisecond)
	}
	select {
	case code := <-done:
		t.Fatalf("answered %d while the answer should be held", code)
	default:
	}
	e.Close()
	if code := <-done; code != 200 {
		t.Errorf("got %d, want the held 200", code)
	}
}

// A process killed without Close leaves its changes in the journal: the
// next emulator replays them and writes them to the ledger file.
func TestJournalSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "usd.json")
	e, clk := newEmulator(t, providers.EmulatorOptions{LedgerPath: path, Seed: 3})
	auth := quote(t, e, docsQuote)
	post(t, e, "/execute", `{"authcode":"`+auth+`"}`, PrivateKey)
	clk.Advance(DefaultSettleDelay)
	want := e.Ledger() // settles: journaled, not waited for
	quote(t, e, docsQuote)
	// Killed: copy what is on disk now, as a new process would find it.
	kdir := t.TempDir()
	kpath := filepath.Join(kdir, "usd.json")
	for _, name := range []string{"usd.json", "usd.json.journal"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			os.WriteFile(filepath.Join(kdir, name), b, 0o600)
		}
	}
	again, err := New(providers.EmulatorOptions{LedgerPath: kpath, Seed: 3, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	got := again.Ledger()
	if len(got) != 1 || got[0].PaymentID != want[0].PaymentID || got[0].Accounts[0].Status != 1 {
		t.Fatalf("replayed %+v, want %+v", got, want)
	}
	if again.Executes(auth) != 1 || len(again.Quotes()) != 2 {
		t.Errorf("replayed %d executes and %d quotes, want 1 and 2", again.Executes(auth), len(again.Quotes()))
	}
	if code, _ := post(t, again, "/execute", `{"authcode":"`+auth+`"}`, PrivateKey); code != 400 {
		t.Errorf("re-executing after replay: got %d, want 400", code)
	}
	b, err := os.ReadFile(kpath)
	if err != nil || strings.Count(string(b), `"payment_id"`) != 1 {
		t.Fatalf("ledger file after replay: %v\n%s", err, b)
	}
}

// TestExecuteAnswerAsPublished checks the execute answer against the
// published page: its fields in its order, its message, and the account
// owner's one email on every account.
func TestExecuteAnswerAsPublished(t *testing.T) {
	e, _ := newEmulator(t, providers.EmulatorOptions{})
	auth := quote(t, e, docsQuote)
	r := httptest.NewRequest(http.MethodPost, "/execute", strings.NewReader(`{"authcode":"`+auth+`"}`))
	r.Header.Set("Authorization", PrivateKey)
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	body := w.Body.String()
	keys := func(s string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`"([a-zA-Z_]+)":`).FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		return out
	}
	top := regexp.MustCompile(`\[.*\]`).ReplaceAllString(body, "[]")
	if got, want := strings.Join(keys(top), ","), "code,accounts,charge_in_usd,payment_id,message"; got != want {
		t.Errorf("top-level fields: got %s, want %s", got, want)
	}
	first := regexp.MustCompile(`\{"amount".*?\}`).FindString(body)
	if got, want := strings.Join(keys(first), ","), "amount,bank,country,recipientname,accNo,date,time,email,uniqueid"; got != want {
		t.Errorf("account fields: got %s, want %s", got, want)
	}
	var m struct {
		Message  string
		Accounts []struct{ Email string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m.Message != "Payout successfully processed. The funds will be disbursed to the bank account(s) within 15 minutes." {
		t.Errorf("got message %q, want the published one", m.Message)
	}
	for i, a := range m.Accounts {
		if a.Email != OwnerEmail {
			t.Errorf("account %d: got email %q, want the owner's %q", i, a.Email, OwnerEmail)
		}
	}
	// The published failure, word for word.
	code, f := post(t, e, "/execute", `{"authcode":"`+auth+`"}`, PrivateKey)
	if code != 400 || f["error"] != "Your request failed because your authcode is invalid or has expired. Retry this payout with a new authcode." {
		t.Errorf("second execute: got %d %v, want the published 400", code, f)
	}
}
