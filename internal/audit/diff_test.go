package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/audit"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// summary flattens a diff into comparable lines.
type summary struct {
	added, changed, resolved, totals []string
	events                           map[string][]string // address -> "#seq kind status"
}

func summarize(d *audit.Diff) summary {
	s := summary{events: map[string][]string{}}
	for _, c := range d.Added {
		s.added = append(s.added, c.Address+" "+c.To.String())
		for _, e := range c.Events {
			s.events[c.Address] = append(s.events[c.Address], fmt.Sprintf("%s %s", e.Kind, e.Status))
		}
	}
	for _, c := range d.Changed {
		s.changed = append(s.changed, c.Address+" "+c.From.String()+" -> "+c.To.String())
		for _, e := range c.Events {
			s.events[c.Address] = append(s.events[c.Address], fmt.Sprintf("%s %s", e.Kind, e.Status))
		}
	}
	for _, r := range d.Resolved {
		s.resolved = append(s.resolved, fmt.Sprintf("%s#%d %s by %s: %s", r.Address, r.Attempt, r.Status, r.By, r.Reason))
	}
	for _, t := range d.Totals {
		s.totals = append(s.totals, fmt.Sprintf("%s %s paid %s/%d fees %s returned %s/%d pending %s/%d unknown %s/%d",
			t.Provider, t.Currency, t.Paid, t.PaidCount, t.Fees, t.Returned, t.ReturnedCount, t.Pending, t.PendingCount, t.Unknown, t.UnknownCount))
	}
	return s
}

