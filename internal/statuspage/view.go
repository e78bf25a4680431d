package statuspage

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/audit"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/internal/safetext"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// view is what the template shows. Every string in it from the state has
// been through text (and the template escapes it again for HTML).
type view struct {
	Now, Location, Lineage string
	Error                  string
	Notes                  []string

	Payouts int
	Totals  []string // per currency, e.g. "1,250,000 IDR"
	Counts  []count  // per status, over every payout
	Batches []batchRow
	// MoreBatches is how many older batches are not listed.
	MoreBatches int

	Unknown []unknownRow
	Pending int
	Watch   bool // served by watch: show held files
	Held    []heldRow

	Recent []activity
	Charts []chart
}

type count struct {
	Status string
	N      int
}

type batchRow struct {
	Name    string
	Payouts int
	Totals  []string
	Counts  []count
	Last    string
	last    time.Time
}

type unknownRow struct {
	Address, Provider, Amount, Recipient, Since, Reason string
	Command                                             string
}

type heldRow struct{ Name, Since, Command string }

type activity struct {
	Time, Kind, By, Address, Status, Detail string
}

// text makes state text safe to show: control, bidirectional and
// invisible characters are escaped, so that a crafted name cannot make
// one address look like another.
func text(s string) string { return safetext.Escape(s) }

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// statusOrder is the order statuses are listed in: what needs a person
// first.
var statusOrder = []providers.Status{providers.StatusUnknown, providers.StatusSending, providers.StatusPending, providers.StatusFailed, providers.StatusNotSent, providers.StatusPaid}

func counts(m map[providers.Status]int) []count {
	var out []count
	for _, s := range statusOrder {
		if m[s] > 0 {
			out = append(out, count{string(s), m[s]})
		}
	}
	var other []string
	for s := range m {
		known := false
		for _, k := range statusOrder {
			known = known || s == k
		}
		if !known {
			other = append(other, string(s))
		}
	}
	sort.Strings(other)
	for _, s := range other {
		out = append(out, count{text(s), m[providers.Status(s)]})
	}
	return out
}

// sums adds amounts per currency.
type sums map[string]money.Amount

func (s sums) add(cur string, a money.Amount) {
	if old, ok := s[cur]; ok {
		s[cur] = old.Add(a)
		return
	}
	s[cur] = a
}

func (s sums) text() []string {
	codes := make([]string, 0, len(s))
	for c := range s {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = amountText(s[c], c)
	}
	return out
}

func amountText(a money.Amount, cur string) string {
	return a.Human(money.CurrencyOf(cur)) + " " + text(cur)
}

// paidAt is when a paid payout was known paid: its latest attempt's final
// time, or its send time when the outcome was immediate.
func paidAt(p *state.Payout) time.Time {
	a := p.Latest()
	if a == nil {
		return time.Time{}
	}
	if a.FinalAt != nil {
		return *a.FinalAt
	}
	return a.SentAt
}

func (v *view) fromSnapshot(s *state.Snapshot, now time.Time, maxBatches int, configFlag string) {
	all := map[providers.Status]int{}
	total := sums{}
	byBatch := map[string]*batchRow{}
	batchCounts := map[string]map[providers.Status]int{}
	batchSums := map[string]sums{}
	first := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(chartDays - 1))
	daily := map[string][]money.Amount{} // currency -> day -> paid
	for _, p := range s.Payouts {
		v.Payouts++
		all[p.Status]++
		total.add(p.Currency, p.Amount)
		b := p.Batch()
		row := byBatch[b]
		if row == nil {
			row = &batchRow{Name: text(b)}
			byBatch[b], batchCounts[b], batchSums[b] = row, map[providers.Status]int{}, sums{}
		}
		row.Payouts++
		batchCounts[b][p.Status]++
		batchSums[b].add(p.Currency, p.Amount)
		if a := p.Latest(); a != nil && a.SentAt.After(row.last) {
			row.last = a.SentAt
		}
		switch p.Status {
		case providers.StatusUnknown:
			v.Unknown = append(v.Unknown, unknownOf(p, configFlag))
		case providers.StatusPending, providers.StatusSending:
			v.Pending++
		case providers.StatusPaid:
			if t := paidAt(p); !t.Before(first) && !t.After(now) {
				day := int(t.UTC().Sub(first) / (24 * time.Hour))
				d := daily[p.Currency]
				if d == nil {
					d = make([]money.Amount, chartDays)
					for i := range d {
						d[i] = money.FromInt64(0)
					}
					daily[p.Currency] = d
				}
				d[day] = d[day].Add(p.Amount)
			}
		}
	}
	v.Totals, v.Counts = total.text(), counts(all)
	rows := make([]*batchRow, 0, len(byBatch))
	for b, row := range byBatch {
		row.Counts, row.Totals, row.Last = counts(batchCounts[b]), batchSums[b].text(), stamp(row.last)
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].last.Equal(rows[j].last) {
			return rows[i].last.After(rows[j].last)
		}
		return rows[i].Name < rows[j].Name
	})
	if len(rows) > maxBatches {
		v.MoreBatches = len(rows) - maxBatches
		rows = rows[:maxBatches]
	}
	for _, r := range rows {
		v.Batches = append(v.Batches, *r)
	}
	sort.Slice(v.Unknown, func(i, j int) bool { return v.Unknown[i].Address < v.Unknown[j].Address })
	codes := make([]string, 0, len(daily))
	for c := range daily {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		v.Charts = append(v.Charts, newChart(c, first, daily[c]))
	}
}

