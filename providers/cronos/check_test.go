package cronos

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/cronos/emulator"
	"github.com/payctl/payctl/providers/cronos/internal/wire"
)

// sendAll sends payouts i... and returns their attempts as recorded.
func (e *testEnv) sendAll(t *testing.T, is ...int) []providers.Attempt {
	t.Helper()
	var as []providers.Attempt
	for _, i := range is {
		p := payout(i)
		sent := e.clock.Now()
		r, err := e.send(t, p)
		if err != nil || r.Status != providers.StatusPending {
			t.Fatalf("send %s: %s (%s), %v", p.Address, r.Status, r.Reason, err)
		}
		as = append(as, providers.Attempt{Payout: p, IDs: r.IDs, SentAt: sent, Status: r.Status})
	}
	return as
}

func withoutIDs(as []providers.Attempt) []providers.Attempt {
	out := make([]providers.Attempt, len(as))
	for i, a := range as {
		a.IDs = nil
		out[i] = a
	}
	return out
}

func statuses(rs []providers.Result) []providers.Status {
	out := make([]providers.Status, len(rs))
	for i, r := range rs {
		out[i] = r.Status
	}
	return out
}

func TestCheckByID(t *testing.T) {
	e := newEnv(t, withConfig(func(c *emulator.Config) {
		c.BankNames = map[string]string{payout(1).Recipient.Account: "AGUS SALIM"}
	}))
	failing := payout(2)
	failing.Recipient.Account = "0821837182310000" // the emulator's failure marker
	as := e.sendAll(t, 1)
	r, err := e.send(t, failing)
	if err != nil {
		t.Fatal(err)
	}
	as = append(as, providers.Attempt{Payout: failing, IDs: r.IDs, SentAt: e.clock.Now()})

	rs, err := e.client.Check(t.Context(), as)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(rs); got[0] != providers.StatusPending || got[1] != providers.StatusPending {
		t.Errorf("before settling: got %v, want pending, pending", got)
	}
	e.clock.Advance(time.Minute)
	rs, err = e.client.Check(t.Context(), as)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(rs); got[0] != providers.StatusPaid || got[1] != providers.StatusFailed {
		t.Errorf("after settling: got %v, want paid, failed", got)
	}
	if rs[0].Answer["paidDate"] != "2026-11-03T10:01:00+07:00" || rs[0].Answer[providers.AnswerBankName] != "AGUS SALIM" {
		t.Errorf("got answer %v, want the paid date and recipient name", rs[0].Answer)
	}
	if n := e.em.Requests()["GET /transactions"]; n != 0 {
		t.Errorf("a check by id listed transactions %d times, want 0", n)
	}
}

func TestCheckByIDProblems(t *testing.T) {
	e := newEnv(t)
	as := e.sendAll(t, 1)

	unknownID := as[0]
	unknownID.IDs = map[string]string{"id": "00000000-0000-4000-8000-000000000000"}
	wrongKey := as[0]
	wrongKey.Key = payout(5).Key
	wrongAmount := as[0]
	wrongAmount.Amount = money.FromInt64(1)

	rs, err := e.client.Check(t.Context(), []providers.Attempt{unknownID, wrongKey, wrongAmount})
	if !errors.Is(err, providers.ErrStop) {
		t.Errorf("got error %v, want a stop for the mismatches", err)
	}
	for i, r := range rs {
		if r.Status != providers.StatusUnknown {
			t.Errorf("attempt %d: got %s (%s), want unknown", i, r.Status, r.Reason)
		}
	}
	if !strings.Contains(rs[0].Reason, "HTTP 404") || !strings.Contains(rs[0].Reason, "payctl state resolve") {
		t.Errorf("got reason %q, want the 404 and what to do", rs[0].Reason)
	}
	if err != nil && !strings.Contains(err.Error(), "payctl state resolve "+as[0].Address) {
		t.Errorf("stop error %q does not say how to resolve", err)
	}
}

