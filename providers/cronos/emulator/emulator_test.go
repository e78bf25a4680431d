package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/cronos/internal/wire"
	"github.com/payctl/payctl/providers/cronos/phpjson"

	"github.com/payctl/payctl/providers/providertest"
)

var start = time.Date(2026, 11, 3, 10, 0, 0, 0, wire.Zone)

// sink records callback bodies.
type sink struct {
	mu     sync.Mutex
	bodies []map[string]any
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var v map[string]any
	json.NewDecoder(r.Body).Decode(&v)
	s.mu.Lock()
	s.bodies = append(s.bodies, v)
	s.mu.Unlock()
}

// statuses returns "ref:status" per received callback.
func (s *sink) statuses() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, b := range s.bodies {
		d, _ := b["responseData"].(map[string]any)
		out = append(out, fmt.Sprintf("%v:%v", d["merchantRef"], d["status"]))
	}
	return out
}

type fixture struct {
	clock *providertest.Clock
	em    *Emulator
	srv   *httptest.Server
	sink  *sink
	cbURL string
}

func newFixture(t *testing.T, opts providers.EmulatorOptions, cfg Config) *fixture {
	t.Helper()
	f := &fixture{clock: providertest.NewClock(start), sink: &sink{}}
	cb := httptest.NewServer(f.sink)
	t.Cleanup(cb.Close)
	f.cbURL = cb.URL + "/cb"
	opts.Now = f.clock.Now
	em, err := NewWithConfig(opts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.em = em
	f.srv = httptest.NewServer(em)
	t.Cleanup(func() {
		f.srv.Close()
		em.Close()
	})
	return f
}

func createBody(ref, account string, amount int64, callback string) phpjson.Object {
	return phpjson.Object{
		{Key: "bankCode", Value: phpjson.String("014")},
		{Key: "recipientAccount", Value: phpjson.String(account)},
		{Key: "reference", Value: phpjson.String(ref)},
		{Key: "amount", Value: phpjson.Int(amount)},
		{Key: "additionalInfo", Value: phpjson.Object{{Key: "callback", Value: phpjson.String(callback)}}},
	}
}

func mustEncode(t *testing.T, v phpjson.Value) []byte {
	t.Helper()
	b, err := phpjson.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type response struct {
	Code    int             `json:"responseCode"`
	Message string          `json:"responseMessage"`
	Data    json.RawMessage `json:"responseData"`
	status  int
}

// call sends a request with the demo credentials; signed are the bytes the
// signature covers (nil for a GET).
func (f *fixture) call(t *testing.T, method, path string, body, signed []byte, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(wire.HeaderKey, wire.DemoKey)
	req.Header.Set(wire.HeaderToken, wire.DemoToken)
	req.Header.Set(wire.HeaderSignature, wire.Sign(wire.DemoKey, wire.DemoToken, signed))
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r response
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s %s: answer %q is not an envelope: %v", method, path, b, err)
	}
	if r.Code != resp.StatusCode {
		t.Errorf("%s %s: responseCode %d differs from HTTP %d", method, path, r.Code, resp.StatusCode)
	}
	r.status = resp.StatusCode
	return r
}

// create posts a PHP-encoded, correctly signed body.
func (f *fixture) create(t *testing.T, ref, account string, amount int64) response {
	t.Helper()
	b := mustEncode(t, createBody(ref, account, amount, f.cbURL))
	return f.call(t, "POST", "/disburse", b, b, nil)
}

func (f *fixture) get(t *testing.T, path string) response {
	t.Helper()
	return f.call(t, "GET", path, nil, nil, nil)
}

func TestSignatureLikePHP(t *testing.T) {
	f := newFixture(t, providers.EmulatorOptions{}, Config{})
	php := mustEncode(t, createBody("ref-1", "0821837182312831", 10500, f.cbURL))
	goDefault, err := json.Marshal(map[string]any{"bankCode": "014", "recipientAccount": "0821837182312831", "reference": "ref-2", "amount": 10500, "additionalInfo": map[string]string{"callback": f.cbURL}})
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	json.Indent(&pretty, php, "", "  ")
	reordered := mustEncode(t, phpjson.Object{
		{Key: "reference", Value: phpjson.String("ref-4")},
		{Key: "bankCode", Value: phpjson.String("014")},
		{Key: "recipientAccount", Value: phpjson.String("0821837182312831")},
		{Key: "amount", Value: phpjson.Int(10500)},
		{Key: "additionalInfo", Value: phpjson.Object{{Key: "callback", Value: phpjson.String(f.cbURL)}}},
	})
	prettyPHP := mustEncode(t, createBody("ref-3", "0821837182312831", 10500, f.cbURL))
	pretty.Reset()
	json.Indent(&pretty, prettyPHP, "", "  ")
	nonASCII := []byte(`{"reference":"Agus Salim é"}`) // Go leaves é as UTF-8
	emptyInfo := []byte(`{"reference":"ref-5","additionalInfo":{}}`)

	tests := map[string]struct {
		body, signed []byte
		header       map[string]string
		want         int
	}{
		"php encoding":                   {php, php, nil, http.StatusOK},
		"go encoding with a url":         {goDefault, goDefault, nil, http.StatusUnauthorized},
		"go encoding with non-ascii":     {nonASCII, nonASCII, nil, http.StatusUnauthorized},
		"php encoding of the same text":  {nonASCII, mustEncode(t, phpjson.Object{{Key: "reference", Value: phpjson.String("Agus Salim é")}}), nil, http.StatusBadRequest},
		"sent pretty, signed compact":    {pretty.Bytes(), prettyPHP, nil, http.StatusOK},
		"signed in another key order":    {php, reordered, nil, http.StatusUnauthorized},
		"get-style signature on a post":  {php, nil, nil, http.StatusUnauthorized},
		"missing signature":              {php, php, map[string]string{wire.HeaderSignature: ""}, http.StatusUnauthorized},
		"wrong token":                    {php, php, map[string]string{wire.HeaderToken: "nope"}, http.StatusUnauthorized},
		"wrong key":                      {php, php, map[string]string{wire.HeaderKey: "SC-OTHER"}, http.StatusUnauthorized},
		"empty object comes back as []":  {emptyInfo, emptyInfo, nil, http.StatusUnauthorized},
		"not json, signed":               {[]byte("amount=1"), []byte("amount=1"), nil, http.StatusBadRequest},
		"not json, not signed correctly": {[]byte("amount=1"), nil, nil, http.StatusUnauthorized},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := f.call(t, "POST", "/disburse", tc.body, tc.signed, tc.header)
			if r.status != tc.want {
				t.Errorf("got HTTP %d (%s), want %d", r.status, r.Message, tc.want)
			}
		})
	}
	if n := len(f.em.Ledger()); n != 2 {
		t.Errorf("ledger holds %d disbursements, want 2 (the accepted ones)", n)
	}
	if r := f.call(t, "GET", "/balance", nil, php, nil); r.status != http.StatusUnauthorized {
		t.Errorf("a GET signed over a body: got HTTP %d, want 401", r.status)
	}
}

