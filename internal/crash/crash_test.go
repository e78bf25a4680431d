package crash

import "testing"

// Armed must say yes for the named point only: apply sets up the HTTP
// trace that fires request-written only when it is armed.
func TestArmed(t *testing.T) {
	t.Setenv("PAYCTL_CRASH", RequestWritten+":3")
	if !Armed(RequestWritten) {
		t.Errorf("Armed(%q) = false with PAYCTL_CRASH naming it", RequestWritten)
	}
	for _, p := range Points {
		if p != RequestWritten && Armed(p) {
			t.Errorf("Armed(%q) = true with PAYCTL_CRASH naming %s", p, RequestWritten)
		}
	}
}
