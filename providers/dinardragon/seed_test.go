package dinardragon

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// seedAnswer is the success answer of the published /execute page, made
// valid JSON (the page's comments and trailing commas removed), fields in
// the page's order.
const seedAnswer = `{"code":200,"accounts":[` +
	`{"amount":50,"bank":"somebank","country":"US","recipientname":"somename","accNo":123456789,"date":"2025-01-31","time":"14:35","email":"youremail@anemailprovider.com","uniqueid":"df9a31ea528a3977"},` +
	`{"amount":70,"bank":"someotherbank","country":"SA","recipientname":"someothername","accNo":987654321,"date":"2025-01-31","time":"14:35","email":"youremail@anemailprovider.com","uniqueid":"adec957cc3860ec6"},` +
	`{"amount":75,"bank":"yetanotherbank","country":"US","recipientname":"yetanothername","accNo":111111111,"date":"2025-01-31","time":"14:35","email":"youremail@anemailprovider.com","uniqueid":"dd6b346e7d0ef747"}],` +
	`"charge_in_usd":4.875,"payment_id":"1617fcccd1f3269c","message":"Payout successfully processed. The funds will be disbursed to the bank account(s) within 15 minutes."}`

// seedFailure is the page's failure answer.
const seedFailure = `{"code":400,"error":"Your request failed because your authcode is invalid or has expired. Retry this payout with a new authcode."}`

// seedQuote is the quote of the page's payout: 50, 70 and 75 USD.
func seedQuote() providers.Quote {
	ps := []providers.Payout{
		payout("somename", "50", "123456789", "US"),
		payout("someothername", "70", "987654321", "SA"),
		payout("yetanothername", "75", "111111111", "US"),
	}
	token := "6afc61f8c5e7738819b7021dc0664cab"
	return providers.Quote{
		Payouts: ps, Total: money.MustParse("195"), Fee: money.MustParse("4.875"), Token: token,
		Request: providers.Request{Method: http.MethodPost, Path: "/execute", Body: executeBody(token)},
		At:      time.Date(2025, 1, 31, 14, 30, 0, 0, time.UTC),
	}
}

// seedServer answers /execute with code and body, and /status with status
// 1 for the uniqueid or every uniqueid of the payment_id asked about, as
// found in body.
func seedServer(t *testing.T, code int, body string) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/execute" {
			w.WriteHeader(code)
			io.WriteString(w, body)
			return
		}
		var ask map[string]string
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &ask); err != nil {
			w.WriteHeader(400)
			io.WriteString(w, `{"code":400,"error":"Provide payment_id or uniqueid."}`)
			return
		}
		a, err := parseExecuteAnswer([]byte(body))
		if err != nil {
			w.WriteHeader(404)
			io.WriteString(w, `{"code":404,"error":"No payment found."}`)
			return
		}
		type payment struct {
			UniqueID string `json:"uniqueid"`
			Status   int    `json:"status"`
		}
		var out []payment
		for _, acc := range a.Accounts {
			if ask["payment_id"] == a.PaymentID || ask["uniqueid"] == acc.UniqueID {
				out = append(out, payment{acc.UniqueID, 1})
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"code": 200, "payments": out})
	}))
	t.Cleanup(srv.Close)
	c, err := New(providers.Options{
		Name: "usd-main", BaseURL: srv.URL, Timeout: 2 * time.Second,
		Credentials: map[string]string{"privateKeyEnv": "k", "publicKeyEnv": "p"},
	})
	if err != nil {
		t.Fatal(err)
	}
	fast(c)
	return c
}

