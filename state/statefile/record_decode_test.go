package statefile

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// decodeReflect is how Decode reads a record through encoding/json: the
// reference the fast path is held to.
func decodeReflect(t testing.TB, body []byte) *state.Event {
	t.Helper()
	var e state.Event
	d := json.NewDecoder(bytes.NewReader(append(append([]byte{}, body...), '}')))
	d.DisallowUnknownFields()
	if err := d.Decode(&e); err != nil {
		t.Fatalf("encoding/json refuses %s: %v", body, err)
	}
	return &e
}

// checkDecodesAsReflect encodes e and decodes the record both ways: the fast
// path, when it takes the record, must read exactly what encoding/json
// reads.
func checkDecodesAsReflect(t testing.TB, what string, e *state.Event) bool {
	t.Helper()
	rec, err := Encode(e)
	if err != nil {
		return false
	}
	body := rec.Line[:len(rec.Line)-1-hashSuffixLen]
	want := decodeReflect(t, body)
	got, ok := decodeEvent(body)
	if ok && !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: the fast decoder read\n%+v\nwhere encoding/json reads\n%+v\nfrom %s", what, got, want, body)
	}
	full, err := Decode(rec.Line[:len(rec.Line)-1])
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	want.Hash = rec.Hash
	if !reflect.DeepEqual(full, want) {
		t.Fatalf("%s: Decode read\n%+v\nwhere encoding/json reads\n%+v", what, full, want)
	}
	return ok
}

func TestDecodeMatchesEncodingJSON(t *testing.T) {
	for _, k := range []state.Kind{state.KindCreate, state.KindIntent, state.KindOutcome, state.KindCheck, state.KindResolve, state.KindQuote, state.KindCheckpoint} {
		checkDecodesAsReflect(t, string(k), fullEvent(k))
	}
	// Random events: every string odd (controls, quotes, invalid UTF-8,
	// U+2028). Invalid UTF-8 comes back as U+FFFD, which encodes otherwise:
	// those records take the slow path, and must still read the same.
	r := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 20000; i++ {
		checkDecodesAsReflect(t, "random event", randomEvent(r))
	}
	// What apply writes takes the fast path.
	for i, e := range realisticEvents() {
		if !checkDecodesAsReflect(t, "realistic event", e) {
			t.Errorf("record %d (%s) did not take the fast path", i, e.Kind)
		}
	}
}

// realisticEvents are records as apply writes them: an intent with the
// exact request, an outcome with a provider's answer and a finding, a
// checkpoint.
func realisticEvents() []*state.Event {
	at := time.Date(2026, 11, 20, 10, 0, 2, 123456789, time.UTC)
	amt := money.MustParse("150000")
	fee3000 := money.MustParse("3000")
	r := providers.Recipient{Name: "Alice Tan \"Ali\" Ñ", BankCode: "014", Account: "0821837182312831"}
	return []*state.Event{
		{Seq: 1, Time: at, Kind: state.KindCreate, Op: "apply", By: "ana@finance", Lineage: "cb8e292d-ef48-5a46-a945-f722d74d0193"},
		{Seq: 2, Prev: strings.Repeat("a", 64), Time: at, Kind: state.KindIntent, Op: "apply", By: "ana@finance", Provider: "idr-main",
			Approvals: []state.Approver{{Principal: "rini@finance", Key: "SHA256:abc"}},
			Payouts: []state.EventPayout{{Address: "contractors-2026-11/alice", Attempt: 1, Key: "4cdfbf8a-60cb-50cf-b4b5-dbf38c9b96d8", Status: providers.StatusSending,
				Type: "cronos", Currency: "IDR", Amount: &amt, Recipient: &r, Digest: "sha256:" + strings.Repeat("b", 64), PlannedFee: &fee3000, FeePayer: "sender",
				Request: &providers.Request{Method: "POST", Path: "/disburse", Body: `{"bankCode":"014","reference":"4cdf","amount":150000,"additionalInfo":{"callback":"http:\/\/127.0.0.1:9\/cb"}}`}}}},
		{Seq: 3, Prev: strings.Repeat("c", 64), Time: at.Add(time.Second), Kind: state.KindOutcome, Op: "apply", By: "ana@finance", Provider: "idr-main",
			Payouts: []state.EventPayout{{Address: "contractors-2026-11/alice", Attempt: 1, Status: providers.StatusPending,
				IDs: map[string]string{"id": "d9877ece-6d36-4aac-9a6f-419ec627c76b"}, Fee: &fee3000,
				Answer:   map[string]string{"amount": "150000", "feePayer": "customer", "totalAmount": "153000", "recipientName": "Mr. Alice"},
				Findings: []state.Finding{{Kind: state.FindingName, Want: "Alice Tan", Got: "Mr. Alice"}}}}},
		{Seq: 4, Prev: strings.Repeat("d", 64), Time: at.Add(2 * time.Second), Kind: state.KindCheckpoint, Op: "apply", By: "ana@finance", Snapshot: "sha256:" + strings.Repeat("e", 64)},
	}
}

