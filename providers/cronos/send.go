package cronos

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/cronos/phpjson"
)

const disbursePath = "/disburse"

// PayoutError is a payout Prepare cannot turn into a request.
type PayoutError struct {
	Address string
	Errs    []providers.FieldError
}

func (e *PayoutError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, fe := range e.Errs {
		msgs[i] = fe.Msg
	}
	return fmt.Sprintf("payout %s: %s", e.Address, strings.Join(msgs, "; "))
}

// Prepare builds the POST /disburse request for p: the body in the
// documented field order, encoded as PHP's json_encode would, so it can be
// journaled, signed and sent as one byte sequence.
func (c *Client) Prepare(p providers.Payout) (providers.Request, error) {
	errs := Rules{}.CheckPayout(p)
	if p.Currency.Code != Type.Rules.Currency() {
		errs = append(errs, providers.FieldError{Field: "currency", Msg: fmt.Sprintf("currency %q cannot be paid through Cronos, which pays IDR only", p.Currency.Code)})
	}
	if textProblem("key", p.Key, "the attempt's idempotency key") != "" || strings.ContainsAny(p.Key, " \t\r\n") {
		errs = append(errs, providers.FieldError{Field: "key", Msg: fmt.Sprintf("idempotency key %q cannot be a Cronos reference: it must be non-empty text without spaces", p.Key)})
	}
	if len(errs) > 0 {
		return providers.Request{}, &PayoutError{Address: p.Address, Errs: errs}
	}
	amount, err := p.Amount.Decimal().Int64()
	if err != nil {
		return providers.Request{}, &PayoutError{Address: p.Address, Errs: []providers.FieldError{{Field: "amount", Msg: err.Error()}}}
	}
	body, err := phpjson.Encode(phpjson.Object{
		{Key: "bankCode", Value: phpjson.String(p.Recipient.BankCode)},
		{Key: "recipientAccount", Value: phpjson.String(p.Recipient.Account)},
		// Always a JSON string, even when the reference is all digits.
		{Key: "reference", Value: phpjson.String(p.Key)},
		{Key: "amount", Value: phpjson.Int(amount)},
		{Key: "additionalInfo", Value: phpjson.Object{{Key: "callback", Value: phpjson.String(c.callback)}}},
	})
	if err != nil {
		return providers.Request{}, fmt.Errorf("payout %s: encode the request: %w", p.Address, err)
	}
	return providers.Request{Method: http.MethodPost, Path: disbursePath, Body: string(body)}, nil
}

// Send sends a request made by Prepare, once: it is retried only while it
// provably has not reached Cronos, or was answered 429.
func (c *Client) Send(ctx context.Context, p providers.Payout, r providers.Request) (providers.Result, error) {
	res := providers.Result{Address: p.Address, Status: providers.StatusNotSent}
	if r.Method != http.MethodPost || r.Path != disbursePath || r.Body == "" {
		res.Reason = "the request was not made by the cronos provider"
		return res, fmt.Errorf("payout %s: cannot send %s %s through cronos: only requests made by Prepare are sent: %w", p.Address, r.Method, r.Path, providers.ErrStop)
	}
	if err := ctx.Err(); err != nil {
		res.Reason = "cancelled before sending: " + err.Error()
		return res, nil
	}
	rep := c.roundTrip(ctx, c.create, http.MethodPost, disbursePath, nil, []byte(r.Body))
	res, err := c.interpretCreate(p, rep)
	res.Reason = c.scrub(res.Reason)
	if res.Status != providers.StatusPaid && res.Status != providers.StatusPending {
		c.log.Debug("cronos: disbursement not confirmed", "payout", p.Address, "status", res.Status, "reason", res.Reason)
	}
	return res, err
}