// TestSeedAnswers feeds execute answers shaped like the published page,
// with unusual but valid ids and extra fields, and checks what the client
// returns, then what Check makes of the same payments: an answer that
// proves the payout is never unknown, and what decides money (accounts
// and amounts) is checked strictly.
func TestSeedAnswers(t *testing.T) {
	r := strings.NewReplacer
	tests := map[string]struct {
		code    int
		body    string
		want    providers.Status
		stop    bool
		pid     string   // expected payment_id when trusted
		uids    []string // expected uniqueids when trusted
		answer  map[string]string
		reason  string
		noCheck bool
	}{
		"published example": {body: seedAnswer, want: providers.StatusPending, pid: "1617fcccd1f3269c",
			uids: []string{"df9a31ea528a3977", "adec957cc3860ec6", "dd6b346e7d0ef747"},
			answer: map[string]string{"email": "youremail@anemailprovider.com", "recipientname": "somename", "bank": "somebank",
				"charge_in_usd": "4.875", providers.AnswerGroupFee: "4.875", "amount": "50", "date": "2025-01-31", "time": "14:35"}},
		"published example, code 201": {body: strings.Replace(seedAnswer, `"code":200`, `"code":201`, 1), code: 201, want: providers.StatusPending, pid: "1617fcccd1f3269c"},
		"upper-case 20-character ids": {
			body: r("1617fcccd1f3269c", "1617FCCCD1F3269C0A0B", "df9a31ea528a3977", "DF9A31EA528A3977C0DE", "adec957cc3860ec6", "ADEC957CC3860EC6C0DE", "dd6b346e7d0ef747", "DD6B346E7D0EF747C0DE").Replace(seedAnswer),
			want: providers.StatusPending, pid: "1617FCCCD1F3269C0A0B", uids: []string{"DF9A31EA528A3977C0DE", "ADEC957CC3860EC6C0DE", "DD6B346E7D0EF747C0DE"}},
		"ids that are not hex": {
			body: r("1617fcccd1f3269c", "PAY-2025/01/31-0001", "df9a31ea528a3977", `pmt \"1\"`, "adec957cc3860ec6", `pmt\\2`, "dd6b346e7d0ef747", "pmt-3").Replace(seedAnswer),
			want: providers.StatusPending, pid: "PAY-2025/01/31-0001", uids: []string{`pmt "1"`, `pmt\2`, "pmt-3"}},
		"extra fields": {
			body: r(`{"code":200,`, `{"code":200,"currency":"USD","batch":{"n":3},`, `"uniqueid":"df9a31ea528a3977"`, `"uniqueid":"df9a31ea528a3977","fx":1`).Replace(seedAnswer),
			want: providers.StatusPending, pid: "1617fcccd1f3269c"},
		"descriptive fields of other types": {
			body: r(`"bank":"somebank"`, `"bank":12`, `"message":"Payout successfully processed.`, `"message":{"text":"ok"},"x":"`).Replace(seedAnswer),
			want: providers.StatusPending, pid: "1617fcccd1f3269c", answer: map[string]string{"bank": "12", "recipientname": "somename"}},
		"another recipient name echoed": {body: strings.Replace(seedAnswer, `"somename"`, `"SOME NAME"`, 1), want: providers.StatusPending,
			answer: map[string]string{"recipientname": "SOME NAME"}},
		"charge other than quoted": {body: strings.Replace(seedAnswer, `4.875`, `5.85`, 1), want: providers.StatusPending,
			answer: map[string]string{"charge_in_usd": "5.85", providers.AnswerGroupFee: "5.85"}},
		"id with a control character": {body: strings.Replace(seedAnswer, `df9a31ea528a3977`, `df9a\u001b[2J`, 1), want: providers.StatusUnknown, stop: true,
			reason: "control", noCheck: true},
		"id longer than 128 bytes": {body: strings.Replace(seedAnswer, `1617fcccd1f3269c`, strings.Repeat("f", 129), 1), want: providers.StatusUnknown, stop: true,
			reason: "longer than 128", noCheck: true},
		"another amount": {body: strings.Replace(seedAnswer, `"amount":70`, `"amount":71`, 1), want: providers.StatusUnknown, stop: true,
			reason: "does not match", noCheck: true},
		"another account": {body: strings.Replace(seedAnswer, `111111111`, `111111112`, 1), want: providers.StatusUnknown, stop: true,
			reason: "does not match", noCheck: true},
		"documented failure": {code: 400, body: seedFailure, want: providers.StatusFailed, reason: "authcode is invalid or has expired", noCheck: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code := tc.code
			if code == 0 {
				code = 200
			}
			c := seedServer(t, code, tc.body)
			q := seedQuote()
			rs, err := c.Execute(t.Context(), q)
			if stop := errors.Is(err, providers.ErrStop); stop != tc.stop {
				t.Errorf("got error %v, want stop=%v", err, tc.stop)
			}
			if !tc.stop && err != nil {
				t.Errorf("got error %v, want none", err)
			}
			if len(rs) != 3 {
				t.Fatalf("got %d results, want 3", len(rs))
			}
			for i, res := range rs {
				if res.Status != tc.want {
					t.Errorf("result %d: got %s (%s), want %s", i, res.Status, res.Reason, tc.want)
				}
				if !strings.Contains(res.Reason, tc.reason) {
					t.Errorf("result %d: got reason %q, want it to contain %q", i, res.Reason, tc.reason)
				}
			}
			if tc.want != providers.StatusPending {
				return
			}
			if tc.pid != "" && rs[0].IDs[providers.IDGroup] != tc.pid {
				t.Errorf("got payment_id %q, want %q", rs[0].IDs[providers.IDGroup], tc.pid)
			}
			for i, uid := range tc.uids {
				if rs[i].IDs["uniqueid"] != uid {
					t.Errorf("result %d: got uniqueid %q, want %q", i, rs[i].IDs["uniqueid"], uid)
				}
			}
			for k, want := range tc.answer {
				if got := rs[0].Answer[k]; got != want {
					t.Errorf("answer %s: got %q, want %q", k, got, want)
				}
			}
			if tc.noCheck {
				return
			}
			checked, err := c.Check(t.Context(), attempts(q, rs, q.At))
			if err != nil {
				t.Fatal(err)
			}
			for i, res := range checked {
				if res.Status != providers.StatusPaid {
					t.Errorf("check %d: got %s (%s), want paid", i, res.Status, res.Reason)
				}
			}
		})
	}
}
