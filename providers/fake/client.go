// Package fake is a payout provider for testing payctl itself, hidden from
// users: this client, and in package emulator the provider's side (a ledger
// that never deduplicates, served over HTTP or called in memory, with
// injectable faults).
//
// Its HTTP API:
//
//	POST /payouts              {"reference","address","amount","currency","account","name"}
//	                           -> 200 {"id","reference","status"}; 400 {"error"} for a rejected payout
//	GET  /payouts?reference=K  -> 200 {"payouts":[...]} every payment with that reference
//	GET  /payouts/{id}         -> 200 {"id","reference","status"}; 404
//	POST /accounts/verify      {"account","bankCode"} -> 200 {"name","status"}; 404 {"error"} unknown account
//	GET  /balance              -> 200 {"available","pending"}; 404 when the ledger keeps none
//
// A payment's answer may also carry "fee", "feePayer" ("customer" or
// "merchant"), "totalAmount" and "recipientName", as Cronos answers them,
// when the emulator is set to give them (see emulator.Answers).
//
// The emulator fails a payout whose account ends in "0000" and keeps one
// ending in "1111" pending until Ledger.Settle is called.
package fake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"

	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// Payment is one payment the fake provider made, as its API answers it
// and its emulator's ledger keeps it.
type Payment struct {
	ID        string `json:"id"`
	Reference string `json:"reference"`
	Address   string `json:"address"`
	Amount    string `json:"amount"`
	Currency  string `json:"currency"`
	Account   string `json:"account"`
	Status    string `json:"status"` // pending, paid, failed
	// The fields a Cronos answer carries, given when the emulator is set
	// to: what the engine compares with the plan.
	Fee           string `json:"fee,omitempty"`
	FeePayer      string `json:"feePayer,omitempty"`
	TotalAmount   string `json:"totalAmount,omitempty"`
	RecipientName string `json:"recipientName,omitempty"`
}

// createRequest is the body of POST /payouts.
type createRequest struct {
	Reference string `json:"reference"`
	Address   string `json:"address"`
	Amount    string `json:"amount"`
	Currency  string `json:"currency"`
	Account   string `json:"account"`
	Name      string `json:"name"`
}

// Type is the fake provider type, "fake". It pays in IDR.
var Type = providers.Type{
	Name:        "fake",
	KeyedLookup: true,
	Title:       "fake",
	Rules:       rules{},
	DefaultFees: fee.Schedule{Fixed: new(money.FromInt64(1)), Payer: fee.Sender, Basis: fee.PerPayout, Rounding: money.HalfEven, Places: 0},
	Credentials: []providers.Credential{{Field: "tokenEnv", Optional: true}},
	Open:        func(o providers.Options) (providers.Provider, error) { return Open(o), nil },
	Hidden:      true,
}

type rules struct{}

func (rules) Currency() string { return "IDR" }

func (rules) CheckPayout(p providers.Payout) []providers.FieldError {
	var errs []providers.FieldError
	if p.Recipient.Account == "" {
		errs = append(errs, providers.FieldError{Field: "recipient.account", Msg: "recipient.account is required"})
	}
	return errs
}

// Client talks to a fake provider over HTTP.
type Client struct {
	name, base, token string
	hc                *http.Client
}

var (
	_ providers.Single          = (*Client)(nil)
	_ providers.Provider        = (*Client)(nil)
	_ providers.AccountVerifier = (*Client)(nil)
	_ providers.BalanceReader   = (*Client)(nil)
)

// Open returns a client.
func Open(o providers.Options) *Client {
	hc := o.HTTPClient
	if hc == nil {
		// A connection per payout in flight: the default transport keeps
		// two, and every other request would dial its own.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		hc = &http.Client{Transport: t}
	}
	if o.Timeout > 0 {
		c := *hc
		c.Timeout = o.Timeout
		hc = &c
	}
	return &Client{name: o.Name, base: strings.TrimRight(o.BaseURL, "/"), token: o.Credentials["tokenEnv"], hc: hc}
}

// Name is the configured provider name.
func (c *Client) Name() string { return c.name }

// Type is "fake".
func (c *Client) Type() string { return "fake" }

// Prepare builds the create request.
func (c *Client) Prepare(p providers.Payout) (providers.Request, error) {
	b, err := json.Marshal(createRequest{
		Reference: p.Key, Address: p.Address, Amount: p.Amount.String(),
		Currency: p.Currency.Code, Account: p.Recipient.Account, Name: p.Recipient.Name,
	})
	if err != nil {
		return providers.Request{}, err
	}
	return providers.Request{Method: "POST", Path: "/payouts", Body: string(b)}, nil
}

// Send sends a prepared request. It can tell "never left" from "may have
// arrived" by whether the request was completely written.
func (c *Client) Send(ctx context.Context, p providers.Payout, r providers.Request) (providers.Result, error) {
	res := providers.Result{Address: p.Address}
	code, body, written, err := c.do(ctx, r.Method, r.Path, r.Body)
	switch {
	case err != nil && !written:
		res.Status, res.Reason = providers.StatusNotSent, "request not sent: "+err.Error()
		return res, nil
	case err != nil:
		res.Status, res.Reason = providers.StatusUnknown, "no answer after the request was sent: "+err.Error()
		return res, nil
	case code == 400:
		var e struct{ Error string }
		json.Unmarshal(body, &e)
		res.Status, res.Reason = providers.StatusFailed, "rejected: "+e.Error
		return res, nil
	case code != 200:
		res.Status, res.Reason = providers.StatusUnknown, fmt.Sprintf("HTTP %d after the request was sent", code)
		return res, nil
	}
	var pay Payment
	if err := json.Unmarshal(body, &pay); err != nil || pay.ID == "" {
		res.Status, res.Reason = providers.StatusUnknown, "unreadable answer after the request was sent"
		return res, nil
	}
	if pay.Reference != p.Key {
		res.Status = providers.StatusUnknown
		return res, fmt.Errorf("%w: fake provider answered reference %s for %s", providers.ErrStop, pay.Reference, p.Key)
	}
	return pay.Result(p.Address), nil
}

