package geo

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the geo signal's Prometheus metrics. The db label is the
// database's file name (bounded by the configuration). A nil *Metrics
// records nothing.
type Metrics struct {
	reloads      *prometheus.CounterVec
	reloadErrors *prometheus.CounterVec
	lookupErrors *prometheus.CounterVec
	build        *prometheus.GaugeVec
	bytes        *prometheus.GaugeVec
}

// NewMetrics creates the metrics and registers them on reg (never the
// global registry); a nil reg leaves them unregistered. Registering twice
// on the same registry reuses the collectors already there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_geo_reloads_total",
			Help: "Geo database files reloaded after a change on disk or a reload request.",
		}, []string{"db"}),
		reloadErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_geo_reload_errors_total",
			Help: "Geo database reloads that failed (missing or corrupt file); the loaded database was kept.",
		}, []string{"db"}),
		lookupErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_geo_lookup_errors_total",
			Help: "Geo lookups whose database record could not be decoded.",
		}, []string{"db"}),
		build: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "riskauth_geo_database_build_timestamp_seconds",
			Help: "Build time (database metadata build_epoch) of the loaded geo database, in Unix seconds.",
		}, []string{"db"}),
		bytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "riskauth_geo_database_bytes",
			Help: "Memory holding the loaded geo database, in bytes: a file's private copy (outside the Go heap on Unix), or the embedded data.",
		}, []string{"db"}),
	}
	if reg != nil {
		m.reloads = register(reg, m.reloads)
		m.reloadErrors = register(reg, m.reloadErrors)
		m.lookupErrors = register(reg, m.lookupErrors)
		m.build = register(reg, m.build)
		m.bytes = register(reg, m.bytes)
	}
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a conflicting metric of the same name: a programming error
	}
	return c
}

func (m *Metrics) loaded(db *database) {
	if m == nil {
		return
	}
	m.reloads.WithLabelValues(db.name).Add(0)
	m.reloadErrors.WithLabelValues(db.name).Add(0)
	m.lookupErrors.WithLabelValues(db.name).Add(0)
	m.generation(db)
}

// generation records what describes the loaded generation of db.
func (m *Metrics) generation(db *database) {
	if !db.build.IsZero() {
		m.build.WithLabelValues(db.name).Set(float64(db.build.Unix()))
	}
	m.bytes.WithLabelValues(db.name).Set(float64(db.size))
}

func (m *Metrics) reloaded(db *database) {
	if m == nil {
		return
	}
	m.reloads.WithLabelValues(db.name).Inc()
	m.generation(db)
}

func (m *Metrics) reloadError(name string) {
	if m != nil {
		m.reloadErrors.WithLabelValues(name).Inc()
	}
}

func (m *Metrics) lookupError(name string) {
	if m != nil {
		m.lookupErrors.WithLabelValues(name).Inc()
	}
}
