package state

import (
	"testing"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

func TestAllocationFreeChecksAgree(t *testing.T) {
	for _, c := range []struct {
		prov, addr string
		n          int
	}{{"idr-main", "b/a", 1}, {"usd", "contractors-2026-11/alice", 12}, {"x", "y/z", 1000}} {
		k := Key(c.prov, c.addr, c.n)
		if !isKey(k, c.prov, c.addr, c.n) || isKey(k, c.prov, c.addr, c.n+1) {
			t.Errorf("isKey disagrees with Key for %+v", c)
		}
	}
	d := Details{Provider: "p", Currency: "USD", Amount: money.MustParse("50.00"), Recipient: providers.Recipient{Name: "N", Account: "1"}}
	if !d.matches(d.Digest()) || d.matches(d.Digest()[:70]+"0") {
		t.Error("matches disagrees with Digest")
	}
}
