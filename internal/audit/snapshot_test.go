package audit_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/audit"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/statefile"
)

// minimalSnapshot is a valid one-payout snapshot, built with the state
// package so that its digest and key are right.
func minimalSnapshot() []byte {
	s := state.New()
	s.Lineage = "3f0d5c9e-9a4f-4c59-8f55-2a0c7f9e1a10"
	s.Serial = 2
	amt := money.MustParse("150000")
	r := providers.Recipient{Name: "Alice Tan", BankCode: "014", Account: "0821837182312831"}
	s.Payouts["b/alice"] = &state.Payout{
		Address: "b/alice", Provider: "idr", Type: "cronos", Currency: "IDR", Amount: amt, Recipient: r,
		Digest: state.Details{Provider: "idr", Currency: "IDR", Amount: amt, Recipient: r}.Digest(),
		Status: providers.StatusPending,
		Attempts: []*state.Attempt{{
			N: 1, Key: state.Key("idr", "b/alice", 1), Status: providers.StatusPending, Sends: 1,
		}},
	}
	return statefile.SnapshotBytes(s)
}

func TestReadSnapshot(t *testing.T) {
	valid := string(minimalSnapshot())
	tests := []struct {
		name     string
		data     string
		err      string // a fragment of the error; "" for none
		problems []string
	}{
		{name: "valid", data: valid},
		{
			name: "unknown field", data: strings.Replace(valid, `"serial": 2,`, `"serial": 2, "note": "hi",`, 1),
			problems: []string{"note"},
		},
		{
			name: "edited amount", data: strings.Replace(valid, `"amount":"150000"`, `"amount":"1500000"`, 1),
			problems: []string{"digest does not match"},
		},
		{
			name: "two problems", data: strings.Replace(strings.Replace(valid, `"amount":"150000"`, `"amount":"1500000"`, 1), `"n":1`, `"n":2`, 1),
			problems: []string{"not the one payctl derives", "attempt 1 is numbered 2", "digest does not match"},
		},
		{name: "not JSON", data: "{\n  \"version\": 1,\n  oops\n}", err: "x.json:3:"},
		{name: "no version", data: `{"lineage": "x"}`, err: `no "version" field`},
		{name: "newer version", data: `{"version": 9}`, err: "newer payctl"},
		{name: "amount of the wrong type", data: strings.Replace(valid, `"amount":"150000"`, `"amount":150000`, 1), err: "x.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := audit.ReadSnapshot("x.json", []byte(tt.data), nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Problems) != len(tt.problems) {
				t.Fatalf("got problems %v, want %d", s.Problems, len(tt.problems))
			}
			for i, want := range tt.problems {
				if !strings.Contains(s.Problems[i].Message, want) || s.Problems[i].Kind != audit.KindInvalidSnapshot || s.Problems[i].File != "x.json" {
					t.Errorf("problem %d: got %s (%s), want an invalid-snapshot finding in x.json saying %q", i, s.Problems[i], s.Problems[i].Kind, want)
				}
			}
			if s.Payouts["b/alice"] == nil {
				t.Error("the payout was not read")
			}
		})
	}
	if _, err := audit.ReadSnapshot("x.json", []byte(`{"version": 9}`), nil); !errors.Is(err, statefile.ErrNewerVersion) {
		t.Errorf("got %v, want ErrNewerVersion", err)
	}
}

// FuzzReadSnapshot: the lenient reader never panics, agrees with the
// strict parser on what it accepts, and a snapshot compared with itself
// has no findings beyond the strict parser's.
func FuzzReadSnapshot(f *testing.F) {
	valid := minimalSnapshot()
	f.Add(valid)
	f.Add([]byte(strings.Replace(string(valid), `"amount":"150000"`, `"amount":"1500000"`, 1)))
	f.Add([]byte(`{"version":1,"lineage":"","serial":0,"journal":{"offset":0,"hash":""},"groups":[null],"payouts":[null,{"attempts":[null]}]}`))
	f.Add([]byte(`{"version":1,"payouts":[{"address":"a/b","attempts":[]},{"address":"a/b"}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := audit.ReadSnapshot("f.json", data, nil)
		_, strict := statefile.ParseSnapshot("f.json", data)
		if err != nil {
			if strict == nil {
				t.Fatalf("the strict parser accepts what the lenient one refuses: %v", err)
			}
			return
		}
		if (strict == nil) != (len(s.Problems) == 0) {
			t.Fatalf("strict parser says %v, lenient problems %v", strict, s.Problems)
		}
		d := audit.Compare(s, s)
		var extra []audit.Kind
		for _, f := range d.Findings {
			if f.Kind != audit.KindInvalidSnapshot {
				extra = append(extra, f.Kind)
			}
		}
		if len(extra) > 0 {
			t.Fatalf("a snapshot compared with itself has findings %v", slices.Compact(extra))
		}
	})
}
