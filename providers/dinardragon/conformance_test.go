package dinardragon

import (
	"fmt"
	"testing"
	"time"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/dinardragon/emulator"
	"github.com/payctl/payctl/providers/providertest"
)

// conformancePayout is the i-th payout of the suite: its own account (so
// the ledger, which knows accounts and not addresses, can be counted per
// payout), never ending in the emulator's failure marker.
func conformancePayout(i int) providers.Payout {
	return payout(fmt.Sprintf("p%d", i), fmt.Sprintf("%d.25", 10+i), fmt.Sprintf("%d", 700000100+i), "US")
}

func TestConformance(t *testing.T) {
	providertest.Run(t, func(t *testing.T) *providertest.Harness {
		e := newEnv(t, withTimeout(300*time.Millisecond))
		return &providertest.Harness{
			Provider: e.client,
			Payout:   conformancePayout,
			Now:      e.clock.Now,
			Advance:  e.clock.Advance,
			Settle:   emulator.DefaultSettleDelay,
			Paid: func() map[string]int {
				byAccount := map[string]string{}
				for i := range 10 {
					p := conformancePayout(i)
					byAccount[p.Recipient.Account] = p.Address
				}
				paid := map[string]int{}
				for _, pay := range e.em.Ledger() {
					for _, a := range pay.Accounts {
						if addr, ok := byAccount[a.Acc]; ok {
							paid[addr]++
						}
					}
				}
				return paid
			},
			// The commit faults default to /execute, the request that
			// moves money.
			Fault: func(name string) {
				if err := e.em.Inject(name, 1); err != nil {
					t.Fatal(err)
				}
			},
			// No lookup by authcode exists: an attempt without ids stays
			// unknown.
			Lookup:  false,
			Secrets: []string{emulator.PrivateKey},
		}
	})
}
