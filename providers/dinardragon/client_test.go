package dinardragon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/dinardragon/emulator"
)

func TestDocsExample(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ps := docsExample()

	q := e.quote(t, ctx, ps)
	if got, want := q.Fee.String(), "4.875"; got != want {
		t.Errorf("quoted fee: got %s, want %s", got, want)
	}
	if planned := Type.DefaultFees.Compute(q.Total); !planned.Equal(q.Fee) || planned.String() != "4.875" {
		t.Errorf("planned fee: got %s, want 4.875 equal to the quote %s", planned, q.Fee)
	}
	if got, want := q.Total.String(), "195"; got != want {
		t.Errorf("total: got %s, want %s", got, want)
	}
	if !isLowerHex(q.Token, 32) {
		t.Errorf("authcode: got %q, want 32 lower hex digits", q.Token)
	}
	wantReq := providers.Request{Method: "POST", Path: "/execute", Body: `{"authcode":"` + q.Token + `"}`}
	if q.Request != wantReq {
		t.Errorf("request: got %+v, want %+v", q.Request, wantReq)
	}
	if !q.At.Equal(e.clock.Now()) || q.Expires.Sub(q.At) != 15*time.Minute {
		t.Errorf("at/expires: got %v/%v, want %v and 15 minutes later", q.At, q.Expires, e.clock.Now())
	}
	wantBody := `{"amount":195,"accounts":[` +
		`{"acc":123456789,"amount":50,"bank":"Bank of US","country":"US","recipient":"Recipient alice","recipientname":"Recipient alice"},` +
		`{"acc":987654321,"amount":70,"bank":"Bank of SA","country":"SA","recipient":"Recipient bob","recipientname":"Recipient bob"},` +
		`{"acc":555000111,"amount":75,"bank":"Bank of US","country":"US","recipient":"Recipient carol","recipientname":"Recipient carol"}]}`
	if got := e.rec.last("/get-authcode"); got != wantBody {
		t.Errorf("get-authcode body:\ngot  %s\nwant %s", got, wantBody)
	}

	sentAt := e.clock.Now()
	rs, err := e.client.Execute(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	allStatus(t, rs, providers.StatusPending, 3)
	pid := rs[0].IDs["payment_id"]
	if !isLowerHex(pid, 16) {
		t.Fatalf("payment_id: got %q, want 16 lower hex digits", pid)
	}
	uids := map[string]bool{}
	for i, r := range rs {
		if r.Address != ps[i].Address {
			t.Errorf("result %d: got address %s, want %s", i, r.Address, ps[i].Address)
		}
		if r.IDs["payment_id"] != pid {
			t.Errorf("result %d: got payment_id %s, want %s", i, r.IDs["payment_id"], pid)
		}
		uid := r.IDs["uniqueid"]
		if !isLowerHex(uid, 16) || uids[uid] {
			t.Errorf("result %d: got uniqueid %q, want a distinct 16 lower hex digits", i, uid)
		}
		uids[uid] = true
		if r.Fee != nil {
			t.Errorf("result %d: got fee %v, want nil (the charge is per provider payout)", i, r.Fee)
		}
		if r.Answer["charge_in_usd"] != "4.875" {
			t.Errorf("result %d: got charge_in_usd %q, want 4.875", i, r.Answer["charge_in_usd"])
		}
		if r.Answer["amount"] != ps[i].Amount.String() || r.Answer["country"] != ps[i].Recipient.Country ||
			r.Answer["recipientname"] != ps[i].Recipient.Name || r.Answer["date"] != "2026-11-03" || r.Answer["time"] != "09:30" ||
			r.Answer["email"] == "" || r.Answer["bank"] != ps[i].Recipient.Bank {
			t.Errorf("result %d: answer %v does not hold the answered account", i, r.Answer)
		}
	}
	if got := e.em.Executes(q.Token); got != 1 {
		t.Errorf("executes: got %d, want 1", got)
	}

	as := attempts(q, rs, sentAt)
	cs := e.check(t, ctx, as)
	allStatus(t, cs, providers.StatusPending, 3)

	e.clock.Advance(emulator.DefaultSettleDelay)
	cs = e.check(t, ctx, as)
	allStatus(t, cs, providers.StatusPaid, 3)
	if got := e.em.Requests()["/status"]; got != 2 {
		t.Errorf("status requests: got %d, want 2 (one per Check for the one payment_id)", got)
	}
	for i, r := range cs {
		if r.IDs["uniqueid"] != rs[i].IDs["uniqueid"] || r.Answer["status"] != "1" {
			t.Errorf("check %d: got ids %v answer %v, want uniqueid %s status 1", i, r.IDs, r.Answer, rs[i].IDs["uniqueid"])
		}
	}
}

func TestExecuteCode201(t *testing.T) {
	e := newEnv(t)
	e.em.SetExecuteCode(201)
	q := e.quote(t, context.Background(), docsExample())
	rs, err := e.client.Execute(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	allStatus(t, rs, providers.StatusPending, 3)
}

func TestQuoteHigh(t *testing.T) {
	e := newEnv(t)
	ps := docsExample()
	planned := Type.DefaultFees.Compute(money.MustParse("195"))
	if err := e.em.Inject(emulator.FaultQuoteHigh, 1); err != nil {
		t.Fatal(err)
	}
	q := e.quote(t, context.Background(), ps)
	if got, want := q.Fee.String(), "5.850"; got != want {
		t.Errorf("quoted fee: got %s, want %s (3 %% of 195)", got, want)
	}
	if q.Fee.Cmp(planned) <= 0 {
		t.Errorf("quoted fee %s is not above the planned %s", q.Fee, planned)
	}
	if got := e.em.Fired()[emulator.FaultQuoteHigh]; got != 1 {
		t.Errorf("quote-high fired %d times, want 1", got)
	}
	// The engine would stop here; the authcode lapses and nothing is paid.
	if n := len(e.em.Ledger()); n != 0 {
		t.Errorf("ledger: got %d payments, want 0", n)
	}
}

func TestAuthcodeExpired(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	q := e.quote(t, ctx, docsExample())
	e.clock.Advance(16 * time.Minute)
	rs, err := e.client.Execute(ctx, q)
	if err != nil {
		t.Fatalf("got error %v, want none for a documented refusal", err)
	}
	allStatus(t, rs, providers.StatusFailed, 3)
	if !strings.Contains(rs[0].Reason, emulator.MsgAuthcode) || !strings.Contains(rs[0].Reason, "nothing was paid") {
		t.Errorf("reason %q does not carry the provider's message and say nothing was paid", rs[0].Reason)
	}
	if n := len(e.em.Ledger()); n != 0 {
		t.Fatalf("ledger: got %d payments, want 0", n)
	}

	q2 := e.quote(t, ctx, docsExample())
	if q2.Token == q.Token {
		t.Fatal("the new quote reuses the expired authcode")
	}
	rs, err = e.client.Execute(ctx, q2)
	if err != nil {
		t.Fatal(err)
	}
	allStatus(t, rs, providers.StatusPending, 3)
	if n := len(e.em.Ledger()); n != 1 {
		t.Errorf("ledger: got %d payments, want 1", n)
	}
}

func TestExecuteAnswerMismatch(t *testing.T) {
	for _, tc := range []struct {
		fault string
		want  string // in the error's problem
	}{
		{emulator.FaultExecuteMissing, "payout b/carol to account 555000111 for 75 is not in the answer"},
		{emulator.FaultExecuteExtra, "the answer has account 424242424242 for 1.00"},
		{emulator.FaultExecuteWrongAmount, "account 123456789 was answered with amount 51.00 instead of 50"},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			if err := e.em.Inject(tc.fault, 1); err != nil {
				t.Fatal(err)
			}
			q := e.quote(t, ctx, docsExample())
			rs, err := e.client.Execute(ctx, q)
			allStatus(t, rs, providers.StatusUnknown, 3)
			if !errors.Is(err, providers.ErrStop) {
				t.Fatalf("got error %v, want one wrapping ErrStop", err)
			}
			pid := e.em.Ledger()[0].PaymentID
			for _, s := range []string{q.Token, pid, "payctl state resolve", "-paid|-failed -reason", tc.want, "b/alice, b/bob, b/carol", "dashboard"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			for _, r := range rs {
				if !strings.Contains(r.Reason, q.Token) || !strings.Contains(r.Reason, "payctl state resolve "+r.Address) {
					t.Errorf("reason %q does not name the authcode and the resolve command for %s", r.Reason, r.Address)
				}
				if r.IDs["payment_id"] != pid || r.IDs["uniqueid"] != "" {
					t.Errorf("ids: got %v, want only payment_id %s", r.IDs, pid)
				}
			}
			if got := e.em.Executes(q.Token); got != 1 {
				t.Errorf("executes: got %d, want 1", got)
			}
			// Checking cannot settle it: without a uniqueid the payout
			// cannot be told apart inside the payment.
			cs := e.check(t, ctx, attempts(q, rs, q.At))
			allStatus(t, cs, providers.StatusUnknown, 3)
			if !strings.Contains(cs[0].Reason, "no uniqueid was recorded") {
				t.Errorf("check reason %q does not say the payout cannot be told apart", cs[0].Reason)
			}
		})
	}
}

func TestCheckProblems(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	q := e.quote(t, ctx, docsExample())
	as := attempts(q, e.execute(t, ctx, q), q.At)

	if err := e.em.InjectAt("/status", emulator.Fault5xxBeforeCommit, 100); err != nil {
		t.Fatal(err)
	}
	cs, err := e.client.Check(ctx, as)
	if err != nil {
		t.Fatalf("got error %v, want none: a provider outage is per attempt", err)
	}
	allStatus(t, cs, providers.StatusUnknown, 3)
	if !strings.Contains(cs[0].Reason, "HTTP 500") || !strings.Contains(cs[0].Reason, "try again later") {
		t.Errorf("reason %q does not carry the 500", cs[0].Reason)
	}
	// One payment_id lookup and one per uniqueid, each with its retries.
	if got, want := e.em.Requests()["/status"], 4*(defaultRetryMax+1); got != want {
		t.Errorf("status requests: got %d, want %d", got, want)
	}

	wrong := newEnv(t, func(o *providers.Options) { o.Credentials = map[string]string{"privateKeyEnv": "wrong"} })
	cs, err = wrong.client.Check(ctx, as)
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("got error %v, want ErrAuth", err)
	}
	allStatus(t, cs, providers.StatusUnknown, 3)
	if got := wrong.em.Requests()["/status"]; got != 1 {
		t.Errorf("status requests after the key was refused: got %d, want 1", got)
	}
}

