package dinardragon

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/payctl/payctl/providers"
)

// maxAccountDigits bounds an account number. The API's "acc" is a JSON
// integer, and nothing documents how the provider reads it. A server that
// parses JSON numbers as doubles (JavaScript, PHP's json_decode past
// PHP_INT_MAX, many others) keeps every integer of up to 15 digits exactly,
// but not every 16-digit one (2^53 is 9007199254740992): the payout would
// silently go to a different account. Allowing int64's 18 digits would be
// correct only under the friendliest reading; 15 is correct under all of
// them, so a longer number is refused at validation instead.
const maxAccountDigits = 15

// rules are Dinar Dragon's requirements on a payout.
type rules struct{}

// Rules checks payouts for Dinar Dragon; it is also Type.Rules.
var Rules providers.Rules = rules{}

func (rules) Currency() string { return "USD" }

// CheckPayout returns every rule p violates, with messages that say what
// to do. It is also run by Quote, so a payout that skipped validation is
// still never sent.
func (rules) CheckPayout(p providers.Payout) []providers.FieldError {
	var errs []providers.FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, providers.FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}

	switch {
	case p.Amount.Sign() <= 0:
		add("amount", "amount %s must be more than zero", p.Amount.String())
	case p.Amount.Places() > 2:
		add("amount", "amount %s has %d decimal places; USD amounts have at most 2 (cents)", p.Amount.String(), p.Amount.Places())
	}

	r := p.Recipient
	checkText(add, "recipient.name", r.Name, "the recipient's name as their bank knows it")
	checkText(add, "recipient.bank", r.Bank, "the name of the recipient's bank (Dinar Dragon takes a bank name, not a code)")
	if r.BankCode != "" {
		add("recipient.bankCode", "bankCode is not used by Dinar Dragon, which takes the bank's name; remove bankCode and set recipient.bank")
	}
	checkCountry(add, r.Country)
	checkAccount(add, r.Account)
	return errs
}

// checkText requires a non-empty value without surrounding spaces or
// control characters: the provider compares names as sent, and a name
// that looks right in a review but carries a stray space is not the name.
func checkText(add func(string, string, ...any), field, v, what string) {
	switch {
	case v == "":
		add(field, "%s is required: %s", field, what)
	case !utf8.ValidString(v):
		add(field, "%s is not valid UTF-8", field)
	case strings.TrimSpace(v) != v:
		add(field, "%s %q has leading or trailing spaces; remove them", field, v)
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		add(field, "%s %q contains a control character; remove it", field, v)
	}
}

func checkCountry(add func(string, string, ...any), c string) {
	const field = "recipient.country"
	switch {
	case c == "":
		add(field, "recipient.country is required: the two-letter ISO 3166-1 code of the recipient's bank, such as \"US\"")
	case countries[c]:
	case countries[strings.ToUpper(c)]:
		add(field, "country %q must be upper case: write %q", c, strings.ToUpper(c))
	case countryHints[strings.ToUpper(c)] != "":
		add(field, "country %q is not an ISO 3166-1 alpha-2 code; the code for it is %q", c, countryHints[strings.ToUpper(c)])
	default:
		add(field, "country %q is not an assigned ISO 3166-1 alpha-2 code; use the two-letter code of the recipient's bank's country, such as \"US\"", clip(c))
	}
}

func checkAccount(add func(string, string, ...any), acc string) {
	const field = "recipient.account"
	switch {
	case acc == "":
		add(field, "recipient.account is required: the recipient's account number, digits only")
	case strings.IndexFunc(acc, func(r rune) bool { return r < '0' || r > '9' }) >= 0:
		add(field, "account %q contains characters other than digits, which Dinar Dragon's integer account field cannot carry; check the account number with the recipient", clip(acc))
	case acc[0] == '0':
		add(field, "account %s has a leading zero, which Dinar Dragon's integer account field cannot carry; check the account number with the recipient", acc)
	case len(acc) > maxAccountDigits:
		add(field, "account %s has %d digits; Dinar Dragon's integer account field carries at most %d without risk of rounding; check the account number with the recipient", acc, len(acc), maxAccountDigits)
	}
}