func TestCreateValidation(t *testing.T) {
	f := newFixture(t, providers.EmulatorOptions{}, Config{})
	set := func(key string, v phpjson.Value) phpjson.Object {
		o := createBody("ref-v", "0821837182312831", 10500, f.cbURL)
		for i := range o {
			if o[i].Key == key {
				o[i].Value = v
				return o
			}
		}
		return append(o, phpjson.Member{Key: key, Value: v})
	}
	tests := map[string]struct {
		body phpjson.Value
		want string
	}{
		"list body":         {phpjson.List{phpjson.Int(1)}, "JSON object"},
		"bank code missing": {set("bankCode", phpjson.String("")), "bankCode"},
		"bank code shape":   {set("bankCode", phpjson.String("BCA 014")), "bankCode"},
		"account letters":   {set("recipientAccount", phpjson.String("12ab")), "recipientAccount"},
		"reference number":  {set("reference", phpjson.Int(123)), "reference"},
		"amount string":     {set("amount", phpjson.String("10500")), "amount"},
		"amount float":      {set("amount", phpjson.Float(10500.5)), "amount"},
		"amount zero":       {set("amount", phpjson.Int(0)), "amount"},
		"no callback":       {set("additionalInfo", phpjson.Object{{Key: "url", Value: phpjson.String(f.cbURL)}}), "callback"},
		"callback not url":  {set("additionalInfo", phpjson.Object{{Key: "callback", Value: phpjson.String("ftp://x")}}), "callback"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := mustEncode(t, tc.body)
			r := f.call(t, "POST", "/disburse", b, b, nil)
			if r.status != http.StatusBadRequest || !strings.Contains(r.Message, tc.want) {
				t.Errorf("got HTTP %d %q, want 400 mentioning %q", r.status, r.Message, tc.want)
			}
		})
	}
	if n := len(f.em.Ledger()); n != 0 {
		t.Errorf("ledger holds %d disbursements, want 0", n)
	}
}

