package cronos

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

func TestRules(t *testing.T) {
	tests := map[string]struct {
		edit func(p *providers.Payout)
		// want maps each field expected to be rejected to a word its
		// message must contain.
		want map[string]string
	}{
		"valid bank payout":        {func(p *providers.Payout) {}, nil},
		"valid e-wallet payout":    {func(p *providers.Payout) { p.Recipient.BankCode, p.Recipient.Account = "ovo", "081234567890" }, nil},
		"trailing zeros are whole": {func(p *providers.Payout) { p.Amount = money.MustParse("150000.00") }, nil},
		"fraction of a rupiah":     {func(p *providers.Payout) { p.Amount = money.MustParse("75.25") }, map[string]string{"amount": "whole rupiah"}},
		"zero amount":              {func(p *providers.Payout) { p.Amount = money.FromInt64(0) }, map[string]string{"amount": "minimum of 1"}},
		"amount too large":         {func(p *providers.Payout) { p.Amount = money.MustParse("9007199254740992") }, map[string]string{"amount": "split"}},
		"largest amount":           {func(p *providers.Payout) { p.Amount = money.MustParse("9007199254740991") }, nil},
		"missing bank code":        {func(p *providers.Payout) { p.Recipient.BankCode = "" }, map[string]string{"recipient.bankCode": "required"}},
		"two-digit bank code":      {func(p *providers.Payout) { p.Recipient.BankCode = "14" }, map[string]string{"recipient.bankCode": "three-digit"}},
		"upper-case channel":       {func(p *providers.Payout) { p.Recipient.BankCode = "OVO" }, map[string]string{"recipient.bankCode": "lower-case"}},
		"bank code with space":     {func(p *providers.Payout) { p.Recipient.BankCode = "014 " }, map[string]string{"recipient.bankCode": "spaces"}},
		"missing account":          {func(p *providers.Payout) { p.Recipient.Account = "" }, map[string]string{"recipient.account": "required"}},
		"account with dashes":      {func(p *providers.Payout) { p.Recipient.Account = "0821-8371" }, map[string]string{"recipient.account": "digits"}},
		"account with plus":        {func(p *providers.Payout) { p.Recipient.Account = "+6281234567890" }, map[string]string{"recipient.account": "leading +"}},
		"account with spaces":      {func(p *providers.Payout) { p.Recipient.Account = " 0821837182312831" }, map[string]string{"recipient.account": "spaces"}},
		"account invalid utf-8":    {func(p *providers.Payout) { p.Recipient.Account = "08\xff" }, map[string]string{"recipient.account": "UTF-8"}},
		"account too long":         {func(p *providers.Payout) { p.Recipient.Account = strings.Repeat("1", 35) }, map[string]string{"recipient.account": "at most 34"}},
		"everything wrong": {
			func(p *providers.Payout) { p.Amount = money.MustParse("0.5"); p.Recipient = providers.Recipient{} },
			map[string]string{"amount": "whole", "recipient.bankCode": "required", "recipient.account": "required"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := payout(1)
			tc.edit(&p)
			errs := Rules{}.CheckPayout(p)
			got := map[string]string{}
			for _, fe := range errs {
				if _, dup := got[fe.Field]; dup {
					t.Errorf("field %s reported twice", fe.Field)
				}
				got[fe.Field] = fe.Msg
			}
			if len(got) != len(tc.want) {
				t.Errorf("got errors %v, want fields %v", got, tc.want)
			}
			for field, word := range tc.want {
				msg, ok := got[field]
				if !ok {
					t.Errorf("no error for %s, want one mentioning %q", field, word)
					continue
				}
				if !strings.Contains(msg, word) {
					t.Errorf("%s: got %q, want it to mention %q", field, msg, word)
				}
				if msg != strings.TrimSuffix(msg, ".") || strings.ToLower(msg[:1]) != msg[:1] {
					t.Errorf("%s: message %q should start lower case and have no trailing period", field, msg)
				}
			}
		})
	}
	if got := (Rules{}).Currency(); got != "IDR" {
		t.Errorf("got currency %s, want IDR", got)
	}
}

