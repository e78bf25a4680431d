package statefile

import (
	"slices"
	"strconv"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/internal/jsontext"
)

// Journal records are written by hand, like the snapshot's payout lines:
// apply writes one per intent and one per outcome, each on the path to
// the next send, and reflection made the encoding the largest part of a
// group commit's CPU. The bytes are exactly those encoding/json writes for
// state.Event with HTML escaping off; record_test.go checks every field
// and random events against encoding/json, which stays the reference (and
// the fallback, see appendEventBody).

// appendEventBody appends e as encoding/json writes it, without the
// closing brace. ok is false when e holds a value encoding/json refuses (a
// time outside years 0-9999): the caller then defers to encoding/json for
// its error.
func appendEventBody(b []byte, e *state.Event) (_ []byte, ok bool) {
	if y := e.Time.Year(); y < 0 || y >= 10000 {
		return b, false
	}
	b = appendKey(append(b, '{'), "seq", true)
	b = strconv.AppendUint(b, e.Seq, 10)
	b = appendKey(b, "prev", false)
	b = jsontext.AppendString(b, e.Prev)
	b = appendKey(b, "time", false)
	b = appendTime(b, e.Time)
	b = appendKey(b, "kind", false)
	b = jsontext.AppendString(b, string(e.Kind))
	b = appendOptString(b, "op", e.Op)
	b = appendOptString(b, "by", e.By)
	b = appendOptString(b, "lineage", e.Lineage)
	b = appendOptString(b, "provider", e.Provider)
	b = appendOptString(b, "group", e.Group)
	b = appendOptString(b, "token", e.Token)
	if e.Request != nil {
		b = appendKey(b, "request", false)
		b = appendRequest(b, e.Request)
	}
	if e.PlannedFee != nil {
		b = appendKey(b, "plannedFee", false)
		b = appendAmount(b, *e.PlannedFee)
	}
	if e.QuotedFee != nil {
		b = appendKey(b, "quotedFee", false)
		b = appendAmount(b, *e.QuotedFee)
	}
	if e.Fee != nil {
		b = appendKey(b, "fee", false)
		b = appendAmount(b, *e.Fee)
	}
	if len(e.GroupIDs) > 0 {
		b = appendKey(b, "groupIds", false)
		b = appendStringMap(b, e.GroupIDs)
	}
	b = appendOptString(b, "reason", e.Reason)
	b = appendOptString(b, "snapshot", e.Snapshot)
	if len(e.Approvals) > 0 {
		b = appendKey(b, "approvals", false)
		b = appendApprovers(b, e.Approvals)
	}
	if len(e.Payouts) > 0 {
		b = appendKey(b, "payouts", false)
		b = append(b, '[')
		for i := range e.Payouts {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendEventPayout(b, &e.Payouts[i])
		}
		b = append(b, ']')
	}
	return b, true
}

func appendEventPayout(b []byte, p *state.EventPayout) []byte {
	b = appendKey(append(b, '{'), "address", true)
	b = jsontext.AppendString(b, p.Address)
	b = appendKey(b, "attempt", false)
	b = strconv.AppendInt(b, int64(p.Attempt), 10)
	b = appendOptString(b, "key", p.Key)
	b = appendKey(b, "status", false)
	b = jsontext.AppendString(b, string(p.Status))
	b = appendOptString(b, "type", p.Type)
	b = appendOptString(b, "currency", p.Currency)
	if p.Amount != nil {
		b = appendKey(b, "amount", false)
		b = appendAmount(b, *p.Amount)
	}
	if p.Recipient != nil {
		b = appendKey(b, "recipient", false)
		b = appendRecipient(b, p.Recipient)
	}
	b = appendOptString(b, "reference", p.Reference)
	if len(p.Metadata) > 0 {
		b = appendKey(b, "metadata", false)
		b = appendStringMap(b, p.Metadata)
	}
	b = appendOptString(b, "digest", p.Digest)
	if p.PlannedFee != nil {
		b = appendKey(b, "plannedFee", false)
		b = appendAmount(b, *p.PlannedFee)
	}
	b = appendOptString(b, "feePayer", string(p.FeePayer))
	if p.Request != nil {
		b = appendKey(b, "request", false)
		b = appendRequest(b, p.Request)
	}
	if len(p.IDs) > 0 {
		b = appendKey(b, "ids", false)
		b = appendStringMap(b, p.IDs)
	}
	if p.Fee != nil {
		b = appendKey(b, "fee", false)
		b = appendAmount(b, *p.Fee)
	}
	if len(p.Answer) > 0 {
		b = appendKey(b, "answer", false)
		b = appendStringMap(b, p.Answer)
	}
	b = appendOptString(b, "reason", p.Reason)
	if len(p.Findings) > 0 {
		b = appendKey(b, "findings", false)
		b = appendFindings(b, p.Findings)
	}
	return append(b, '}')
}

func appendFindings(b []byte, fs []state.Finding) []byte {
	b = append(b, '[')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKey(append(b, '{'), "kind", true)
		b = jsontext.AppendString(b, f.Kind)
		b = appendKey(b, "want", false)
		b = jsontext.AppendString(b, f.Want)
		b = appendKey(b, "got", false)
		b = jsontext.AppendString(b, f.Got)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendOptString appends a string field tagged omitempty (never the
// object's first field).
func appendOptString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	b = appendKey(b, key, false)
	return jsontext.AppendString(b, s)
}

func appendRequest(b []byte, r *providers.Request) []byte {
	b = appendKey(append(b, '{'), "method", true)
	b = jsontext.AppendString(b, r.Method)
	b = appendKey(b, "path", false)
	b = jsontext.AppendString(b, r.Path)
	b = appendOptString(b, "body", r.Body)
	return append(b, '}')
}

func appendRecipient(b []byte, r *providers.Recipient) []byte {
	b = append(b, '{')
	if r.ID != "" {
		b = appendKey(b, "id", true)
		b = jsontext.AppendString(b, r.ID)
	}
	b = appendKey(b, "name", r.ID == "")
	b = jsontext.AppendString(b, r.Name)
	b = appendOptString(b, "bankCode", r.BankCode)
	b = appendOptString(b, "bank", r.Bank)
	b = appendKey(b, "account", false)
	b = jsontext.AppendString(b, r.Account)
	b = appendOptString(b, "country", r.Country)
	return append(b, '}')
}

func appendApprovers(b []byte, as []state.Approver) []byte {
	b = append(b, '[')
	for i, ap := range as {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKey(append(b, '{'), "principal", true)
		b = jsontext.AppendString(b, ap.Principal)
		b = appendKey(b, "key", false)
		b = jsontext.AppendString(b, ap.Key)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendStringMap appends m as an object with its keys sorted by their
// bytes, as encoding/json orders a map's keys.
func appendStringMap(b []byte, m map[string]string) []byte {
	var arr [8]string
	keys := arr[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsontext.AppendString(b, k)
		b = append(b, ':')
		b = jsontext.AppendString(b, m[k])
	}
	return append(b, '}')
}
