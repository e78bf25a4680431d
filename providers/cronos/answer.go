package cronos

import (
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/cronos/phpjson"
)

// envelope is Cronos's answer wrapper:
// {"responseCode": 200, "responseMessage": "success", "responseData": ...}.
type envelope struct {
	Code    int
	Message string
	Data    phpjson.Value // nil when absent
}

// parseEnvelope reads an answer strictly: one JSON object, no duplicate
// keys, exactly the three documented fields (responseData may be absent on
// errors), an integer code. Anything else is not an answer payctl can act
// on; the caller treats it as no answer.
func parseEnvelope(body []byte) (envelope, error) {
	v, err := phpjson.Parse(body)
	if err != nil {
		return envelope{}, err
	}
	obj, ok := v.(phpjson.Object)
	if !ok {
		return envelope{}, errors.New("the answer is not a JSON object")
	}
	if k, dup := obj.Duplicate(); dup {
		return envelope{}, fmt.Errorf("the answer has two %q fields", k)
	}
	var env envelope
	var haveCode, haveMessage bool
	for _, m := range obj {
		switch m.Key {
		case "responseCode":
			n, ok := m.Value.(phpjson.Number)
			code, err := wholeNumber(string(n))
			if !ok || err != nil || code < 100 || code > 599 {
				return envelope{}, errors.New("responseCode is not an HTTP status number")
			}
			env.Code, haveCode = int(code), true
		case "responseMessage":
			s, ok := m.Value.(phpjson.String)
			if !ok {
				return envelope{}, errors.New("responseMessage is not a string")
			}
			env.Message, haveMessage = string(s), true
		case "responseData":
			env.Data = m.Value
		default:
			return envelope{}, fmt.Errorf("unexpected field %q in the answer", m.Key)
		}
	}
	if !haveCode || !haveMessage {
		return envelope{}, errors.New("the answer lacks responseCode or responseMessage")
	}
	return env, nil
}

// wholeNumber reads a JSON integer literal without a float in between.
func wholeNumber(lit string) (int64, error) {
	a, err := money.Parse(lit)
	if err != nil || a.Places() != 0 {
		return 0, fmt.Errorf("%q is not a whole number", lit)
	}
	return a.Decimal().Int64()
}

// record is one disbursement as Cronos describes it.
type record struct {
	ID          string
	MerchantRef string
	Status      string
	Amount      money.Amount
	Fee         *money.Amount
	// Answer holds the fields payctl records, as returned (numbers as
	// written, strings as they are; null and absent fields are left out).
	Answer map[string]string
}

// answerFields are the responseData fields kept in Result.Answer.
var answerFields = []string{"status", "amount", "fee", "totalAmount", "feePayer", "expiredDate", "paidDate", "settleDate"}

// parseHead reads what every disbursement object carries, in an answer or
// a callback: the object itself, without duplicate fields, and its id (a
// UUID), merchantRef and status, all required.
func parseHead(v phpjson.Value) (phpjson.Object, record, error) {
	obj, ok := v.(phpjson.Object)
	if !ok {
		return nil, record{}, errors.New("responseData is not an object")
	}
	if k, dup := obj.Duplicate(); dup {
		return nil, record{}, fmt.Errorf("responseData has two %q fields", k)
	}
	var r record
	var err error
	if r.ID, err = requiredString(obj, "id"); err != nil {
		return nil, record{}, err
	}
	if _, err := uuid.Parse(r.ID); err != nil || len(r.ID) != 36 {
		return nil, record{}, fmt.Errorf("responseData.id %q is not a UUID", clip(r.ID))
	}
	if r.MerchantRef, err = requiredString(obj, "merchantRef"); err != nil {
		return nil, record{}, err
	}
	if r.Status, err = requiredString(obj, "status"); err != nil {
		return nil, record{}, err
	}
	return obj, r, nil
}