func TestExecuteAnswerLost(t *testing.T) {
	for _, tc := range []struct {
		fault    string
		path     string
		paid     bool
		problem  string
		fastTime bool
	}{
		{fault: emulator.FaultDropAfterCommit, paid: true, problem: "no answer"},
		{fault: emulator.FaultDelayAfterCommit, paid: true, problem: "no answer", fastTime: true},
		{fault: emulator.Fault5xxAfterCommit, paid: true, problem: "HTTP 500"},
		{fault: emulator.FaultTruncateAfterCommit, paid: true, problem: "no answer"},
		// Before the commit nothing is paid, but the client cannot tell:
		// the request was written, and "not sent" would risk paying twice.
		{fault: emulator.Fault5xxBeforeCommit, paid: false, problem: "HTTP 500"},
		{fault: emulator.FaultDropBeforeCommit, paid: false, problem: "no answer"},
		{fault: emulator.Fault429Burst, path: "/execute", paid: false, problem: "a rate limit Dinar Dragon does not document"},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			var opts []envOption
			if tc.fastTime {
				opts = append(opts, withTimeout(300*time.Millisecond))
			}
			e := newEnv(t, opts...)
			ctx := context.Background()
			q := e.quote(t, ctx, docsExample())
			var err error
			if tc.path != "" {
				err = e.em.InjectAt(tc.path, tc.fault, 1)
			} else {
				err = e.em.Inject(tc.fault, 1)
			}
			if err != nil {
				t.Fatal(err)
			}
			sentAt := e.clock.Now()
			rs, err := e.client.Execute(ctx, q)
			allStatus(t, rs, providers.StatusUnknown, 3)
			var oe *OutcomeError
			if !errors.Is(err, providers.ErrStop) || !errors.As(err, &oe) {
				t.Fatalf("got error %v, want an *OutcomeError wrapping ErrStop", err)
			}
			for _, s := range []string{q.Token, sentAt.Format(time.RFC3339), "no lookup by authcode", "payctl state resolve", tc.problem} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			for _, r := range rs {
				for _, s := range []string{q.Token, sentAt.Format(time.RFC3339), "no lookup by authcode", "payctl state resolve " + r.Address} {
					if !strings.Contains(r.Reason, s) {
						t.Errorf("reason %q does not mention %q", r.Reason, s)
					}
				}
			}
			if got := e.em.Fired()[tc.fault]; got != 1 {
				t.Errorf("fault fired %d times, want 1", got)
			}
			if got := e.em.Executes(q.Token); got != 1 {
				t.Fatalf("executes: got %d, want 1", got)
			}
			if got, want := len(e.em.Ledger()) == 1, tc.paid; got != want {
				t.Errorf("paid: got %v, want %v", got, want)
			}

			// Asked again, the client refuses without sending anything.
			rs2, err := e.client.Execute(ctx, q)
			allStatus(t, rs2, providers.StatusUnknown, 3)
			if !errors.Is(err, providers.ErrStop) {
				t.Errorf("second execute: got error %v, want one wrapping ErrStop", err)
			}
			if got := e.em.Executes(q.Token); got != 1 {
				t.Errorf("executes after a second call: got %d, want 1", got)
			}

			// A check cannot settle it either: there is nothing to look up.
			cs := e.check(t, ctx, attempts(q, rs, sentAt))
			allStatus(t, cs, providers.StatusUnknown, 3)
			if !strings.Contains(cs[0].Reason, "no lookup by authcode") || !strings.Contains(cs[0].Reason, q.Token) {
				t.Errorf("check reason %q does not explain the missing lookup", cs[0].Reason)
			}
		})
	}
}