func TestDuplicateReference(t *testing.T) {
	f := newFixture(t, providers.EmulatorOptions{}, Config{})
	if r := f.create(t, "ref-1", "0821837182312831", 10500); r.status != http.StatusOK {
		t.Fatalf("first create: HTTP %d %s", r.status, r.Message)
	}
	r := f.create(t, "ref-1", "0821837182312831", 99999)
	if r.status != http.StatusConflict || !strings.Contains(r.Message, "ref-1") {
		t.Errorf("got HTTP %d %q, want 409 naming the reference", r.status, r.Message)
	}
	if n := f.em.Creates("ref-1"); n != 2 {
		t.Errorf("Creates = %d, want 2", n)
	}
	if l := f.em.Ledger(); len(l) != 1 || l[0].Amount != 10500 {
		t.Errorf("got ledger %+v, want the first disbursement only", l)
	}
}

func TestFees(t *testing.T) {
	tests := map[string]struct {
		faults    []string
		cfg       Config
		payer     string
		wantTotal int64
		charge    int64 // what a paid disbursement takes from the balance
	}{
		"published example (default)":     {payer: "customer", wantTotal: 13000, charge: 13000},
		"sandbox reading":                 {faults: []string{"total=deducted"}, payer: "customer", wantTotal: 7000, charge: 10000},
		"merchant, added":                 {faults: []string{"fee-payer=merchant"}, payer: "merchant", wantTotal: 13000, charge: 13000},
		"merchant, deducted":              {faults: []string{"fee-payer=merchant", "total=deducted"}, payer: "merchant", wantTotal: 7000, charge: 10000},
		"config, overridden by a setting": {cfg: Config{FeePayer: "merchant", Total: TotalDeducted}, faults: []string{"fee-payer=customer", "total=added"}, payer: "customer", wantTotal: 13000, charge: 13000},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.SettleDelay = time.Minute
			f := newFixture(t, providers.EmulatorOptions{Faults: append(tc.faults, "balance=50000")}, cfg)
			r := f.create(t, "ref-1", "0821837182312831", 10000)
			var d struct {
				Fee, Amount, TotalAmount int64
				FeePayer, Status         string
				ExpiredDate              string
			}
			if err := json.Unmarshal(r.Data, &d); err != nil {
				t.Fatal(err)
			}
			if d.Fee != 3000 || d.Amount != 10000 || d.TotalAmount != tc.wantTotal || d.FeePayer != tc.payer || d.Status != "pending" {
				t.Errorf("got %+v, want fee 3000, amount 10000, total %d, payer %s, pending", d, tc.wantTotal, tc.payer)
			}
			if d.ExpiredDate != "2026-11-04T10:00:00+07:00" {
				t.Errorf("got expiredDate %s, want a day later in +07:00", d.ExpiredDate)
			}
			f.clock.Advance(time.Minute)
			var b map[string]int64
			json.Unmarshal(f.get(t, "/balance").Data, &b)
			if b["active"] != 50000-tc.charge || b["pending"] != 0 || b["total"] != 50000-tc.charge {
				t.Errorf("after paying: got balance %v, want active %d", b, 50000-tc.charge)
			}
		})
	}
	if _, err := NewWithConfig(providers.EmulatorOptions{}, Config{FeePayer: "bank"}); err == nil {
		t.Error("fee payer bank accepted, want an error")
	}
}

