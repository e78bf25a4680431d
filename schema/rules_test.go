package schema_test

import (
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// digitRules is a small stand-in for a provider type's Rules: a currency,
// a three-digit bank code and a 10 to 16 digit account.
type digitRules struct{ currency string }

func (r digitRules) Currency() string { return r.currency }

func (r digitRules) CheckPayout(p providers.Payout) []providers.FieldError {
	var fe []providers.FieldError
	if len(p.Recipient.BankCode) != 3 || !digits(p.Recipient.BankCode) {
		fe = append(fe, providers.FieldError{Field: "recipient.bankCode", Msg: "recipient.bankCode must be a three-digit bank code such as \"014\""})
	}
	if n := len(p.Recipient.Account); n < 10 || n > 16 || !digits(p.Recipient.Account) {
		fe = append(fe, providers.FieldError{Field: "recipient.account", Msg: "must be 10 to 16 digits"})
	}
	if p.Amount.Cmp(minAmount) < 0 {
		fe = append(fe, providers.FieldError{Field: "amount", Msg: "amount must be at least 10000 IDR"})
	}
	return fe
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

var minAmount = money.MustParse("10000")
