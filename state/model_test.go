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

// Reference and metadata join the digest only when set, so the digests of
// payouts recorded before them stay the same; once set, each change of
// them is a change of details.
func TestDigestReferenceAndMetadata(t *testing.T) {
	base := Details{Provider: "idr-main", Currency: "IDR", Amount: money.MustParse("150000"), Recipient: providers.Recipient{Name: "Budi", BankCode: "014", Account: "0821"}}
	// The digest of these details as payctl recorded it before reference
	// and metadata existed.
	if got, old := base.Digest(), "sha256:6b520cd3c1a6ea577c77bcdedb0a8b8a7771f9e45fca927c2601576916680ee1"; got != old {
		t.Errorf("the digest of details without reference or metadata changed: %s, recorded as %s", got, old)
	}
	seen := map[string]string{base.Digest(): "base"}
	for name, d := range map[string]Details{
		"reference":           with(base, "Invoice 7", nil),
		"other reference":     with(base, "Invoice 8", nil),
		"metadata":            with(base, "", Fields{{"invoice", "7"}}),
		"other value":         with(base, "", Fields{{"invoice", "8"}}),
		"other key":           with(base, "", Fields{{"invoicf", "7"}}),
		"two entries":         with(base, "", Fields{{"a", "b"}, {"c", "d"}}),
		"entries run on":      with(base, "", Fields{{"a", "bc"}, {"d", ""}}),
		"key holds the value": with(base, "", Fields{{"ab", ""}, {"c", "d"}}),
		"both":                with(base, "Invoice 7", Fields{{"invoice", "7"}}),
		"reference as value":  with(base, "", Fields{{"ref", "Invoice 7"}}),
	} {
		dg := d.Digest()
		if prev, dup := seen[dg]; dup {
			t.Errorf("%s and %s have the same digest", name, prev)
		}
		seen[dg] = name
		if !d.matches(dg) {
			t.Errorf("%s: matches disagrees with Digest", name)
		}
	}
	if empty := with(base, "", Fields{}); empty.Digest() != base.Digest() {
		t.Error("empty metadata changed the digest of details without any")
	}
}

func with(d Details, ref string, meta Fields) Details {
	d.Reference, d.Metadata = ref, meta
	return d
}
