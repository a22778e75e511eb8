package velocity

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riskauth/riskauth/internal/leaf/promshard"
)

// Label values of the metrics; label sets are bounded.
const (
	backendMemory = "memory"
	backendRedis  = "redis"

	opLoad    = "load"
	opOutcome = "outcome"
	opPing    = "ping"
	// opAnnotate attaches the matched rules to a pending evaluation.
	opAnnotate = "annotate"
	// opFamiliarity reads or counts the global familiarity counts (Redis)
	// and failed alone: the Load or outcome went on without it.
	opFamiliarity = "familiarity"
	// opFamiliarityRefresh re-reads the Redis familiarity sketch into the
	// in-process mirror; on failure the previous mirror stays in use.
	opFamiliarityRefresh = "familiarity_refresh"

	evictCounterKey = "counter_key"
	evictPending    = "pending"
)

// Metrics are the velocity store's Prometheus metrics. One Metrics may be
// shared by several stores; a nil *Metrics records nothing.
//
// trackedKeys and the evictions are promshard's, sharded per P: under load
// with many distinct users the memory backend inserts or evicts a key, and
// evicts a pending evaluation once its ring is full, on every request, and
// client_golang's shared atomic words would bounce between the cores.
type Metrics struct {
	errors           *prometheus.CounterVec
	trackedKeys      *promshard.Gauge
	evictions        *promshard.CounterVec
	evictedKeys      *promshard.Counter
	evictedPending   *promshard.Counter
	profileConflicts prometheus.Counter
	annotateDropped  prometheus.Counter
	famMirrorAge     prometheus.Gauge
}

// NewMetrics creates the metrics and registers them on reg (not on the
// global registry): riskauth_velocity_backend_errors_total{backend,op},
// riskauth_velocity_tracked_keys (memory backend),
// riskauth_velocity_evictions_total{what} (memory backend: counter_key or
// pending), riskauth_velocity_profile_conflicts_total (Redis optimistic
// transaction retries) and riskauth_velocity_annotations_dropped_total
// (matched rules the Redis backend did not attach to a pending evaluation
// because its write queue was full; failed writes count as backend errors
// with op="annotate"). op="familiarity" counts reads and writes of the
// Redis global familiarity counts that failed alone: the Load or outcome
// went on without them; op="familiarity_refresh" counts failed re-reads of
// the whole sketch into the in-process mirror, and
// riskauth_velocity_familiarity_mirror_age_seconds is how old that mirror
// was at the last refresh attempt (about 0 while refreshes succeed; while
// they fail it grows by one refresh interval per attempt).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "riskauth", Subsystem: "velocity", Name: "backend_errors_total",
			Help: "Velocity state store operations that failed, by backend and operation.",
		}, []string{"backend", "op"}),
		trackedKeys: promshard.NewGauge(prometheus.GaugeOpts{
			Namespace: "riskauth", Subsystem: "velocity", Name: "tracked_keys",
			Help: "Counter keys (counter x key value) tracked by the memory backend.",
		}),
		evictions: promshard.NewCounterVec(prometheus.CounterOpts{
			Namespace: "riskauth", Subsystem: "velocity", Name: "evictions_total",
			Help: "Entries the memory backend evicted to stay within its caps, by what was evicted.",
		}, []string{"what"}),
		profileConflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "riskauth", Subsystem: "velocity", Name: "profile_conflicts_total",
			Help: "Profile updates the Redis backend retried because a concurrent update won.",
		}),
		annotateDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "riskauth", Subsystem: "velocity", Name: "annotations_dropped_total",
			Help: "Matched-rule annotations of pending evaluations the Redis backend dropped because its write queue was full.",
		}),
		famMirrorAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "riskauth", Subsystem: "velocity", Name: "familiarity_mirror_age_seconds",
			Help: "Age of the Redis backend's in-process copy of the global familiarity sketch, as of its last refresh attempt.",
		}),
	}
	m.evictedKeys = m.evictions.WithLabelValues(evictCounterKey)
	m.evictedPending = m.evictions.WithLabelValues(evictPending)
	if reg != nil {
		for _, c := range []prometheus.Collector{m.errors, m.trackedKeys, m.evictions, m.profileConflicts, m.annotateDropped, m.famMirrorAge} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("velocity metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *Metrics) backendError(backend, op string) {
	if m != nil {
		m.errors.WithLabelValues(backend, op).Inc()
	}
}

// backendErrors counts n failed operations at once: the annotation
// writer loses a whole pipeline's worth under an outage.
func (m *Metrics) backendErrors(backend, op string, n int) {
	if m != nil {
		m.errors.WithLabelValues(backend, op).Add(float64(n))
	}
}

func (m *Metrics) familiarityMirrorAge(d time.Duration) {
	if m != nil {
		m.famMirrorAge.Set(d.Seconds())
	}
}

func (m *Metrics) annotationDropped() {
	if m != nil {
		m.annotateDropped.Inc()
	}
}

func (m *Metrics) evicted(what string) {
	if m == nil {
		return
	}
	if what == evictCounterKey {
		m.evictedKeys.Inc()
	} else {
		m.evictedPending.Inc()
	}
}

func (m *Metrics) conflict() {
	if m != nil {
		m.profileConflicts.Inc()
	}
}
