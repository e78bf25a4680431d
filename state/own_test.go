package state_test

import (
	"bytes"
	"testing"
	"unsafe"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/statefile"
	"github.com/payctl/payctl/state/statetest"
)

// decoded encodes e as a journal record and decodes it, as a load does.
func decoded(t *testing.T, e *state.Event) *state.Event {
	t.Helper()
	rec, err := statefile.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	d, err := statefile.Decode(bytes.TrimSuffix(rec.Line, []byte("\n")))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// within reports whether s's bytes lie in any of the strings of in.
func within(s string, in ...string) bool {
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	for _, o := range in {
		lo := uintptr(unsafe.Pointer(unsafe.StringData(o)))
		if len(o) > 0 && p >= lo && p < lo+uintptr(len(o)) {
			return true
		}
	}
	return false
}

// What a fold keeps of a record shares nothing with the record's decoded
// strings: a payout must not keep its whole record alive for the life of
// a snapshot (a verify of a long history folds millions).
func TestFoldKeepsNoRecordText(t *testing.T) {
	s := state.Empty()
	if err := s.Apply(&state.Event{Seq: 1, Kind: state.KindCreate, Lineage: "6f1c0a53-2b7e-4d2a-9a43-3c1f0f6f1a01"}); err != nil {
		t.Fatal(err)
	}
	intent := statetest.Intent("b/a", 1, "10")
	intent.Seq = 2
	in := decoded(t, intent)
	if err := s.Apply(in); err != nil {
		t.Fatal(err)
	}
	out := statetest.Outcome("b/a", 1, providers.StatusPaid, "provider-id-1")
	out.Seq = 3
	oe := decoded(t, out)
	if err := s.Apply(oe); err != nil {
		t.Fatal(err)
	}
	p := s.Payouts["b/a"]
	if p == nil || p.Status != providers.StatusPaid {
		t.Fatalf("fold: %+v", p)
	}
	ep, op := in.Payouts[0], oe.Payouts[0]
	recordStrings := []string{ep.Address, ep.Key, ep.Digest, ep.Currency, ep.Recipient.Name, ep.Recipient.Account, in.Provider, op.IDs["id"], string(op.Status)}
	a := p.Latest()
	for name, kept := range map[string]string{
		"address": p.Address, "key": a.Key, "digest": p.Digest, "currency": p.Currency, "provider": p.Provider,
		"recipient name": p.Recipient.Name, "account": p.Recipient.Account,
		"provider id": a.IDs[0].Value, "status": string(a.Status),
	} {
		if kept == "" {
			t.Errorf("%s is empty", name)
		}
		if within(kept, recordStrings...) {
			t.Errorf("the payout's %s shares the decoded record's text", name)
		}
	}
}