func TestDiffAcrossApplyRefreshResolve(t *testing.T) {
	h := fixture(t)
	journal := h.sb.backend()
	tests := []struct {
		name     string
		old, new int
		added    []string
		changed  []string
		resolved []string
		totals   []string
		events   map[string][]string
	}{
		{
			name: "refresh", old: 0, new: 1,
			changed: []string{
				"contractors-2026-11/alice pending -> paid",
				"contractors-2026-11/budi pending -> paid",
				"contractors-2026-11/citra pending -> paid",
			},
			// Cronos reported its fees when it accepted the payouts, in the
			// interval before: none are charged in this one.
			totals: []string{"idr-main IDR paid 3880000/3 fees 0 returned 0/0 pending 0/0 unknown 0/0"},
			events: map[string][]string{
				"contractors-2026-11/alice": {"check paid"},
				"contractors-2026-11/budi":  {"check paid"},
				"contractors-2026-11/citra": {"check paid"},
			},
		},
		{
			name: "apply", old: 1, new: 2,
			added: []string{
				"vendors-2026-11/acme pending",
				"vendors-2026-11/bob pending",
				"vendors-2026-11/riyadh-trading pending",
			},
			totals: []string{"usd-main USD paid 0/0 fees 4.875 returned 0/0 pending 195.00/3 unknown 0/0"},
			events: map[string][]string{
				"vendors-2026-11/acme":           {"intent sending", "outcome pending"},
				"vendors-2026-11/bob":            {"intent sending", "outcome pending"},
				"vendors-2026-11/riyadh-trading": {"intent sending", "outcome pending"},
			},
		},
		{
			name: "resolve", old: 2, new: 3,
			changed:  []string{"vendors-2026-11/bob pending -> paid"},
			resolved: []string{"vendors-2026-11/bob#1 paid by rini@finance: dashboard shows the payment completed"},
			totals:   []string{"usd-main USD paid 75.00/1 fees 0 returned 0/0 pending 120.00/2 unknown 0/0"},
			events:   map[string][]string{"vendors-2026-11/bob": {"resolve paid"}},
		},
		{
			name: "refresh after resolve", old: 3, new: 4,
			changed: []string{
				"vendors-2026-11/acme pending -> paid",
				"vendors-2026-11/riyadh-trading pending -> paid",
			},
			totals: []string{"usd-main USD paid 120.00/2 fees 0 returned 0/0 pending 0/0 unknown 0/0"},
			events: map[string][]string{
				"vendors-2026-11/acme":           {"check paid"},
				"vendors-2026-11/riyadh-trading": {"check paid"},
			},
		},
		{
			name: "whole history", old: 0, new: 4,
			added: []string{
				"vendors-2026-11/acme paid",
				"vendors-2026-11/bob paid",
				"vendors-2026-11/riyadh-trading paid",
			},
			changed: []string{
				"contractors-2026-11/alice pending -> paid",
				"contractors-2026-11/budi pending -> paid",
				"contractors-2026-11/citra pending -> paid",
			},
			resolved: []string{"vendors-2026-11/bob#1 paid by rini@finance: dashboard shows the payment completed"},
			totals: []string{
				"idr-main IDR paid 3880000/3 fees 0 returned 0/0 pending 0/0 unknown 0/0",
				"usd-main USD paid 195.00/3 fees 4.875 returned 0/0 pending 0/0 unknown 0/0",
			},
			events: map[string][]string{
				"contractors-2026-11/alice":      {"check paid"},
				"contractors-2026-11/budi":       {"check paid"},
				"contractors-2026-11/citra":      {"check paid"},
				"vendors-2026-11/acme":           {"intent sending", "outcome pending", "check paid"},
				"vendors-2026-11/bob":            {"intent sending", "outcome pending", "resolve paid"},
				"vendors-2026-11/riyadh-trading": {"intent sending", "outcome pending", "check paid"},
			},
		},
		{
			name: "nothing changed", old: 4, new: 4,
			events: map[string][]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, cur := h.read(t, tt.old), h.read(t, tt.new)
			d := audit.Compare(old, cur)
			if err := d.AttachEvents(context.Background(), "journal", journal, old, cur); err != nil {
				t.Fatal(err)
			}
			if !d.OK() {
				t.Fatalf("got findings %v, want none", d.Findings)
			}
			if d.Journal.Note != "" {
				t.Fatalf("journal not used: %s", d.Journal.Note)
			}
			if got, want := d.Journal.Events, int(cur.Serial-old.Serial); got != want {
				t.Errorf("got %d journal records in the interval, want %d", got, want)
			}
			got := summarize(d)
			check := func(what string, got, want []string) {
				t.Helper()
				if !slices.Equal(got, want) {
					t.Errorf("%s:\ngot  %q\nwant %q", what, got, want)
				}
			}
			check("added", got.added, tt.added)
			check("changed", got.changed, tt.changed)
			check("resolved", got.resolved, tt.resolved)
			check("totals", got.totals, tt.totals)
			for addr, want := range tt.events {
				check("events of "+addr, got.events[addr], want)
			}
			for addr := range got.events {
				if _, ok := tt.events[addr]; !ok {
					t.Errorf("unexpected events for %s: %q", addr, got.events[addr])
				}
			}
		})
	}
}