func TestSettings(t *testing.T) {
	for _, spec := range []string{"fee-payer=bank", "total=both", "balance=-1", "balance=1e6", "bank-name=0821", "bank-name=08x1:A", "bank-name=0821: ", "fee-payer"} {
		if _, err := New(providers.EmulatorOptions{Faults: []string{spec}}); err == nil {
			t.Errorf("%q accepted, want an error", spec)
		} else if !strings.Contains(err.Error(), "write") && !strings.Contains(err.Error(), "unknown fault") {
			t.Errorf("%q: got %v, want it to say how to write the setting", spec, err)
		}
	}
	em, err := New(providers.EmulatorOptions{Faults: []string{"bank-name=0821837182312831:Mr. Gentur: Jr", "balance=0", "5xx-after-commit=2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	if em.cfg.BankNames["0821837182312831"] != "Mr. Gentur: Jr" || *em.cfg.Balance != 0 || em.pending[Fault5xxAfterCommit] != 2 {
		t.Errorf("got names %v, balance %d, faults %v", em.cfg.BankNames, *em.cfg.Balance, em.pending)
	}
}

func TestProgressAndCallbacks(t *testing.T) {
	f := newFixture(t, providers.EmulatorOptions{}, Config{SettleDelay: time.Minute, BankNames: map[string]string{"0821837182312831": "Mr. Gentur"}})
	ok := f.create(t, "ref-ok", "0821837182312831", 10500)
	bad := f.create(t, "ref-bad", "0821837182310000", 10500)
	var created struct{ ID string }
	json.Unmarshal(ok.Data, &created)
	// The bank's name is known while pending, as in the published example;
	// an account the emulated bank does not know has none.
	for _, want := range []string{`"status":"pending"`, `"recipientName":"Mr. Gentur"`, `"callback":"http:\/\/127.0.0.1:`} {
		if !strings.Contains(string(ok.Data), want) {
			t.Errorf("created: got %s, want %s", ok.Data, want)
		}
	}
	if !strings.Contains(string(bad.Data), `"recipientName":null`) {
		t.Errorf("created for an unknown account: got %s, want a null recipientName", bad.Data)
	}

	f.clock.Advance(59 * time.Second)
	if got := f.get(t, "/check/"+created.ID); !strings.Contains(string(got.Data), `"status":"pending"`) {
		t.Errorf("before the delay: got %s, want pending", got.Data)
	}
	f.clock.Advance(time.Second)
	got := f.get(t, "/check/"+created.ID+"?resendCallback=false")
	for _, want := range []string{`"status":"success"`, `"paidDate":"2026-11-03T10:01:00+07:00"`, `"recipientName":"Mr. Gentur"`} {
		if !strings.Contains(string(got.Data), want) {
			t.Errorf("after the delay: got %s, want %s", got.Data, want)
		}
	}
	l := f.em.Ledger()
	if l[1].Status != "failed" || l[1].Paid != nil {
		t.Errorf("marker account: got %+v, want failed and unpaid", l[1])
	}
	if r := f.get(t, "/check/"+created.ID+"?resendCallback=true"); r.status != http.StatusOK {
		t.Errorf("resend: HTTP %d", r.status)
	}
	if r := f.get(t, "/check/"+created.ID+"?resendCallback=maybe"); r.status != http.StatusBadRequest {
		t.Errorf("resendCallback=maybe: got HTTP %d, want 400", r.status)
	}
	if r := f.get(t, "/check/00000000-0000-4000-8000-000000000000"); r.status != http.StatusNotFound {
		t.Errorf("unknown id: got HTTP %d, want 404", r.status)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := f.em.WaitCallbacks(ctx); err != nil {
		t.Fatal(err)
	}
	want := "ref-ok:pending ref-bad:pending ref-ok:success ref-bad:failed ref-ok:success"
	if got := strings.Join(f.sink.statuses(), " "); got != want {
		t.Errorf("got callbacks %s, want %s", got, want)
	}
	if n := f.em.CallbacksSent(); n != 5 {
		t.Errorf("CallbacksSent = %d, want 5", n)
	}
}

func TestTransactions(t *testing.T) {
	f := newFixture(t, providers.EmulatorOptions{}, Config{SettleDelay: time.Minute, PageSize: 2})
	for i := range 3 {
		f.create(t, fmt.Sprintf("ref-%d", i), "0821837182312831", 10000)
	}
	f.clock.Advance(time.Minute)
	f.create(t, "ref-late", "0821837182312831", 10000) // still pending
	refs := func(r response) string {
		var items []struct{ MerchantRef string }
		if err := json.Unmarshal(r.Data, &items); err != nil {
			t.Fatalf("responseData %s is not a list: %v", r.Data, err)
		}
		var out []string
		for _, it := range items {
			out = append(out, it.MerchantRef)
		}
		return strings.Join(out, ",")
	}
	tests := map[string]struct {
		query string
		want  string
	}{
		"default status is success": {"", "ref-0,ref-1"},
		"page 2":                    {"?page=2", "ref-2"},
		"past the end":              {"?page=3", ""},
		"page 0 reads as page 1":    {"?page=0", "ref-0,ref-1"},
		"pending":                   {"?status=pending&type=cashOut", "ref-late"},
		"send is cashOut":           {"?status=pending&type=send", "ref-late"},
		"cash in is empty":          {"?type=cashIn", ""},
		"explicit date":             {"?date=2026-11-03&page=1&status=success", "ref-0,ref-1"},
		"another date":              {"?date=2026-11-04", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := f.get(t, "/transactions"+tc.query)
			if r.status != http.StatusOK {
				t.Fatalf("HTTP %d %s", r.status, r.Message)
			}
			if got := refs(r); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	for _, q := range []string{"?status=done", "?date=03-11-2026", "?type=all", "?page=x"} {
		if r := f.get(t, "/transactions"+q); r.status != http.StatusBadRequest {
			t.Errorf("%s: got HTTP %d, want 400", q, r.status)
		}
	}
	f.clock.Advance(wire.Retention)
	if r := f.get(t, "/transactions?date=2026-11-03"); refs(r) != "" {
		t.Errorf("after 7 days: got %q, want nothing", refs(r))
	}
	if n := len(f.em.Ledger()); n != 4 {
		t.Errorf("Ledger holds %d after retention, want 4", n)
	}
}

func TestBalance(t *testing.T) {
	f := newFixture(t, providers.EmulatorOptions{}, Config{SettleDelay: time.Minute, Balance: new(int64(100000))})
	f.create(t, "ref-ok", "0821837182312831", 10000)
	f.create(t, "ref-bad", "0821837182310000", 20000)
	balance := func() map[string]int64 {
		var b map[string]int64
		json.Unmarshal(f.get(t, "/balance").Data, &b)
		return b
	}
	if b := balance(); b["active"] != 100000-13000-23000 || b["pending"] != 36000 || b["total"] != 100000 {
		t.Errorf("while pending: got %v", b)
	}
	f.clock.Advance(time.Minute)
	if b := balance(); b["active"] != 100000-13000 || b["pending"] != 0 || b["total"] != 87000 {
		t.Errorf("after settling: got %v", b)
	}
}

func TestLedgerPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cronos-ledger.json")
	f := newFixture(t, providers.EmulatorOptions{LedgerPath: path, Seed: 7}, Config{})
	f.create(t, "ref-1", "0821837182312831", 10500)
	first := f.em.Ledger()
	if err := f.em.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("ledger mode %v, want 0600", st.Mode().Perm())
	}

	g := newFixture(t, providers.EmulatorOptions{LedgerPath: path, Seed: 7}, Config{})
	got := g.em.Ledger()
	if len(got) != 1 || got[0].ID != first[0].ID || got[0].MerchantRef != "ref-1" || !got[0].Created.Equal(first[0].Created) {
		t.Fatalf("reloaded %+v, want %+v", got, first)
	}
	if r := g.create(t, "ref-1", "0821837182312831", 10500); r.status != http.StatusConflict {
		t.Errorf("duplicate after reload: got HTTP %d, want 409", r.status)
	}
	// The same seed yields the same first id: it must not be reused.
	g.create(t, "ref-2", "0821837182312831", 10500)
	if l := g.em.Ledger(); len(l) != 2 || l[1].ID == l[0].ID {
		t.Errorf("got ledger %+v, want two distinct ids", l)
	}

	bad := map[string]string{
		"not json":       "{",
		"future version": `{"version":2,"disbursements":[]}`,
		"unknown field":  `{"version":1,"disbursements":[],"extra":1}`,
		"repeated ref":   `{"version":1,"disbursements":[{"id":"a","merchantRef":"r"},{"id":"b","merchantRef":"r"}]}`,
	}
	for name, content := range bad {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "ledger.json")
			os.WriteFile(p, []byte(content), 0o600)
			if _, err := New(providers.EmulatorOptions{LedgerPath: p}); err == nil || !strings.Contains(err.Error(), p) {
				t.Errorf("got %v, want an error naming %s", err, p)
			}
		})
	}
}

