package watch

import (
	"bytes"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// scrape renders reg in the text exposition format and parses it back
// with Prometheus's own parser, as promtool and a Prometheus server would.
func scrape(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	parsed, err := p.TextToMetricFamilies(&b)
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, b.String())
	}
	out := map[string]float64{}
	for name, mf := range parsed {
		for _, m := range mf.GetMetric() {
			key := name
			for _, l := range m.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

func payout(addr string, st providers.Status, sent time.Time) *state.Payout {
	return &state.Payout{Address: addr, Status: st, Amount: money.MustParse("1"),
		Attempts: []*state.Attempt{{N: 1, Status: st, SentAt: sent}}}
}

func TestAmountPaidCountsOnlyPaid(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg, func() float64 { return 0 }, func() float64 { return 2 }, time.Hour)
	const paid = "payctl_watch_amount_paid_total{currency=IDR}"

	m.amounts.sent("b/a", "IDR", money.MustParse("100"), providers.StatusPaid)
	m.amounts.sent("b/b", "IDR", money.MustParse("50"), providers.StatusPending)
	m.amounts.sent("b/c", "IDR", money.MustParse("7"), providers.StatusPending)
	m.amounts.sent("b/d", "IDR", money.MustParse("9"), providers.StatusFailed)
	if got := scrape(t, reg)[paid]; got != 100 {
		t.Fatalf("after sending: got %v, want 100 (pending and failed payouts are not paid)", got)
	}

	// A refresh (or a callback) recorded b/b paid and b/c failed.
	now := time.Now()
	snap := &state.Snapshot{Payouts: map[string]*state.Payout{
		"b/b": payout("b/b", providers.StatusPaid, now),
		"b/c": payout("b/c", providers.StatusFailed, now),
	}}
	m.amounts.observe(snap)
	if got := scrape(t, reg)[paid]; got != 150 {
		t.Fatalf("after b/b was paid: got %v, want 150", got)
	}
	// Seen again, or c paid later by a new attempt: never counted twice.
	snap.Payouts["b/c"] = payout("b/c", providers.StatusPaid, now)
	m.amounts.observe(snap)
	m.amounts.observe(snap)
	if got := scrape(t, reg)[paid]; got != 150 {
		t.Fatalf("observed again: got %v, want 150", got)
	}
	if got := scrape(t, reg)["payctl_watch_held_files"]; got != 2 {
		t.Errorf("held files: got %v, want 2", got)
	}
}

func TestStateGauges(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg, func() float64 { return 0 }, func() float64 { return 0 }, 30*time.Minute)
	const (
		unknown = "payctl_unknown_payouts"
		long    = "payctl_payouts_pending_too_long{threshold_seconds=1800}"
		applied = "payctl_last_successful_apply_timestamp_seconds"
	)
	got := scrape(t, reg)
	for _, k := range []string{unknown, long, applied} {
		if _, ok := got[k]; ok {
			t.Errorf("%s is exposed before it is known", k)
		}
	}
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	snap := &state.Snapshot{Payouts: map[string]*state.Payout{
		"b/u1": payout("b/u1", providers.StatusUnknown, now.Add(-time.Minute)),
		"b/u2": payout("b/u2", providers.StatusUnknown, now.Add(-time.Minute)),
		"b/p1": payout("b/p1", providers.StatusPending, now.Add(-2*time.Hour)),
		"b/p2": payout("b/p2", providers.StatusPending, now.Add(-10*time.Minute)),
		"b/ok": payout("b/ok", providers.StatusPaid, now.Add(-3*time.Hour)),
	}}
	m.state.Observe(snap, now)
	m.state.Applied(now)
	got = scrape(t, reg)
	if got[unknown] != 2 || got[long] != 1 || got[applied] != float64(now.Unix()) {
		t.Errorf("got unknown %v, pending too long %v, last apply %v; want 2, 1, %d", got[unknown], got[long], got[applied], now.Unix())
	}
}
