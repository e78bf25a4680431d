package statefile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

func sampleSnapshot(n int) *state.Snapshot {
	s := state.New()
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 123, time.UTC)
	fee := money.FromInt64(3000)
	for i := 0; i < n; i++ {
		addr := fmt.Sprintf("b-%d/p%04d", i%3, i)
		amt := money.FromInt64(int64(1000 + i))
		// Names exercise escapes: quotes, backslashes, non-ASCII, a
		// newline and the characters HTML escaping would change.
		r := providers.Recipient{Name: fmt.Sprintf("P\"%d\\ Ñandú 😀 <&> \n", i), BankCode: "014", Account: fmt.Sprintf("0%09d", i)}
		if i%5 == 1 {
			r.ID = fmt.Sprintf("V-%d", i)
		}
		d := state.Details{Provider: "idr", Currency: "IDR", Amount: amt, Recipient: r}
		st := providers.StatusPaid
		if i%4 == 0 {
			st = providers.StatusPending
		}
		s.Payouts[addr] = &state.Payout{Address: addr, Provider: "idr", Type: "cronos", Currency: "IDR", Amount: amt, Recipient: r,
			Digest: d.Digest(), PlannedFee: &fee, FeePayer: "sender", Status: st,
			Attempts: []*state.Attempt{{N: 1, Key: state.Key("idr", addr, 1), Status: st, IDs: state.Fields{{Name: "id", Value: fmt.Sprint(i)}},
				Answer: state.Fields{{Name: "status", Value: "x"}}, SentAt: t0, Sends: 1}}}
		if i%7 == 2 {
			s.Payouts[addr].Attempts[0].ApprovedBy = []state.Approver{{Principal: "alice@example.com", Key: "SHA256:a"}, {Principal: "bob@example.com", Key: "SHA256:b"}}
		}
		if i%6 == 3 {
			s.Payouts[addr].Attempts[0].Findings = []state.Finding{{Kind: state.FindingFee, Want: "3000", Got: "2500"}, {Kind: state.FindingName, Want: r.Name, Got: "Mr. \"Ñ\" <&>"}}
		}
	}
	s.Serial = uint64(n)
	return s
}

// The fast path cuts chunks at lines; with tiny chunks it cuts at every
// payout, and must give what one chunk gives.
func TestDecodeByLinesMatchesAnyCut(t *testing.T) {
	want := SnapshotBytes(sampleSnapshot(50))
	for _, size := range []int{1, 7, 100, 1 << 20} {
		lineChunkSize = size
		s, err := ParseSnapshot("s.json", want)
		if err != nil {
			t.Fatalf("chunk size %d: %v", size, err)
		}
		if got := SnapshotBytes(s); !bytes.Equal(got, want) {
			t.Fatalf("chunk size %d: re-encoding differs", size)
		}
	}
	lineChunkSize = 256 << 10
}

// A file in another layout (pretty-printed, payouts over many lines, keys
// reordered) is read the same, by the full scan.
func TestDecodeOtherLayouts(t *testing.T) {
	want := sampleSnapshot(30)
	canonical := SnapshotBytes(want)
	var v any
	if err := json.Unmarshal(canonical, &v); err != nil {
		t.Fatal(err)
	}
	pretty, _ := json.MarshalIndent(v, "", "   ")
	compact, _ := json.Marshal(v)
	for name, data := range map[string][]byte{"pretty": pretty, "compact": compact} {
		for _, size := range []int{1, 64, 1 << 20} {
			lineChunkSize = size
			s, err := ParseSnapshot(name, data)
			if err != nil {
				t.Fatalf("%s, chunk size %d: %v", name, size, err)
			}
			if !bytes.Equal(SnapshotBytes(s), canonical) {
				t.Fatalf("%s, chunk size %d: decodes differently", name, size)
			}
		}
	}
	lineChunkSize = 256 << 10
}

