package cronos

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/cronos/emulator"
)

const answerID = "3f0e9a4c-8b1d-4c2e-a6f5-0d9b7e2c1a55"

// record is a disbursement answer body for payout(1) with the given
// status, reference and amount.
func answer(status, ref, amount string) string {
	return `{"responseCode":200,"responseMessage":"success","responseData":{"id":"` + answerID + `","merchantRef":"` + ref +
		`","status":"` + status + `","feePayer":"customer","amount":` + amount + `,"fee":3000,"totalAmount":7500,` +
		`"expiredDate":"2026-11-04T10:00:00+07:00","paidDate":null,"settleDate":null,"additionalInfo":{"callback":"https:\/\/x.test\/cb"},` +
		`"disbursement":{"bankCode":"014","recipientAccount":"0821837182300002","recipientName":"AGUS SALIM"}}}`
}

// fakeCronos answers every request with code and body and counts requests.
func fakeCronos(t *testing.T, code int, body string, header http.Header) (*Client, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c := demoClient(t, srv.URL)
	fastRetries(c)
	return c, &n
}

func TestSendAnswers(t *testing.T) {
	p := payout(1)
	ref, amount := p.Key, p.Amount.String()
	tests := map[string]struct {
		code     int
		body     string
		header   http.Header
		want     providers.Status
		stop     bool   // the error wraps providers.ErrStop
		reason   string // a word the reason must contain
		requests int32  // requests the fake received; 0 means 1
	}{
		"pending":                   {code: 200, body: answer("pending", ref, amount), want: providers.StatusPending},
		"success":                   {code: 200, body: answer("success", ref, amount), want: providers.StatusPaid},
		"failed":                    {code: 200, body: answer("failed", ref, amount), want: providers.StatusFailed},
		"expired":                   {code: 200, body: answer("expired", ref, amount), want: providers.StatusFailed},
		"amount written with zeros": {code: 200, body: answer("pending", ref, amount+".00"), want: providers.StatusPending},
		"created answer":            {code: 201, body: strings.Replace(answer("pending", ref, amount), `"responseCode":200`, `"responseCode":201`, 1), want: providers.StatusPending},
		"status not known":          {code: 200, body: answer("processing", ref, amount), want: providers.StatusUnknown, reason: "processing"},
		"other reference":           {code: 200, body: answer("pending", "someone-else", amount), want: providers.StatusUnknown, stop: true},
		"other amount":              {code: 200, body: answer("pending", ref, "150000"), want: providers.StatusUnknown, stop: true},
		"amount as float exponent":  {code: 200, body: answer("pending", ref, "1.50001e5"), want: providers.StatusUnknown, reason: "could not be read"},
		"not json":                  {code: 200, body: `<html>ok</html>`, want: providers.StatusUnknown, reason: "could not be read"},
		"duplicate field":           {code: 200, body: strings.Replace(answer("pending", ref, amount), `"status":"pending"`, `"status":"failed","status":"pending"`, 1), want: providers.StatusUnknown, reason: "two \"status\""},
		"extra envelope field":      {code: 200, body: strings.Replace(answer("pending", ref, amount), `{"responseCode"`, `{"debug":1,"responseCode"`, 1), want: providers.StatusPending},
		"no id":                     {code: 200, body: strings.Replace(answer("pending", ref, amount), `"id":"`+answerID+`",`, ``, 1), want: providers.StatusUnknown, reason: "no id"},
		"trailing garbage":          {code: 200, body: answer("pending", ref, amount) + "x", want: providers.StatusUnknown},
		"rejection inside a 200":    {code: 200, body: `{"responseCode":400,"responseMessage":"bank code not supported"}`, want: providers.StatusFailed, reason: "bank code not supported"},
		"validation error":          {code: 400, body: `{"responseCode":400,"responseMessage":"The bank code is invalid.","responseData":null}`, want: providers.StatusFailed, reason: "The bank code is invalid"},
		"unprocessable":             {code: 422, body: `{"responseCode":422,"responseMessage":"insufficient balance","responseData":[]}`, want: providers.StatusFailed, reason: "insufficient balance"},
		"duplicate as 400":          {code: 400, body: `{"responseCode":400,"responseMessage":"Reference already used"}`, want: providers.StatusUnknown, reason: "look it up"},
		"duplicate as laravel 422":  {code: 422, body: `{"responseCode":422,"responseMessage":"The reference has already been taken."}`, want: providers.StatusUnknown},
		"conflict":                  {code: 409, body: `{"responseCode":409,"responseMessage":"duplicate"}`, want: providers.StatusUnknown, reason: "duplicate"},
		"bad signature":             {code: 401, body: `{"responseCode":401,"responseMessage":"invalid signature"}`, want: providers.StatusFailed, stop: true, reason: "invalid signature"},
		"forbidden":                 {code: 403, body: `{"responseCode":403,"responseMessage":"ip not allowed"}`, want: providers.StatusFailed, stop: true},
		"not found envelope":        {code: 404, body: `{"responseCode":404,"responseMessage":"route not found"}`, want: providers.StatusUnknown, reason: "not documented"},
		"4xx without envelope":      {code: 400, body: `<html>bad request</html>`, want: providers.StatusUnknown},
		"4xx contradicting":         {code: 400, body: `{"responseCode":200,"responseMessage":"success"}`, want: providers.StatusUnknown, reason: "contradicts"},
		"server error":              {code: 500, body: `{"responseCode":500,"responseMessage":"error"}`, want: providers.StatusUnknown, reason: "HTTP 500"},
		"gateway error":             {code: 502, body: `<html>bad gateway</html>`, want: providers.StatusUnknown, reason: "HTTP 502"},
		"redirect":                  {code: 302, body: ``, header: http.Header{"Location": {"/elsewhere"}}, want: providers.StatusUnknown, reason: "HTTP 302"},
		"rate limited throughout":   {code: 429, body: `{"responseCode":429,"responseMessage":"slow down"}`, header: http.Header{"Retry-After": {"1"}}, want: providers.StatusNotSent, reason: "429", requests: createRetries + 1},
		"rate limited for too long": {code: 429, body: ``, header: http.Header{"Retry-After": {"3600"}}, want: providers.StatusNotSent, requests: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, n := fakeCronos(t, tc.code, tc.body, tc.header)
			req, err := c.Prepare(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Send(t.Context(), p, req)
			if got.Status != tc.want {
				t.Errorf("got status %s (%s), want %s", got.Status, got.Reason, tc.want)
			}
			if stop := errors.Is(err, providers.ErrStop); stop != tc.stop {
				t.Errorf("got error %v, want stop=%v", err, tc.stop)
			}
			if !tc.stop && err != nil {
				t.Errorf("got error %v, want none", err)
			}
			if !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("got reason %q, want it to contain %q", got.Reason, tc.reason)
			}
			if got.Address != p.Address {
				t.Errorf("got address %q, want %q", got.Address, p.Address)
			}
			want := tc.requests
			if want == 0 {
				want = 1
			}
			if n.Load() != want {
				t.Errorf("the server received %d requests, want %d", n.Load(), want)
			}
		})
	}
}