func TestExecuteTwiceAfterSuccess(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	q := e.quote(t, ctx, docsExample())
	if _, err := e.client.Execute(ctx, q); err != nil {
		t.Fatal(err)
	}
	rs, err := e.client.Execute(ctx, q)
	if !errors.Is(err, providers.ErrStop) {
		t.Fatalf("got error %v, want one wrapping ErrStop", err)
	}
	allStatus(t, rs, providers.StatusUnknown, 3)
	if got := e.em.Executes(q.Token); got != 1 {
		t.Errorf("executes: got %d, want 1", got)
	}

	// The same attempts in a new quote would be paid again: refused
	// before any request.
	ps := docsExample()
	_, err = e.client.Quote(ctx, ps[1:2])
	if !errors.Is(err, providers.ErrStop) || !strings.Contains(err.Error(), "payout b/bob (attempt 1, key key-bob) was in it") {
		t.Fatalf("re-quote: got %v, want an ErrStop naming b/bob", err)
	}
	if got := e.em.Requests()["/get-authcode"]; got != 1 {
		t.Errorf("get-authcode requests: got %d, want 1", got)
	}
	// A new attempt has a new key and is quoted.
	ps[1].Attempt, ps[1].Key = 2, "key-bob-2"
	e.quote(t, ctx, ps[1:2])
}

