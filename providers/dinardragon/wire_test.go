package dinardragon

import (
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

const (
	hex32 = "0123456789abcdef0123456789abcdef"
	hexA  = "aaaaaaaaaaaaaaa1"
	hexB  = "bbbbbbbbbbbbbbb2"
	pid   = "c0ffee00c0ffee00"
)

func TestParseAuthcodeAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		charge     string // "" when an error is expected
		wantErr    string
	}{
		{name: "docs", body: `{"code":200,"charge_in_usd":4.875,"authcode":"` + hex32 + `"}`, charge: "4.875"},
		{name: "201 and spaces", body: " {\"code\": 201, \"charge_in_usd\": 0, \"authcode\": \"" + hex32 + "\"}\n", charge: "0"},
		{name: "exponent read exactly", body: `{"code":200,"charge_in_usd":4875e-3,"authcode":"` + hex32 + `"}`, charge: "4.875"},
		{name: "positive exponent", body: `{"code":200,"charge_in_usd":5E+1,"authcode":"` + hex32 + `"}`, charge: "50"},
		{name: "unknown field ignored", body: `{"code":200,"charge_in_usd":1,"authcode":"` + hex32 + `","note":"x"}`, charge: "1"},
		{name: "charge as string", body: `{"code":200,"charge_in_usd":"4.875","authcode":"` + hex32 + `"}`, wantErr: "not a JSON number"},
		{name: "charge negative", body: `{"code":200,"charge_in_usd":-1,"authcode":"` + hex32 + `"}`, wantErr: "negative"},
		{name: "charge negative zero", body: `{"code":200,"charge_in_usd":-0,"authcode":"` + hex32 + `"}`, wantErr: "negative"},
		{name: "charge missing", body: `{"code":200,"authcode":"` + hex32 + `"}`, wantErr: "charge_in_usd is missing"},
		{name: "charge null", body: `{"code":200,"charge_in_usd":null,"authcode":"` + hex32 + `"}`, wantErr: "charge_in_usd is missing"},
		{name: "charge huge exponent", body: `{"code":200,"charge_in_usd":1e999999999,"authcode":"` + hex32 + `"}`, wantErr: "out of range"},
		{name: "code 400", body: `{"code":400,"charge_in_usd":1,"authcode":"` + hex32 + `"}`, wantErr: "code is 400"},
		{name: "code string", body: `{"code":"200","charge_in_usd":1,"authcode":"` + hex32 + `"}`, wantErr: "not a JSON number"},
		{name: "code fraction", body: `{"code":200.5,"charge_in_usd":1,"authcode":"` + hex32 + `"}`, wantErr: "not a whole number"},
		{name: "authcode upper", body: `{"code":200,"charge_in_usd":1,"authcode":"` + strings.ToUpper(hex32) + `"}`, wantErr: "lower-case hex"},
		{name: "authcode short", body: `{"code":200,"charge_in_usd":1,"authcode":"` + hex32[1:] + `"}`, wantErr: "lower-case hex"},
		{name: "authcode missing", body: `{"code":200,"charge_in_usd":1}`, wantErr: "authcode is missing"},
		{name: "authcode number", body: `{"code":200,"charge_in_usd":1,"authcode":5}`, wantErr: "not the expected JSON object"},
		{name: "duplicate key", body: `{"code":200,"charge_in_usd":1,"charge_in_usd":2,"authcode":"` + hex32 + `"}`, wantErr: "twice"},
		{name: "duplicate key by case", body: `{"code":200,"Code":400,"charge_in_usd":1,"authcode":"` + hex32 + `"}`, wantErr: "twice"},
		{name: "trailing data", body: `{"code":200,"charge_in_usd":1,"authcode":"` + hex32 + `"} {}`, wantErr: "after its JSON object"},
		{name: "array", body: `[1]`, wantErr: "not a JSON object"},
		{name: "empty", body: ``, wantErr: "not a JSON object"},
		{name: "invalid utf-8", body: "{\"code\":200,\"x\":\"\xff\"}", wantErr: "UTF-8"},
		{name: "truncated", body: `{"code":200,"charge_in_usd":4.8`, wantErr: "not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := parseAuthcodeAnswer([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Charge.String() != tc.charge || a.Authcode != hex32 {
				t.Errorf("got charge %s authcode %s, want %s %s", a.Charge, a.Authcode, tc.charge, hex32)
			}
		})
	}
}

