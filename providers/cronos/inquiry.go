package cronos

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/cronos/phpjson"
)

// Paths of the endpoints that move no money, under the same base as
// /disburse.
const (
	inquiryPath = "/account-inquiry"
	balancePath = "/balance"
)

var (
	_ providers.AccountVerifier = (*Client)(nil)
	_ providers.BalanceReader   = (*Client)(nil)
)

// VerifyAccount asks Cronos's bank who holds r's account: POST
// /account-inquiry with {bankCode, accountNumber, reference,
// additionalInfo: {callback}}, signed like a disbursement (the PHP
// json_encode bytes). It moves no money, so it is retried after any
// failure like a lookup.
//
// The endpoint is not on the published pages; public integrations show it
// answering the usual envelope with responseData.accountName and a status
// (pending in the traces seen). The holder's name and that status are
// returned as given; Name is "" when the bank gave none (yet). An answer
// naming another account or reference than asked is an error, never a
// name. Each inquiry has its own reference, since Cronos wants references
// unique.
func (c *Client) VerifyAccount(ctx context.Context, r providers.Recipient) (providers.AccountHolder, error) {
	where := fmt.Sprintf("provider %q: account inquiry for account %s at bank %q", c.name, clip(maskAccount(r.Account)), clip(r.BankCode))
	var problems []string
	for _, fe := range (Rules{}).CheckPayout(providers.Payout{Amount: money.FromInt64(1), Recipient: r}) {
		if strings.HasPrefix(fe.Field, "recipient.") {
			problems = append(problems, fe.Msg)
		}
	}
	if len(problems) > 0 {
		return providers.AccountHolder{}, fmt.Errorf("%s: %s", where, strings.Join(problems, "; "))
	}
	ref := "inq-" + strings.ToLower(rand.Text())
	body, err := phpjson.Encode(phpjson.Object{
		{Key: "bankCode", Value: phpjson.String(r.BankCode)},
		{Key: "accountNumber", Value: phpjson.String(r.Account)},
		{Key: "reference", Value: phpjson.String(ref)},
		{Key: "additionalInfo", Value: phpjson.Object{{Key: "callback", Value: phpjson.String(c.callback)}}},
	})
	if err != nil {
		return providers.AccountHolder{}, fmt.Errorf("%s: encode the request: %v", where, err)
	}
	rep := c.roundTrip(ctx, c.read, http.MethodPost, inquiryPath, nil, body)
	data, err := c.readAnswer(rep, "the account inquiry", "check the recipient's bankCode and account in the manifest")
	if err != nil {
		return providers.AccountHolder{}, fmt.Errorf("%s: %s", where, c.scrub(err.Error()))
	}
	obj, ok := data.(phpjson.Object)
	if !ok {
		return providers.AccountHolder{}, fmt.Errorf("%s: cronos's answer has no responseData object; try again later, or check the account on the Cronos dashboard", where)
	}
	if k, dup := obj.Duplicate(); dup {
		return providers.AccountHolder{}, fmt.Errorf("%s: cronos's answer has two %q fields; try again later", where, k)
	}
	for _, f := range []struct{ key, want string }{{"accountNumber", r.Account}, {"merchantRef", ref}, {"reference", ref}, {"bankCode", r.BankCode}} {
		v, ok := obj.Lookup(f.key)
		if s, isStr := v.(phpjson.String); ok && isStr && string(s) != f.want {
			got, want := clip(string(s)), f.want
			if f.key == "accountNumber" {
				got, want = maskAccount(got), maskAccount(want)
			}
			return providers.AccountHolder{}, fmt.Errorf("%s: cronos answered about %s %q, not %q: the answer is not about this account; try again later", where, f.key, got, want)
		}
	}
	var h providers.AccountHolder
	if v, ok := obj.Lookup("accountName"); ok {
		switch v := v.(type) {
		case phpjson.Null:
		case phpjson.String:
			h.Name = c.scrub(providers.Clip(string(v), 200))
		default:
			return providers.AccountHolder{}, fmt.Errorf("%s: cronos's accountName is not text; try again later", where)
		}
	}
	if v, ok := obj.Lookup("status"); ok {
		if s, ok := v.(phpjson.String); ok {
			h.Status = c.scrub(clip(string(s)))
		}
	}
	return h, nil
}