func TestFaultNames(t *testing.T) {
	tests := map[string]struct {
		specs []string
		err   string
	}{
		"every fault": {specs: func() []string {
			var s []string
			for _, f := range AllFaults {
				s = append(s, string(f))
			}
			return s
		}()},
		"with a count": {specs: []string{"429-burst=3"}},
		"unknown name": {specs: []string{"slow"}, err: "unknown fault"},
		"zero count":   {specs: []string{"429-burst=0"}, err: "positive number"},
		"not a number": {specs: []string{"429-burst=x"}, err: "positive number"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			em, err := New(providers.EmulatorOptions{Faults: tc.specs})
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				em.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("got %v, want an error containing %q", err, tc.err)
			}
		})
	}
}

func TestNamedFaultsFireAndCount(t *testing.T) {
	f := newFixture(t, providers.EmulatorOptions{Faults: []string{"429-burst=2", "5xx-before-commit"}}, Config{})
	var codes []int
	for range 4 {
		codes = append(codes, f.create(t, "ref-1", "0821837182312831", 10500).status)
	}
	if want := []int{429, 429, 500, 200}; fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", codes, want)
	}
	if got := f.em.Faults(); got["429-burst"] != 2 || got["5xx-before-commit"] != 1 || len(got) != 2 {
		t.Errorf("got fault counts %v", got)
	}
	if got := f.em.Requests(); got["POST /disburse"] != 4 {
		t.Errorf("got requests %v, want 4 creates", got)
	}
	if n := f.em.Creates("ref-1"); n != 2 {
		t.Errorf("Creates = %d, want 2 (429s are answered before the request is read)", n)
	}
}

