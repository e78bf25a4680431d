package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/audit"
	"github.com/payctl/payctl/providers"
)

func TestHistoryFilters(t *testing.T) {
	h := fixture(t)
	tests := []struct {
		name string
		f    audit.Filter
		// want lists the entries as "#seq kind address status" (address
		// "-" for the state's or a provider payout's own line)
		want []string
	}{
		{
			name: "one payout", f: audit.Filter{Address: "vendors-2026-11/bob"},
			want: []string{"#11 intent vendors-2026-11/bob sending", "#12 outcome vendors-2026-11/bob pending", "#14 resolve vendors-2026-11/bob paid"},
		},
		{
			name: "one batch", f: audit.Filter{Batch: "contractors-2026-11"},
			want: []string{
				// A worker writes its next intent while its request is in flight.
				"#2 intent contractors-2026-11/alice sending", "#3 intent contractors-2026-11/budi sending",
				"#4 intent contractors-2026-11/citra sending", "#5 outcome contractors-2026-11/alice pending",
				"#6 outcome contractors-2026-11/budi pending", "#7 outcome contractors-2026-11/citra pending",
				"#9 check contractors-2026-11/alice paid", "#9 check contractors-2026-11/budi paid", "#9 check contractors-2026-11/citra paid",
			},
		},
		{
			name: "batch of a provider payout", f: audit.Filter{Batch: "vendors-2026-11", Until: t0.Add(21 * time.Minute)},
			want: []string{
				"#11 intent - ", "#11 intent vendors-2026-11/acme sending", "#11 intent vendors-2026-11/riyadh-trading sending", "#11 intent vendors-2026-11/bob sending",
				"#12 outcome - ", "#12 outcome vendors-2026-11/acme pending", "#12 outcome vendors-2026-11/riyadh-trading pending", "#12 outcome vendors-2026-11/bob pending",
			},
		},
		{
			name: "paid", f: audit.Filter{Status: providers.StatusPaid},
			want: []string{
				"#9 check contractors-2026-11/alice paid", "#9 check contractors-2026-11/budi paid", "#9 check contractors-2026-11/citra paid",
				"#14 resolve vendors-2026-11/bob paid",
				"#16 check vendors-2026-11/acme paid", "#16 check vendors-2026-11/riyadh-trading paid",
			},
		},
		{
			name: "provider and status", f: audit.Filter{Provider: "usd-main", Status: providers.StatusPaid},
			want: []string{"#14 resolve vendors-2026-11/bob paid", "#16 check vendors-2026-11/acme paid", "#16 check vendors-2026-11/riyadh-trading paid"},
		},
		{
			name: "time range", f: audit.Filter{Since: t0.Add(22 * time.Minute), Until: t0.Add(time.Hour)},
			want: []string{"#14 resolve vendors-2026-11/bob paid"},
		},
		{
			name: "before the first record", f: audit.Filter{Until: t0},
		},
		{name: "unknown address", f: audit.Filter{Address: "vendors-2026-11/nobody"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			_, err := audit.History(context.Background(), h.sb.backend(), tt.f, func(e *audit.Entry) error {
				addr := e.Address
				if addr == "" {
					addr = "-"
				}
				got = append(got, fmt.Sprintf("#%d %s %s %s", e.Seq, e.Kind, addr, e.Status))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestHistoryOutput(t *testing.T) {
	h := fixture(t)
	var text, lines bytes.Buffer
	tw, jw := &audit.HistoryWriter{W: &text}, &audit.HistoryWriter{W: &lines, JSON: true}
	_, err := audit.History(context.Background(), h.sb.backend(), audit.Filter{}, func(e *audit.Entry) error {
		if err := tw.Write(e); err != nil {
			return err
		}
		return jw.Write(e)
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every record, once per payout it concerns, plus a line for the
	// creation and for each record about the provider payout as a whole.
	if tw.Count != 21 || jw.Count != 21 {
		t.Fatalf("got %d text and %d JSON entries, want 21", tw.Count, jw.Count)
	}
	if first, _, _ := strings.Cut(text.String(), "\n"); !strings.Contains(first, "#1    create   ana@finance (apply)  state created, lineage ") {
		t.Errorf("got first line %q, want the state's creation", first)
	}
	for _, want := range []string{
		"#14   resolve  rini@finance (state resolve)  vendors-2026-11/bob attempt 1  paid, resolved by a person: dashboard shows the payment completed",
		"contractors-2026-11/alice attempt 1  sending, 150,000 IDR to Alice Tan (************2831) via idr-main, key ",
		`#9    check    ana@finance (refresh)  contractors-2026-11/alice attempt 1  paid, id=`,
		`fee 3,000 IDR; provider said "success"`,
		"of usd-main: 3 payouts, 195.00 USD, planned fee 4.875 USD, quoted fee 4.875 USD, token ",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the timeline lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), "0821837182312831") || strings.Contains(lines.String(), "0821837182312831") {
		t.Error("the history shows a full account number")
	}
	sc := bufio.NewScanner(&lines)
	n := 0
	for sc.Scan() {
		n++
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d is not JSON: %v", n, err)
		}
		if e["format_version"] != 1.0 {
			t.Errorf("line %d: got format_version %v, want 1", n, e["format_version"])
		}
		if e["seq"] == 8.0 && e["address"] == "contractors-2026-11/alice" {
			if ans, _ := e["answer"].(map[string]any); ans["status"] != "success" || ans["totalAmount"] != "153000" {
				t.Errorf("line %d: got answer %v, want the provider's full answer", n, e["answer"])
			}
		}
	}
}
