package emulator

import (
	"fmt"
	"strconv"

	"github.com/payctl/payctl/internal/money"
)

// Amend changes one field of a payment (an account of a provider payout,
// by uniqueid) in the ledger, as if Dinar Dragon's records had changed
// behind payctl's back: reconciliation tests use it. field is status (0
// processing, 1 successful, 2 failed and refunded) or amount (USD; /status
// does not show it, so only the ledger tells). id is the payment's
// uniqueid, or an account number: the latest payment to that account.
func (e *Emulator) Amend(id, field, value string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settleDue()
	for i := len(e.led.Payments) - 1; i >= 0; i-- {
		p := &e.led.Payments[i]
		for j := range p.Accounts {
			a := &p.Accounts[j]
			if a.UniqueID != id && a.Acc != id {
				continue
			}
			switch field {
			case "status":
				n, err := strconv.Atoi(value)
				if err != nil || n < statusProcessing || n > statusFailedRefunded {
					return fmt.Errorf("dinar dragon emulator: status %q: write 0 (processing), 1 (successful) or 2 (failed and refunded)", value)
				}
				a.Status = n
			case "amount":
				if _, err := money.Parse(value); err != nil {
					return fmt.Errorf("dinar dragon emulator: amount %q: %v", value, err)
				}
				a.Amount = value
			default:
				return fmt.Errorf("dinar dragon emulator: cannot amend %q: amend status or amount", field)
			}
			seq, err := e.record(change{Payment: p})
			if err != nil {
				return err
			}
			if e.journal != nil {
				return e.journal.Sync(seq)
			}
			return nil
		}
	}
	return fmt.Errorf("dinar dragon emulator: no payment with uniqueid or account %q", id)
}