func executeJSON(accounts string) string {
	return `{"code":200,"payment_id":"` + pid + `","charge_in_usd":4.875,"message":"ok","accounts":[` + accounts + `]}`
}

func TestParseExecuteAnswer(t *testing.T) {
	acc := func(no, amount, uid string) string {
		return `{"accNo":` + no + `,"amount":` + amount + `,"bank":"B","country":"US","recipientname":"N","date":"2025-01-31","time":"14:35","email":"e@x","uniqueid":"` + uid + `"}`
	}
	for _, tc := range []struct {
		name, body string
		wantAcc    []string // acc=amount per account
		wantErr    string
	}{
		{name: "docs shape", body: executeJSON(acc("123", "50", hexA) + "," + acc("456", "70.5", hexB)), wantAcc: []string{"123=50", "456=70.5"}},
		{name: "accNo written as a float", body: executeJSON(acc("123.0", "50.00", hexA)), wantAcc: []string{"123=50.00"}},
		{name: "accNo with exponent", body: executeJSON(acc("1.23e2", "5e1", hexA)), wantAcc: []string{"123=5e1"}},
		{name: "no accounts", body: executeJSON(""), wantAcc: nil},
		{name: "descriptive fields optional", body: executeJSON(`{"accNo":1,"amount":1,"uniqueid":"` + hexA + `"}`), wantAcc: []string{"1=1"}},
		{name: "accNo fraction", body: executeJSON(acc("123.5", "50", hexA)), wantErr: "not a whole number"},
		{name: "accNo string", body: executeJSON(acc(`"123"`, "50", hexA)), wantErr: "accNo is \"123\", not a JSON number"},
		{name: "amount missing", body: executeJSON(`{"accNo":1,"uniqueid":"` + hexA + `"}`), wantErr: "accounts[0].amount is missing"},
		{name: "uniqueid missing", body: executeJSON(`{"accNo":1,"amount":1}`), wantErr: "accounts[0].uniqueid is missing"},
		{name: "uniqueid not hex", body: executeJSON(acc("1", "1", "xyz")), wantAcc: []string{"1=1"}},
		{name: "uniqueid upper case, 20 characters", body: executeJSON(acc("1", "1", "DF9A31EA528A3977AB12")), wantAcc: []string{"1=1"}},
		{name: "uniqueid empty", body: executeJSON(acc("1", "1", "")), wantErr: "is empty"},
		{name: "uniqueid with a control character", body: executeJSON(acc("1", "1", `ab\u001bcd`)), wantErr: "control"},
		{name: "uniqueid too long", body: executeJSON(acc("1", "1", strings.Repeat("a", 129))), wantErr: "longer than 128"},
		{name: "uniqueid with surrounding spaces", body: executeJSON(acc("1", "1", " ab")), wantErr: "surrounding spaces"},
		{name: "uniqueid twice", body: executeJSON(acc("1", "1", hexA) + "," + acc("2", "1", hexA)), wantErr: "appears twice"},
		{name: "payment_id missing", body: `{"code":200,"charge_in_usd":1,"accounts":[]}`, wantErr: "payment_id is missing"},
		{name: "payment_id bad", body: `{"code":200,"payment_id":"P\u0007Q","charge_in_usd":1,"accounts":[]}`, wantErr: "has a control"},
		{name: "accounts missing", body: `{"code":200,"payment_id":"` + pid + `","charge_in_usd":1}`, wantErr: "accounts is missing"},
		{name: "accounts not an array", body: `{"code":200,"payment_id":"` + pid + `","charge_in_usd":1,"accounts":{}}`, wantErr: "not the expected JSON object"},
		{name: "failure code", body: `{"code":400,"error":"no"}`, wantErr: "code is 400"},
		{name: "duplicate nested key", body: executeJSON(`{"accNo":1,"amount":1,"amount":2,"uniqueid":"` + hexA + `"}`), wantErr: "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := parseExecuteAnswer([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range a.Accounts {
				got = append(got, x.Acc+"="+x.AmountText)
			}
			if strings.Join(got, " ") != strings.Join(tc.wantAcc, " ") || a.PaymentID != pid || a.ChargeText != "4.875" {
				t.Errorf("got %v %s %s, want %v %s 4.875", got, a.PaymentID, a.ChargeText, tc.wantAcc, pid)
			}
		})
	}
}

func TestParseStatusAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       string
		wantErr    string
	}{
		{name: "docs", body: `{"code":200,"payments":[{"uniqueid":"` + hexA + `","status":0},{"uniqueid":"` + hexB + `","status":2}]}`, want: hexA + "=0 " + hexB + "=2"},
		{name: "undocumented status parses", body: `{"code":200,"payments":[{"uniqueid":"` + hexA + `","status":7}]}`, want: hexA + "=7"},
		{name: "empty", body: `{"code":200,"payments":[]}`, want: ""},
		{name: "status string", body: `{"code":200,"payments":[{"uniqueid":"` + hexA + `","status":"1"}]}`, wantErr: "not a JSON number"},
		{name: "status missing", body: `{"code":200,"payments":[{"uniqueid":"` + hexA + `"}]}`, wantErr: "status is missing"},
		{name: "uniqueid twice", body: `{"code":200,"payments":[{"uniqueid":"` + hexA + `","status":1},{"uniqueid":"` + hexA + `","status":2}]}`, wantErr: "appears twice"},
		{name: "code 404", body: `{"code":404,"payments":[]}`, wantErr: "code is 404"},
		{name: "payments missing", body: `{"code":200}`, wantErr: "payments is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := parseStatusAnswer([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.UniqueID+"="+p.Status)
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("got %q, want %q", g, tc.want)
			}
		})
	}
}

func TestParseFailure(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		code       int
		msg        string
		wantErr    string
	}{
		{name: "docs", body: `{"code": 400, "error": "Your request failed because your authcode is invalid or has expired. Retry this payout with a new authcode."}`, code: 400, msg: "Your request failed because your authcode is invalid or has expired. Retry this payout with a new authcode."},
		{name: "message field", body: `{"code":403,"message":"Forbidden"}`, code: 403, msg: "Forbidden"},
		{name: "with payment_id", body: `{"code":400,"error":"x","payment_id":"` + pid + `"}`, wantErr: "success fields"},
		{name: "with accounts", body: `{"code":400,"error":"x","accounts":[]}`, wantErr: "success fields"},
		{name: "no message", body: `{"code":400}`, wantErr: "no error message"},
		{name: "html", body: `<html>502</html>`, wantErr: "not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseFailure([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || f.Code != tc.code || f.Msg != tc.msg {
				t.Fatalf("got %+v %v, want code %d message %q", f, err, tc.code, tc.msg)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	ps := []providers.Payout{
		payout("a", "50", "111", "US"),
		payout("b", "50", "111", "US"), // same account and amount as a
		payout("c", "70.10", "222", "US"),
	}
	ans := func(pairs ...string) []answeredAccount {
		var out []answeredAccount
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, answeredAccount{Acc: pairs[i], Amount: money.MustParse(pairs[i+1]), AmountText: pairs[i+1], UniqueID: "u" + pairs[i]})
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		ans     []answeredAccount
		order   []int
		problem string
	}{
		{name: "in order", ans: ans("111", "50", "111", "50", "222", "70.10"), order: []int{0, 1, 2}},
		{name: "reordered, value equal", ans: ans("222", "70.1", "111", "50.00", "111", "50"), order: []int{1, 2, 0}},
		{name: "missing", ans: ans("111", "50", "222", "70.10"), problem: "payout b/b to account 111 for 50 is not in the answer"},
		{name: "extra", ans: ans("111", "50", "111", "50", "222", "70.10", "333", "1"), problem: "the answer has account 333 for 1 (uniqueid u333) that was not sent"},
		{name: "duplicate", ans: ans("111", "50", "111", "50", "222", "70.10", "222", "70.10"), problem: "the answer has account 222 for 70.10"},
		{name: "wrong amount", ans: ans("111", "50", "111", "50", "222", "70.11"), problem: "account 222 was answered with amount 70.11 instead of 70.10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			order, problem := match(ps, tc.ans)
			if tc.problem != "" {
				if !strings.Contains(problem, tc.problem) {
					t.Fatalf("got problem %q, want %q", problem, tc.problem)
				}
				return
			}
			if problem != "" {
				t.Fatalf("got problem %q, want none", problem)
			}
			for i := range order {
				if order[i] != tc.order[i] {
					t.Fatalf("got order %v, want %v", order, tc.order)
				}
			}
		})
	}
}

