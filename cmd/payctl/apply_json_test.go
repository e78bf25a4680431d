package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

func jsonText(r *rand.Rand) string {
	pieces := []string{"", "a", "Ñandú", "\"", "\\", "\n", "\t", "\x01", "<&>", "\u2028", "\u2029", "😀", "\xff", "\u202e", "日本", " "}
	s := ""
	for i := r.IntN(5); i > 0; i-- {
		s += pieces[r.IntN(len(pieces))]
	}
	return s
}

// The typed events write exactly the bytes of the maps they replaced.
func TestApplyJSONEventsMatchMaps(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 3))
	same := func(i int, typed any, m map[string]any) {
		t.Helper()
		m["format_version"] = 1
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(typed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d:\ngot  %s\nwant %s", i, got, want)
		}
	}
	idr, _ := money.LookupCurrency("IDR")
	usd, _ := money.LookupCurrency("USD")
	floats := []float64{0, 0.001, 1.5, 12.345, 1e21, 123456789.125, 1e-7}
	for i := 0; i < 5000; i++ {
		addr, prov, reason, st := jsonText(r), jsonText(r), jsonText(r), providers.Status(jsonText(r))
		amt := money.MustParse(fmt.Sprintf("%d.%02d", r.IntN(1e6), r.IntN(100)))
		cur := []money.Currency{idr, usd}[r.IntN(2)]
		f := floats[r.IntN(len(floats))]
		n := r.IntN(1000)
		same(i, payoutEvent{Address: addr, Amount: amt, Currency: cur, ElapsedMS: f, FormatVersion: jsonFormatVersion, Provider: prov, Reason: reason, Status: st, Type: "payout"},
			map[string]any{"type": "payout", "address": addr, "provider": prov, "status": st, "amount": amt, "currency": cur, "reason": reason, "elapsed_ms": f})
		same(i, startEvent{FormatVersion: jsonFormatVersion, Payouts: n, StateSerial: uint64(n) << 40, Type: "start"},
			map[string]any{"type": "start", "payouts": n, "state_serial": uint64(n) << 40})
		ev := progressEvent{Done: n, ElapsedSeconds: f, Failed: n + 1, FormatVersion: jsonFormatVersion, NotSent: n + 2, Paid: n + 3,
			PayoutsPerSecond: f * 2, Pending: n + 4, Total: n + 5, Type: "progress", Unknown: n + 6}
		m := map[string]any{"type": "progress", "done": n, "total": n + 5, "paid": n + 3, "pending": n + 4, "unknown": n + 6, "failed": n + 1, "not_sent": n + 2,
			"payouts_per_second": f * 2, "elapsed_seconds": f, "seconds_left": nil}
		if r.IntN(2) == 0 {
			left := f / 3
			ev.SecondsLeft = &left
			m["seconds_left"] = left
		}
		same(i, ev, m)
		var ids map[string]string
		if r.IntN(2) == 0 {
			ids = map[string]string{jsonText(r): jsonText(r), "id": jsonText(r)}
		}
		same(i, lookupEvent{Address: addr, Attempt: n, FormatVersion: jsonFormatVersion, IDs: ids, Reason: reason, Status: st, Type: "lookup"},
			map[string]any{"type": "lookup", "address": addr, "attempt": n, "status": st, "reason": reason, "ids": ids})
		same(i, skippedEvent{Address: addr, FormatVersion: jsonFormatVersion, Reason: reason, Type: "skipped"},
			map[string]any{"type": "skipped", "address": addr, "reason": reason})
		same(i, statsEvent{FormatVersion: jsonFormatVersion, JournalCommits: int64(n), JournalRecords: int64(n) * 3, Seconds: f, Type: "stats"},
			map[string]any{"type": "stats", "seconds": f, "journal_commits": int64(n), "journal_records": int64(n) * 3})
		same(i, errorEvent{FormatVersion: jsonFormatVersion, Message: reason, Type: "error"},
			map[string]any{"type": "error", "message": reason})
	}
}
