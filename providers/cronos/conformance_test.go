package cronos

import (
	"testing"
	"time"

	"github.com/payctl/payctl/providers/cronos/emulator"
	"github.com/payctl/payctl/providers/cronos/internal/wire"
	"github.com/payctl/payctl/providers/providertest"
)

func TestConformance(t *testing.T) {
	providertest.Run(t, func(t *testing.T) *providertest.Harness {
		e := newEnv(t, withTimeout(300*time.Millisecond))
		return &providertest.Harness{
			Provider: e.client,
			Payout:   payout,
			Now:      e.clock.Now,
			Advance:  e.clock.Advance,
			Settle:   time.Minute,
			Paid: func() map[string]int {
				byKey := map[string]string{}
				for i := range 10 {
					byKey[payout(i).Key] = payout(i).Address
				}
				paid := map[string]int{}
				for _, d := range e.em.Ledger() {
					// Every entry counts, failed ones included: two
					// disbursements for one payout are a defect either way.
					if addr, ok := byKey[d.MerchantRef]; ok {
						paid[addr]++
					}
				}
				return paid
			},
			Fault:   func(name string) { e.em.InjectNext(emulator.Fault(name), 1) },
			Lookup:  true,
			Secrets: []string{wire.DemoKey, wire.DemoToken},
		}
	})
}
