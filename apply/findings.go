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
	providerCustomer = "customer"
	providerMerchant = "merchant"
)

// Compare returns where a provider's answer differs from the plan. It
// compares only what the provider returned; an answer without a fee, a
// payer, a total or a name has nothing to differ. A finding never changes
// what the answer means for the money: the caller records it next to the
// status the provider gave.
//
// Who bears the fee is read from the money, not from the label. Cronos'
// published documents and its sandbox disagree on the label:
//
//   - The published example answers feePayer "customer", fee 3000 on
//     amount 10000, and totalAmount 13000: amount + fee. The recipient
//     receives the amount and the balance is charged the fee on top: the
//     sender bears it, whatever the label says.
//   - Recorded sandbox answers give fee 3000 on amount 10500 and
//     totalAmount 7500: amount - fee, what a recipient who bears the fee
//     receives.
//
// So a total of amount + fee says the sender bears the fee (payctl's
// "sender"), amount - fee says the recipient does ("recipient"), and that
// is compared with payctl.yaml's payer. Without a total (or with a zero
// fee) only "merchant" decides anything (the sender, in both readings);
// "customer" alone is recorded and not compared. A total that is neither is
// a finding, as is "merchant" beside a total of amount - fee. The fee used
// is the provider's own when it returned one, else the planned fee.
func Compare(x Expected, r providers.Result) []state.Finding {
	var out []state.Finding
	if x.Fee != nil && r.Fee != nil && !r.Fee.Equal(*x.Fee) {
		out = append(out, state.Finding{Kind: state.FindingFee, Want: x.Fee.String(), Got: r.Fee.String()})
	}
	label := r.Answer[providers.AnswerFeePayer]
	bears, evidence, total := feeBearer(x, r, label)
	if bears != "" && x.FeePayer != "" && bears != x.FeePayer {
		out = append(out, state.Finding{Kind: state.FindingFeePayer, Want: string(x.FeePayer), Got: string(bears) + " (" + evidence + ")"})
	}
	if total != nil {
		out = append(out, *total)
	}
	if got := r.Answer[providers.AnswerBankName]; got != "" && !names.Same(x.Name, got) {
		out = append(out, state.Finding{Kind: state.FindingName, Want: x.Name, Got: got})
	}
	return out
}

// feeBearer reads who bears the fee from the answer (see Compare), with the
// evidence in words, and a finding for a total that fits no reading.
func feeBearer(x Expected, r providers.Result, label string) (fee.Payer, string, *state.Finding) {
	var bears fee.Payer
	var evidence string
	if label == providerMerchant {
		bears, evidence = fee.Sender, "feePayer merchant"
	}
	v, ok := r.Answer[providers.AnswerTotal]
	if !ok || v == "" {
		return bears, evidence, nil
	}
	var fa *money.Amount
	switch {
	case r.Fee != nil:
		fa = r.Fee
	case x.Fee != nil:
		fa = x.Fee
	default:
		return bears, evidence, nil
	}
	plus, minus := x.Amount.Add(*fa), x.Amount.Sub(*fa)
	got, err := money.Parse(v)
	switch {
	case err == nil && fa.IsZero() && got.Equal(plus):
		return bears, evidence, nil
	case err == nil && got.Equal(plus):
		return fee.Sender, "totalAmount " + v + " = amount + fee", nil
	case err == nil && got.Equal(minus) && label != providerMerchant:
		return fee.Recipient, "totalAmount " + v + " = amount - fee", nil
	case err == nil && got.Equal(minus):
		return bears, evidence, &state.Finding{Kind: state.FindingTotal, Want: plus.String() + " (amount + fee, as feePayer merchant says)", Got: v}
	}
	return bears, evidence, &state.Finding{Kind: state.FindingTotal, Want: plus.String() + " (amount + fee) or " + minus.String() + " (amount - fee)", Got: v}
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
