package reconcile

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// lister is a provider whose records are a fixed listing.
type lister struct {
	listing providers.Listing
	asked   providers.ListQuery
}

func (l *lister) Name() string { return "p" }
func (l *lister) Type() string { return "test" }
func (l *lister) Check(context.Context, []providers.Attempt) ([]providers.Result, error) {
	return nil, errors.New("not used")
}
func (l *lister) Retention() time.Duration { return 7 * 24 * time.Hour }
func (l *lister) List(_ context.Context, q providers.ListQuery) (providers.Listing, error) {
	l.asked = q
	return l.listing, nil
}

var now = time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)

func amount(s string) *money.Amount { a := money.MustParse(s); return &a }

func snapshot(sent time.Time, st providers.Status, ids state.Fields) *state.Snapshot {
	return &state.Snapshot{Payouts: map[string]*state.Payout{
		"b/a": {
			Address: "b/a", Provider: "p", Amount: money.MustParse("100"),
			Recipient: providers.Recipient{Account: "111"}, Status: st,
			Attempts: []*state.Attempt{{N: 1, Key: "key-a", Status: st, IDs: ids, Fee: amount("3"), SentAt: sent}},
		},
	}}
}

func run(t *testing.T, snap *state.Snapshot, l *lister) *Report {
	t.Helper()
	rep, err := Run(context.Background(), Input{
		Snapshot: snap, Providers: []string{"p"}, Now: now,
		Open:  func(string) (providers.Provider, error) { return l, nil },
		Grace: func(string) time.Duration { return 10 * time.Minute },
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestFindings(t *testing.T) {
	listed := func(mod func(*providers.Listed)) []providers.Listed {
		l := providers.Listed{IDs: map[string]string{"id": "X"}, Reference: "key-a", Status: providers.StatusPaid,
			Amount: amount("100"), Fee: amount("3"), Account: "111"}
		mod(&l)
		return []providers.Listed{l}
	}
	hourAgo := now.Add(-time.Hour)
	tests := []struct {
		name    string
		snap    *state.Snapshot
		listing providers.Listing
		want    []string // kind/field of each finding
	}{
		{"same", snapshot(hourAgo, providers.StatusPaid, nil),
			providers.Listing{Complete: true, Payments: listed(func(*providers.Listed) {})}, nil},
		{"matched by id, not reference", snapshot(hourAgo, providers.StatusPaid, state.Fields{{Name: "id", Value: "X"}}),
			providers.Listing{Complete: true, Payments: listed(func(l *providers.Listed) { l.Reference = "" })}, nil},
		{"amount account fee status", snapshot(hourAgo, providers.StatusPending, nil),
			providers.Listing{Complete: true, Payments: listed(func(l *providers.Listed) {
				l.Amount, l.Account, l.Fee = amount("101"), "222", amount("4")
			})}, []string{"differs/amount", "differs/account", "differs/fee", "differs/status"}},
		{"absent fields are no difference", snapshot(hourAgo, providers.StatusPaid, nil),
			providers.Listing{Complete: true, Payments: listed(func(l *providers.Listed) { l.Amount, l.Fee, l.Account = nil, nil, "" })}, nil},
		{"unexplained", snapshot(hourAgo, providers.StatusPaid, nil),
			providers.Listing{Complete: true, Payments: append(listed(func(*providers.Listed) {}),
				providers.Listed{IDs: map[string]string{"id": "Y"}, Reference: "someone-else", Status: providers.StatusPaid})},
			[]string{"unexplained/"}},
		{"missing after grace", snapshot(hourAgo, providers.StatusPaid, nil),
			providers.Listing{Complete: true}, []string{"missing/"}},
		{"not missing within grace", snapshot(now.Add(-time.Minute), providers.StatusUnknown, nil),
			providers.Listing{Complete: true}, nil},
		{"not missing when a day was not read", snapshot(hourAgo, providers.StatusPaid, nil),
			providers.Listing{Complete: true, Unanswered: map[string]string{"2026-11-03": "HTTP 500"}}, nil},
		{"not missing: refused at creation", snapshot(hourAgo, providers.StatusFailed, nil),
			providers.Listing{Complete: true}, nil},
		{"not missing: outside the window", snapshot(now.Add(-30*24*time.Hour), providers.StatusPaid, nil),
			providers.Listing{Complete: true}, nil},
		{"asked by group: missing only from its own group's answer",
			snapshot(hourAgo, providers.StatusPaid, state.Fields{{Name: "payment_id", Value: "G"}, {Name: "uniqueid", Value: "U"}}),
			providers.Listing{Payments: []providers.Listed{{IDs: map[string]string{"payment_id": "G", "uniqueid": "V"}, Status: providers.StatusPaid}}},
			[]string{"unexplained/", "missing/"}},
		{"asked by group: unanswered group proves nothing",
			snapshot(hourAgo, providers.StatusPaid, state.Fields{{Name: "payment_id", Value: "G"}, {Name: "uniqueid", Value: "U"}}),
			providers.Listing{Unanswered: map[string]string{"G": "no answer"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := run(t, tt.snap, &lister{listing: tt.listing})
			var got []string
			for _, f := range rep.Findings {
				got = append(got, string(f.Kind)+"/"+f.Field)
				if f.Meaning == "" || f.Provider != "p" {
					t.Errorf("finding %+v lacks its provider or meaning", f)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestWindow(t *testing.T) {
	// The default window starts at the oldest open attempt, and is cut at
	// the provider's retention (less a margin).
	l := &lister{listing: providers.Listing{Complete: true}}
	old := now.Add(-3 * time.Hour)
	rep := run(t, snapshot(old, providers.StatusPending, nil), l)
	if !rep.Since.Equal(old) || !l.asked.Since.Equal(old) {
		t.Errorf("since %s (asked %s), want the open attempt's %s", rep.Since, l.asked.Since, old)
	}
	rep = run(t, snapshot(now.Add(-20*24*time.Hour), providers.StatusPending, nil), l)
	if want := now.Add(-7*24*time.Hour + retentionMargin); !l.asked.Since.Equal(want) || !rep.Providers[0].Since.Equal(want) {
		t.Errorf("asked since %s, want the retention's edge %s", l.asked.Since, want)
	}
	rep = run(t, snapshot(old, providers.StatusPaid, nil), l)
	if want := now.Add(-DefaultWindow); !rep.Since.Equal(want) {
		t.Errorf("nothing open: since %s, want %s", rep.Since, want)
	}
}
