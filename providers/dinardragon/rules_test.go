package dinardragon

import (
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

func TestRules(t *testing.T) {
	if got := Rules.Currency(); got != "USD" {
		t.Errorf("currency: got %s, want USD", got)
	}
	for _, tc := range []struct {
		name  string
		edit  func(p *providers.Payout)
		field string // "" for a valid payout
		msg   string
	}{
		{name: "valid", edit: func(*providers.Payout) {}},
		{name: "15 digits", edit: func(p *providers.Payout) { p.Recipient.Account = "999999999999999" }},
		{name: "cents", edit: func(p *providers.Payout) { p.Amount = money.MustParse("0.01") }},
		{name: "zero", edit: func(p *providers.Payout) { p.Amount = money.MustParse("0.00") }, field: "amount", msg: "more than zero"},
		{name: "mills", edit: func(p *providers.Payout) { p.Amount = money.MustParse("1.005") }, field: "amount", msg: "at most 2"},
		{name: "no bank", edit: func(p *providers.Payout) { p.Recipient.Bank = "" }, field: "recipient.bank", msg: "bank name"},
		{name: "bank spaces", edit: func(p *providers.Payout) { p.Recipient.Bank = "Chase " }, field: "recipient.bank", msg: "trailing spaces"},
		{name: "bank code", edit: func(p *providers.Payout) { p.Recipient.BankCode = "014" }, field: "recipient.bankCode", msg: "set recipient.bank"},
		{name: "no name", edit: func(p *providers.Payout) { p.Recipient.Name = "" }, field: "recipient.name", msg: "required"},
		{name: "name spaces", edit: func(p *providers.Payout) { p.Recipient.Name = " Ann" }, field: "recipient.name", msg: "leading or trailing spaces"},
		{name: "name control", edit: func(p *providers.Payout) { p.Recipient.Name = "Ann\tLee" }, field: "recipient.name", msg: "control character"},
		{name: "name invalid utf-8", edit: func(p *providers.Payout) { p.Recipient.Name = "Ann\xff" }, field: "recipient.name", msg: "UTF-8"},
		{name: "no country", edit: func(p *providers.Payout) { p.Recipient.Country = "" }, field: "recipient.country", msg: "required"},
		{name: "lower country", edit: func(p *providers.Payout) { p.Recipient.Country = "us" }, field: "recipient.country", msg: `write "US"`},
		{name: "UK", edit: func(p *providers.Payout) { p.Recipient.Country = "UK" }, field: "recipient.country", msg: `"GB"`},
		{name: "unassigned", edit: func(p *providers.Payout) { p.Recipient.Country = "XX" }, field: "recipient.country", msg: "not an assigned ISO 3166-1 alpha-2 code"},
		{name: "alpha-3", edit: func(p *providers.Payout) { p.Recipient.Country = "USA" }, field: "recipient.country", msg: "not an assigned"},
		{name: "no account", edit: func(p *providers.Payout) { p.Recipient.Account = "" }, field: "recipient.account", msg: "required"},
		{name: "leading zero", edit: func(p *providers.Payout) { p.Recipient.Account = "0123" }, field: "recipient.account",
			msg: "account 0123 has a leading zero, which Dinar Dragon's integer account field cannot carry; check the account number with the recipient"},
		{name: "letters", edit: func(p *providers.Payout) { p.Recipient.Account = "GB29NWBK" }, field: "recipient.account", msg: "other than digits"},
		{name: "spaces in account", edit: func(p *providers.Payout) { p.Recipient.Account = "123 456" }, field: "recipient.account", msg: "other than digits"},
		{name: "16 digits", edit: func(p *providers.Payout) { p.Recipient.Account = "9007199254740993" }, field: "recipient.account", msg: "at most 15"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := payout("x", "12.50", "123456789", "US")
			tc.edit(&p)
			errs := Rules.CheckPayout(p)
			if tc.field == "" {
				if len(errs) != 0 {
					t.Fatalf("got %v, want no errors", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != tc.field || !strings.Contains(errs[0].Msg, tc.msg) {
				t.Fatalf("got %v, want one error on %s with %q", errs, tc.field, tc.msg)
			}
			if strings.HasSuffix(errs[0].Msg, ".") || errs[0].Msg[0] < 'a' || errs[0].Msg[0] > 'z' {
				t.Errorf("message %q is not lower case without a trailing period", errs[0].Msg)
			}
		})
	}
}

func TestRulesReportsEveryField(t *testing.T) {
	errs := Rules.CheckPayout(providers.Payout{Address: "b/x", Amount: money.MustParse("0")})
	got := map[string]bool{}
	for _, e := range errs {
		got[e.Field] = true
	}
	for _, f := range []string{"amount", "recipient.name", "recipient.bank", "recipient.country", "recipient.account"} {
		if !got[f] {
			t.Errorf("no error for %s in %v", f, errs)
		}
	}
}

func TestCountries(t *testing.T) {
	if n := len(countries); n != 249 {
		t.Errorf("got %d assigned codes, want 249", n)
	}
	for _, c := range []string{"US", "SA", "GB", "ID", "AX", "SS", "BQ"} {
		if !countries[c] {
			t.Errorf("%s is missing", c)
		}
	}
	for _, c := range []string{"UK", "EU", "XK", "SU", "YU", "AN"} {
		if countries[c] {
			t.Errorf("%s is not an officially assigned code", c)
		}
	}
}