func TestLookUpByReference(t *testing.T) {
	e := newEnv(t)
	as := e.sendAll(t, 1, 2)
	for _, account := range []string{"0821837182310000", "0821837182319999"} { // fail and expire markers
		p := payout(len(as) + 1)
		p.Recipient.Account = account
		r, err := e.send(t, p)
		if err != nil {
			t.Fatal(err)
		}
		as = append(as, providers.Attempt{Payout: p, IDs: r.IDs, SentAt: e.clock.Now()})
	}
	never := providers.Attempt{Payout: payout(9), SentAt: e.clock.Now()}
	e.clock.Advance(time.Minute) // now paid, paid, failed, expired

	rs, err := e.client.Check(t.Context(), append(withoutIDs(as), never))
	if err != nil {
		t.Fatal(err)
	}
	want := []providers.Status{providers.StatusPaid, providers.StatusPaid, providers.StatusFailed, providers.StatusFailed, providers.StatusNotFound}
	for i, r := range rs {
		if r.Status != want[i] {
			t.Errorf("%s: got %s (%s), want %s", r.Address, r.Status, r.Reason, want[i])
		}
		if i < len(as) && r.IDs["id"] != as[i].IDs["id"] {
			t.Errorf("%s: got ids %v, want id %s", r.Address, r.IDs, as[i].IDs["id"])
		}
	}
	if got := rs[3].Answer["status"]; got != "expired" {
		t.Errorf("got provider status %q, want expired", got)
	}
}

// TestLookUpCost checks the listing cache: looking up two attempts of one
// day costs the requests of one, and a "not found" costs a second,
// confirming pass.
func TestLookUpCost(t *testing.T) {
	cost := func(t *testing.T, e *testEnv, as []providers.Attempt) int {
		t.Helper()
		before := e.em.Requests()["GET /transactions"]
		if _, err := e.client.Check(t.Context(), as); err != nil {
			t.Fatal(err)
		}
		return e.em.Requests()["GET /transactions"] - before
	}
	e := newEnv(t)
	as := withoutIDs(e.sendAll(t, 1, 2))
	one := cost(t, e, as[:1])
	two := cost(t, e, as)
	if one == 0 || two != one {
		t.Errorf("one attempt cost %d requests, two cost %d; want the same, non-zero", one, two)
	}
	missing := []providers.Attempt{{Payout: payout(9), SentAt: e.clock.Now()}}
	if got := cost(t, e, missing); got != 2*one {
		t.Errorf("a missing attempt cost %d requests, want two passes of %d", got, one)
	}
}

func TestLookUpPages(t *testing.T) {
	e := newEnv(t, withConfig(func(c *emulator.Config) { c.PageSize = 2 }))
	as := withoutIDs(e.sendAll(t, 1, 2, 3, 4, 5))
	rs, err := e.client.Check(t.Context(), as[4:])
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Status != providers.StatusPending {
		t.Errorf("the fifth of five on pages of two: got %s (%s), want pending", rs[0].Status, rs[0].Reason)
	}
}

func TestLookUpNearMidnight(t *testing.T) {
	e := newEnv(t)
	e.clock.Advance(time.Date(2026, 11, 3, 23, 59, 59, 0, wire.Zone).Sub(start))
	sent := e.clock.Now()
	e.clock.Advance(2 * time.Second) // Cronos records it the next day
	as := e.sendAll(t, 1)
	if day := e.em.Ledger()[0].Created.In(wire.Zone).Day(); day != 4 {
		t.Fatalf("the disbursement is dated the %dth, want the 4th", day)
	}
	as[0].SentAt = sent
	rs, err := e.client.Check(t.Context(), withoutIDs(as))
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Status != providers.StatusPending {
		t.Errorf("got %s (%s), want pending: found on the next day's list", rs[0].Status, rs[0].Reason)
	}
}

func TestScanDates(t *testing.T) {
	tests := map[string]struct {
		sent time.Time
		want string
	}{
		"morning":                  {time.Date(2026, 11, 3, 10, 0, 0, 0, wire.Zone), "[2026-11-03 2026-11-04]"},
		"just after midnight":      {time.Date(2026, 11, 3, 0, 20, 0, 0, wire.Zone), "[2026-11-02 2026-11-03 2026-11-04]"},
		"utc evening is next day":  {time.Date(2026, 11, 3, 18, 0, 0, 0, time.UTC), "[2026-11-04 2026-11-05]"},
		"utc just before midnight": {time.Date(2026, 11, 3, 16, 59, 0, 0, time.UTC), "[2026-11-03 2026-11-04]"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := fmt.Sprint(scanDates(tc.sent)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestLookUpRetention(t *testing.T) {
	e := newEnv(t)
	as := withoutIDs(e.sendAll(t, 1))
	noTime := providers.Attempt{Payout: payout(2)}
	e.clock.Advance(wire.Retention - clockSkew)
	before := e.em.Requests()["GET /transactions"]
	rs, err := e.client.Check(t.Context(), append(as, noTime))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.Status != providers.StatusUnknown || !strings.Contains(r.Reason, "payctl state resolve") {
			t.Errorf("attempt %d: got %s (%s), want unknown and a reason naming payctl state resolve", i, r.Status, r.Reason)
		}
	}
	if !strings.Contains(rs[0].Reason, "7 days") {
		t.Errorf("got reason %q, want it to name the 7-day retention", rs[0].Reason)
	}
	if n := e.em.Requests()["GET /transactions"] - before; n != 0 {
		t.Errorf("listed transactions %d times, want 0", n)
	}
}

// listServer serves /transactions with pages made by page(status, n) and
// counts the requests.
func listServer(t *testing.T, page func(status string, n int) string) (*Client, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var n int
		fmt.Sscan(r.URL.Query().Get("page"), &n)
		io.WriteString(w, page(r.URL.Query().Get("status"), n))
	}))
	t.Cleanup(srv.Close)
	c := demoClient(t, srv.URL, func(o *providers.Options) { o.Now = func() time.Time { return start } })
	fastRetries(c)
	return c, &calls
}

