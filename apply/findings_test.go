package apply

import (
	"reflect"
	"testing"

	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

func amountOf(s string) *money.Amount {
	a := money.MustParse(s)
	return &a
}

// Compare reads the provider's answer against the plan; the cases follow
// Cronos' published example (fee 3000 on 10000, total 13000, "Mr. Gentur")
// and its recorded sandbox answers (fee 3000 on 10500, total 7500).
func TestCompare(t *testing.T) {
	gentur := Expected{Amount: money.MustParse("10000"), Fee: amountOf("3000"), FeePayer: fee.Recipient, Name: "Gentur"}
	sandbox := Expected{Amount: money.MustParse("10500"), Fee: amountOf("3000"), FeePayer: fee.Recipient, Name: "Budi Santoso"}
	sender := gentur
	sender.FeePayer = fee.Sender
	perBatch := gentur
	perBatch.Fee = nil
	answer := func(fee string, kv ...string) providers.Result {
		r := providers.Result{Status: providers.StatusPending, Answer: map[string]string{}}
		if fee != "" {
			r.Fee = amountOf(fee)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			r.Answer[kv[i]] = kv[i+1]
		}
		return r
	}
	for name, c := range map[string]struct {
		x    Expected
		r    providers.Result
		want []state.Finding
	}{
		"published example (customer, amount + fee): the sender bears the fee": {sender, answer("3000", "feePayer", "customer", "totalAmount", "13000", "recipientName", "Mr. Gentur"), nil},
		"sandbox reading (amount - fee): the recipient bears it":               {sandbox, answer("3000", "feePayer", "customer", "totalAmount", "7500", "recipientName", "BAPAK BUDI SANTOSO"), nil},
		"merchant, total = amount + fee":                                       {sender, answer("3000", "feePayer", "merchant", "totalAmount", "13000"), nil},
		"merchant beside amount - fee": {sender, answer("3000", "feePayer", "merchant", "totalAmount", "7000"),
			[]state.Finding{{Kind: state.FindingTotal, Want: "13000 (amount + fee, as feePayer merchant says)", Got: "7000"}}},
		"the provider charges the recipient where the sender pays": {sender, answer("3000", "feePayer", "customer", "totalAmount", "7000"),
			[]state.Finding{{Kind: state.FindingFeePayer, Want: "sender", Got: "recipient (totalAmount 7000 = amount - fee)"}}},
		"the provider charges the sender where the recipient pays": {gentur, answer("3000", "feePayer", "customer", "totalAmount", "13000"),
			[]state.Finding{{Kind: state.FindingFeePayer, Want: "recipient", Got: "sender (totalAmount 13000 = amount + fee)"}}},
		"merchant without a total, where the recipient pays": {gentur, answer("3000", "feePayer", "merchant"),
			[]state.Finding{{Kind: state.FindingFeePayer, Want: "recipient", Got: "sender (feePayer merchant)"}}},
		"customer alone decides nothing": {sender, answer("3000", "feePayer", "customer"), nil},
		"a different fee": {gentur, answer("3500", "feePayer", "customer", "totalAmount", "6500"),
			[]state.Finding{{Kind: state.FindingFee, Want: "3000", Got: "3500"}}},
		"a total that fits neither reading": {gentur, answer("3000", "feePayer", "customer", "totalAmount", "12000"),
			[]state.Finding{{Kind: state.FindingTotal, Want: "13000 (amount + fee) or 7000 (amount - fee)", Got: "12000"}}},
		"an unreadable total": {gentur, answer("3000", "totalAmount", "lots"),
			[]state.Finding{{Kind: state.FindingTotal, Want: "13000 (amount + fee) or 7000 (amount - fee)", Got: "lots"}}},
		"a total checked with the planned fee when none is returned": {gentur, answer("", "totalAmount", "7000"), nil},
		"no fee at all: the total is not checked":                    {perBatch, answer("", "totalAmount", "1"), nil},
		"per-batch schedule: the payout's fee is not compared":       {perBatch, answer("3000", "totalAmount", "7000"), nil},
		"a different name": {gentur, answer("3000", "recipientName", "Mr. Guntur"),
			[]state.Finding{{Kind: state.FindingName, Want: "Gentur", Got: "Mr. Guntur"}}},
		"no name yet":        {gentur, answer("3000", "recipientName", ""), nil},
		"nothing to compare": {gentur, answer(""), nil},
		"everything differs": {sender, answer("2500", "feePayer", "customer", "totalAmount", "1", "recipientName", "Someone Else"), []state.Finding{
			{Kind: state.FindingFee, Want: "3000", Got: "2500"},
			{Kind: state.FindingTotal, Want: "12500 (amount + fee) or 7500 (amount - fee)", Got: "1"},
			{Kind: state.FindingName, Want: "Gentur", Got: "Someone Else"},
		}},
	} {
		t.Run(name, func(t *testing.T) {
			if got := Compare(c.x, c.r); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// Only an answer that accepted or paid the payout is compared.
func TestFindingsOnlyForAcceptedAnswers(t *testing.T) {
	x := Expected{Amount: money.MustParse("10000"), Fee: amountOf("3000"), FeePayer: fee.Sender, Name: "Ann"}
	for _, st := range []providers.Status{providers.StatusFailed, providers.StatusUnknown, providers.StatusNotSent} {
		r := providers.Result{Status: st, Fee: amountOf("1"), Answer: map[string]string{"recipientName": "Bo"}}
		if got := findingsOf(x, r); got != nil {
			t.Errorf("%s: got %v, want none", st, got)
		}
	}
}
