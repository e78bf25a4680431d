package cronos

import (
	"bytes"
	"testing"

	"github.com/payctl/payctl/providers"
)

// FuzzParseAnswer feeds the answer parser (envelope, then responseData)
// arbitrary bytes: it must never panic, and what it accepts must hold the
// invariants Send relies on.
func FuzzParseAnswer(f *testing.F) {
	p := payout(1)
	for _, s := range []string{
		answer("pending", p.Key, p.Amount.String()),
		answer("success", p.Key, "150001.00"),
		answer("expired", "x", "1e5"),
		`{"responseCode":400,"responseMessage":"The bank code is invalid.","responseData":null}`,
		`{"responseCode":200,"responseMessage":"ok","responseData":[]}`,
		`{"responseCode":200,"responseMessage":"ok","responseData":{"id":"x","id":"y"}}`,
		`{"responseCode":99999999999999999999,"responseMessage":""}`,
		``, `null`, `[`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := parseEnvelope(body)
		if err != nil {
			return
		}
		if env.Code < 100 || env.Code > 599 {
			t.Fatalf("accepted responseCode %d", env.Code)
		}
		rec, err := parseRecord(env.Data)
		if err != nil {
			return
		}
		if providers.IDProblem(rec.ID) != "" {
			t.Fatalf("accepted id %q", rec.ID)
		}
		if rec.Status == "" || rec.Answer["amount"] == "" {
			t.Fatalf("accepted a record without status or amount: %+v", rec)
		}
		extras := 0
		for k, v := range rec.Answer {
			if !documented[k] {
				extras++
			}
			if len(k) > maxExtraKey+len(envelopePrefix)+3 || (!documented[k] && len(v) > maxExtraValue+3) {
				t.Fatalf("kept an unbounded extra %q=%q", k, v)
			}
		}
		if extras > maxExtras {
			t.Fatalf("kept %d extras, want at most %d", extras, maxExtras)
		}
		if rec.Amount.Sign() < 0 {
			t.Fatalf("accepted a negative amount %s", rec.Amount)
		}
		res := (&Client{}).result("a/b", rec)
		if st, known := mapStatus(rec.Status); res.Status != st || (!known && res.Status != providers.StatusUnknown) {
			t.Fatalf("status %q became %s", rec.Status, res.Status)
		}
	})
}

// FuzzParseCallback feeds ParseCallback arbitrary bytes.
func FuzzParseCallback(f *testing.F) {
	for _, s := range []string{
		callbackBody,
		`{"responseCode":200,"responseMessage":"success","responseData":{"id":"3f0e9a4c-8b1d-4c2e-a6f5-0d9b7e2c1a55","merchantRef":"r","status":"weird"}}`,
		`{"responseCode":200,"responseMessage":"success","responseData":[]}`,
		``, `{}`, "\"\\ud800\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h, err := ParseCallback(bytes.NewReader(body))
		if err != nil {
			return
		}
		if len(body) > MaxCallbackSize {
			t.Fatalf("accepted %d bytes", len(body))
		}
		if providers.IDProblem(h.ID) != "" || h.Reference == "" {
			t.Fatalf("accepted hint %+v", h)
		}
		switch h.Status {
		case providers.StatusPending, providers.StatusPaid, providers.StatusFailed, providers.StatusUnknown:
		default:
			t.Fatalf("hint status %s", h.Status)
		}
	})
}

// FuzzParseValidationError feeds the reader of Laravel validation answers
// arbitrary bytes: it must never panic, and it quotes a bounded number of
// fields.
func FuzzParseValidationError(f *testing.F) {
	for _, s := range []string{
		`{"message":"The given data was invalid.","errors":{"amount":["The amount must be at least 10000."]}}`,
		`{"message":"x","errors":{"reference":"taken","a":[1,"b"]}}`,
		`{"message":"x","errors":[]}`, `{"message":1}`, ``, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := parseValidationError(body)
		if err != nil {
			return
		}
		if len(v.Fields) > maxValidationFields {
			t.Fatalf("quoted %d fields", len(v.Fields))
		}
	})
}
