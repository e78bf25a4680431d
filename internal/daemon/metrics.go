package daemon

import (
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// NewRegistry returns a Prometheus registry holding payctl's build info
// (payctl_build_info{version,goversion} 1, and go_build_info), the Go
// runtime's and the process's metrics. Gates, daemons and watchers of one
// process register into it.
func NewRegistry(version string) *prometheus.Registry {
	if version == "" {
		version = "(devel)"
	}
	reg := prometheus.NewRegistry()
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "payctl_build_info",
		Help:        "Always 1; the labels say which payctl is running.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	info.Set(1)
	reg.MustRegister(info,
		collectors.NewBuildInfoCollector(),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// callbackMetrics count what became of callbacks, by provider.
type callbackMetrics struct {
	received  *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	confirmed *prometheus.CounterVec
	ignored   *prometheus.CounterVec
	changed   *prometheus.CounterVec
	errors    *prometheus.CounterVec
	dropped   *prometheus.CounterVec
}

func newCallbackMetrics(reg prometheus.Registerer, queued func() float64) *callbackMetrics {
	m := &callbackMetrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payctl_callbacks_received_total",
			Help: "Requests to a provider's callback path.",
		}, []string{"provider"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payctl_callbacks_rejected_total",
			Help: "Callback requests refused before any lookup (not a callback, too large, wrong method), by HTTP status.",
		}, []string{"provider", "code"}),
		confirmed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payctl_callbacks_confirmed_total",
			Help: "Callback hints looked up at the provider (the lookup, not the callback, decides what is recorded).",
		}, []string{"provider"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payctl_callbacks_ignored_total",
			Help: "Callback hints for a reference that is not the latest attempt of any payout of the provider; nothing was looked up or recorded.",
		}, []string{"provider"}),
		changed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payctl_callback_state_changes_total",
			Help: "Payout status changes recorded after lookups prompted by callbacks.",
		}, []string{"provider"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payctl_check_errors_total",
			Help: "Lookups at a provider that failed (the hint stays queued and is retried).",
		}, []string{"provider"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payctl_callbacks_given_up_total",
			Help: "Callback hints whose lookup failed MaxTries times; logged as errors, `payctl refresh` catches up.",
		}, []string{"provider"}),
	}
	if reg != nil {
		reg.MustRegister(m.received, m.rejected, m.confirmed, m.ignored, m.changed, m.errors, m.dropped,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "payctl_callbacks_queued",
				Help: "Callback hints waiting for their lookup.",
			}, queued))
	}
	return m
}

// init makes a provider's series exist at zero, so that dashboards and
// alerts see them before the first callback.
func (m *callbackMetrics) init(provider string) {
	for _, v := range []*prometheus.CounterVec{m.received, m.confirmed, m.ignored, m.changed, m.errors, m.dropped} {
		v.WithLabelValues(provider)
	}
}

// StateGauges are the state's figures one alerts on, as of the last time
// the process read the state (each watch pass, each callback lookup):
//
//	payctl_unknown_payouts                  payouts whose outcome is unknown:
//	                                        a person runs payctl state resolve
//	payctl_payouts_pending_too_long         payouts pending at the provider for
//	                                        longer than the threshold (label
//	                                        threshold_seconds)
//	payctl_last_successful_apply_timestamp_seconds
//	                                        when a run last ended without error
//
// A gauge is absent until its figure is known, so an alert on it cannot
// fire on a made-up zero.
type StateGauges struct {
	pendingAfter time.Duration

	mu          sync.Mutex
	observed    bool
	unknown     int
	pendingLong int
	lastApply   time.Time

	unknownDesc, pendingDesc, applyDesc *prometheus.Desc
}

// DefaultPendingAfter is the threshold of payctl_payouts_pending_too_long
// when none is set: Cronos settles within minutes, Dinar Dragon within 15.
const DefaultPendingAfter = time.Hour

// NewStateGauges returns the gauges; pendingAfter <= 0 means
// DefaultPendingAfter.
func NewStateGauges(pendingAfter time.Duration) *StateGauges {
	if pendingAfter <= 0 {
		pendingAfter = DefaultPendingAfter
	}
	return &StateGauges{
		pendingAfter: pendingAfter,
		unknownDesc: prometheus.NewDesc("payctl_unknown_payouts",
			"Payouts whose outcome is not known; each needs a person (payctl state resolve ADDRESS).", nil, nil),
		pendingDesc: prometheus.NewDesc("payctl_payouts_pending_too_long",
			"Payouts pending at their provider for longer than threshold_seconds.", nil,
			prometheus.Labels{"threshold_seconds": strconv.FormatFloat(pendingAfter.Seconds(), 'f', -1, 64)}),
		applyDesc: prometheus.NewDesc("payctl_last_successful_apply_timestamp_seconds",
			"Unix time at which a run of payouts last ended without error.", nil, nil),
	}
}

// Observe reads the figures from snap (its open payouts only).
func (g *StateGauges) Observe(snap *state.Snapshot, now time.Time) {
	unknown, long := 0, 0
	for _, addr := range snap.OpenAddresses() {
		p := snap.Payouts[addr]
		a := p.Latest()
		if a == nil {
			continue
		}
		switch a.Status {
		case providers.StatusUnknown:
			unknown++
		case providers.StatusPending:
			if !a.SentAt.IsZero() && now.Sub(a.SentAt) > g.pendingAfter {
				long++
			}
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.observed, g.unknown, g.pendingLong = true, unknown, long
}

// Applied records a run that ended without error at t.
func (g *StateGauges) Applied(t time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t.After(g.lastApply) {
		g.lastApply = t
	}
}

// Describe implements prometheus.Collector.
func (g *StateGauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.unknownDesc
	ch <- g.pendingDesc
	ch <- g.applyDesc
}

// Collect implements prometheus.Collector.
func (g *StateGauges) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.observed {
		ch <- prometheus.MustNewConstMetric(g.unknownDesc, prometheus.GaugeValue, float64(g.unknown))
		ch <- prometheus.MustNewConstMetric(g.pendingDesc, prometheus.GaugeValue, float64(g.pendingLong))
	}
	if !g.lastApply.IsZero() {
		ch <- prometheus.MustNewConstMetric(g.applyDesc, prometheus.GaugeValue, float64(g.lastApply.UnixNano())/1e9)
	}
}
