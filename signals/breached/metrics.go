package breached

import "github.com/prometheus/client_golang/prometheus"

// Metrics count breached-password checks. A nil *Metrics records nothing.
type Metrics struct {
	checks *prometheus.CounterVec
	remote *prometheus.CounterVec
}

// NewMetrics registers the package's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "riskauth", Subsystem: "breached", Name: "checks_total",
			Help: "Breached-password signal checks by result (breached, clean, skipped, error).",
		}, []string{"result"}),
		remote: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "riskauth", Subsystem: "breached", Name: "range_requests_total",
			Help: "Range-API lookups of the remote client by result (cache_hit, fetched, error, breaker_open).",
		}, []string{"result"}),
	}
	reg.MustRegister(m.checks, m.remote)
	return m
}

func (m *Metrics) check(result string) {
	if m != nil {
		m.checks.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) rangeRequest(result string) {
	if m != nil {
		m.remote.WithLabelValues(result).Inc()
	}
}
