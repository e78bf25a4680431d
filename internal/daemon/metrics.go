package daemon

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
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
