package statefile

import (
	"bytes"

	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// decodeEvent decodes a record's body (its bytes up to the hash, without
// the closing brace) without reflection, for the common case: a record
// payctl wrote. It reports false for anything else, which Decode then reads
// with encoding/json (as strict, with its error messages). The event is
// accepted only if encoding it again gives back body exactly: what the
// fast path reads is then what encoding/json reads, for any input.
func decodeEvent(body []byte) (*state.Event, bool) {
	data := append(body[:len(body):len(body)], '}')
	// A string of its own: the event outlives the caller's buffer.
	text := string(data)
	d := &decoder{data: data, text: text}
	e := &state.Event{}
	d.object(func(k string) {
		switch k {
		case "seq":
			e.Seq = d.uint()
		case "prev":
			e.Prev = d.rawString()
		case "time":
			e.Time = d.time()
		case "kind":
			e.Kind = state.Kind(d.rawString())
		case "op":
			e.Op = d.rawString()
		case "by":
			e.By = d.rawString()
		case "lineage":
			e.Lineage = d.rawString()
		case "provider":
			e.Provider = d.rawString()
		case "group":
			e.Group = d.rawString()
		case "token":
			e.Token = d.rawString()
		case "request":
			e.Request = d.request()
		case "plannedFee":
			e.PlannedFee = d.amountPtr()
		case "quotedFee":
			e.QuotedFee = d.amountPtr()
		case "fee":
			e.Fee = d.amountPtr()
		case "groupIds":
			e.GroupIDs = d.stringMap()
		case "reason":
			e.Reason = d.rawString()
		case "snapshot":
			e.Snapshot = d.rawString()
		case "approvals":
			e.Approvals = d.approvers()
		case "payouts":
			d.array(func() { e.Payouts = append(e.Payouts, d.eventPayout()) })
		default:
			d.unknown("record", k)
		}
	})
	if d.err != nil {
		return nil, false
	}
	d.ws()
	if d.pos != len(d.data) {
		return nil, false
	}
	bp := scratch.Get().(*[]byte)
	again, ok := appendEventBody((*bp)[:0], e)
	same := ok && bytes.Equal(again, body)
	*bp = again[:0]
	scratch.Put(bp)
	if !same {
		return nil, false
	}
	return e, true
}

func (d *decoder) eventPayout() state.EventPayout {
	var p state.EventPayout
	d.object(func(k string) {
		switch k {
		case "address":
			p.Address = d.rawString()
		case "attempt":
			p.Attempt = int(d.int())
		case "key":
			p.Key = d.rawString()
		case "status":
			p.Status = providers.Status(d.rawString())
		case "type":
			p.Type = d.rawString()
		case "currency":
			p.Currency = d.rawString()
		case "amount":
			p.Amount = d.amountPtr()
		case "recipient":
			r := d.recipient()
			p.Recipient = &r
		case "reference":
			p.Reference = d.rawString()
		case "metadata":
			p.Metadata = d.stringMap()
		case "digest":
			p.Digest = d.rawString()
		case "plannedFee":
			p.PlannedFee = d.amountPtr()
		case "feePayer":
			p.FeePayer = fee.Payer(d.rawString())
		case "request":
			p.Request = d.request()
		case "ids":
			p.IDs = d.stringMap()
		case "fee":
			p.Fee = d.amountPtr()
		case "answer":
			p.Answer = d.stringMap()
		case "reason":
			p.Reason = d.rawString()
		case "findings":
			p.Findings = d.findings()
		default:
			d.unknown("payout", k)
		}
	})
	return p
}

func (d *decoder) request() *providers.Request {
	r := &providers.Request{}
	d.object(func(k string) {
		switch k {
		case "method":
			r.Method = d.rawString()
		case "path":
			r.Path = d.rawString()
		case "body":
			r.Body = d.rawString()
		default:
			d.unknown("request", k)
		}
	})
	return r
}

func (d *decoder) stringMap() map[string]string {
	m := map[string]string{}
	d.object(func(k string) { m[k] = d.rawString() })
	return m
}

// amountPtr reads an amount for an event: one allocation of its own, not
// the snapshot decoder's slab (made for millions of payouts).
func (d *decoder) amountPtr() *money.Amount {
	if d.null() {
		return nil
	}
	a := d.amount()
	return &a
}