func TestExecuteNotSent(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		e := newEnv(t)
		ctx := context.Background()
		q := e.quote(t, ctx, docsExample())
		// Nothing listens on the address any more.
		e.srv.Close()
		rs, err := e.client.Execute(ctx, q)
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		allStatus(t, rs, providers.StatusNotSent, 3)
		if !strings.Contains(rs[0].Reason, "was not sent") || !strings.Contains(rs[0].Reason, q.Token) {
			t.Errorf("reason %q does not say the execute of the authcode was not sent", rs[0].Reason)
		}
		if got := e.em.Executes(q.Token); got != 0 || len(e.em.Ledger()) != 0 {
			t.Errorf("got %d executes and %d payments, want none", got, len(e.em.Ledger()))
		}
	})
	t.Run("cancelled before sending", func(t *testing.T) {
		e := newEnv(t)
		q := e.quote(t, context.Background(), docsExample())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rs, err := e.client.Execute(ctx, q)
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		allStatus(t, rs, providers.StatusNotSent, 3)
		if got := e.em.Executes(q.Token); got != 0 || len(e.em.Ledger()) != 0 {
			t.Errorf("got %d executes and %d payments, want none", got, len(e.em.Ledger()))
		}
		// Not sent means the same authcode may still be executed.
		rs, err = e.client.Execute(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		allStatus(t, rs, providers.StatusPending, 3)
		if got := e.em.Executes(q.Token); got != 1 {
			t.Errorf("executes: got %d, want 1", got)
		}
	})
	t.Run("dial fails once then succeeds", func(t *testing.T) {
		var dials atomic.Int32
		e := newEnv(t, withTransport(func(http.RoundTripper) http.RoundTripper {
			d := &net.Dialer{}
			return &http.Transport{
				DisableKeepAlives: true,
				DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					// The quote dials once; the execute's first dial fails.
					if dials.Add(1) == 2 {
						return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
					}
					return d.DialContext(ctx, network, addr)
				},
			}
		}))
		ctx := context.Background()
		q := e.quote(t, ctx, docsExample())
		rs, err := e.client.Execute(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		allStatus(t, rs, providers.StatusPending, 3)
		if got := e.em.Executes(q.Token); got != 1 {
			t.Errorf("executes: got %d, want 1", got)
		}
		if got := dials.Load(); got != 3 {
			t.Errorf("dials: got %d, want 3 (quote, failed execute, retried execute)", got)
		}
	})
}