func TestSendRecordsTheAnswer(t *testing.T) {
	p := payout(1)
	c, _ := fakeCronos(t, 200, answer("pending", p.Key, p.Amount.String()), nil)
	req, _ := c.Prepare(p)
	got, err := c.Send(t.Context(), p, req)
	if err != nil {
		t.Fatal(err)
	}
	if got.IDs["id"] != answerID {
		t.Errorf("got ids %v, want id %s", got.IDs, answerID)
	}
	if got.Fee == nil || got.Fee.String() != "3000" {
		t.Errorf("got fee %v, want 3000", got.Fee)
	}
	want := map[string]string{
		"status": "pending", "amount": p.Amount.String(), "fee": "3000", "totalAmount": "7500", "feePayer": "customer",
		"expiredDate": "2026-11-04T10:00:00+07:00", "recipientName": "AGUS SALIM",
	}
	if len(got.Answer) != len(want) {
		t.Errorf("got answer %v, want %v (null dates left out)", got.Answer, want)
	}
	for k, v := range want {
		if got.Answer[k] != v {
			t.Errorf("answer %s: got %q, want %q", k, got.Answer[k], v)
		}
	}
}

func TestSendRefusesForeignRequests(t *testing.T) {
	c, n := fakeCronos(t, 200, "", nil)
	p := payout(1)
	got, err := c.Send(t.Context(), p, providers.Request{Method: "POST", Path: "/account-inquiry", Body: "{}"})
	if !errors.Is(err, providers.ErrStop) || got.Status != providers.StatusNotSent {
		t.Errorf("got %s, %v; want not-sent and a stop error", got.Status, err)
	}
	if n.Load() != 0 {
		t.Errorf("the server received %d requests, want 0", n.Load())
	}
}

