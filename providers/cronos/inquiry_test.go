package cronos

import (
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/cronos/emulator"
)

func withBankNames(names map[string]string) envOption {
	return withConfig(func(c *emulator.Config) { c.BankNames = names })
}

func TestVerifyAccount(t *testing.T) {
	known := payout(1).Recipient
	e := newEnv(t, withBankNames(map[string]string{known.Account: "Mr. Gentur"}))

	h, err := e.client.VerifyAccount(t.Context(), known)
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "Mr. Gentur" || h.Status != "pending" {
		t.Errorf("got %+v, want the bank's name Mr. Gentur, pending", h)
	}

	unknown := payout(2).Recipient
	h, err = e.client.VerifyAccount(t.Context(), unknown)
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "" || h.Status != "pending" {
		t.Errorf("unknown account: got %+v, want no name, pending", h)
	}
	if n := e.em.Requests()["POST /account-inquiry"]; n != 2 {
		t.Errorf("the emulator received %d inquiries, want 2", n)
	}
	if len(e.em.Ledger()) != 0 {
		t.Errorf("an inquiry created disbursements: %+v", e.em.Ledger())
	}

	bad := known
	bad.Account = "08-21"
	if _, err := e.client.VerifyAccount(t.Context(), bad); err == nil || !strings.Contains(err.Error(), "recipient.account") {
		t.Errorf("invalid account: got %v, want the account rule", err)
	}
	if n := e.em.Requests()["POST /account-inquiry"]; n != 2 {
		t.Errorf("an invalid account was sent (%d inquiries)", n)
	}
}

func TestVerifyAccountProblems(t *testing.T) {
	r := payout(1).Recipient
	tests := map[string]struct {
		code int
		body string
		want string // words the error must contain
	}{
		"laravel validation": {400, `{"message":"The given data was invalid.","errors":{"accountNumber":["The account number is invalid."]}}`,
			"rejected the account inquiry (HTTP 400: The given data was invalid. accountNumber: The account number is invalid.); check the recipient's bankCode"},
		"signature":       {401, `{"responseCode":401,"responseMessage":"invalid signature"}`, "check the values of keyEnv and tokenEnv"},
		"wrong base":      {404, `{"responseCode":404,"responseMessage":"route not found"}`, "check baseURL"},
		"server error":    {500, `{"responseCode":500,"responseMessage":"error"}`, "try again later"},
		"another account": {200, `{"responseCode":200,"responseMessage":"success","responseData":{"accountNumber":"0000","accountName":"X","status":"pending"}}`, "not about this account"},
		"not json":        {200, `<html>`, "could not be read"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, _ := fakeCronos(t, tc.code, tc.body, nil)
			_, err := c.VerifyAccount(t.Context(), r)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `provider "idr-main"`) {
				t.Errorf("got %v, want an error naming the provider and containing %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), r.Account) {
				t.Errorf("the error shows the whole account number: %v", err)
			}
		})
	}
}

