package emulator

import (
	"fmt"
	"slices"
	"strconv"
)

// Amend changes one field of a disbursement in the ledger, as if Cronos'
// records had changed behind payctl's back (a bank correcting an amount,
// a payout returned): reconciliation tests use it. field is amount (whole
// IDR), status (pending, success, failed, expired) or account. No
// callback is sent. id is the disbursement's id or its merchantRef.
func (e *Emulator) Amend(id, field, value string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.progressLocked()
	d, ok := e.byID[id]
	if !ok {
		d, ok = e.byRef[id]
	}
	if !ok {
		return fmt.Errorf("cronos emulator: no disbursement %q", id)
	}
	switch field {
	case "amount":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("cronos emulator: amount %q: write a whole number of IDR above 0", value)
		}
		d.TotalAmount += n - d.Amount
		d.Amount = n
	case "status":
		if !slices.Contains(statuses, value) {
			return fmt.Errorf("cronos emulator: status %q: write one of pending, success, failed, expired", value)
		}
		d.Status = value
	case "account":
		if value == "" {
			return fmt.Errorf("cronos emulator: account: write the new account number")
		}
		d.RecipientAccount = value
	default:
		return fmt.Errorf("cronos emulator: cannot amend %q: amend amount, status or account", field)
	}
	seq, err := e.logLocked(d)
	if err != nil {
		return err
	}
	if e.journal != nil {
		return e.journal.Sync(seq)
	}
	return nil
}
