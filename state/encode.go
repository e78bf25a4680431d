package state

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/payctl/payctl/money"
)

// The snapshot's payout lines are written by hand for the same reason they
// are read by hand: rewriting a state of a million payouts through
// reflection takes seconds per command. The bytes are exactly those
// encoding/json writes (with HTML escaping off), which encode_test.go
// checks on random payouts: existing files, their diffs and database
// pulls depend on them.

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it with SetEscapeHTML(false).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendKey(b []byte, key string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func appendAmount(b []byte, a money.Amount) []byte {
	return appendJSONString(b, a.String())
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
func AppendPayout(b []byte, p *Payout) []byte {
	b = appendKey(append(b, '{'), "address", true)
	b = appendJSONString(b, p.Address)
	b = appendKey(b, "provider", false)
	b = appendJSONString(b, p.Provider)
	b = appendKey(b, "type", false)
	b = appendJSONString(b, p.Type)
	b = appendKey(b, "currency", false)
	b = appendJSONString(b, p.Currency)
	b = appendKey(b, "amount", false)
	b = appendAmount(b, p.Amount)
	b = appendKey(b, "recipient", false)
	r := p.Recipient
	b = appendKey(append(b, '{'), "name", true)
	b = appendJSONString(b, r.Name)
	if r.BankCode != "" {
		b = appendKey(b, "bankCode", false)
		b = appendJSONString(b, r.BankCode)
	}
	if r.Bank != "" {
		b = appendKey(b, "bank", false)
		b = appendJSONString(b, r.Bank)
	}
	b = appendKey(b, "account", false)
	b = appendJSONString(b, r.Account)
	if r.Country != "" {
		b = appendKey(b, "country", false)
		b = appendJSONString(b, r.Country)
	}
	b = append(b, '}')
	b = appendKey(b, "digest", false)
	b = appendJSONString(b, p.Digest)
	if p.PlannedFee != nil {
		b = appendKey(b, "plannedFee", false)
		b = appendAmount(b, *p.PlannedFee)
	}
	if p.FeePayer != "" {
		b = appendKey(b, "feePayer", false)
		b = appendJSONString(b, string(p.FeePayer))
	}
	b = appendKey(b, "status", false)
	b = appendJSONString(b, string(p.Status))
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

func appendAttempt(b []byte, a *Attempt) []byte {
	if a == nil {
		return append(b, "null"...)
	}
	b = appendKey(append(b, '{'), "n", true)
	b = strconv.AppendInt(b, int64(a.N), 10)
	b = appendKey(b, "key", false)
	b = appendJSONString(b, a.Key)
	b = appendKey(b, "status", false)
	b = appendJSONString(b, string(a.Status))
	if a.Group != "" {
		b = appendKey(b, "group", false)
		b = appendJSONString(b, a.Group)
	}
	if len(a.IDs) > 0 {
		b = appendKey(b, "ids", false)
		b = appendFields(b, a.IDs)
	}
	if a.Fee != nil {
		b = appendKey(b, "fee", false)
		b = appendAmount(b, *a.Fee)
	}
	if len(a.Answer) > 0 {
		b = appendKey(b, "answer", false)
		b = appendFields(b, a.Answer)
	}
	if a.Reason != "" {
		b = appendKey(b, "reason", false)
		b = appendJSONString(b, a.Reason)
	}
	if a.ResolvedBy != "" {
		b = appendKey(b, "resolvedBy", false)
		b = appendJSONString(b, a.ResolvedBy)
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