// edit changes a copy of a snapshot as someone with a text editor would.
func edit(t *testing.T, data []byte, fn func(m map[string]any)) []byte {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func payoutOf(m map[string]any, addr string) map[string]any {
	for _, p := range m["payouts"].([]any) {
		if pm := p.(map[string]any); pm["address"] == addr {
			return pm
		}
	}
	panic("no payout " + addr)
}

func attemptOf(m map[string]any, addr string, i int) map[string]any {
	return payoutOf(m, addr)["attempts"].([]any)[i].(map[string]any)
}

// forge recomputes a payout's digest, as a careful forger would, so that
// the strict parser accepts the edit.
func forge(p map[string]any) {
	r := p["recipient"].(map[string]any)
	str := func(v any) string { s, _ := v.(string); return s }
	meta := map[string]string{}
	if m, ok := p["metadata"].(map[string]any); ok {
		for k, v := range m {
			meta[k] = str(v)
		}
	}
	p["digest"] = state.Details{
		Provider: str(p["provider"]), Currency: str(p["currency"]), Amount: money.MustParse(str(p["amount"])),
		Recipient: providers.Recipient{Name: str(r["name"]), BankCode: str(r["bankCode"]), Bank: str(r["bank"]), Account: str(r["account"]), Country: str(r["country"])},
		Reference: str(p["reference"]), Metadata: state.FieldsOf(meta),
	}.Digest()
}

func kinds(fs []*audit.Finding) []string {
	var out []string
	for _, f := range fs {
		if !slices.Contains(out, string(f.Kind)) {
			out = append(out, string(f.Kind))
		}
	}
	sort.Strings(out)
	return out
}

// TestDiffForbiddenChanges edits copies of a real state by hand, one
// forbidden change each, and requires the diff to report it.
func TestDiffForbiddenChanges(t *testing.T) {
	h := fixture(t)
	const alice, bob = "contractors-2026-11/alice", "vendors-2026-11/bob"
	tests := []struct {
		name string
		old  int // the older snapshot; the newer is an edited copy of [4]
		edit func(m map[string]any)
		want []audit.Kind
		// where the first finding of the first wanted kind points
		pointer string
	}{
		{name: "unedited", old: 3, edit: func(map[string]any) {}},
		{
			name: "payout removed", old: 3,
			edit: func(m map[string]any) {
				ps := m["payouts"].([]any)
				m["payouts"] = ps[1:]
			},
			want: []audit.Kind{audit.KindPayoutRemoved}, pointer: "/payouts/0",
		},
		{
			name: "amount changed", old: 3,
			edit: func(m map[string]any) { payoutOf(m, alice)["amount"] = "1500000" },
			want: []audit.Kind{audit.KindAmountChanged, audit.KindInvalidSnapshot}, pointer: "/payouts/0/amount",
		},
		{
			name: "amount changed with a forged digest", old: 3,
			edit: func(m map[string]any) { p := payoutOf(m, alice); p["amount"] = "1500000"; forge(p) },
			want: []audit.Kind{audit.KindAmountChanged}, pointer: "/payouts/0/amount",
		},
		{
			name: "same amount written differently", old: 3,
			edit: func(m map[string]any) { p := payoutOf(m, "vendors-2026-11/acme"); p["amount"] = "50.0"; forge(p) },
		},
		{
			name: "recipient account changed with a forged digest", old: 3,
			edit: func(m map[string]any) {
				p := payoutOf(m, alice)
				p["recipient"].(map[string]any)["account"] = "0821837182319999"
				forge(p)
			},
			want: []audit.Kind{audit.KindRecipientChanged}, pointer: "/payouts/0/recipient/account",
		},
		{
			name: "recipient name changed", old: 3,
			edit: func(m map[string]any) { payoutOf(m, bob)["recipient"].(map[string]any)["name"] = "Robert Lee" },
			want: []audit.Kind{audit.KindRecipientChanged, audit.KindInvalidSnapshot}, pointer: "/payouts/4/recipient/name",
		},
		{
			name: "reference added", old: 3,
			edit: func(m map[string]any) { payoutOf(m, alice)["reference"] = "Invoice 9" },
			want: []audit.Kind{audit.KindMemoChanged, audit.KindInvalidSnapshot}, pointer: "/payouts/0/reference",
		},
		{
			name: "metadata added with a forged digest", old: 3,
			edit: func(m map[string]any) {
				p := payoutOf(m, alice)
				p["metadata"] = map[string]any{"invoice": "INV-9"}
				forge(p)
			},
			want: []audit.Kind{audit.KindMemoChanged}, pointer: "/payouts/0/metadata/invoice",
		},
		{
			name: "provider changed with a forged digest", old: 3,
			edit: func(m map[string]any) { p := payoutOf(m, alice); p["provider"] = "idr-other"; forge(p) },
			// The idempotency keys derive from the provider name too.
			want: []audit.Kind{audit.KindProviderChanged, audit.KindInvalidSnapshot}, pointer: "/payouts/0/provider",
		},
		{
			name: "currency changed with a forged digest", old: 3,
			edit: func(m map[string]any) {
				p := payoutOf(m, "vendors-2026-11/acme")
				p["currency"] = "IDR"
				p["amount"] = "50"
				forge(p)
			},
			want: []audit.Kind{audit.KindCurrencyChanged}, pointer: "/payouts/3/currency",
		},
		{
			name: "provider id changed", old: 3,
			edit: func(m map[string]any) {
				attemptOf(m, alice, 0)["ids"].(map[string]any)["id"] = "00000000-0000-4000-8000-000000000000"
			},
			want: []audit.Kind{audit.KindProviderIDChange}, pointer: "/payouts/0/attempts/0/ids/id",
		},
		{
			name: "provider id removed", old: 3,
			edit: func(m map[string]any) { delete(attemptOf(m, bob, 0), "ids") },
			want: []audit.Kind{audit.KindProviderIDChange}, pointer: "/payouts/4/attempts/0/ids",
		},
		{
			name: "idempotency key changed", old: 3,
			edit: func(m map[string]any) { attemptOf(m, alice, 0)["key"] = "00000000-0000-5000-8000-000000000000" },
			want: []audit.Kind{audit.KindKeyChanged, audit.KindInvalidSnapshot}, pointer: "/payouts/0/attempts/0/key",
		},
		{
			name: "attempt removed", old: 3,
			edit: func(m map[string]any) { payoutOf(m, alice)["attempts"] = []any{} },
			want: []audit.Kind{audit.KindAttemptRemoved, audit.KindInvalidSnapshot}, pointer: "/payouts/0/attempts",
		},
		{
			name: "provider payout removed", old: 3,
			edit: func(m map[string]any) { m["groups"] = []any{} },
			want: []audit.Kind{audit.KindGroupChanged}, pointer: "/groups/0",
		},
		{
			name: "provider payout total changed", old: 3,
			edit: func(m map[string]any) { m["groups"].([]any)[0].(map[string]any)["total"] = "95.00" },
			want: []audit.Kind{audit.KindGroupChanged}, pointer: "/groups/0/total",
		},
		{
			name: "serial went backwards", old: 3,
			edit: func(m map[string]any) { m["serial"] = json.Number("10") },
			want: []audit.Kind{audit.KindSerialBackwards}, pointer: "/serial",
		},
		{
			name: "content changed, serial not", old: 4,
			edit: func(m map[string]any) {
				attemptOf(m, bob, 0)["answer"].(map[string]any)["email"] = "someone-else@example.net"
			},
			want: []audit.Kind{audit.KindSerialUnchanged}, pointer: "/serial",
		},
		{
			name: "different lineage", old: 3,
			edit: func(m map[string]any) { m["lineage"] = "0b1c5a44-7f5e-4d5e-9c55-6a1f0e7f3f11" },
			want: []audit.Kind{audit.KindLineageChanged}, pointer: "/lineage",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := h.read(t, tt.old)
			cur := mustRead(t, "edited.json", edit(t, h.snaps[4], tt.edit))
			d := audit.Compare(old, cur)
			var want []string
			for _, k := range tt.want {
				want = append(want, string(k))
			}
			sort.Strings(want)
			if got := kinds(d.Findings); !slices.Equal(got, want) {
				t.Fatalf("got finding kinds %q, want %q:\n%v", got, want, d.Findings)
			}
			if len(tt.want) == 0 {
				return
			}
			for _, f := range d.Findings {
				if f.Kind == tt.want[0] {
					if f.Pointer != tt.pointer {
						t.Errorf("got pointer %q, want %q (%s)", f.Pointer, tt.pointer, f)
					}
					if f.Hint == "" {
						t.Errorf("finding %s says nothing about what to do", f)
					}
					break
				}
			}
		})
	}
}