// Result is what the payment says about the attempt at addr, whether the
// client read it from an answer or the emulator from its ledger.
func (pay Payment) Result(addr string) providers.Result {
	r := providers.Result{Address: addr, IDs: map[string]string{"id": pay.ID}, Answer: map[string]string{"amount": pay.Amount}}
	if pay.Fee != "" {
		if f, err := money.Parse(pay.Fee); err == nil {
			r.Fee = &f
		} else {
			r.Answer["fee"] = pay.Fee
		}
	}
	for _, kv := range [...][2]string{
		{providers.AnswerFeePayer, pay.FeePayer}, {providers.AnswerTotal, pay.TotalAmount}, {providers.AnswerBankName, pay.RecipientName},
	} {
		if kv[1] != "" {
			r.Answer[kv[0]] = kv[1]
		}
	}
	switch pay.Status {
	case "paid":
		r.Status = providers.StatusPaid
	case "failed":
		r.Status, r.Reason = providers.StatusFailed, "provider says failed"
	default:
		r.Status = providers.StatusPending
	}
	return r
}

// Check looks attempts up by id, or by reference when the id is unknown.
func (c *Client) Check(ctx context.Context, as []providers.Attempt) ([]providers.Result, error) {
	out := make([]providers.Result, len(as))
	for i, a := range as {
		out[i] = c.check(ctx, a)
	}
	return out, nil
}

func (c *Client) check(ctx context.Context, a providers.Attempt) providers.Result {
	unknown := func(why string) providers.Result {
		return providers.Result{Address: a.Address, Status: providers.StatusUnknown, Reason: why}
	}
	if id := a.IDs["id"]; id != "" {
		code, body, _, err := c.do(ctx, "GET", "/payouts/"+url.PathEscape(id), "")
		if err != nil || code != 200 {
			return unknown(fmt.Sprintf("lookup failed: %v (HTTP %d)", err, code))
		}
		var pay Payment
		if json.Unmarshal(body, &pay) != nil {
			return unknown("unreadable lookup answer")
		}
		return pay.Result(a.Address)
	}
	code, body, _, err := c.do(ctx, "GET", "/payouts?reference="+url.QueryEscape(a.Key), "")
	if err != nil || code != 200 {
		return unknown(fmt.Sprintf("lookup by reference failed: %v (HTTP %d)", err, code))
	}
	var list struct{ Payouts []Payment }
	if json.Unmarshal(body, &list) != nil {
		return unknown("unreadable lookup answer")
	}
	switch len(list.Payouts) {
	case 0:
		return providers.Result{Address: a.Address, Status: providers.StatusNotFound}
	case 1:
		return list.Payouts[0].Result(a.Address)
	}
	return unknown(fmt.Sprintf("%d payments carry reference %s", len(list.Payouts), a.Key))
}

// VerifyAccount asks the fake bank who holds r's account. It moves no
// money.
func (c *Client) VerifyAccount(ctx context.Context, r providers.Recipient) (providers.AccountHolder, error) {
	body, err := json.Marshal(map[string]string{"account": r.Account, "bankCode": r.BankCode})
	if err != nil {
		return providers.AccountHolder{}, err
	}
	code, b, _, err := c.do(ctx, "POST", "/accounts/verify", string(body))
	if err != nil {
		return providers.AccountHolder{}, err
	}
	var ans struct{ Name, Status, Error string }
	if json.Unmarshal(b, &ans) != nil {
		return providers.AccountHolder{}, fmt.Errorf("unreadable account inquiry answer (HTTP %d)", code)
	}
	if code != 200 {
		return providers.AccountHolder{}, fmt.Errorf("account inquiry refused (HTTP %d): %s", code, ans.Error)
	}
	return providers.AccountHolder{Name: ans.Name, Status: ans.Status}, nil
}

// Balance reads the fake provider's balance.
func (c *Client) Balance(ctx context.Context) (providers.Balance, error) {
	code, b, _, err := c.do(ctx, "GET", "/balance", "")
	if err != nil {
		return providers.Balance{}, err
	}
	var ans struct{ Available, Pending, Error string }
	if json.Unmarshal(b, &ans) != nil {
		return providers.Balance{}, fmt.Errorf("unreadable balance answer (HTTP %d)", code)
	}
	if code != 200 {
		return providers.Balance{}, fmt.Errorf("balance refused (HTTP %d): %s", code, ans.Error)
	}
	avail, err := money.Parse(ans.Available)
	if err != nil {
		return providers.Balance{}, fmt.Errorf("balance answer: available %q: %v", ans.Available, err)
	}
	bal := providers.Balance{Available: avail}
	if ans.Pending != "" {
		if p, err := money.Parse(ans.Pending); err == nil {
			bal.Pending = &p
		}
	}
	return bal, nil
}

// do sends one request; written reports whether the request was completely
// written to the connection (after which the provider may have acted).
func (c *Client) do(ctx context.Context, method, path, body string) (int, []byte, bool, error) {
	written := false
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				written = true
			}
		},
	})
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, written, redact(err, c.token)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, nil, true, redact(err, c.token)
	}
	return resp.StatusCode, b, true, nil
}

func redact(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[redacted]"))
}
