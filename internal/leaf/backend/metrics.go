package backend

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts backend failures by backend and kind. A nil *Metrics
// counts nothing, so a component built without one still works.
type Metrics struct {
	errors *prometheus.CounterVec
}

// NewMetrics registers riskauth_backend_errors_total on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{errors: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "riskauth_backend_errors_total",
		Help: "Backend failures seen by riskauth, by backend (postgres, sqlite, redis) and kind (timeout, down): each failed call once.",
	}, []string{"backend", "kind"})}
	reg.MustRegister(m.errors)
	return m
}

// Observe counts err when it is (or wraps) an *Error and reports whether
// it did.
func (m *Metrics) Observe(err error) bool {
	be, ok := As(err)
	if !ok {
		return false
	}
	if m != nil {
		m.errors.WithLabelValues(be.Backend, be.Kind).Inc()
	}
	return true
}

// Init creates the series of backend with value 0 for every kind, so that
// a rate() over them is defined before the first failure.
func (m *Metrics) Init(backendName string) {
	if m == nil {
		return
	}
	for _, k := range []string{KindTimeout, KindDown} {
		m.errors.WithLabelValues(backendName, k)
	}
}
