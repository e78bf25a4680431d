package statefile

import (
	"reflect"
	"testing"
)

// The lenient reader an auditor uses reads what the strict one reads,
// findings included.
func TestLenientReadsFindings(t *testing.T) {
	snap := sampleSnapshot(12)
	data := SnapshotBytes(snap)
	l, err := ParseLenient("s.json", data)
	if err != nil {
		t.Fatal(err)
	}
	if l.Strict != nil {
		t.Fatalf("strict parser objects: %v", l.Strict)
	}
	n := 0
	for addr, p := range snap.Payouts {
		got := l.Snapshot.Payouts[addr]
		if got == nil {
			t.Fatalf("%s missing", addr)
		}
		if !reflect.DeepEqual(got.Latest().Findings, p.Latest().Findings) {
			t.Errorf("%s: findings %v, want %v", addr, got.Latest().Findings, p.Latest().Findings)
		}
		n += len(p.Latest().Findings)
	}
	if n == 0 {
		t.Fatal("the sample has no findings to read")
	}
}