// FuzzParseAuthcodeAnswer: the parser never panics, and what it accepts
// holds the invariants the client relies on.
func FuzzParseAuthcodeAnswer(f *testing.F) {
	for _, s := range []string{
		`{"code":200,"charge_in_usd":4.875,"authcode":"` + hex32 + `"}`,
		`{"code":201,"charge_in_usd":1e-3,"authcode":"` + hex32 + `"}`,
		`{"code":400,"error":"Your request failed because your authcode is invalid or has expired."}`,
		`{"code":200,"charge_in_usd":"4.875","authcode":"` + hex32 + `"}`,
		`{"a":{"b":[{"c":1,"c":2}]}}`,
		`[]`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := parseAuthcodeAnswer(b)
		if err != nil {
			return
		}
		if !isLowerHex(a.Authcode, authcodeLen) || a.Charge.Sign() < 0 || (a.Code != 200 && a.Code != 201) {
			t.Fatalf("accepted %q as %+v", b, a)
		}
		if _, err := money.Parse(a.Charge.String()); err != nil {
			t.Fatalf("charge %q is not a plain decimal: %v", a.Charge.String(), err)
		}
	})
}

func FuzzParseExecuteAnswer(f *testing.F) {
	for _, s := range []string{
		executeJSON(`{"accNo":123,"amount":50,"bank":"B","country":"US","recipientname":"N","date":"2025-01-31","time":"14:35","email":"e@x","uniqueid":"` + hexA + `"}`),
		executeJSON(`{"accNo":1.0e2,"amount":0.10,"uniqueid":"` + hexA + `"},{"accNo":7,"amount":1,"uniqueid":"` + hexB + `"}`),
		executeJSON(``),
		`{"code":400,"error":"x"}`,
		`{"code":200,"payment_id":"` + pid + `","charge_in_usd":-1,"accounts":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := parseExecuteAnswer(b)
		if err != nil {
			return
		}
		if providers.IDProblem(a.PaymentID) != "" || a.Charge.Sign() < 0 {
			t.Fatalf("accepted %q as %+v", b, a)
		}
		seen := map[string]bool{}
		for _, x := range a.Accounts {
			if providers.IDProblem(x.UniqueID) != "" || seen[x.UniqueID] || x.Amount.Sign() < 0 || x.Acc == "" {
				t.Fatalf("accepted account %+v in %q", x, b)
			}
			seen[x.UniqueID] = true
		}
	})
}

func FuzzParseStatusAnswer(f *testing.F) {
	for _, s := range []string{
		`{"code":200,"payments":[{"uniqueid":"` + hexA + `","status":0},{"uniqueid":"` + hexB + `","status":1}]}`,
		`{"code":200,"payments":[{"uniqueid":"` + hexA + `","status":2.0}]}`,
		`{"code":200,"payments":[]}`,
		`{"code":404,"error":"No payment found."}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := parseStatusAnswer(b)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, p := range ps {
			if providers.IDProblem(p.UniqueID) != "" || seen[p.UniqueID] || p.Status == "" {
				t.Fatalf("accepted %+v in %q", p, b)
			}
			seen[p.UniqueID] = true
		}
	})
}
