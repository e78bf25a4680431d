package main

import (
	"testing"

	"github.com/payctl/payctl/internal/audit"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/fake"
	fakeemu "github.com/payctl/payctl/providers/fake/emulator"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
)

// checkLedger proves exactly-once against the provider's own books, which
// the fake keeps without deduplicating: every address in want paid once,
// nothing else paid, and the state records exactly the provider's
// payment (its id and idempotency key) for each. Every test that kills
// payctl ends here, so that all of them count duplicates and lost records
// the same way.
func checkLedger(t testing.TB, snap *state.Snapshot, ledger *fakeemu.Ledger, want []string) (duplicates, lost int) {
	t.Helper()
	paid := map[string][]fake.Payment{}
	for _, p := range ledger.Payments() {
		if p.Status != "failed" {
			paid[p.Address] = append(paid[p.Address], p)
		}
	}
	for addr, ps := range paid {
		if len(ps) > 1 {
			duplicates += len(ps) - 1
			t.Errorf("%s paid %d times", addr, len(ps))
		}
	}
	wanted := make(map[string]bool, len(want))
	for _, addr := range want {
		wanted[addr] = true
		ps := paid[addr]
		if len(ps) == 0 {
			lost++
			t.Errorf("%s never paid", addr)
			continue
		}
		sp := snap.Payouts[addr]
		if sp == nil || sp.Status != providers.StatusPaid || sp.Latest().IDs.Get("id") != ps[0].ID || sp.Latest().Key != ps[0].Reference {
			lost++
			t.Errorf("%s: provider paid %s (%s) but the state says %+v", addr, ps[0].ID, ps[0].Reference, sp)
		}
	}
	for addr := range paid {
		if !wanted[addr] {
			t.Errorf("%s was paid and is in no payout that may be paid", addr)
		}
	}
	return duplicates, lost
}

// openLocal is the snapshot of a local state file, read as payctl would,
// after `payctl state verify`'s checks pass on it: every state a real
// apply writes, whatever killed it on the way, verifies.
func openLocal(t testing.TB, path string) *state.Snapshot {
	t.Helper()
	rep, err := audit.Verify(t.Context(), localstate.New(path, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Errorf("state verify: %s", p)
	}
	st, err := state.Open(t.Context(), localstate.New(path, nil, nil), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st.Snapshot()
}