// TestRetryPolicy proves, per failure, what the client reports and how
// many create requests reached the emulator: never more than one per
// attempt.
func TestRetryPolicy(t *testing.T) {
	tests := map[string]struct {
		fault   emulator.Fault
		count   int
		want    providers.Status
		creates int // create requests with the reference the emulator received
		ledger  int // disbursements it holds for it
		waits   []time.Duration
	}{
		"no fault":              {want: providers.StatusPending, creates: 1, ledger: 1},
		"429 burst":             {fault: emulator.Fault429Burst, count: 2, want: providers.StatusPending, creates: 1, ledger: 1, waits: []time.Duration{time.Second, time.Second}},
		"429 beyond retries":    {fault: emulator.Fault429Burst, count: createRetries + 1, want: providers.StatusNotSent, waits: slices.Repeat([]time.Duration{time.Second}, createRetries)},
		"5xx before commit":     {fault: emulator.Fault5xxBeforeCommit, count: 1, want: providers.StatusUnknown, creates: 1},
		"5xx after commit":      {fault: emulator.Fault5xxAfterCommit, count: 1, want: providers.StatusUnknown, creates: 1, ledger: 1},
		"drop before commit":    {fault: emulator.FaultDropBeforeCommit, count: 1, want: providers.StatusUnknown, creates: 1},
		"drop after commit":     {fault: emulator.FaultDropAfterCommit, count: 1, want: providers.StatusUnknown, creates: 1, ledger: 1},
		"truncate after commit": {fault: emulator.FaultTruncateAfterCommit, count: 1, want: providers.StatusUnknown, creates: 1, ledger: 1},
		"delay after commit":    {fault: emulator.FaultDelayAfterCommit, count: 1, want: providers.StatusUnknown, creates: 1, ledger: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, withTimeout(300*time.Millisecond))
			if tc.count > 0 {
				e.em.InjectNext(tc.fault, tc.count)
			}
			p := payout(1)
			got, err := e.send(t, p)
			if err != nil {
				t.Errorf("got error %v, want none", err)
			}
			if got.Status != tc.want {
				t.Errorf("got status %s (%s), want %s", got.Status, got.Reason, tc.want)
			}
			if n := e.em.Creates(p.Key); n != tc.creates {
				t.Errorf("emulator received %d creates, want %d", n, tc.creates)
			}
			if n := e.ledgerCount(p.Key); n != tc.ledger {
				t.Errorf("emulator ledger holds %d disbursements, want %d", n, tc.ledger)
			}
			if tc.count > 0 && e.em.Faults()[string(tc.fault)] != tc.count {
				t.Errorf("fault fired %d times, want %d", e.em.Faults()[string(tc.fault)], tc.count)
			}
			if w := e.waits.all(); !slices.Equal(w, tc.waits) {
				t.Errorf("retry waits %v, want %v", w, tc.waits)
			}
		})
	}
}

// TestNotSent covers failures before any connection: they are retried,
// and reported not-sent when they persist.
func TestNotSent(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	em, err := emulator.New(providers.EmulatorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	tlsSrv := httptest.NewUnstartedServer(em)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	var dials atomic.Int32
	dnsFails := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "api.cronos.invalid", IsNotFound: true}}
	}}
	tests := map[string]struct {
		baseURL   string
		transport http.RoundTripper
		dials     int32 // connection attempts when counted
	}{
		"connection refused": {baseURL: closedURL},
		"dns failure":        {baseURL: "http://api.cronos.invalid", transport: dnsFails, dials: createRetries + 1},
		// The test server's certificate is not trusted by a plain client.
		"tls handshake failure": {baseURL: tlsSrv.URL, transport: &http.Transport{TLSClientConfig: &tls.Config{}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dials.Store(0)
			c := demoClient(t, tc.baseURL, func(o *providers.Options) {
				if tc.transport != nil {
					o.HTTPClient = &http.Client{Transport: tc.transport}
				}
			})
			w := fastRetries(c)
			p := payout(1)
			req, _ := c.Prepare(p)
			got, err := c.Send(t.Context(), p, req)
			if err != nil || got.Status != providers.StatusNotSent {
				t.Errorf("got %s (%s), %v; want not-sent", got.Status, got.Reason, err)
			}
			if n := len(w.all()); n != createRetries {
				t.Errorf("retried %d times, want %d", n, createRetries)
			}
			if tc.dials > 0 && dials.Load() != tc.dials {
				t.Errorf("dialled %d times, want %d", dials.Load(), tc.dials)
			}
		})
	}
	if n := em.Requests()["POST /disburse"]; n != 0 {
		t.Errorf("the TLS emulator received %d creates, want 0", n)
	}
}