func TestDecodeRejects(t *testing.T) {
	good := string(SnapshotBytes(sampleSnapshot(3)))
	for _, tc := range []struct{ name, data, want string }{
		{"unknown field", strings.Replace(good, `"sends":1`, `"sends":1,"extra":2`, 1), `unknown field "extra" in attempt`},
		{"duplicate field", strings.Replace(good, `"sends":1`, `"sends":1,"sends":2`, 1), `duplicate field "sends"`},
		{"truncated", good[:len(good)/2], "not a valid payctl state"},
		{"number for amount", strings.Replace(good, `"amount":"1000"`, `"amount":1000`, 1), `expected '"'`},
		{"trailing data", good + "{}", "data after the end of the state"},
		{"bad escape", strings.Replace(good, `\"`, `\q`, 1), "invalid escape"},
		{"invalid utf-8", strings.Replace(good, "Ñ", "\xff", 1), "invalid UTF-8"},
		{"payout split across chunks", strings.Replace(good, `"digest"`, "\n{\"digest\"", 1), "not a valid payctl state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSnapshot("s.json", []byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "s.json:") {
				t.Errorf("error does not name the file and position: %v", err)
			}
		})
	}
}

func TestDecodeReportsEveryInconsistentPayout(t *testing.T) {
	s := sampleSnapshot(6)
	data := string(SnapshotBytes(s))
	data = strings.Replace(data, `"amount":"1002"`, `"amount":"9002"`, 1)
	data = strings.Replace(data, `"amount":"1005"`, `"amount":"9005"`, 1)
	lineChunkSize = 1
	defer func() { lineChunkSize = 256 << 10 }()
	_, err := ParseSnapshot("s.json", []byte(data))
	if err == nil {
		t.Fatal("edited amounts were accepted")
	}
	msg := err.Error()
	if !strings.Contains(msg, "digest does not match") || !strings.Contains(msg, "and 1 more") {
		t.Fatalf("got %v", err)
	}
}

func TestHasSpecial(t *testing.T) {
	for b := 0; b < 256; b++ {
		for pos := 0; pos < 8; pos++ {
			w := bytes.Repeat([]byte("a"), 8)
			w[pos] = byte(b)
			want := special[b]
			if got := hasSpecial(binary.LittleEndian.Uint64(w)); got != want {
				t.Fatalf("byte %#x at %d: got %v, want %v", b, pos, got, want)
			}
		}
	}
}

// scanAddresses lists the addresses of the payouts keep accepts, sorted,
// without the snapshot's indexes.
func scanAddresses(s *state.Snapshot, keep func(*state.Payout) bool) []string {
	var out []string
	for a, p := range s.Payouts {
		if keep(p) {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// The indexes kept while folding agree with a scan of the payouts, after a
// load and after events.
func TestIndexesAgreeWithAScan(t *testing.T) {
	s, err := ParseSnapshot("s.json", SnapshotBytes(sampleSnapshot(40)))
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		for _, b := range []string{"b-0", "b-1", "b-2", "none"} {
			scan := scanAddresses(s, func(p *state.Payout) bool { return p.Batch() == b })
			if got := s.BatchAddresses(b); strings.Join(got, ",") != strings.Join(scan, ",") {
				t.Errorf("%s: batch %s: index %v, scan %v", when, b, got, scan)
			}
		}
		scan := scanAddresses(s, func(p *state.Payout) bool {
			return p.Status == providers.StatusSending || p.Status == providers.StatusPending || p.Status == providers.StatusUnknown
		})
		if got := s.OpenAddresses(); strings.Join(got, ",") != strings.Join(scan, ",") {
			t.Errorf("%s: open: index %v, scan %v", when, got, scan)
		}
	}
	check("after load")
	// A pending payout becomes paid, and a new one is sent.
	amt := money.MustParse("5")
	rcp := providers.Recipient{Name: "N", BankCode: "014", Account: "1"}
	d := state.Details{Provider: "idr", Currency: "IDR", Amount: amt, Recipient: rcp}
	for _, e := range []*state.Event{
		{Kind: state.KindOutcome, Payouts: []state.EventPayout{{Address: "b-0/p0000", Attempt: 1, Status: providers.StatusPaid}}},
		{Kind: state.KindIntent, Provider: "idr", Payouts: []state.EventPayout{{Address: "b-9/new", Attempt: 1, Key: state.Key("idr", "b-9/new", 1),
			Status: providers.StatusSending, Type: "cronos", Currency: "IDR", Amount: &amt, Recipient: &rcp, Digest: d.Digest()}}},
	} {
		e.Seq = s.Serial + 1
		if err := s.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	check("after events")
	if got := s.BatchAddresses("b-9"); len(got) != 1 {
		t.Errorf("new batch: %v", got)
	}
}