// What payctl never writes (an unknown field, a key twice, an escape it
// does not use, spacing) is read by encoding/json, as strictly as before.
func TestDecodeOddRecordsTakeTheSlowPath(t *testing.T) {
	rec, _ := Encode(fullEvent(state.KindOutcome))
	body := rec.Line[:len(rec.Line)-1-hashSuffixLen]
	for name, odd := range map[string][]byte{
		"unknown field": bytes.Replace(body, []byte(`"op":`), []byte(`"extra":1,"op":`), 1),
		"key twice":     bytes.Replace(body, []byte(`"op":"apply"`), []byte(`"op":"x","op":"apply"`), 1),
		"escaped":       bytes.Replace(body, []byte(`"op":"apply"`), []byte(`"op":"\u0061pply"`), 1),
		"spaced":        bytes.Replace(body, []byte(`"op":"apply"`), []byte(`"op": "apply"`), 1),
	} {
		if bytes.Equal(odd, body) {
			t.Fatalf("%s: fixture unchanged", name)
		}
		if _, ok := decodeEvent(odd); ok {
			t.Errorf("%s: the fast decoder took %s", name, odd)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	rec, _ := Encode(realisticEvents()[1])
	line := rec.Line[:len(rec.Line)-1]
	for b.Loop() {
		if _, err := Decode(line); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeReflect(b *testing.B) {
	rec, _ := Encode(realisticEvents()[1])
	body := rec.Line[:len(rec.Line)-1-hashSuffixLen]
	for b.Loop() {
		decodeReflect(b, body)
	}
}

// An intent carrying a payout's reference and metadata is read by the fast
// path, and read as encoding/json reads it; one without them is written
// as before they existed.
func TestDecodeIntentWithMetadataFast(t *testing.T) {
	amt := money.MustParse("150000")
	r := providers.Recipient{Name: "Budi", BankCode: "014", Account: "0821"}
	ep := state.EventPayout{Address: "b/p1", Attempt: 1, Key: "k", Status: providers.StatusSending, Type: "cronos", Currency: "IDR",
		Amount: &amt, Recipient: &r, Reference: "Invoice 7 — Nov", Metadata: map[string]string{"invoice": "INV-7", "costCentre": "ops"}, Digest: "sha256:" + strings.Repeat("a", 64)}
	e := &state.Event{Seq: 2, Prev: "p", Time: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC), Kind: state.KindIntent, Provider: "idr-main", Payouts: []state.EventPayout{ep}}
	if !checkDecodesAsReflect(t, "intent with metadata", e) {
		t.Fatal("the fast path refused an intent with reference and metadata")
	}
	rec, _ := Encode(e)
	if !bytes.Contains(rec.Line, []byte(`"recipient":{"name":"Budi","bankCode":"014","account":"0821"},"reference":"Invoice 7 — Nov","metadata":{"costCentre":"ops","invoice":"INV-7"},"digest"`)) {
		t.Errorf("unexpected encoding: %s", rec.Line)
	}
	ep.Reference, ep.Metadata = "", nil
	e.Payouts = []state.EventPayout{ep}
	rec, _ = Encode(e)
	if bytes.Contains(rec.Line, []byte("reference")) || bytes.Contains(rec.Line, []byte("metadata")) {
		t.Errorf("a payout without reference or metadata writes them: %s", rec.Line)
	}
}
