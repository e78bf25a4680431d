package apply

import (
	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/internal/names"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// Expected is what the plan said about an attempt: what a provider's
// answer is compared with.
type Expected struct {
	Amount money.Amount
	// Fee is the fee planned for this payout; nil when the schedule
	// charges per batch or provider payout (the group's fee is compared
	// where the group is).
	Fee      *money.Amount
	FeePayer fee.Payer
	// Name is the manifest's recipient name.
	Name string
}

// The values of Cronos' feePayer, a project setting the provider reports
// on every answer (it is not a request field).
const (
	// providerCustomer: the recipient bears the fee (payctl's "recipient").
	providerCustomer = "customer"
	// providerMerchant: the sender bears the fee (payctl's "sender").
	providerMerchant = "merchant"
)

// providerPayer is the provider's word for who bears a fee.
func providerPayer(p fee.Payer) string {
	if p == fee.Recipient {
		return providerCustomer
	}
	return providerMerchant
}

// Compare returns where a provider's answer differs from the plan. It
// compares only what the provider returned; an answer without a fee, a
// payer, a total or a name has nothing to differ. A finding never changes
// what the answer means for the money: the caller records it next to the
// status the provider gave.
//
// The total (Cronos' totalAmount) is read as the provider's published
// documents and its sandbox disagree:
//
//   - The published example answers feePayer "customer", fee 3000 on
//     amount 10000, and totalAmount 13000: amount + fee.
//   - Recorded sandbox answers give fee 3000 on amount 10500 and
//     totalAmount 7500: amount - fee, what a recipient who bears the fee
//     receives.
//
// payctl does not decide who bears the fee from the total: feePayer says
// that, and is compared with the configured payer. The total is checked
// for consistency only. With "customer" both readings are accepted, since
// the provider itself shows both. With "merchant" (the sender bears it)
// only amount + fee is: amount - fee would mean the recipient received
// less than the plan pays. Any other total is a finding. The fee used is
// the provider's own when it returned one, else the planned fee; with
// neither, the total is not checked.
func Compare(x Expected, r providers.Result) []state.Finding {
	var out []state.Finding
	if x.Fee != nil && r.Fee != nil && !r.Fee.Equal(*x.Fee) {
		out = append(out, state.Finding{Kind: state.FindingFee, Want: x.Fee.String(), Got: r.Fee.String()})
	}
	payer := r.Answer[providers.AnswerFeePayer]
	if payer != "" && x.FeePayer != "" && payer != providerPayer(x.FeePayer) {
		out = append(out, state.Finding{Kind: state.FindingFeePayer, Want: providerPayer(x.FeePayer), Got: payer})
	}
	if f := totalFinding(x, r, payer); f != nil {
		out = append(out, *f)
	}
	if got := r.Answer[providers.AnswerBankName]; got != "" && !names.Same(x.Name, got) {
		out = append(out, state.Finding{Kind: state.FindingName, Want: x.Name, Got: got})
	}
	return out
}

func totalFinding(x Expected, r providers.Result, payer string) *state.Finding {
	v, ok := r.Answer[providers.AnswerTotal]
	if !ok || v == "" {
		return nil
	}
	var fa *money.Amount
	switch {
	case r.Fee != nil:
		fa = r.Fee
	case x.Fee != nil:
		fa = x.Fee
	default:
		return nil
	}
	plus, minus := x.Amount.Add(*fa), x.Amount.Sub(*fa)
	want := plus.String() + " (amount + fee) or " + minus.String() + " (amount - fee)"
	if payer == providerMerchant {
		want = plus.String() + " (amount + fee, the sender bears the fee)"
	}
	got, err := money.Parse(v)
	switch {
	case err != nil:
	case got.Equal(plus):
		return nil
	case got.Equal(minus) && payer != providerMerchant:
		return nil
	}
	return &state.Finding{Kind: state.FindingTotal, Want: want, Got: v}
}

// expectedOf is what the state says the plan expected of a payout.
func expectedOf(p *state.Payout) Expected {
	return Expected{Amount: p.Amount, Fee: p.PlannedFee, FeePayer: p.FeePayer, Name: p.Recipient.Name}
}

// findingsOf compares an answer that accepted or paid the payout; other
// answers (failed, unknown) say nothing about the money to compare.
func findingsOf(x Expected, r providers.Result) []state.Finding {
	if r.Status != providers.StatusPending && r.Status != providers.StatusPaid {
		return nil
	}
	return Compare(x, r)
}