func TestQuoteRetries(t *testing.T) {
	for _, tc := range []struct {
		fault string
		n     int
	}{
		{emulator.Fault5xxBeforeCommit, 2},
		{emulator.Fault5xxAfterCommit, 1},
		{emulator.FaultDropAfterCommit, 1},
		{emulator.FaultTruncateAfterCommit, 1},
		{emulator.Fault429Burst, 3},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			e := newEnv(t)
			if err := e.em.InjectAt("/get-authcode", tc.fault, tc.n); err != nil {
				t.Fatal(err)
			}
			q, err := e.client.Quote(context.Background(), docsExample())
			if err != nil {
				t.Fatal(err)
			}
			if got, want := e.em.Requests()["/get-authcode"], tc.n+1; got != want {
				t.Errorf("get-authcode requests: got %d, want %d", got, want)
			}
			if q.Fee.String() != "4.875" {
				t.Errorf("fee: got %s, want 4.875", q.Fee)
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		e := newEnv(t)
		if err := e.em.InjectAt("/get-authcode", emulator.Fault5xxBeforeCommit, 100); err != nil {
			t.Fatal(err)
		}
		_, err := e.client.Quote(context.Background(), docsExample())
		if err == nil || !strings.Contains(err.Error(), "HTTP 500") {
			t.Fatalf("got error %v, want the last 500", err)
		}
		if got, want := e.em.Requests()["/get-authcode"], defaultRetryMax+1; got != want {
			t.Errorf("requests: got %d, want %d", got, want)
		}
	})
}

func TestQuoteRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		key     string
		want    string
		authErr bool
	}{
		{"wrong key", "not-the-key", emulator.MsgInvalidKey, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *providers.Options) {
				o.Credentials = map[string]string{"privateKeyEnv": tc.key}
			})
			_, err := e.client.Quote(context.Background(), docsExample())
			if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrAuth) != tc.authErr {
				t.Fatalf("got error %v, want one with %q (ErrAuth %v)", err, tc.want, tc.authErr)
			}
			if strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %q contains the key", err)
			}
		})
	}
}

func TestQuoteChecksPayouts(t *testing.T) {
	e := newEnv(t)
	bad := payout("zed", "10", "0123", "US")
	_, err := e.client.Quote(context.Background(), []providers.Payout{bad})
	if err == nil || !strings.Contains(err.Error(), "payout b/zed: recipient.account: account 0123 has a leading zero") {
		t.Fatalf("got error %v, want the leading-zero rule", err)
	}
	if got := e.em.Requests()["/get-authcode"]; got != 0 {
		t.Errorf("requests: got %d, want 0", got)
	}
	e.client.maxBatch = 2
	if _, err := e.client.Quote(context.Background(), docsExample()); err == nil || !strings.Contains(err.Error(), "maxBatch 2") {
		t.Errorf("got error %v, want the maxBatch limit", err)
	}
}