// TestDiffNotAnEarlierVersion: an older snapshot whose journal mark is not
// the journal's record at its serial belongs to a rewritten history.
func TestDiffNotAnEarlierVersion(t *testing.T) {
	h := fixture(t)
	forged := edit(t, h.snaps[2], func(m map[string]any) {
		m["journal"].(map[string]any)["hash"] = strings.Repeat("ab", 32)
	})
	tests := []struct {
		name string
		old  []byte
		want []string
	}{
		{"earlier version", h.snaps[2], nil},
		{"rewritten history", forged, []string{string(audit.KindNotAncestor)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, cur := mustRead(t, "old", tt.old), h.read(t, 4)
			d := audit.Compare(old, cur)
			if err := d.AttachEvents(context.Background(), "journal", h.sb.backend(), old, cur); err != nil {
				t.Fatal(err)
			}
			if got := kinds(d.Findings); !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q: %v", got, tt.want, d.Findings)
			}
		})
	}
}

// TestDiffJournalNotUsed: events come only from a journal that matches the
// newer snapshot.
func TestDiffJournalNotUsed(t *testing.T) {
	h := fixture(t)
	tests := []struct {
		name string
		new  []byte
		want string
	}{
		{"other lineage", edit(t, h.snaps[4], func(m map[string]any) { m["lineage"] = "0b1c5a44-7f5e-4d5e-9c55-6a1f0e7f3f11" }), "different states"},
		{"journal ends before", edit(t, h.snaps[4], func(m map[string]any) { m["serial"] = json.Number("99") }), "ends at record"},
		{"other record at the serial", edit(t, h.snaps[4], func(m map[string]any) {
			m["journal"].(map[string]any)["hash"] = strings.Repeat("cd", 32)
		}), "not the one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, cur := h.read(t, 0), mustRead(t, "new", tt.new)
			d := audit.Compare(old, cur)
			if err := d.AttachEvents(context.Background(), "journal", h.sb.backend(), old, cur); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(d.Journal.Note, tt.want) {
				t.Errorf("got note %q, want one saying %q", d.Journal.Note, tt.want)
			}
			for _, c := range append(d.Added, d.Changed...) {
				if len(c.Events) > 0 {
					t.Errorf("%s got events from a journal that does not match", c.Address)
				}
			}
		})
	}
}

