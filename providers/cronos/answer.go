package cronos

import (
	"errors"
	"fmt"
	"strings"

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
	// Extra holds top-level fields the docs do not list, in order. They
	// decide nothing; they are kept in the stored answer.
	Extra phpjson.Object
}

// parseEnvelope reads an answer: one JSON object, no duplicate keys, an
// integer responseCode and a string responseMessage (responseData may be
// absent on errors). Other top-level fields are tolerated and kept in
// Extra: the page lists three, but a field Cronos adds one day (a trace
// id, a timestamp) must not turn a proven payment into an unknown one.
// Anything else is not an answer payctl can act on; the caller treats it
// as no answer.
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
			env.Extra = append(env.Extra, m)
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
	ID string
	// MerchantRef is "" when the answer left it out.
	MerchantRef string
	Status      string
	Amount      money.Amount
	// Account is disbursement.recipientAccount; "" when absent or null.
	Account string
	Fee     *money.Amount
	// Answer holds the fields payctl records, as returned (numbers as
	// written, strings as they are; null and absent fields are left out),
	// extras included.
	Answer map[string]string
	// extraBudget is how many more extra fields Answer may take.
	extraBudget int
}

// answerFields are the responseData fields kept in Result.Answer under
// their own names (providers.AnswerFeePayer and providers.AnswerTotal
// among them), as returned.
var answerFields = []string{"status", "amount", "fee", "totalAmount", "feePayer", "expiredDate", "paidDate", "settleDate"}

// documented are the responseData fields the page lists (with paidDate
// and settleDate, which real answers carry). Any other field is an extra:
// kept in the stored answer, never used for a decision.
var documented = map[string]bool{
	"id": true, "merchantRef": true, "status": true, "feePayer": true, "amount": true, "fee": true,
	"totalAmount": true, "expiredDate": true, "paidDate": true, "settleDate": true,
	"additionalInfo": true, "disbursement": true, "recipientName": true,
}

// Bounds on the extra fields kept from one answer: the stored answer is
// journaled with every outcome, so an answer padded with fields must not
// grow the journal without limit.
const (
	maxExtras     = 16
	maxExtraKey   = 64
	maxExtraValue = 200
	// envelopePrefix names the stored answer's keys for top-level extras,
	// so that they can never be taken for a responseData field of the
	// same name (a top-level "feePayer" says nothing about this one).
	envelopePrefix = "envelope."
)

// parseHead reads what every disbursement object carries, in an answer or
// a callback: the object itself, without duplicate fields, its id (any
// printable text: see providers.IDProblem) and status, both required, and
// merchantRef when present. The page shows merchantRef in its example but
// does not list it; an answer without it is read, and one that carries a
// different reference is a contradiction (see contradiction).
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
	if r.ID, err = recordID(obj); err != nil {
		return nil, record{}, err
	}
	if ref, ok := obj.Lookup("merchantRef"); ok {
		switch ref := ref.(type) {
		case phpjson.Null:
		case phpjson.String:
			r.MerchantRef = string(ref)
		case phpjson.Number:
			// An all-digit reference a PHP server turned into a number:
			// compared as written, like the string payctl sent.
			r.MerchantRef = string(ref)
		default:
			return nil, record{}, errors.New("responseData.merchantRef is not a string")
		}
	}
	if r.Status, err = requiredString(obj, "status"); err != nil {
		return nil, record{}, err
	}
	return obj, r, nil
}

// parseRecord reads a disbursement object. id, status and amount are
// required; fields the docs do not list decide nothing (real answers carry
// more than the docs show) and are kept in Answer, bounded.
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
			if f == "status" || f == "amount" {
				return record{}, fmt.Errorf("responseData.%s is neither a string nor a number", f)
			}
			// A field that decides nothing is kept as its JSON rather
			// than make a proven disbursement unreadable.
			b, err := phpjson.Encode(val)
			if err != nil {
				continue
			}
			r.Answer[f] = providers.Clip(string(b), maxExtraValue)
		}
	}
	amountText, ok := r.Answer["amount"]
	if !ok {
		return record{}, errors.New("responseData has no amount")
	}
	if r.Amount, err = money.Parse(amountText); err != nil {
		return record{}, fmt.Errorf("responseData.amount: %v", err)
	}
	// The fee is recorded, not decided on: one that is not a plain amount
	// stays in Answer as returned and Fee is left unset.
	if feeText, ok := r.Answer["fee"]; ok {
		if f, err := money.Parse(feeText); err == nil {
			r.Fee = &f
		}
	}
	// The docs put the name under disbursement; some answers carry it at
	// the top. Either is recorded; null is common while pending.
	if d, ok := obj.Lookup("disbursement"); ok {
		if d, ok := d.(phpjson.Object); ok {
			if k, dup := d.Duplicate(); dup {
				return record{}, fmt.Errorf("responseData.disbursement has two %q fields", k)
			}
			if n, ok := d.Lookup("recipientName"); ok {
				if s, ok := n.(phpjson.String); ok {
					r.Answer[providers.AnswerBankName] = string(s)
				}
			}
			if a, ok := d.Lookup("recipientAccount"); ok {
				switch a := a.(type) {
				case phpjson.Null:
				case phpjson.String:
					r.Account = string(a)
				default:
					return record{}, errors.New("responseData.disbursement.recipientAccount is not a string")
				}
			}
		}
	}
	if n, ok := obj.Lookup("recipientName"); ok {
		if s, ok := n.(phpjson.String); ok {
			r.Answer[providers.AnswerBankName] = string(s)
		}
	}
	r.extraBudget = keepExtras(r.Answer, "", obj, func(k string) bool { return documented[k] }, maxExtras)
	return r, nil
}