func TestStatusFailedMarker(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ps := []providers.Payout{
		payout("ok", "10.00", "11112222", "US"),
		payout("bounce", "20.00", "33334999", "GB"),
	}
	q := e.quote(t, ctx, ps)
	rs := e.execute(t, ctx, q)
	e.clock.Advance(emulator.DefaultSettleDelay)
	cs := e.check(t, ctx, attempts(q, rs, q.At))
	if got := statuses(cs); got[0] != providers.StatusPaid || got[1] != providers.StatusFailed {
		t.Fatalf("got %v, want [paid failed]", got)
	}
	if !strings.Contains(cs[1].Reason, "refunded") || !strings.Contains(cs[1].Reason, rs[1].IDs["uniqueid"]) {
		t.Errorf("reason %q does not name the payment and the refund", cs[1].Reason)
	}
}

func TestCheckFallsBackToUniqueID(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	q := e.quote(t, ctx, docsExample())
	rs := e.execute(t, ctx, q)
	as := attempts(q, rs, q.At)
	// The first attempt lost its payment_id; the second has a payment_id
	// whose answer does not list its (wrong) uniqueid.
	as[0].IDs = map[string]string{"uniqueid": rs[0].IDs["uniqueid"]}
	as[1].IDs = map[string]string{"payment_id": rs[1].IDs["payment_id"], "uniqueid": "00000000000000aa"}
	e.clock.Advance(emulator.DefaultSettleDelay)
	cs := e.check(t, ctx, as)
	if got := statuses(cs); got[0] != providers.StatusPaid || got[1] != providers.StatusUnknown || got[2] != providers.StatusPaid {
		t.Fatalf("got %v, want [paid unknown paid]", got)
	}
	if !strings.Contains(cs[1].Reason, "00000000000000aa") {
		t.Errorf("reason %q does not name the uniqueid", cs[1].Reason)
	}
	// payment_id once, uniqueid for the first and the second attempt.
	if got := e.em.Requests()["/status"]; got != 3 {
		t.Errorf("status requests: got %d, want 3", got)
	}
}

func TestCheckWithoutIDs(t *testing.T) {
	e := newEnv(t)
	sent := e.clock.Now()
	a := providers.Attempt{Payout: docsExample()[0], Token: strings.Repeat("ab", 16), SentAt: sent, Status: providers.StatusUnknown}
	never := providers.Attempt{Payout: docsExample()[1]}
	cs := e.check(t, context.Background(), []providers.Attempt{a, never})
	allStatus(t, cs, providers.StatusUnknown, 2)
	for _, s := range []string{"no lookup by authcode", a.Token, sent.Format(time.RFC3339), "payctl state resolve b/alice -paid|-failed -reason TEXT"} {
		if !strings.Contains(cs[0].Reason, s) {
			t.Errorf("reason %q does not mention %q", cs[0].Reason, s)
		}
	}
	if got := e.em.Requests()["/status"]; got != 0 {
		t.Errorf("status requests: got %d, want 0", got)
	}
}

func TestExactDecimals(t *testing.T) {
	e := newEnv(t)
	ps := []providers.Payout{
		payout("a", "0.10", "100000000000001", "US"),
		payout("b", "1234567.89", "42", "DE"),
		payout("c", "0.20", "7", "JP"),
	}
	// 0.10 + 1234567.89 + 0.20 in float64 is 1234568.1900000002.
	q := e.quote(t, context.Background(), ps)
	want := `{"amount":1234568.19,"accounts":[` +
		`{"acc":100000000000001,"amount":0.10,"bank":"Bank of US","country":"US","recipient":"Recipient a","recipientname":"Recipient a"},` +
		`{"acc":42,"amount":1234567.89,"bank":"Bank of DE","country":"DE","recipient":"Recipient b","recipientname":"Recipient b"},` +
		`{"acc":7,"amount":0.20,"bank":"Bank of JP","country":"JP","recipient":"Recipient c","recipientname":"Recipient c"}]}`
	if got := e.rec.last("/get-authcode"); got != want {
		t.Errorf("body:\ngot  %s\nwant %s", got, want)
	}
	if got, want := q.Total.String(), "1234568.19"; got != want {
		t.Errorf("total: got %s, want %s", got, want)
	}
	// 2.5 % of 1234568.19 is 30864.20475, in mills half-even 30864.205.
	if got, want := q.Fee.String(), "30864.205"; got != want {
		t.Errorf("fee: got %s, want %s", got, want)
	}
	rs := e.execute(t, context.Background(), q)
	allStatus(t, rs, providers.StatusPending, 3)
	if got := e.rec.last("/execute"); got != q.Request.Body {
		t.Errorf("execute body: got %s, want %s", got, q.Request.Body)
	}
}

