package cronos

import (
	"errors"
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// seedAnswer is the answer of the published /disburse page, byte for byte
// as PHP would write it (the page's example, with "\/" in the URL).
const seedAnswer = `{"responseCode":200,"responseMessage":"success","responseData":{"id":"757cc3c7-fb6a-4c4b-bc99-0928ca398a9d","merchantRef":"123456","status":"pending","feePayer":"customer","amount":10000,"fee":3000,"totalAmount":13000,"expiredDate":"2023-07-13T11:51:41+07:00","additionalInfo":{"callback":"https:\/\/kraken.free.beeceptor.com\/notify"},"disbursement":{"bankCode":"014","recipientAccount":"0821837182312831","recipientName":"Mr. Gentur"}}}`

// seedPayout is the payout of the published request example.
func seedPayout() providers.Payout {
	p := payout(0)
	p.Key = "123456"
	p.Amount = money.FromInt64(10000)
	p.Recipient = providers.Recipient{Name: "Gentur", BankCode: "014", Account: "0821837182312831"}
	return p
}

// seedCase is one answer in the shape of the published page, changed by
// edits, and what the client must make of it, on /disburse and on /check.
type seedCase struct {
	code   int // HTTP status; 200 when zero
	edits  []string
	body   string // replaces the edited seed answer when set
	want   providers.Status
	stop   bool              // the error wraps providers.ErrStop
	id     string            // the id recorded; the seed's when empty and the answer is trusted
	answer map[string]string // keys the stored answer must hold ("" = absent)
	reason string            // a word the reason must contain
	create bool              // only meaningful for /disburse (validation answers)
	noFee  bool              // the answer's fee is not an amount: Fee stays unset
}

func seedCases() map[string]seedCase {
	seedID := "757cc3c7-fb6a-4c4b-bc99-0928ca398a9d"
	return map[string]seedCase{
		"published example": {want: providers.StatusPending, answer: map[string]string{
			providers.AnswerFeePayer: "customer", providers.AnswerTotal: "13000", providers.AnswerBankName: "Mr. Gentur",
			"fee": "3000", "amount": "10000", "status": "pending", "expiredDate": "2023-07-13T11:51:41+07:00",
		}},
		"upper-case 20-character id":    {edits: []string{seedID, "757CC3C7FB6A4C4BBC99"}, want: providers.StatusPending, id: "757CC3C7FB6A4C4BBC99"},
		"id that is no uuid":            {edits: []string{seedID, "DSB-2026-000123"}, want: providers.StatusPending, id: "DSB-2026-000123"},
		"id as a number":                {edits: []string{`"` + seedID + `"`, "98765432101"}, want: providers.StatusPending, id: "98765432101"},
		"merchantRef as a number":       {edits: []string{`"merchantRef":"123456"`, `"merchantRef":123456`}, want: providers.StatusPending},
		"merchantRef as another number": {edits: []string{`"merchantRef":"123456"`, `"merchantRef":123457`}, want: providers.StatusUnknown, stop: true},
		"id with a control character": {edits: []string{seedID, `DSB\u001b[2J123`}, want: providers.StatusUnknown, id: "-",
			reason: "could not be read"},
		"id longer than 128 bytes": {edits: []string{seedID, strings.Repeat("a", 129)}, want: providers.StatusUnknown, id: "-"},
		"extra fields": {
			edits: []string{`{"responseCode":200,`, `{"traceId":"t-1","responseCode":200,`, `"status":"pending",`, `"status":"pending","channel":"BCA","meta":{"batch":7},"note":null,`},
			want:  providers.StatusPending,
			answer: map[string]string{"envelope.traceId": "t-1", "channel": "BCA", "meta": `{"batch":7}`, "note": "",
				providers.AnswerFeePayer: "customer"},
		},
		"extra field named like a compared one": {
			edits: []string{`{"responseCode":200,`, `{"feePayer":"merchant","responseCode":200,`},
			want:  providers.StatusPending, answer: map[string]string{providers.AnswerFeePayer: "customer", "envelope.feePayer": "merchant"},
		},
		"merchant bears the fee": {edits: []string{`"feePayer":"customer"`, `"feePayer":"merchant"`}, want: providers.StatusPending,
			answer: map[string]string{providers.AnswerFeePayer: "merchant", providers.AnswerTotal: "13000"}},
		"sandbox reading, total is amount minus fee": {edits: []string{`"totalAmount":13000`, `"totalAmount":7000`}, want: providers.StatusPending,
			answer: map[string]string{providers.AnswerFeePayer: "customer", providers.AnswerTotal: "7000", "fee": "3000"}},
		"total matching neither reading": {edits: []string{`"totalAmount":13000`, `"totalAmount":99999`}, want: providers.StatusPending,
			answer: map[string]string{providers.AnswerTotal: "99999"}},
		"odd types where nothing is decided": {edits: []string{`"feePayer":"customer"`, `"feePayer":{"party":"customer"}`, `"fee":3000`, `"fee":"3.000,00"`},
			want: providers.StatusPending, noFee: true, answer: map[string]string{providers.AnswerFeePayer: `{"party":"customer"}`, "fee": "3.000,00"}},
		"amount as text that is no amount": {edits: []string{`"amount":10000`, `"amount":"ten thousand"`}, want: providers.StatusUnknown, reason: "could not be read"},
		"amount with a thousands dot":      {edits: []string{`"amount":10000`, `"amount":"10.000"`}, want: providers.StatusUnknown, stop: true},
		"another fee": {edits: []string{`"fee":3000,"totalAmount":13000`, `"fee":4500,"totalAmount":14500`}, want: providers.StatusPending,
			answer: map[string]string{"fee": "4500", providers.AnswerTotal: "14500"}},
		"bank reports another name": {edits: []string{`Mr. Gentur`, `PT SINAR JAYA ABADI`}, want: providers.StatusPending,
			answer: map[string]string{providers.AnswerBankName: "PT SINAR JAYA ABADI"}},
		"name not known yet": {edits: []string{`"recipientName":"Mr. Gentur"`, `"recipientName":null`}, want: providers.StatusPending,
			answer: map[string]string{providers.AnswerBankName: ""}},
		"no merchantRef": {edits: []string{`"merchantRef":"123456",`, ``}, want: providers.StatusPending},
		"success":        {edits: []string{`"status":"pending"`, `"status":"success","paidDate":"2023-07-12T12:00:00+07:00"`}, want: providers.StatusPaid, answer: map[string]string{"paidDate": "2023-07-12T12:00:00+07:00"}},
		"failed":         {edits: []string{`"status":"pending"`, `"status":"failed"`}, want: providers.StatusFailed},
		"expired":        {edits: []string{`"status":"pending"`, `"status":"expired"`}, want: providers.StatusFailed},
		"another reference": {edits: []string{`"merchantRef":"123456"`, `"merchantRef":"654321"`}, want: providers.StatusUnknown, stop: true,
			reason: "does not match"},
		"another amount":  {edits: []string{`"amount":10000`, `"amount":100000`}, want: providers.StatusUnknown, stop: true},
		"another account": {edits: []string{`"recipientAccount":"0821837182312831"`, `"recipientAccount":"0821837182399999"`}, want: providers.StatusUnknown, stop: true},
		"laravel validation error": {code: 400, create: true, want: providers.StatusFailed, id: "-",
			body:   `{"message":"The given data was invalid.","errors":{"amount":["The amount must be at least 10000."],"bankCode":["The selected bank code is invalid."]}}`,
			reason: "amount: The amount must be at least 10000."},
		"laravel error about the reference": {code: 422, create: true, want: providers.StatusUnknown, id: "-",
			body:   `{"message":"The given data was invalid.","errors":{"reference":["The reference has already been taken."]}}`,
			reason: "look it up"},
	}
}

func (tc seedCase) answerBody() string {
	if tc.body != "" {
		return tc.body
	}
	return strings.NewReplacer(tc.edits...).Replace(seedAnswer)
}

func (tc seedCase) check(t *testing.T, got providers.Result, err error) {
	t.Helper()
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
	if tc.want == providers.StatusUnknown || tc.want == providers.StatusFailed && tc.id == "-" {
		return
	}
	id := tc.id
	if id == "" {
		id = "757cc3c7-fb6a-4c4b-bc99-0928ca398a9d"
	}
	if got.IDs["id"] != id {
		t.Errorf("got ids %v, want id %s", got.IDs, id)
	}
	if (got.Fee == nil) != tc.noFee {
		t.Errorf("got fee %v, want it set: %v", got.Fee, !tc.noFee)
	}
	for k, want := range tc.answer {
		if v, ok := got.Answer[k]; v != want || ok != (want != "") {
			t.Errorf("answer %s: got %q (present %v), want %q", k, v, ok, want)
		}
	}
}

// TestSeedAnswers feeds answers shaped like the published page, with the
// variations real answers show, to POST /disburse and GET /check/{id}: an
// answer that proves the disbursement is never unknown, and what decides
// money (status, amount, account, reference) is checked strictly.
func TestSeedAnswers(t *testing.T) {
	for name, tc := range seedCases() {
		t.Run(name+"/disburse", func(t *testing.T) {
			code := tc.code
			if code == 0 {
				code = 200
			}
			c, _ := fakeCronos(t, code, tc.answerBody(), nil)
			p := seedPayout()
			req, err := c.Prepare(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Send(t.Context(), p, req)
			tc.check(t, got, err)
		})
		if tc.create {
			continue
		}
		t.Run(name+"/check", func(t *testing.T) {
			c, _ := fakeCronos(t, 200, tc.answerBody(), nil)
			id := tc.id
			if id == "" || id == "-" {
				id = "757cc3c7-fb6a-4c4b-bc99-0928ca398a9d"
			}
			a := providers.Attempt{Payout: seedPayout(), IDs: map[string]string{"id": id}, SentAt: start, Status: providers.StatusPending}
			rs, err := c.Check(t.Context(), []providers.Attempt{a})
			if len(rs) != 1 {
				t.Fatalf("got %d results, want 1", len(rs))
			}
			tc.check(t, rs[0], err)
		})
	}
}