func unknownOf(p *state.Payout, configFlag string) unknownRow {
	r := unknownRow{
		Address:   text(p.Address),
		Provider:  text(p.Provider),
		Amount:    amountText(p.Amount, p.Currency),
		Recipient: text(p.Recipient.Name) + ", account " + text(plan.MaskAccount(p.Recipient.Account)),
		Command:   command("state resolve", configFlag, p.Address) + " -paid|-failed -reason TEXT",
	}
	if a := p.Latest(); a != nil {
		r.Since, r.Reason = stamp(a.SentAt), text(a.Reason)
	}
	return r
}

func activityOf(e *audit.Entry) activity {
	a := activity{Time: stamp(e.Time), Kind: text(string(e.Kind)), By: text(e.By), Address: text(e.Address), Status: text(string(e.Status))}
	if e.Op != "" {
		a.By = text(e.By + " (" + e.Op + ")")
	}
	var d []string
	switch {
	case e.Kind == state.KindCreate:
		d = append(d, "state created")
	case e.Address == "" && e.Group != "":
		a.Address = text("provider payout " + e.Group)
		d = append(d, fmt.Sprintf("%d payouts", e.Payouts))
	}
	if e.Amount != nil && e.Currency != "" {
		s := amountText(*e.Amount, e.Currency)
		if e.Recipient != "" {
			s += " to " + text(e.Recipient) + " (" + text(e.Account) + ")"
		}
		d = append(d, s)
	}
	if e.Reason != "" {
		d = append(d, text(e.Reason))
	}
	a.Detail = strings.Join(d, "; ")
	return a
}

// chart is one currency's bars of amounts paid per day, drawn as inline
// SVG: no script, no library.
type chart struct {
	Currency         string
	Total            string
	Width, Height    int
	Bars             []bar
	Labels           []label
	Max              string
	Top, Base, Right int
}

type bar struct {
	X, Y, W, H int
	Title      string
}

type label struct {
	X    int
	Text string
}

const (
	chartW, chartH = 720, 160
	chartLeft      = 8
	chartTop       = 16
	chartBase      = 130
	barGap         = 4
)

func newChart(cur string, first time.Time, days []money.Amount) chart {
	c := chart{Currency: text(cur), Width: chartW, Height: chartH, Top: chartTop, Base: chartBase, Right: chartW - chartLeft}
	total := money.FromInt64(0)
	peak := 0.0
	vals := make([]float64, len(days))
	for i, d := range days {
		total = total.Add(d)
		// Heights only: the figures shown are the decimals themselves.
		f, _ := strconv.ParseFloat(d.String(), 64)
		vals[i] = f
		peak = math.Max(peak, f)
	}
	c.Total = amountText(total, cur)
	step := (chartW - 2*chartLeft) / len(days)
	for i, d := range days {
		day := first.AddDate(0, 0, i)
		h := 0
		if peak > 0 {
			h = int(math.Round(vals[i] / peak * float64(chartBase-chartTop)))
		}
		if h == 0 && vals[i] > 0 {
			h = 1 // a day with payments is never drawn as none
		}
		c.Bars = append(c.Bars, bar{X: chartLeft + i*step + barGap/2, Y: chartBase - h, W: step - barGap, H: h,
			Title: day.Format("2006-01-02") + ": " + amountText(d, cur) + " paid"})
		if i%5 == 0 || i == len(days)-1 {
			c.Labels = append(c.Labels, label{X: chartLeft + i*step + step/2, Text: day.Format("Jan 2")})
		}
		if vals[i] == peak && peak > 0 {
			c.Max = amountText(d, cur)
		}
	}
	return c
}
