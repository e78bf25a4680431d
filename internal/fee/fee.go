// Package fee computes the fees a provider's schedule says a payout or a
// batch costs, exactly and with the schedule's explicit rounding.
//
// A fee is percent × base + fixed, rounded once to the schedule's places with
// its rounding mode, then held between min and max. Rounding happens exactly
// once so that per-payout and per-batch schedules give results people can
// recompute by hand.
package fee

import (
	"fmt"

	"github.com/payctl/payctl/internal/money"
)

// Payer says who bears a fee.
type Payer string

// The two parties that can bear a fee.
const (
	// Sender: the fee is charged to the provider balance on top of the
	// amount; the recipient receives the full amount.
	Sender Payer = "sender"
	// Recipient: the fee is taken from the amount; the recipient receives
	// amount minus fee.
	Recipient Payer = "recipient"
)

// Basis says what a fee is computed on.
type Basis string

// The two bases a schedule may use.
const (
	PerPayout Basis = "payout" // each payout is charged on its own amount
	PerBatch  Basis = "batch"  // one fee on the total of the payouts sent together
)

// Schedule is a provider's fee schedule. Nil parts are absent.
type Schedule struct {
	Percent  *money.Amount // e.g. 2.5 for 2.5 %
	Fixed    *money.Amount
	Min      *money.Amount
	Max      *money.Amount
	Payer    Payer
	Basis    Basis
	Rounding money.Rounding
	// Places the fee is rounded to. Usually the currency's scale; a
	// provider that charges in fractions of the minor unit (Dinar Dragon
	// quotes 4.875 USD) has more.
	Places int32
}

// Compute returns the fee on base. It never returns a negative fee.
func (s Schedule) Compute(base money.Amount) money.Amount {
	raw := money.FromInt64(0)
	if s.Percent != nil {
		raw = base.Mul(*s.Percent)
		raw = divideBy100(raw)
	}
	if s.Fixed != nil {
		raw = raw.Add(*s.Fixed)
	}
	f := raw.Round(s.Places, s.Rounding)
	if s.Min != nil && f.Cmp(*s.Min) < 0 {
		f = s.Min.Round(s.Places, s.Rounding)
	}
	if s.Max != nil && f.Cmp(*s.Max) > 0 {
		f = s.Max.Round(s.Places, s.Rounding)
	}
	return f
}

// divideBy100 is exact: it only moves the decimal point.
func divideBy100(a money.Amount) money.Amount {
	d := a.Decimal()
	d.Exponent -= 2
	return money.FromDecimal(d)
}

// Describe is a short human description, e.g. "2.5% half-even to 3 places".
func (s Schedule) Describe(c money.Currency) string {
	var out string
	if s.Percent != nil {
		out = s.Percent.String() + "%"
	}
	if s.Fixed != nil {
		if out != "" {
			out += " + "
		}
		out += s.Fixed.Format(c) + " " + c.Code
	}
	if out == "" {
		out = "no fee"
	}
	if s.Min != nil {
		out += fmt.Sprintf(", min %s", s.Min.Format(c))
	}
	if s.Max != nil {
		out += fmt.Sprintf(", max %s", s.Max.Format(c))
	}
	if s.Basis == PerBatch {
		out += " per batch"
	} else {
		out += " per payout"
	}
	if s.Percent != nil {
		out += fmt.Sprintf(", %s to %d places", s.Rounding, s.Places)
	}
	return out + ", paid by " + string(s.Payer)
}
