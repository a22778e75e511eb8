package standard

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/internal/leaf/backend"
	"github.com/riskauth/riskauth/signals/breached"
	"github.com/riskauth/riskauth/signals/geo"
	"github.com/riskauth/riskauth/signals/velocity"
)

// metrics are the components' metric sets, all nil without a registerer
// (each component then keeps none).
type metrics struct {
	engine   *engine.Metrics
	velocity *velocity.Metrics
	geo      *geo.Metrics
	breached *breached.Metrics
	snapshot *snapshotMetrics
	backends *backend.Metrics
	err      error
}

func newMetrics(reg prometheus.Registerer) metrics {
	if reg == nil {
		return metrics{}
	}
	m := metrics{engine: engine.NewMetrics(reg)}
	m.velocity, m.err = velocity.NewMetrics(reg)
	if m.err != nil {
		return m
	}
	m.geo = geo.NewMetrics(reg)
	m.breached = breached.NewMetrics(reg)
	m.snapshot = newSnapshotMetrics(reg)
	m.backends = backend.NewMetrics(reg)
	return m
}

// snapshotMetrics are the familiarity snapshot's series, this package's
// own: the snapshot is written here, by no component. A nil
// *snapshotMetrics keeps none.
type snapshotMetrics struct {
	lastSuccess prometheus.Gauge
	errors      prometheus.Counter
}

func newSnapshotMetrics(reg prometheus.Registerer) *snapshotMetrics {
	m := &snapshotMetrics{
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "riskauth_familiarity_snapshot_last_success_timestamp_seconds",
			Help: "When the global familiarity counts were last written to the data dir (or found already written), Unix time; in-memory state only.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riskauth_familiarity_snapshot_errors_total",
			Help: "Failed writes of the global familiarity snapshot to the data dir.",
		}),
	}
	reg.MustRegister(m.lastSuccess, m.errors)
	return m
}

func (m *snapshotMetrics) saved(at time.Time) {
	if m != nil {
		m.lastSuccess.Set(float64(at.UnixNano()) / 1e9)
	}
}

func (m *snapshotMetrics) failed() {
	if m != nil {
		m.errors.Inc()
	}
}
