package statefile

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/internal/jsontext"
)

// The snapshot's payout lines are written by hand for the same reason they
// are read by hand: rewriting a state of a million payouts through
// reflection takes seconds per command. The bytes are exactly those
// encoding/json writes (with HTML escaping off), which encode_test.go
// checks on random payouts: existing files, their diffs and database
// pulls depend on them.

func appendKey(b []byte, key string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func appendAmount(b []byte, a money.Amount) []byte {
	return jsontext.AppendString(b, a.String())
}

func appendTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y >= 10000 {
		// encoding/json refuses these; a state never holds one, but the
		// result must match encoding/json's, so defer to it.
		j, _ := json.Marshal(t)
		return append(b, j...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// AppendPayout appends one payout's line of the canonical snapshot: the
// bytes encoding/json writes for the Payout type. The database backend
// stores these lines as rows.
func AppendPayout(b []byte, p *state.Payout) []byte {
	b = appendKey(append(b, '{'), "address", true)
	b = jsontext.AppendString(b, p.Address)
	b = appendKey(b, "provider", false)
	b = jsontext.AppendString(b, p.Provider)
	b = appendKey(b, "type", false)
	b = jsontext.AppendString(b, p.Type)
	b = appendKey(b, "currency", false)
	b = jsontext.AppendString(b, p.Currency)
	b = appendKey(b, "amount", false)
	b = appendAmount(b, p.Amount)
	b = appendKey(b, "recipient", false)
	b = appendRecipient(b, &p.Recipient)
	b = appendOptString(b, "reference", p.Reference)
	if len(p.Metadata) > 0 {
		b = appendKey(b, "metadata", false)
		b = p.Metadata.AppendJSON(b)
	}
	b = appendKey(b, "digest", false)
	b = jsontext.AppendString(b, p.Digest)
	if p.PlannedFee != nil {
		b = appendKey(b, "plannedFee", false)
		b = appendAmount(b, *p.PlannedFee)
	}
	if p.FeePayer != "" {
		b = appendKey(b, "feePayer", false)
		b = jsontext.AppendString(b, string(p.FeePayer))
	}
	b = appendKey(b, "status", false)
	b = jsontext.AppendString(b, string(p.Status))
	b = appendKey(b, "attempts", false)
	if p.Attempts == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, a := range p.Attempts {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendAttempt(b, a)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendAttempt(b []byte, a *state.Attempt) []byte {
	if a == nil {
		return append(b, "null"...)
	}
	b = appendKey(append(b, '{'), "n", true)
	b = strconv.AppendInt(b, int64(a.N), 10)
	b = appendKey(b, "key", false)
	b = jsontext.AppendString(b, a.Key)
	b = appendKey(b, "status", false)
	b = jsontext.AppendString(b, string(a.Status))
	if a.Group != "" {
		b = appendKey(b, "group", false)
		b = jsontext.AppendString(b, a.Group)
	}
	if len(a.IDs) > 0 {
		b = appendKey(b, "ids", false)
		b = a.IDs.AppendJSON(b)
	}
	if a.Fee != nil {
		b = appendKey(b, "fee", false)
		b = appendAmount(b, *a.Fee)
	}
	if len(a.Answer) > 0 {
		b = appendKey(b, "answer", false)
		b = a.Answer.AppendJSON(b)
	}
	if a.Reason != "" {
		b = appendKey(b, "reason", false)
		b = jsontext.AppendString(b, a.Reason)
	}
	if len(a.Findings) > 0 {
		b = appendKey(b, "findings", false)
		b = appendFindings(b, a.Findings)
	}
	if a.ResolvedBy != "" {
		b = appendKey(b, "resolvedBy", false)
		b = jsontext.AppendString(b, a.ResolvedBy)
	}
	if len(a.ApprovedBy) > 0 {
		b = appendKey(b, "approvedBy", false)
		b = appendApprovers(b, a.ApprovedBy)
	}
	b = appendKey(b, "sentAt", false)
	b = appendTime(b, a.SentAt)
	if a.FinalAt != nil {
		b = appendKey(b, "finalAt", false)
		b = appendTime(b, *a.FinalAt)
	}
	b = appendKey(b, "sends", false)
	b = strconv.AppendInt(b, int64(a.Sends), 10)
	return append(b, '}')
}