// keepExtras copies the members of obj that known does not claim into
// answer, under prefix+key, as returned: strings as they are, numbers as
// written, anything else as its JSON; null and keys already in answer are
// left out. It keeps at most budget of them and returns what is left of
// the budget.
func keepExtras(answer map[string]string, prefix string, obj phpjson.Object, known func(string) bool, budget int) int {
	for _, m := range obj {
		if budget <= 0 {
			break
		}
		if known(m.Key) {
			continue
		}
		key := prefix + providers.Clip(m.Key, maxExtraKey)
		if _, taken := answer[key]; taken {
			continue
		}
		var text string
		switch v := m.Value.(type) {
		case phpjson.Null:
			continue
		case phpjson.String:
			text = string(v)
		case phpjson.Number:
			text = string(v)
		default:
			b, err := phpjson.Encode(v)
			if err != nil {
				continue
			}
			text = string(b)
		}
		answer[key] = providers.Clip(text, maxExtraValue)
		budget--
	}
	return budget
}

// keepEnvelopeExtras adds env's top-level extras to r's stored answer,
// within what is left of the bound on extras.
func keepEnvelopeExtras(r *record, env envelope) {
	r.extraBudget = keepExtras(r.Answer, envelopePrefix, env.Extra, func(string) bool { return false }, r.extraBudget)
}

// recordID reads a disbursement's id: text (the page's example is a UUID
// string) or a whole number, which is kept as written; either way it must
// pass idProblem.
func recordID(obj phpjson.Object) (string, error) {
	v, ok := obj.Lookup("id")
	if !ok {
		return "", errors.New("responseData has no id")
	}
	var id string
	switch v := v.(type) {
	case phpjson.String:
		id = string(v)
	case phpjson.Number:
		if _, err := wholeNumber(string(v)); err != nil || strings.HasPrefix(string(v), "-") {
			return "", fmt.Errorf("responseData.id %s is not a whole number", clip(string(v)))
		}
		id = string(v)
	default:
		return "", errors.New("responseData.id is neither text nor a number")
	}
	if p := providers.IDProblem(id); p != "" {
		return "", fmt.Errorf("responseData.id %q %s", clip(id), p)
	}
	return id, nil
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
// reference, amount or account than the attempt's, or nil. What decides
// money is checked strictly: the amount always, the reference and the
// account whenever the answer carries them (an absent one contradicts
// nothing; a different one does).
func (c *Client) contradiction(p providers.Payout, r record) error {
	var diffs []string
	if r.MerchantRef != "" && r.MerchantRef != p.Key {
		diffs = append(diffs, fmt.Sprintf("reference %q where payctl sent %q", clip(r.MerchantRef), p.Key))
	}
	if !r.Amount.Equal(p.Amount) {
		diffs = append(diffs, fmt.Sprintf("amount %s where payctl sent %s", r.Amount, p.Amount))
	}
	if r.Account != "" && r.Account != p.Recipient.Account {
		diffs = append(diffs, fmt.Sprintf("account %q where payctl sent %q", clip(r.Account), p.Recipient.Account))
	}
	if len(diffs) == 0 {
		return nil
	}
	msg := fmt.Sprintf("payout %s: cronos answered with disbursement %s for %s: "+
		"the answer does not match the request; check disbursement %s on the Cronos dashboard, then record the outcome with payctl state resolve %s",
		p.Address, r.ID, strings.Join(diffs, ", "), r.ID, p.Address)
	return fmt.Errorf("%s: %w", c.scrub(msg), providers.ErrStop)
}

// clip makes provider text safe and short for a message.
func clip(s string) string { return providers.Clip(s, 200) }

// validationError is a Laravel validation answer, which Cronos's framework
// sends for a request that fails its rules, outside the documented
// envelope: {"message": "The given data was invalid.", "errors":
// {"amount": ["The amount must be at least 10000."]}}.
type validationError struct {
	Message string
	// Fields lists "field: message" in the answer's order.
	Fields []string
}

// text is the rejection in one line.
func (v validationError) text() string {
	if len(v.Fields) == 0 {
		return v.Message
	}
	return v.Message + " " + strings.Join(v.Fields, "; ")
}

// maxValidationFields bounds what is quoted from a validation answer.
const maxValidationFields = 8

// parseValidationError reads a Laravel validation answer: an object with
// a string message and an errors object whose members are a message or a
// list of messages. Other top-level members are tolerated.
func parseValidationError(body []byte) (validationError, error) {
	v, err := phpjson.Parse(body)
	if err != nil {
		return validationError{}, err
	}
	obj, ok := v.(phpjson.Object)
	if !ok {
		return validationError{}, errors.New("the answer is not a JSON object")
	}
	if k, dup := obj.Duplicate(); dup {
		return validationError{}, fmt.Errorf("the answer has two %q fields", k)
	}
	msg, ok := obj.Lookup("message")
	m, isStr := msg.(phpjson.String)
	if !ok || !isStr {
		return validationError{}, errors.New("the answer has no message")
	}
	errs, ok := obj.Lookup("errors")
	eo, isObj := errs.(phpjson.Object)
	if !ok || !isObj {
		return validationError{}, errors.New("the answer has no errors object")
	}
	out := validationError{Message: string(m)}
	for _, f := range eo {
		var texts []string
		switch fv := f.Value.(type) {
		case phpjson.String:
			texts = []string{string(fv)}
		case phpjson.List:
			for _, e := range fv {
				if s, ok := e.(phpjson.String); ok {
					texts = append(texts, string(s))
				}
			}
		}
		if len(out.Fields) < maxValidationFields {
			out.Fields = append(out.Fields, f.Key+": "+strings.Join(texts, " "))
		}
	}
	return out, nil
}