// TestDiffRendersDeterministically renders every format twice.
func TestDiffRendersDeterministically(t *testing.T) {
	h := fixture(t)
	old, cur := h.read(t, 0), h.read(t, 4)
	render := func() map[string][]byte {
		d := audit.Compare(old, cur)
		if err := d.AttachEvents(context.Background(), "journal", h.sb.backend(), old, cur); err != nil {
			t.Fatal(err)
		}
		out := map[string][]byte{}
		for name, fn := range map[string]func(*bytes.Buffer) error{
			"text": func(b *bytes.Buffer) error { return d.WriteText(b) }, "json": func(b *bytes.Buffer) error { return d.WriteJSON(b) },
			"markdown": func(b *bytes.Buffer) error { return d.WriteMarkdown(b) },
		} {
			var b bytes.Buffer
			if err := fn(&b); err != nil {
				t.Fatal(err)
			}
			out[name] = b.Bytes()
		}
		return out
	}
	first, second := render(), render()
	for name := range first {
		if !bytes.Equal(first[name], second[name]) {
			t.Errorf("%s differs between two renderings", name)
		}
	}
	var back map[string]any
	if err := json.Unmarshal(first["json"], &back); err != nil || back["format_version"] != 1.0 {
		t.Errorf("JSON output: got format_version %v (%v), want 1", back["format_version"], err)
	}
	if bytes.Contains(first["markdown"], []byte("0821837182312831")) {
		t.Error("the Markdown diff shows a full account number")
	}
}
