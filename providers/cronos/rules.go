package cronos

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// Rules are Cronos's requirements on a payout, checked at validation.
//
// Besides what Cronos needs, they reject values a PHP re-encode of the body
// would change (empty strings, surrounding spaces, invalid UTF-8): a server
// that re-encodes before checking the signature would otherwise reject the
// request, or sign something other than what was reviewed.
type Rules struct{}

var _ providers.Rules = Rules{}

// Currency is IDR: Cronos pays whole rupiah.
func (Rules) Currency() string { return "IDR" }

// maxAmount is the largest amount sent. Cronos's maximum is not published;
// 2^53-1 is the largest integer every JSON reader (PHP's included, should
// it ever read through a float) keeps exact. Policy limits are far lower.
const maxAmount = 1<<53 - 1

// maxAccount bounds an account number's digits; no bank or phone number is
// longer (IBANs, the longest account format, have at most 34 characters).
const maxAccount = 34

// CheckPayout returns every rule p violates.
func (Rules) CheckPayout(p providers.Payout) []providers.FieldError {
	var errs []providers.FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, providers.FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	// Cronos's minimum amount is not published (clients seen in the wild
	// enforce 1000 or 10000 IDR themselves); payctl only requires 1, and
	// Cronos rejects what it does not accept, which fails the attempt
	// without paying.
	switch a := p.Amount; {
	case a.Round(0, money.HalfEven).Cmp(a) != 0:
		add("amount", "amount %s has a fraction, but Cronos pays whole rupiah: write a whole number such as \"150000\"", a)
	case a.Sign() <= 0:
		add("amount", "amount %s is below the minimum of 1 IDR", a)
	case a.Cmp(money.FromInt64(maxAmount)) > 0:
		add("amount", "amount %s is larger than payctl can send to Cronos (%d IDR); split the payment", a, int64(maxAmount))
	}

	code := p.Recipient.BankCode
	if msg := textProblem("recipient.bankCode", code, "the bank's three-digit code such as \"014\" (BCA) or an e-wallet channel such as \"ovo\""); msg != "" {
		add("recipient.bankCode", "%s", msg)
	} else if !isBankCode(code) {
		add("recipient.bankCode", "recipient.bankCode %q is neither a three-digit bank code such as \"014\" (BCA) nor a lower-case e-wallet channel such as \"ovo\"", code)
	}

	acct := p.Recipient.Account
	if msg := textProblem("recipient.account", acct, "the account number, or for an e-wallet the phone number, as digits"); msg != "" {
		add("recipient.account", "%s", msg)
	} else if !allDigits(acct) || len(acct) > maxAccount {
		add("recipient.account", "recipient.account %q must be at most %d digits and nothing else (a bank account number, or for an e-wallet the phone number such as \"081234567890\"); remove spaces, dashes and a leading +", acct, maxAccount)
	}
	return errs
}

// textProblem describes why a required text field is missing or would not
// survive a PHP decode and re-encode unchanged, or returns "".
func textProblem(field, s, need string) string {
	switch {
	case s == "":
		return fmt.Sprintf("%s is required by Cronos: %s", field, need)
	case !utf8.ValidString(s):
		return fmt.Sprintf("%s is not valid UTF-8; retype it", field)
	case strings.TrimSpace(s) != s:
		return fmt.Sprintf("%s %q has leading or trailing spaces, which Cronos's signature check does not keep; remove them", field, s)
	}
	return ""
}

// isBankCode accepts a three-digit bank code or an e-wallet channel name:
// lower-case letters and digits, starting with a letter. The full list is
// not public, so the form is checked, not membership.
func isBankCode(s string) bool {
	if len(s) == 3 && allDigits(s) {
		return true
	}
	if len(s) < 2 || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
