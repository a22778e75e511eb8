package password

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	opHash   = "hash"
	opVerify = "verify"
	opDummy  = "dummy"
)

// Metrics records the Hasher's work. A nil *Metrics records nothing.
type Metrics struct {
	duration *prometheus.HistogramVec
	wait     prometheus.Histogram
	rejected *prometheus.CounterVec
	running  prometheus.Gauge
}

// NewMetrics registers the package's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "riskauth", Subsystem: "password", Name: "hash_duration_seconds",
			Help:    "Time spent computing argon2id, by operation (hash, verify, dummy).",
			Buckets: []float64{.005, .01, .02, .035, .05, .075, .1, .15, .25, .5, 1},
		}, []string{"op"}),
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "riskauth", Subsystem: "password", Name: "queue_wait_seconds",
			Help:    "Time spent waiting for an argon2id slot, for operations that got one.",
			Buckets: []float64{0, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2, 5},
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "riskauth", Subsystem: "password", Name: "busy_rejections_total",
			Help: "Operations rejected with ErrBusy, by reason (deadline, canceled, max_wait, queue_full).",
		}, []string{"reason"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "riskauth", Subsystem: "password", Name: "in_flight",
			Help: "argon2id computations running now.",
		}),
	}
	reg.MustRegister(m.duration, m.wait, m.rejected, m.running)
	return m
}

func (m *Metrics) observe(op string, d time.Duration) {
	if m != nil {
		m.duration.WithLabelValues(op).Observe(d.Seconds())
	}
}

func (m *Metrics) waited(d time.Duration) {
	if m != nil {
		m.wait.Observe(d.Seconds())
	}
}

func (m *Metrics) busy(reason string) {
	if m != nil {
		m.rejected.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) inFlight(delta float64) {
	if m != nil {
		m.running.Add(delta)
	}
}
