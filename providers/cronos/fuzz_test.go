package cronos

import (
	"bytes"
	"testing"

	"github.com/google/uuid"

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
		if _, err := uuid.Parse(rec.ID); err != nil {
			t.Fatalf("accepted id %q", rec.ID)
		}
		if rec.MerchantRef == "" || rec.Status == "" || rec.Answer["amount"] == "" {
			t.Fatalf("accepted a record without reference, status or amount: %+v", rec)
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
		if _, err := uuid.Parse(h.ID); err != nil || h.Reference == "" {
			t.Fatalf("accepted hint %+v", h)
		}
		switch h.Status {
		case providers.StatusPending, providers.StatusPaid, providers.StatusFailed, providers.StatusUnknown:
		default:
			t.Fatalf("hint status %s", h.Status)
		}
	})
}