func TestPrepareRejects(t *testing.T) {
	e := newEnv(t)
	usd, _ := money.LookupCurrency("USD")
	tests := map[string]struct {
		edit  func(p *providers.Payout)
		field string
	}{
		"currency":          {func(p *providers.Payout) { p.Currency = usd }, "currency"},
		"empty key":         {func(p *providers.Payout) { p.Key = "" }, "key"},
		"key with a space":  {func(p *providers.Payout) { p.Key = "a b" }, "key"},
		"rules are applied": {func(p *providers.Payout) { p.Recipient.Account = "12a" }, "recipient.account"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := payout(1)
			tc.edit(&p)
			req, err := e.client.Prepare(p)
			var pe *PayoutError
			if !errors.As(err, &pe) {
				t.Fatalf("got %+v, %v; want a *PayoutError", req, err)
			}
			if len(pe.Errs) != 1 || pe.Errs[0].Field != tc.field {
				t.Errorf("got %v, want one error for %s", pe.Errs, tc.field)
			}
			if !strings.HasPrefix(err.Error(), "payout "+p.Address+": ") {
				t.Errorf("error %q does not name the payout", err)
			}
		})
	}
}

func TestPrepareBody(t *testing.T) {
	e := newEnv(t)
	p := payout(3)
	p.Key = "20261103" // all digits: still a JSON string
	p.Recipient.BankCode, p.Recipient.Account = "ovo", "081234567890"
	req, err := e.client.Prepare(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"bankCode":"ovo","recipientAccount":"081234567890","reference":"20261103","amount":150003,"additionalInfo":{"callback":"` +
		strings.ReplaceAll(e.callbacks.URL, "/", `\/`) + `\/callbacks\/cronos"}}`
	if req.Body != want {
		t.Errorf("got %s, want %s", req.Body, want)
	}
	again, _ := e.client.Prepare(p)
	if again != req {
		t.Errorf("Prepare is not deterministic: %+v then %+v", req, again)
	}
}

func TestOpenRejects(t *testing.T) {
	good := func() providers.Options {
		return providers.Options{
			Name: "idr-main", BaseURL: "https://api.cronosengine.com/api",
			Credentials: map[string]string{"keyEnv": "SECRET-KEY-1", "tokenEnv": "SECRET-TOKEN-1"},
			CallbackURL: "https://payouts.example.com/callbacks/cronos",
		}
	}
	tests := map[string]struct {
		edit func(o *providers.Options)
		want string
	}{
		"no base url":            {func(o *providers.Options) { o.BaseURL = "" }, "baseURL: is empty"},
		"base url not http":      {func(o *providers.Options) { o.BaseURL = "ftp://x" }, "not an http(s) URL"},
		"base url with userinfo": {func(o *providers.Options) { o.BaseURL = "https://u:SECRET-TOKEN-1@x/api" }, "must not carry credentials"},
		"no key":                 {func(o *providers.Options) { delete(o.Credentials, "keyEnv") }, "providers.idr-main.keyEnv is empty"},
		"no token":               {func(o *providers.Options) { o.Credentials["tokenEnv"] = "" }, "providers.idr-main.tokenEnv is empty"},
		"token with space":       {func(o *providers.Options) { o.Credentials["tokenEnv"] = "SECRET-TOKEN-1 " }, "surrounding spaces"},
		"no callback":            {func(o *providers.Options) { o.CallbackURL = "" }, "set providers.idr-main.callbackURL"},
		"relative callback":      {func(o *providers.Options) { o.CallbackURL = "/callbacks" }, "not an absolute http(s) URL"},
		"callback with a space":  {func(o *providers.Options) { o.CallbackURL = "https://x.test/cb " }, "surrounding spaces"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := good()
			tc.edit(&o)
			_, err := Open(o)
			if err == nil {
				t.Fatalf("Open succeeded, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error %q shows a credential", err)
			}
		})
	}
	if _, err := Open(good()); err != nil {
		t.Errorf("Open of a good configuration: %v", err)
	}
}

func TestClientHidesCredentials(t *testing.T) {
	c, err := Open(providers.Options{
		Name: "idr-main", BaseURL: "https://api.cronosengine.com/api",
		Credentials: map[string]string{"keyEnv": "SECRET-KEY-1", "tokenEnv": "SECRET-TOKEN-1"},
		CallbackURL: "https://payouts.example.com/callbacks/cronos",
	})
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("opened", "client", c)
	for _, text := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", c), logged.String()} {
		if strings.Contains(text, "SECRET") {
			t.Errorf("%q shows a credential", text)
		}
		if !strings.Contains(text, "idr-main") {
			t.Errorf("%q does not name the provider", text)
		}
	}
	if got := c.scrub("echo SECRET-TOKEN-1 and SECRET-KEY-1"); got != "echo [redacted] and [redacted]" {
		t.Errorf("scrub gave %q", got)
	}
}