// Balance reads GET /balance, signed with the project key alone:
// responseData.{active, pending, total}. Available is active (what
// disbursements are charged against); Pending and Total are as reported,
// nil when absent. Numbers may come as JSON numbers or as decimal text.
func (c *Client) Balance(ctx context.Context) (providers.Balance, error) {
	where := fmt.Sprintf("provider %q: balance", c.name)
	rep := c.roundTrip(ctx, c.read, http.MethodGet, balancePath, nil, nil)
	data, err := c.readAnswer(rep, "the balance request", "read the balance on the Cronos dashboard and report the answer to Cronos")
	if err != nil {
		return providers.Balance{}, fmt.Errorf("%s: %s", where, c.scrub(err.Error()))
	}
	obj, ok := data.(phpjson.Object)
	if !ok {
		return providers.Balance{}, fmt.Errorf("%s: cronos's answer has no responseData object; try again later, or read the balance on the Cronos dashboard", where)
	}
	if k, dup := obj.Duplicate(); dup {
		return providers.Balance{}, fmt.Errorf("%s: cronos's answer has two %q fields; try again later", where, k)
	}
	amount := func(key string) (*money.Amount, error) {
		v, ok := obj.Lookup(key)
		if !ok {
			return nil, nil
		}
		var text string
		switch v := v.(type) {
		case phpjson.Null:
			return nil, nil
		case phpjson.Number:
			text = string(v)
		case phpjson.String:
			text = string(v)
		default:
			return nil, fmt.Errorf("responseData.%s is not a number", key)
		}
		a, err := money.Parse(text)
		if err != nil {
			return nil, fmt.Errorf("responseData.%s %q is not an amount: %v", key, clip(text), err)
		}
		return &a, nil
	}
	var b providers.Balance
	active, err := amount("active")
	if err == nil && active == nil {
		err = errors.New("responseData has no active balance")
	}
	if err == nil {
		b.Available = *active
		if b.Pending, err = amount("pending"); err == nil {
			b.Total, err = amount("total")
		}
	}
	if err != nil {
		return providers.Balance{}, fmt.Errorf("%s: cronos's answer could not be read: %v; try again later, or read the balance on the Cronos dashboard", where, err)
	}
	return b, nil
}

// readAnswer reads the reply to a request that moves no money and returns
// its responseData, or an error that says what happened and what to do;
// fix is what to do when Cronos rejects the request as invalid.
func (c *Client) readAnswer(rep reply, what, fix string) (phpjson.Value, error) {
	if rep.err != nil {
		return nil, fmt.Errorf("could not reach cronos (%v); check baseURL and the network, then try again", rep.err)
	}
	env, err := parseEnvelope(rep.body)
	if err != nil {
		if v, verr := parseValidationError(rep.body); verr == nil && rep.status >= 400 && rep.status < 500 {
			return nil, fmt.Errorf("cronos rejected %s (HTTP %d: %s); %s", what, rep.status, clip(v.text()), fix)
		}
		return nil, fmt.Errorf("cronos's answer (HTTP %d) could not be read: %v; try again later", rep.status, err)
	}
	code, msg := env.Code, clip(env.Message)
	switch {
	case (rep.status == http.StatusOK || rep.status == http.StatusCreated) && (code == http.StatusOK || code == http.StatusCreated):
		return env.Data, nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden || rep.status == http.StatusUnauthorized || rep.status == http.StatusForbidden:
		return nil, fmt.Errorf("cronos rejected the credentials or signature (HTTP %d: %s); check the values of keyEnv and tokenEnv for providers.%s", rep.status, msg, c.name)
	case code == http.StatusNotFound || rep.status == http.StatusNotFound:
		return nil, fmt.Errorf("cronos does not offer %s at this baseURL (HTTP %d: %s); check baseURL, which must end in /api like the one used for /disburse", what, rep.status, msg)
	case code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		return nil, fmt.Errorf("cronos rejected %s (HTTP %d: %s); %s", what, rep.status, msg, fix)
	}
	return nil, fmt.Errorf("cronos answered HTTP %d, responseCode %d (%s) to %s; try again later", rep.status, code, msg, what)
}

// maskAccount shows an account's last four characters only, as payctl's
// outputs do.
func maskAccount(s string) string {
	r := []rune(s)
	if len(r) <= 4 {
		return s
	}
	return strings.Repeat("*", len(r)-4) + string(r[len(r)-4:])
}