func item(id, ref string) string {
	return `{"id":"` + id + `","merchantRef":` + ref + `,"status":"success","amount":150001,"fee":3000,"totalAmount":153001,"feePayer":"merchant","bankCode":null,"callback":null}`
}

func TestLookUpListings(t *testing.T) {
	p := payout(1)
	a := providers.Attempt{Payout: p, SentAt: start}
	id := func(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }
	var changes atomic.Int32
	tests := map[string]struct {
		page   func(status string, n int) string
		want   providers.Status
		stop   bool
		reason string
	}{
		"zero-based pages": {
			// Page 0 holds the reference and page 1 is already empty.
			page: func(status string, n int) string {
				if status == "success" && n == 0 {
					return `{"responseCode":200,"responseMessage":"ok","responseData":[` + item(id(1), `"`+p.Key+`"`) + `]}`
				}
				return `{"responseCode":200,"responseMessage":"ok","responseData":[]}`
			},
			want: providers.StatusPaid,
		},
		"records without reference are skipped": {
			page: func(status string, n int) string {
				if status == "success" && n <= 1 {
					return `{"responseCode":200,"responseMessage":"ok","responseData":[` + item(id(1), "null") + `,` + item(id(2), `"`+p.Key+`"`) + `]}`
				}
				return `{"responseCode":200,"responseMessage":"ok","responseData":[]}`
			},
			want: providers.StatusPaid,
		},
		"two disbursements with the reference": {
			page: func(status string, n int) string {
				if status == "success" && n == 1 {
					return `{"responseCode":200,"responseMessage":"ok","responseData":[` + item(id(1), `"`+p.Key+`"`) + `,` + item(id(2), `"`+p.Key+`"`) + `]}`
				}
				return `{"responseCode":200,"responseMessage":"ok","responseData":[]}`
			},
			want: providers.StatusUnknown, stop: true, reason: "2 disbursements",
		},
		"lists keep changing": {
			page: func(status string, n int) string {
				if status == "success" && n == 1 {
					return `{"responseCode":200,"responseMessage":"ok","responseData":[` + item(id(int(changes.Add(1))), `"other"`) + `]}`
				}
				return `{"responseCode":200,"responseMessage":"ok","responseData":[]}`
			},
			want: providers.StatusUnknown, reason: "kept changing",
		},
		"unreadable page": {
			page: func(string, int) string {
				return `{"responseCode":200,"responseMessage":"ok","responseData":null}`
			},
			want: providers.StatusUnknown, reason: "not a list",
		},
		"item without id": {
			page: func(string, int) string {
				return `{"responseCode":200,"responseMessage":"ok","responseData":[{"merchantRef":"x"}]}`
			},
			want: providers.StatusUnknown, reason: "no id",
		},
		"error answer": {
			page: func(string, int) string { return `{"responseCode":500,"responseMessage":"down"}` },
			want: providers.StatusUnknown, reason: "down",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, _ := listServer(t, tc.page)
			rs, err := c.Check(t.Context(), []providers.Attempt{a})
			if errors.Is(err, providers.ErrStop) != tc.stop || (!tc.stop && err != nil) {
				t.Errorf("got error %v, want stop=%v", err, tc.stop)
			}
			if rs[0].Status != tc.want || !strings.Contains(rs[0].Reason, tc.reason) {
				t.Errorf("got %s (%s), want %s with a reason containing %q", rs[0].Status, rs[0].Reason, tc.want, tc.reason)
			}
		})
	}
}
