package watch

import (
	"sort"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/payctl/payctl/internal/money"
)

type metrics struct {
	seen     prometheus.Counter
	files    *prometheus.CounterVec
	payouts  *prometheus.CounterVec
	amounts  *amountCollector
	errors   *prometheus.CounterVec
	retries  prometheus.Counter
	duration prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, queued func() float64) *metrics {
	m := &metrics{
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
		amounts: &amountCollector{sums: map[string]money.Amount{}, desc: prometheus.NewDesc(
			"payctl_watch_amount_paid_total",
			"Sum of the amounts of payouts watch sent that the provider accepted (paid or pending), by currency.",
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
			}, queued))
	}
	return m
}

// amountCollector sums amounts exactly and converts them to Prometheus's
// float64 samples only when scraped: a dashboard figure, never a record
// (the state and the reports hold the exact amounts).
type amountCollector struct {
	mu   sync.Mutex
	sums map[string]money.Amount
	desc *prometheus.Desc
}

func (c *amountCollector) add(currency string, a money.Amount) {
	c.mu.Lock()
	defer c.mu.Unlock()
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
