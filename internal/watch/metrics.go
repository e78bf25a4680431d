package watch

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/payctl/payctl/apply"
	"github.com/payctl/payctl/internal/daemon"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

type metrics struct {
	state    *daemon.StateGauges
	seen     prometheus.Counter
	files    *prometheus.CounterVec
	payouts  *prometheus.CounterVec
	amounts  *amountCollector
	errors   *prometheus.CounterVec
	retries  prometheus.Counter
	duration prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, queued, held func() float64, pendingAfter time.Duration) *metrics {
	m := &metrics{
		state: daemon.NewStateGauges(pendingAfter),
		seen: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "payctl_watch_files_seen_total",
			Help: "Files taken from inbox (claimed, or refused without being read).",
		}),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payctl_watch_files_total",
			Help: "Files finished, by result: applied and nothing_to_pay (done/), incomplete (done/, needs a person), rejected (rejected/), held (held/).",
		}, []string{"result"}),
		payouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payctl_watch_payouts_total",
			Help: "Payouts sent by watch, by provider and the status the provider answered.",
		}, []string{"provider", "status"}),
		amounts: &amountCollector{sums: map[string]money.Amount{}, awaiting: map[string]awaited{}, desc: prometheus.NewDesc(
			"payctl_watch_amount_paid_total",
			"Sum of the amounts of payouts watch sent that the provider says are paid, by currency; a payout still pending when sent is counted once watch sees it paid.",
			[]string{"currency"}, nil)},
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payctl_watch_errors_total",
			Help: "Problems that made watch retry or park a file, by kind (state, io, apply).",
		}, []string{"kind"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "payctl_watch_retries_total",
			Help: "Files left in processing/ to be tried again (state busy, payouts not settled yet).",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "payctl_watch_file_seconds",
			Help:    "Time from taking a file to its move into done/, rejected/ or held/.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
	}
	for _, r := range []string{"applied", "nothing_to_pay", "incomplete", Rejected, Held} {
		m.files.WithLabelValues(r)
	}
	for _, k := range []string{"state", "io", "apply"} {
		m.errors.WithLabelValues(k)
	}
	if reg != nil {
		reg.MustRegister(m.seen, m.files, m.payouts, m.amounts, m.errors, m.retries, m.duration,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "payctl_watch_queued_files",
				Help: "Files waiting to be processed (complete in inbox, or to be retried).",
			}, queued),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "payctl_watch_held_files",
				Help: "Files parked in held/ for a person (a plan beyond the auto-apply policy, or a stopped run).",
			}, held),
			m.state)
	}
	return m
}

// amountCollector sums amounts exactly and converts them to Prometheus's
// float64 samples only when scraped: a dashboard figure, never a record
// (the state and the reports hold the exact amounts).
//
// Only paid payouts count. A payout that is pending when watch sends it is
// remembered (up to maxAwaited of them) and counted once, when watch next
// sees it paid in the state: its own later passes over the file, or any
// state it opens after a refresh, a callback or a reconcile -record by
// another process recorded the change. One that fails is forgotten. The
// counter never counts an address twice and never goes down (a payment
// returned after it was paid stays counted: it was paid).
type amountCollector struct {
	mu       sync.Mutex
	sums     map[string]money.Amount
	awaiting map[string]awaited // by address
	desc     *prometheus.Desc
}

type awaited struct {
	currency string
	amount   money.Amount
}

// maxAwaited bounds the pending payouts remembered; past it, the newest
// are not remembered (and never counted), which is logged by the caller.
const maxAwaited = 1 << 16

// sent counts a payout watch sent, by the status the provider answered;
// it reports false when a pending payout could not be remembered.
func (c *amountCollector) sent(address, currency string, a money.Amount, st providers.Status) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch st {
	case providers.StatusPaid:
		c.addLocked(currency, a)
	case providers.StatusPending, providers.StatusUnknown, providers.StatusSending:
		if len(c.awaiting) >= maxAwaited {
			return false
		}
		c.awaiting[address] = awaited{currency, a}
	}
	return true
}

// observe counts the awaited payouts snap now has paid, and forgets those
// that will never be paid by this attempt.
func (c *amountCollector) observe(snap *state.Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for addr, aw := range c.awaiting {
		p := snap.Payouts[addr]
		if p == nil {
			continue // a batch of a segmented state not loaded now
		}
		switch p.Status {
		case providers.StatusPaid:
			c.addLocked(aw.currency, aw.amount)
			delete(c.awaiting, addr)
		case providers.StatusFailed, providers.StatusNotSent:
			delete(c.awaiting, addr)
		}
	}
}

func (c *amountCollector) addLocked(currency string, a money.Amount) {
	if s, ok := c.sums[currency]; ok {
		c.sums[currency] = s.Add(a)
	} else {
		c.sums[currency] = a
	}
}

func (c *amountCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *amountCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	curs := make([]string, 0, len(c.sums))
	for k := range c.sums {
		curs = append(curs, k)
	}
	sort.Strings(curs)
	for _, cur := range curs {
		f, err := strconv.ParseFloat(c.sums[cur].String(), 64)
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, f, cur)
	}
}

// heldFiles counts the files parked in held/ (each has its saved plan
// beside it), for payctl_watch_held_files.
func (w *Watcher) heldFiles() float64 {
	entries, err := os.ReadDir(w.path(Held))
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".plan.json") {
			n++
		}
	}
	return float64(n)
}

// observe updates the figures read from the state: the paid amounts of
// payouts that were pending, and the state's gauges.
func (w *Watcher) observe(sess *apply.Session) {
	now := w.o.Gate.Workspace().Now()
	sess.State.View(func(s *state.Snapshot) {
		w.m.amounts.observe(s)
		w.m.state.Observe(s, now)
	})
}
