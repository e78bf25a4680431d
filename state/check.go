package state

import (
	"strconv"
	"strings"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// isHash reports whether s is 64 lower-case hex digits: a SHA-256.
func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// isAddress checks "<batch>/<id>" with the manifest schema's patterns,
// without a regexp (it runs once per payout on load).
func isAddress(a string) bool {
	batch, id, ok := strings.Cut(a, "/")
	return ok && isName(batch, false) && isName(id, true)
}

func isName(s string, upper bool) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	alnum := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || upper && c >= 'A' && c <= 'Z'
	}
	if !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !alnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// Check reports every inconsistency of the payout to bad, with a JSON
// pointer relative to the payout: an address that is not one, an amount
// its currency cannot hold, a digest or key that payctl would not derive,
// attempts out of order. Loading a snapshot checks every payout with it.
func (p *Payout) Check(bad func(pointer, format string, args ...any)) {
	if !isAddress(p.Address) {
		bad("/address", "%q is not a payout address (batch/id)", p.Address)
	}
	c, ok := money.LookupCurrency(p.Currency)
	if !ok {
		bad("/currency", "%s: unknown currency %q", p.Address, p.Currency)
	} else if p.Amount.Places() > c.Scale || p.Amount.Sign() <= 0 {
		bad("/amount", "%s: amount %s is not a valid %s amount", p.Address, p.Amount, p.Currency)
	}
	if p.Provider == "" {
		bad("/provider", "%s: no provider", p.Address)
	}
	if !p.Details().matches(p.Digest) {
		bad("/digest", "%s: digest does not match the payout's details: the amount, recipient, reference, metadata or provider was edited by hand", p.Address)
	}
	if len(p.Attempts) == 0 {
		bad("/attempts", "%s: no attempts", p.Address)
		return
	}
	for j, a := range p.Attempts {
		aptr := "/attempts/" + strconv.Itoa(j)
		if a == nil {
			bad(aptr, "%s: null attempt", p.Address)
			return
		}
		if a.N != j+1 {
			bad(aptr+"/n", "%s: attempt %d is numbered %d", p.Address, j+1, a.N)
		}
		if !isKey(a.Key, p.Provider, p.Address, a.N) {
			bad(aptr+"/key", "%s: attempt %d has key %s, not the one payctl derives", p.Address, a.N, a.Key)
		}
		if !validStatus(a.Status) {
			bad(aptr+"/status", "%s: unknown status %q", p.Address, a.Status)
		}
		if j < len(p.Attempts)-1 && a.Status != providers.StatusFailed {
			bad(aptr+"/status", "%s: attempt %d is %s but a later attempt exists", p.Address, a.N, a.Status)
		}
	}
	if p.Status != p.Latest().Status {
		bad("/status", "%s: status %s differs from its latest attempt's %s", p.Address, p.Status, p.Latest().Status)
	}
}