func TestBalance(t *testing.T) {
	e := newEnv(t, withConfig(func(c *emulator.Config) { c.Balance = new(int64(100000)) }))
	b, err := e.client.Balance(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !b.Available.Equal(money.FromInt64(100000)) || b.Pending == nil || b.Pending.Sign() != 0 || b.Total == nil || !b.Total.Equal(money.FromInt64(100000)) {
		t.Errorf("at start: got %+v, want 100000 available, 0 pending, 100000 total", b)
	}
	p := payout(1) // 150001 IDR: more than the balance, which the emulator does not refuse
	p.Amount = money.FromInt64(20000)
	if r, err := e.send(t, p); err != nil || r.Status != providers.StatusPending {
		t.Fatalf("send: %s %v", r.Status, err)
	}
	b, err = e.client.Balance(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !b.Available.Equal(money.FromInt64(77000)) || !b.Pending.Equal(money.FromInt64(23000)) {
		t.Errorf("while pending: got available %s pending %s, want 77000 and 23000 (amount + fee held)", b.Available, b.Pending)
	}
	e.clock.Advance(time.Minute)
	b, err = e.client.Balance(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !b.Available.Equal(money.FromInt64(77000)) || b.Pending.Sign() != 0 || !b.Total.Equal(money.FromInt64(77000)) {
		t.Errorf("after paying: got %+v, want 77000 available and total", b)
	}
	if n := e.em.Requests()["GET /balance"]; n != 3 {
		t.Errorf("the emulator received %d balance requests, want 3", n)
	}
}

func TestBalanceAnswers(t *testing.T) {
	tests := map[string]struct {
		code      int
		body      string
		available string
		pending   string // "" when nil
		err       string
	}{
		"numbers":        {200, `{"responseCode":200,"responseMessage":"success","responseData":{"active":1500000,"pending":3000,"total":1503000}}`, "1500000", "3000", ""},
		"decimal text":   {200, `{"responseCode":200,"responseMessage":"success","responseData":{"active":"1500000.00","pending":null}}`, "1500000.00", "", ""},
		"extra fields":   {200, `{"responseCode":200,"responseMessage":"success","traceId":"x","responseData":{"active":5,"currency":"IDR"}}`, "5", "", ""},
		"no active":      {200, `{"responseCode":200,"responseMessage":"success","responseData":{"pending":1}}`, "", "", "no active balance"},
		"active is text": {200, `{"responseCode":200,"responseMessage":"success","responseData":{"active":"lots"}}`, "", "", "not an amount"},
		"credentials":    {403, `{"responseCode":403,"responseMessage":"ip not allowed"}`, "", "", "check the values of keyEnv and tokenEnv"},
		"no data":        {200, `{"responseCode":200,"responseMessage":"success"}`, "", "", "no responseData"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, _ := fakeCronos(t, tc.code, tc.body, nil)
			b, err := c.Balance(t.Context())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), `provider "idr-main": balance`) {
					t.Errorf("got %+v, %v; want an error naming the provider and containing %q", b, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.Available.String() != tc.available {
				t.Errorf("got available %s, want %s", b.Available, tc.available)
			}
			if got := ""; b.Pending != nil {
				got = b.Pending.String()
				if got != tc.pending {
					t.Errorf("got pending %s, want %q", got, tc.pending)
				}
			} else if tc.pending != "" {
				t.Errorf("got no pending, want %s", tc.pending)
			}
		})
	}
}

// TestAnswerKeysFromTheEmulator checks what the client records from the
// emulator under both readings of totalAmount, on create and on refresh:
// feePayer, totalAmount and the bank's name, as returned, and the fee.
func TestAnswerKeysFromTheEmulator(t *testing.T) {
	for _, tc := range []struct {
		total, payer string
		want         string
	}{
		{emulator.TotalAdded, "customer", "153001"},
		{emulator.TotalDeducted, "customer", "147001"},
		{emulator.TotalAdded, "merchant", "153001"},
	} {
		t.Run(tc.payer+"/"+tc.total, func(t *testing.T) {
			p := payout(1)
			e := newEnv(t, withConfig(func(c *emulator.Config) {
				c.Total, c.FeePayer = tc.total, tc.payer
				c.BankNames = map[string]string{p.Recipient.Account: "PT Bank Name Differs"}
			}))
			r, err := e.send(t, p)
			if err != nil || r.Status != providers.StatusPending {
				t.Fatalf("send: %s (%s) %v", r.Status, r.Reason, err)
			}
			check := func(when string, r providers.Result) {
				t.Helper()
				if r.Answer[providers.AnswerFeePayer] != tc.payer || r.Answer[providers.AnswerTotal] != tc.want ||
					r.Answer[providers.AnswerBankName] != "PT Bank Name Differs" || r.Fee == nil || !r.Fee.Equal(money.FromInt64(3000)) {
					t.Errorf("%s: got answer %v fee %v, want feePayer %s, totalAmount %s, the bank's name and fee 3000", when, r.Answer, r.Fee, tc.payer, tc.want)
				}
			}
			check("create", r)
			e.clock.Advance(time.Minute)
			rs, err := e.client.Check(t.Context(), []providers.Attempt{{Payout: p, IDs: r.IDs, SentAt: start}})
			if err != nil || rs[0].Status != providers.StatusPaid {
				t.Fatalf("check: %v %v", statuses(rs), err)
			}
			check("refresh", rs[0])
		})
	}
}