// parseRecord reads a disbursement object. id, merchantRef, status and
// amount are required; fields the docs do not list are ignored, since real
// answers carry more than the docs show.
func parseRecord(v phpjson.Value) (record, error) {
	obj, r, err := parseHead(v)
	if err != nil {
		return record{}, err
	}
	r.Answer = map[string]string{}
	for _, f := range answerFields {
		val, ok := obj.Lookup(f)
		if !ok {
			continue
		}
		switch val := val.(type) {
		case phpjson.Null:
		case phpjson.String:
			r.Answer[f] = string(val)
		case phpjson.Number:
			r.Answer[f] = string(val)
		default:
			return record{}, fmt.Errorf("responseData.%s is neither a string nor a number", f)
		}
	}
	amountText, ok := r.Answer["amount"]
	if !ok {
		return record{}, errors.New("responseData has no amount")
	}
	if r.Amount, err = money.Parse(amountText); err != nil {
		return record{}, fmt.Errorf("responseData.amount: %v", err)
	}
	if feeText, ok := r.Answer["fee"]; ok {
		f, err := money.Parse(feeText)
		if err != nil {
			return record{}, fmt.Errorf("responseData.fee: %v", err)
		}
		r.Fee = &f
	}
	// The docs put the name under disbursement; some answers carry it at
	// the top. Either is recorded; null is common while pending.
	if d, ok := obj.Lookup("disbursement"); ok {
		if d, ok := d.(phpjson.Object); ok {
			if n, ok := d.Lookup("recipientName"); ok {
				if s, ok := n.(phpjson.String); ok {
					r.Answer["recipientName"] = string(s)
				}
			}
		}
	}
	if n, ok := obj.Lookup("recipientName"); ok {
		if s, ok := n.(phpjson.String); ok {
			r.Answer["recipientName"] = string(s)
		}
	}
	return r, nil
}

func requiredString(obj phpjson.Object, key string) (string, error) {
	v, ok := obj.Lookup(key)
	if !ok {
		return "", fmt.Errorf("responseData has no %s", key)
	}
	s, ok := v.(phpjson.String)
	if !ok || s == "" {
		return "", fmt.Errorf("responseData.%s is not a non-empty string", key)
	}
	return string(s), nil
}

// mapStatus maps a Cronos status. An expired disbursement paid nothing, so
// it is failed like a failed one.
func mapStatus(s string) (providers.Status, bool) {
	switch s {
	case "pending":
		return providers.StatusPending, true
	case "success":
		return providers.StatusPaid, true
	case "failed", "expired":
		return providers.StatusFailed, true
	}
	return providers.StatusUnknown, false
}

// result turns a record that belongs to the attempt into a Result.
func (c *Client) result(address string, r record) providers.Result {
	res := providers.Result{
		Address: address,
		IDs:     map[string]string{"id": r.ID},
		Fee:     r.Fee,
		Answer:  make(map[string]string, len(r.Answer)),
	}
	for k, v := range r.Answer {
		res.Answer[k] = c.scrub(v)
	}
	st, ok := mapStatus(r.Status)
	res.Status = st
	if !ok {
		res.Reason = c.scrub(fmt.Sprintf("cronos reports status %q for disbursement %s, which payctl does not know; check the Cronos dashboard", clip(r.Status), r.ID))
	}
	return res
}

// contradiction returns the stop error for an answer that names another
// reference or amount than the attempt's, or nil.
func (c *Client) contradiction(p providers.Payout, r record) error {
	if r.MerchantRef == p.Key && r.Amount.Equal(p.Amount) {
		return nil
	}
	msg := fmt.Sprintf("payout %s: cronos answered with disbursement %s for reference %q and amount %s, but payctl sent reference %q and amount %s: "+
		"the answer does not match the request; check disbursement %s on the Cronos dashboard, then record the outcome with payctl state resolve %s",
		p.Address, r.ID, clip(r.MerchantRef), r.Amount, p.Key, p.Amount, r.ID, p.Address)
	return fmt.Errorf("%s: %w", c.scrub(msg), providers.ErrStop)
}

// clip makes provider text safe and short for a message.
func clip(s string) string { return providers.Clip(s, 200) }
