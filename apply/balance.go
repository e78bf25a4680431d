package apply

import (
	"context"
	"errors"
	"fmt"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/plan"
)

// ErrBalance marks a run refused before anything was sent because a
// provider's balance does not cover what the plan charges it, or could
// not be read.
var ErrBalance = errors.New("balance does not cover the plan")

// BalanceError is a provider whose balance refused a run.
type BalanceError struct {
	Check *plan.BalanceCheck
}

func (e *BalanceError) Error() string {
	c := e.Check
	cur := money.CurrencyOf(c.Currency)
	if c.Short != nil {
		return fmt.Sprintf("provider %s: the available balance of %s %s is short of the %s %s this plan charges it, by %s %s; nothing was sent",
			c.Provider, c.Available.Format(cur), c.Currency, c.Needed.Format(cur), c.Currency, c.Short.Format(cur), c.Currency)
	}
	return fmt.Sprintf("provider %s: its balance could not be read (%v), so payctl cannot tell whether it covers the %s %s this plan charges it; nothing was sent",
		c.Provider, c.Err, c.Needed.Format(cur), c.Currency)
}

func (e *BalanceError) Unwrap() error { return ErrBalance }

// CheckBalances reads the balance of every provider the plan charges that
// publishes one (providers.BalanceReader) and refuses, with a
// *BalanceError per provider, when a balance is below what the plan
// charges it or cannot be read. A run that would stop half way for lack
// of funds leaves a batch half paid; refusing before the first payout
// leaves it whole. Providers without a balance endpoint (Dinar Dragon)
// are not checked, and providers that cannot be opened are left to Run
// to report. With Engine.IgnoreBalance it checks nothing.
func (e *Engine) CheckBalances(ctx context.Context, p *plan.Plan) error {
	if e.IgnoreBalance {
		return nil
	}
	var errs []error
	for _, c := range plan.Balances(ctx, p, e.provider) {
		switch {
		case c.Short != nil:
			errs = append(errs, &BalanceError{Check: c})
		case c.Err != nil && c.Available == nil && e.opens(c.Provider):
			errs = append(errs, &BalanceError{Check: c})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	e.mu.Lock()
	e.balanceChecked = p
	e.mu.Unlock()
	return nil
}

// opens reports whether a provider was opened (its open error, if any, is
// Run's to report).
func (e *Engine) opens(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.opened[name]
	return ok
}
