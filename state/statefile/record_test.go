package statefile

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

func amountPtr(s string) *money.Amount {
	a := money.MustParse(s)
	return &a
}

// fullEvent has every field of an event and of its payouts set.
func fullEvent(kind state.Kind) *state.Event {
	p := state.EventPayout{
		Address: "batch-1/p<1>", Attempt: 2, Key: "k&\"ey", Status: providers.StatusPaid,
		Type: "bank", Currency: "IDR", Amount: amountPtr("1000.50"),
		Recipient: &providers.Recipient{ID: "r\u2028", Name: "Ñandú \"Co\"", BankCode: "014", Bank: "BCA", Account: "12\\34", Country: "ID"},
		Reference: "Invoice <7> \"Nov\" № 12", Metadata: map[string]string{"invoice": "INV-7", "costCentre": "ops&<1>", "a.b": "é"},
		Digest: "sha256:abc", PlannedFee: amountPtr("2.5"), FeePayer: fee.Payer("sender"),
		Request: &providers.Request{Method: "POST", Path: "/v1/payouts?a=1&b=<2>", Body: "{\"x\":\"\u2029\"}\n"},
		IDs:     map[string]string{"id": "c-1", "b": "2", "a\x01": "\xff"},
		Fee:     amountPtr("0.01"), Answer: map[string]string{"z": "1", "é": "2", "A": "\t"}, Reason: "timed out",
		Findings: []state.Finding{{Kind: "fee", Want: "3000", Got: "2500"}, {Kind: "recipientName", Want: "Ñandú \"Co\"", Got: "Mr. <Ñ>\u2028"}},
	}
	q := p
	q.Address = "batch-1/p2"
	q.Recipient = &providers.Recipient{Name: "no id", Account: "9"}
	q.Reference, q.Metadata = "", nil
	return &state.Event{
		Seq: 42, Prev: "0123456789abcdef", Time: time.Date(2026, 12, 4, 19, 0, 1, 2300, time.FixedZone("WIB", 7*3600)),
		Kind: kind, Op: "apply", By: "me@host", Lineage: "lin-1", Provider: "cronos", Group: "g1", Token: "tok",
		Request:    &providers.Request{Method: "POST", Path: "/p"},
		PlannedFee: amountPtr("3"), QuotedFee: amountPtr("3.10"), Fee: amountPtr("3.1"),
		GroupIDs: map[string]string{"payment_id": "9", "uniqueid": "u<>"}, Reason: "fee \"too\" high", Snapshot: "sha256:ff",
		Approvals: []state.Approver{{Principal: "alice@example.com", Key: "SHA256:xyz"}, {Principal: "bob", Key: "k"}},
		Payouts:   []state.EventPayout{p, q, {Address: "bare", Status: providers.StatusUnknown}},
	}
}

func checkSameAsReflect(t testing.TB, what string, e *state.Event) {
	t.Helper()
	want, werr := encodeReflect(e)
	got, gerr := Encode(e)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%s: error %v, encoding/json says %v", what, gerr, werr)
	}
	if !bytes.Equal(got.Line, want.Line) || got.Hash != want.Hash || got.Seq != want.Seq || got.Kind != want.Kind {
		t.Fatalf("%s differs from encoding/json:\ngot  %s\nwant %s", what, got.Line, want.Line)
	}
}

// The hand-written encoder writes every field of every kind exactly as
// encoding/json does.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	kinds := []state.Kind{state.KindCreate, state.KindIntent, state.KindOutcome, state.KindCheck, state.KindResolve, state.KindQuote, state.KindCheckpoint}
	for _, k := range kinds {
		checkSameAsReflect(t, string(k)+" full", fullEvent(k))
		checkSameAsReflect(t, string(k)+" bare", &state.Event{Kind: k})
		e := fullEvent(k)
		e.GroupIDs, e.Approvals, e.Payouts[0].IDs, e.Payouts[0].Answer = map[string]string{}, []state.Approver{}, map[string]string{}, map[string]string{}
		e.Payouts[0].Findings = []state.Finding{}
		checkSameAsReflect(t, string(k)+" empty collections", e)
	}
	// encoding/json refuses years past 9999; so must Encode.
	e := fullEvent(state.KindIntent)
	e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := Encode(e); err == nil {
		t.Fatal("a time in year 10000 encoded")
	}
}