func TestNamesAreJSONEscaped(t *testing.T) {
	e := newEnv(t)
	p := payout("q", "5", "99", "US")
	p.Recipient.Name = `Zoë "Z" O'Neil & <Co> \ Ltd`
	if _, err := e.client.Quote(context.Background(), []providers.Payout{p}); err != nil {
		t.Fatal(err)
	}
	want := `"recipient":"Zoë \"Z\" O'Neil & <Co> \\ Ltd","recipientname":"Zoë \"Z\" O'Neil & <Co> \\ Ltd"`
	if got := e.rec.last("/get-authcode"); !strings.Contains(got, want) {
		t.Errorf("body %s does not contain %s", got, want)
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var seen []string
	keep := func(v ...any) {
		for _, x := range v {
			seen = append(seen, fmt.Sprintf("%+v", x))
		}
	}
	q, err := e.client.Quote(ctx, docsExample())
	keep(q, err)
	rs, err := e.client.Execute(ctx, q)
	keep(rs, err)
	cs, err := e.client.Check(ctx, attempts(q, rs, q.At))
	keep(cs, err)
	e.em.InjectAt("/get-authcode", emulator.Fault5xxBeforeCommit, 100)
	_, err = e.client.Quote(ctx, docsExample())
	keep(err)
	e.em.InjectAt("/get-authcode", emulator.Fault5xxBeforeCommit, 0)

	// A transport that fails with the key in its error text.
	leaky := newEnv(t, withTransport(func(http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return nil, fmt.Errorf("proxy refused header Authorization: %s", r.Header.Get("Authorization"))
		})
	}))
	_, err = leaky.client.Quote(ctx, docsExample())
	keep(err)
	rs, err = leaky.client.Execute(ctx, q)
	keep(rs, err)

	for _, s := range seen {
		if strings.Contains(s, emulator.PrivateKey) {
			t.Errorf("the private key appears in %s", s)
		}
	}
	for _, bodies := range e.rec.bodies {
		for _, b := range bodies {
			if strings.Contains(string(b), emulator.PrivateKey) {
				t.Errorf("the private key appears in a request body %s", b)
			}
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    providers.Options
		want string
	}{
		{"no key", providers.Options{Name: "usd"}, "private key is empty"},
		{"bad url", providers.Options{Name: "usd", BaseURL: "ftp://x", Credentials: map[string]string{"privateKeyEnv": "k"}}, "must start with https://"},
		{"newline in key", providers.Options{Name: "usd", Credentials: map[string]string{"privateKeyEnv": "k\n"}}, "line break"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Type.Open(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
	p, err := Type.Open(providers.Options{Name: "usd", Credentials: map[string]string{"privateKeyEnv": "k"}})
	if err != nil {
		t.Fatal(err)
	}
	b, ok := p.(providers.Batch)
	if !ok || p.Type() != "dinardragon" || p.Name() != "usd" || b.MaxBatch() != DefaultMaxBatch {
		t.Errorf("got %T %s %s, want a Batch dinardragon usd with MaxBatch %d", p, p.Type(), p.Name(), DefaultMaxBatch)
	}
	p, _ = Type.Open(providers.Options{Name: "usd", MaxBatch: 7, Credentials: map[string]string{"privateKeyEnv": "k"}})
	if got := p.(providers.Batch).MaxBatch(); got != 7 {
		t.Errorf("MaxBatch: got %d, want 7", got)
	}
}