func TestSendCancelled(t *testing.T) {
	e := newEnv(t)
	p := payout(1)
	req, _ := e.client.Prepare(p)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	got, err := e.client.Send(ctx, p, req)
	if err != nil || got.Status != providers.StatusNotSent {
		t.Errorf("got %s, %v; want not-sent", got.Status, err)
	}
	if n := e.em.Requests()["POST /disburse"]; n != 0 {
		t.Errorf("emulator received %d creates, want 0", n)
	}
}

// TestSendTwiceNeverPaysTwice re-sends the same attempt, as an engine that
// lost its record might: the duplicate is unknown, never paid again.
func TestSendTwiceNeverPaysTwice(t *testing.T) {
	e := newEnv(t)
	p := payout(1)
	first, err := e.send(t, p)
	if err != nil || first.Status != providers.StatusPending {
		t.Fatalf("first send: %s, %v", first.Status, err)
	}
	second, err := e.send(t, p)
	if err != nil || second.Status != providers.StatusUnknown {
		t.Errorf("second send: got %s (%s), %v; want unknown", second.Status, second.Reason, err)
	}
	if n := e.em.Creates(p.Key); n != 2 {
		t.Errorf("emulator received %d creates, want 2", n)
	}
	if n := e.ledgerCount(p.Key); n != 1 {
		t.Errorf("emulator ledger holds %d disbursements, want 1", n)
	}
}

func TestRetryWait(t *testing.T) {
	now := time.Date(2026, 11, 3, 3, 0, 0, 0, time.UTC)
	c := &Client{now: func() time.Time { return now }}
	resp := func(code int, retryAfter string) *http.Response {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return &http.Response{StatusCode: code, Header: h}
	}
	tests := map[string]struct {
		resp    *http.Response
		attempt int
		want    time.Duration
	}{
		"first retry after an error": {nil, 0, retryWaitMin},
		"third retry after an error": {nil, 2, 4 * retryWaitMin},
		"capped":                     {nil, 10, retryWaitMax},
		"retry-after seconds":        {resp(429, "3"), 0, 3 * time.Second},
		"retry-after date":           {resp(429, now.Add(5*time.Second).Format(http.TimeFormat)), 0, 5 * time.Second},
		"retry-after in the past":    {resp(429, now.Add(-time.Hour).Format(http.TimeFormat)), 0, 0},
		"retry-after unreadable":     {resp(429, "soon"), 1, 2 * retryWaitMin},
		"retry-after on a 503":       {resp(503, "7"), 0, retryWaitMin},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := c.retryWait(retryWaitMin, retryWaitMax, tc.attempt, tc.resp); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestProvesNotSent(t *testing.T) {
	dns := &net.DNSError{Err: "no such host", Name: "x"}
	tests := map[string]struct {
		err              error
		getConn, gotConn bool
		want             bool
	}{
		"traced, no connection":           {errors.New("anything"), true, false, true},
		"traced, connected":               {errors.New("EOF"), true, true, false},
		"connected even with a dns error": {dns, true, true, false},
		"untraced dns error":              {fmt.Errorf("wrapped: %w", dns), false, false, true},
		"untraced dial error":             {&net.OpError{Op: "dial", Err: errors.New("refused")}, false, false, true},
		"untraced read error":             {&net.OpError{Op: "read", Err: errors.New("reset")}, false, false, false},
		"untraced other error":            {io.ErrUnexpectedEOF, false, false, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := provesNotSent(tc.err, tc.getConn, tc.gotConn); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