func randomEvent(r *rand.Rand) *state.Event {
	opt := func(s string) string {
		if r.IntN(2) == 0 {
			return ""
		}
		return s
	}
	amt := func() *money.Amount {
		if r.IntN(3) == 0 {
			return nil
		}
		return amountPtr(fmt.Sprintf("%d.%02d", r.IntN(100000), r.IntN(100)))
	}
	req := func() *providers.Request {
		if r.IntN(2) == 0 {
			return nil
		}
		return &providers.Request{Method: randomText(r), Path: randomText(r), Body: opt(randomText(r))}
	}
	zones := []*time.Location{time.UTC, time.FixedZone("WIB", 7*3600), time.FixedZone("X", -5*3600-30*60)}
	e := &state.Event{
		Seq: r.Uint64() >> r.IntN(64), Prev: randomText(r),
		Time: time.Unix(int64(r.IntN(2e9)), int64(r.IntN(1e9))*int64(r.IntN(2))).In(zones[r.IntN(len(zones))]),
		Kind: state.Kind(randomText(r)), Op: opt(randomText(r)), By: opt(randomText(r)), Lineage: opt(randomText(r)),
		Provider: opt(randomText(r)), Group: opt(randomText(r)), Token: opt(randomText(r)), Request: req(),
		PlannedFee: amt(), QuotedFee: amt(), Fee: amt(), GroupIDs: randomMap(r), Reason: opt(randomText(r)), Snapshot: opt(randomText(r)),
	}
	if r.IntN(3) == 0 {
		e.Time = time.Time{}
	}
	switch r.IntN(3) {
	case 1:
		e.Approvals = []state.Approver{}
	case 2:
		for i := r.IntN(3); i >= 0; i-- {
			e.Approvals = append(e.Approvals, state.Approver{Principal: randomText(r), Key: randomText(r)})
		}
	}
	if r.IntN(4) > 0 {
		for i := r.IntN(4); i >= 0; i-- {
			p := state.EventPayout{Address: randomText(r), Attempt: r.IntN(7) - 2, Key: opt(randomText(r)), Status: providers.Status(randomText(r)),
				Type: opt(randomText(r)), Currency: opt(randomText(r)), Amount: amt(), Digest: opt(randomText(r)), PlannedFee: amt(),
				FeePayer: fee.Payer(opt(randomText(r))), Request: req(), IDs: randomMap(r), Fee: amt(), Answer: randomMap(r), Reason: opt(randomText(r)),
				Findings: randomFindings(r)}
			if r.IntN(2) == 0 {
				p.Recipient = &providers.Recipient{ID: opt(randomText(r)), Name: randomText(r), BankCode: opt(randomText(r)), Bank: opt(randomText(r)), Account: randomText(r), Country: opt(randomText(r))}
				p.Reference, p.Metadata = opt(randomText(r)), randomMap(r)
			}
			e.Payouts = append(e.Payouts, p)
		}
	} else if r.IntN(2) == 0 {
		e.Payouts = []state.EventPayout{}
	}
	return e
}

// Random events, with every kind of text encoding/json escapes, encode as
// encoding/json encodes them.
func TestEncodeRandomEventsMatchEncodingJSON(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	r := rand.New(rand.NewPCG(16, 2026))
	for i := 0; i < n; i++ {
		checkSameAsReflect(t, fmt.Sprintf("case %d", i), randomEvent(r))
	}
}

func FuzzEncodeMatchesEncodingJSON(f *testing.F) {
	f.Add(uint64(1), uint64(2), "a\u2028", "<&>\"\\\x01\xff")
	f.Fuzz(func(t *testing.T, s1, s2 uint64, a, b string) {
		e := randomEvent(rand.New(rand.NewPCG(s1, s2)))
		e.Prev, e.Reason = a, b
		if len(e.Payouts) > 0 {
			e.Payouts[0].Address = b
			e.Payouts[0].IDs = map[string]string{a: b, b: a}
		}
		checkSameAsReflect(t, "fuzzed", e)
	})
}

func benchEncode(b *testing.B, enc func(*state.Event) (state.Record, error)) {
	for _, k := range []state.Kind{state.KindIntent, state.KindOutcome} {
		e := &state.Event{Seq: 1234, Prev: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Time: time.Date(2026, 12, 4, 19, 0, 1, 234567000, time.UTC),
			Kind: k, Op: "apply", By: "payer@host", Provider: "cronos"}
		p := state.EventPayout{Address: "2026-12-04-payroll/emp-00042", Attempt: 1, Key: "payctl-2026-12-04-payroll-emp-00042-1", Status: providers.StatusSending}
		if k == state.KindIntent {
			p.Type, p.Currency, p.Amount, p.Digest = "bank", "IDR", amountPtr("1250000"), "sha256:3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b"
			p.Recipient = &providers.Recipient{Name: "Budi Santoso", BankCode: "014", Account: "1234567890", Country: "ID"}
			p.Request = &providers.Request{Method: "POST", Path: "/v1/disbursements", Body: `{"amount":"1250000","bank_code":"014","account":"1234567890","name":"Budi Santoso","reference":"payctl-2026-12-04-payroll-emp-00042-1"}`}
		} else {
			p.Status, p.IDs, p.Answer = providers.StatusPaid, map[string]string{"id": "crn_01HZX3"}, map[string]string{"status": "COMPLETED", "fee": "2500", "created": "2026-12-04T19:00:01Z"}
		}
		e.Payouts = []state.EventPayout{p}
		b.Run(string(k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := enc(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B)        { benchEncode(b, Encode) }
func BenchmarkEncodeReflect(b *testing.B) { benchEncode(b, encodeReflect) }
