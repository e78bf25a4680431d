package statefile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

func randomText(r *rand.Rand) string {
	pieces := []string{"", "a", "Ñandú", "\"", "\\", "\n", "\t", "\b", "\f", "\r", "\x01", "\x1f", "<&>", "\u2028", "\u2029",
		"😀", "\xff", "\xe2\x80", "/", "\u007f", "ok", " ", "日本"}
	var b bytes.Buffer
	for i := r.IntN(6); i > 0; i-- {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

func randomMap(r *rand.Rand) map[string]string {
	switch r.IntN(4) {
	case 0:
		return nil
	case 1:
		return map[string]string{}
	}
	m := map[string]string{}
	for i := r.IntN(6); i >= 0; i-- {
		m[randomText(r)+fmt.Sprint(i)] = randomText(r)
	}
	return m
}

// randomFindings is nil, empty, or a few findings of random text.
func randomFindings(r *rand.Rand) []state.Finding {
	switch r.IntN(4) {
	case 0:
		return nil
	case 1:
		return []state.Finding{}
	}
	var fs []state.Finding
	for i := r.IntN(3); i >= 0; i-- {
		fs = append(fs, state.Finding{Kind: randomText(r), Want: randomText(r), Got: randomText(r)})
	}
	return fs
}

func randomPayout(r *rand.Rand) *state.Payout {
	opt := func(s string) string {
		if r.IntN(2) == 0 {
			return ""
		}
		return s
	}
	amt := func() *money.Amount {
		if r.IntN(3) == 0 {
			return nil
		}
		a := money.MustParse(fmt.Sprintf("%d.%02d", r.IntN(100000), r.IntN(100)))
		return &a
	}
	zones := []*time.Location{time.UTC, time.FixedZone("WIB", 7*3600), time.FixedZone("X", -5*3600-30*60)}
	tm := func() time.Time {
		return time.Unix(int64(r.IntN(2e9)), int64(r.IntN(1e9))*int64(r.IntN(2))).In(zones[r.IntN(len(zones))])
	}
	p := &state.Payout{
		Address: randomText(r), Provider: randomText(r), Type: randomText(r), Currency: randomText(r),
		Amount:    money.MustParse(fmt.Sprint(r.IntN(1e9))),
		Recipient: providers.Recipient{Name: randomText(r), BankCode: opt(randomText(r)), Bank: opt(randomText(r)), Account: randomText(r), Country: opt(randomText(r))},
		Reference: opt(randomText(r)), Metadata: state.FieldsOf(randomMap(r)),
		Digest: randomText(r), PlannedFee: amt(), FeePayer: fee.Payer(opt(randomText(r))), Status: providers.Status(randomText(r)),
	}
	if r.IntN(8) > 0 {
		p.Attempts = []*state.Attempt{}
		for i := r.IntN(3); i >= 0; i-- {
			if r.IntN(10) == 0 {
				p.Attempts = append(p.Attempts, nil)
				continue
			}
			a := &state.Attempt{N: r.IntN(5) - 1, Key: randomText(r), Status: providers.Status(randomText(r)), Group: opt(randomText(r)),
				IDs: state.FieldsOf(randomMap(r)), Fee: amt(), Answer: state.FieldsOf(randomMap(r)), Reason: opt(randomText(r)), ResolvedBy: opt(randomText(r)),
				Findings: randomFindings(r), SentAt: tm(), Sends: r.IntN(3)}
			if r.IntN(2) == 0 {
				f := tm()
				a.FinalAt = &f
			}
			p.Attempts = append(p.Attempts, a)
		}
	}
	return p
}

// AppendPayout must write exactly what encoding/json writes.
func TestAppendPayoutMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := 0; i < 20000; i++ {
		p := randomPayout(r)
		buf.Reset()
		if err := enc.Encode(p); err != nil {
			t.Fatal(err)
		}
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := AppendPayout(nil, p); !bytes.Equal(got, want) {
			t.Fatalf("case %d differs:\ngot  %s\nwant %s", i, got, want)
		}
	}
}

func BenchmarkWriteSnapshot(b *testing.B) {
	s := sampleSnapshot(10000)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		WriteSnapshot(&buf, s)
	}
}