func TestCredentialsAndRoutes(t *testing.T) {
	f := newFixture(t, providers.EmulatorOptions{}, Config{})
	c := f.em.Credentials()
	if c["keyEnv"] != wire.DemoKey || c["tokenEnv"] != wire.DemoToken || len(c) != 2 {
		t.Errorf("got credentials for %d fields, want the demo key and token", len(c))
	}
	if r := f.get(t, "/api/disburse"); r.status != http.StatusNotFound {
		t.Errorf("unknown route: got HTTP %d, want 404", r.status)
	}
}

// A process killed without Close leaves its changes in the journal: the
// next emulator replays them, settling included, and writes them to the
// ledger file; Close leaves no journal behind.
func TestJournalSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "idr.json")
	f := newFixture(t, providers.EmulatorOptions{LedgerPath: path, Seed: 7}, Config{})
	f.create(t, "ref-1", "0821837182312831", 10500)
	f.clock.Advance(time.Minute)
	f.get(t, "/balance") // settles ref-1: logged, not waited for
	f.create(t, "ref-2", "0821837182312832", 20500)
	want := f.em.Ledger()
	if _, err := os.Stat(path + ".journal"); err != nil {
		t.Fatalf("no journal while running: %v", err)
	}
	// Killed: copy what is on disk now, as a new process would find it.
	kdir := t.TempDir()
	kpath := filepath.Join(kdir, "idr.json")
	for _, name := range []string{"idr.json", "idr.json.journal"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			os.WriteFile(filepath.Join(kdir, name), b, 0o600)
		}
	}
	g := newFixture(t, providers.EmulatorOptions{LedgerPath: kpath, Seed: 7}, Config{})
	got := g.em.Ledger()
	if len(got) != 2 || got[0].ID != want[0].ID || got[1].MerchantRef != "ref-2" || got[0].Status != "success" {
		t.Fatalf("replayed %+v, want %+v", got, want)
	}
	b, err := os.ReadFile(kpath)
	if err != nil || strings.Count(string(b), `"merchantRef"`) != 2 {
		t.Fatalf("ledger file after replay: %v\n%s", err, b)
	}
	if err := g.em.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(kpath + ".journal"); !os.IsNotExist(err) {
		t.Errorf("journal after Close: %v, want none", err)
	}
}