// interpretCreate reads the reply to POST /disburse.
func (c *Client) interpretCreate(p providers.Payout, rep reply) (providers.Result, error) {
	res := providers.Result{Address: p.Address}
	unknown := func(why string) (providers.Result, error) {
		res.Status = providers.StatusUnknown
		res.Reason = why + "; the disbursement may exist: payctl will look it up by reference " + p.Key + " and never re-sends it"
		return res, nil
	}
	switch {
	case rep.err != nil && !rep.reached:
		res.Status = providers.StatusNotSent
		res.Reason = "the request did not reach cronos: " + rep.err.Error()
		return res, nil
	case rep.err != nil:
		return unknown("no complete answer from cronos after the request was sent (" + rep.err.Error() + ")")
	case rep.status == http.StatusTooManyRequests:
		res.Status = providers.StatusNotSent
		res.Reason = "cronos kept answering 429 (rate limited); nothing was created; try again later"
		return res, nil
	case rep.status >= 500:
		return unknown(fmt.Sprintf("cronos answered HTTP %d after the request was sent", rep.status))
	case rep.status < 200 || (rep.status >= 300 && rep.status < 400):
		return unknown(fmt.Sprintf("cronos answered HTTP %d, which is not an API answer", rep.status))
	}
	env, err := parseEnvelope(rep.body)
	if err != nil {
		if rep.status == http.StatusBadRequest || rep.status == http.StatusUnprocessableEntity {
			if v, verr := parseValidationError(rep.body); verr == nil {
				return c.rejected(p, rep.status, v)
			}
		}
		return unknown(fmt.Sprintf("cronos's answer (HTTP %d) could not be read: %v", rep.status, err))
	}
	code := env.Code
	if rep.status >= 400 && code != rep.status {
		return unknown(fmt.Sprintf("cronos's answer contradicts itself (HTTP %d, responseCode %d)", rep.status, code))
	}
	msg := clip(env.Message)
	switch {
	case code == http.StatusOK || code == http.StatusCreated:
		rec, err := parseRecord(env.Data)
		if err != nil {
			return unknown("cronos's answer could not be read: " + err.Error())
		}
		if err := c.contradiction(p, rec); err != nil {
			res.Status = providers.StatusUnknown
			res.IDs = map[string]string{"id": rec.ID}
			res.Reason = "cronos's answer does not match the request"
			return res, err
		}
		keepEnvelopeExtras(&rec, env)
		return c.result(p.Address, rec), nil
	case code == http.StatusConflict:
		return unknown(fmt.Sprintf("cronos rejected reference %s as a duplicate (HTTP %d: %s)", p.Key, code, msg))
	case code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		if mentionsDuplicate(env.Message) {
			return unknown(fmt.Sprintf("cronos rejected the request with a message about its reference (HTTP %d: %s)", code, msg))
		}
		res.Status = providers.StatusFailed
		res.Reason = fmt.Sprintf("cronos rejected the request (HTTP %d: %s); nothing was paid", code, msg)
		return res, nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		res.Status = providers.StatusFailed
		res.Reason = fmt.Sprintf("cronos rejected the credentials or signature (HTTP %d: %s); nothing was paid", code, msg)
		return res, fmt.Errorf("provider %q: cronos rejected the credentials or signature (HTTP %d: %s): check the values of keyEnv and tokenEnv for providers.%s: %w",
			c.name, code, c.scrub(msg), c.name, providers.ErrStop)
	}
	return unknown(fmt.Sprintf("cronos answered HTTP %d, responseCode %d (%s), whose meaning is not documented", rep.status, code, msg))
}

// rejected reads a validation answer (Laravel's {"message", "errors"}) to
// POST /disburse: the request broke a rule, so nothing was created and the
// attempt failed, unless a field or message speaks of the reference, which
// may mean a disbursement with it exists (see mentionsDuplicate).
func (c *Client) rejected(p providers.Payout, status int, v validationError) (providers.Result, error) {
	res := providers.Result{Address: p.Address}
	text := clip(v.text())
	if mentionsDuplicate(text) {
		res.Status = providers.StatusUnknown
		res.Reason = fmt.Sprintf("cronos rejected the request with a message about its reference (HTTP %d: %s); the disbursement may exist: payctl will look it up by reference %s and never re-sends it", status, text, p.Key)
		return res, nil
	}
	res.Status = providers.StatusFailed
	res.Reason = fmt.Sprintf("cronos rejected the request as invalid (HTTP %d: %s); nothing was paid: correct the payout in the manifest, then apply again", status, text)
	return res, nil
}

// mentionsDuplicate reports whether a rejection may be about the reference
// already existing. Cronos's wording is not documented, so any mention of
// the reference or of uniqueness counts: reading a duplicate as a plain
// failure would let a new attempt pay a second time, while reading a plain
// failure as unknown only costs a lookup.
func mentionsDuplicate(msg string) bool {
	m := strings.ToLower(msg)
	for _, w := range []string{"reference", "duplicate", "already", "exist", "taken", "unique", "merchantref"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}