func TestAccountInquiry(t *testing.T) {
	f := newFixture(t, providers.EmulatorOptions{Faults: []string{"bank-name=0821837182312831:Bü Gentur/Jr"}}, Config{})
	body := func(account string) []byte {
		return mustEncode(t, phpjson.Object{
			{Key: "bankCode", Value: phpjson.String("014")},
			{Key: "accountNumber", Value: phpjson.String(account)},
			{Key: "reference", Value: phpjson.String("inq-1")},
			{Key: "additionalInfo", Value: phpjson.Object{{Key: "callback", Value: phpjson.String(f.cbURL)}}},
		})
	}
	b := body("0821837182312831")
	r := f.call(t, "POST", "/account-inquiry", b, b, nil)
	// PHP's escapes: "\/" and "\u00fc".
	for _, want := range []string{`"accountName":"B\u00fc Gentur\/Jr"`, `"status":"pending"`, `"merchantRef":"inq-1"`, `"accountNumber":"0821837182312831"`} {
		if r.status != http.StatusOK || !strings.Contains(string(r.Data), want) {
			t.Errorf("got HTTP %d %s, want %s", r.status, r.Data, want)
		}
	}
	b = body("0821837182300002")
	if r := f.call(t, "POST", "/account-inquiry", b, b, nil); !strings.Contains(string(r.Data), `"accountName":null`) {
		t.Errorf("unknown account: got %s, want a null accountName", r.Data)
	}
	if r := f.call(t, "POST", "/account-inquiry", b, []byte("other"), nil); r.status != http.StatusUnauthorized {
		t.Errorf("bad signature: got HTTP %d, want 401", r.status)
	}
	b = body("08-21")
	if r := f.call(t, "POST", "/account-inquiry", b, b, nil); r.status != http.StatusBadRequest {
		t.Errorf("bad account: got HTTP %d, want 400", r.status)
	}
	if n := f.em.Requests()["POST /account-inquiry"]; n != 4 {
		t.Errorf("counted %d inquiries, want 4", n)
	}
	if len(f.em.Ledger()) != 0 {
		t.Errorf("inquiries entered the ledger")
	}
}
