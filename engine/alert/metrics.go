package alert

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the sink's Prometheus series. Labels are bounded: topic
// names from the configuration and fixed reasons.
type Metrics struct {
	produced *prometheus.CounterVec
	spooled  *prometheus.CounterVec
	drained  *prometheus.CounterVec
	dropped  *prometheus.CounterVec
	spoolB   *prometheus.GaugeVec
	queueLen prometheus.Gauge
	overflow prometheus.Counter
	// erased counts the lines the erasure removed from the JSONL files.
	erased prometheus.Counter
	// aggregated counts alerts folded into a summary finding.
	aggregated prometheus.Counter
	produce    prometheus.Histogram
	kafkaErr   *prometheus.CounterVec
}

// Spool and drop reasons, the values of the reason label.
const (
	reasonKafkaError = "kafka_error" // a produce failed: the batch and what queued behind it
	reasonKafkaSlow  = "kafka_slow"  // a produce outlasted the in-memory bound
	reasonBacklog    = "backlog"     // the spool was not empty: appended behind it, for order
	reasonQueueFull  = "queue_full"  // Publish found the queue full
	reasonShutdown   = "shutdown"    // Close ran out of time
	reasonSpoolFull  = "spool_full"  // dropped: the spool is at its bound
	reasonSpoolError = "spool_error" // dropped: the spool could not be written
	reasonFileError  = "file_error"  // dropped: the JSONL file could not be written
	reasonTooLarge   = "too_large"   // dropped: bigger than batch_bytes, Kafka would refuse it
	reasonEncode     = "encode_error"
	reasonClosed     = "closed" // dropped: published after Close
	reasonCorrupt    = "corrupt"
)

// NewMetrics registers the sink's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_alert_messages_produced_total",
			Help: "Messages acknowledged by Kafka (all replicas) or appended to the JSONL file, spool drains included, by topic.",
		}, []string{"topic"}),
		spooled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_alert_messages_spooled_total",
			Help: "Messages written to the disk spool, by topic and reason (kafka_error|kafka_slow|backlog|queue_full|shutdown).",
		}, []string{"topic", "reason"}),
		drained: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_alert_messages_drained_total",
			Help: "Spooled messages acknowledged by Kafka, by topic.",
		}, []string{"topic"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_alert_messages_dropped_total",
			Help: "Messages lost, by topic and reason (spool_full|spool_error|file_error|too_large|encode_error|closed|corrupt). Should stay 0.",
		}, []string{"topic", "reason"}),
		spoolB: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "riskauth_alert_spool_bytes",
			Help: "Bytes on disk in the spool not yet delivered to Kafka, by topic.",
		}, []string{"topic"}),
		aggregated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riskauth_alert_aggregated_total",
			Help: "Alerting decisions folded into a summary finding (same rule and source within alerts.aggregate_window) instead of a finding of their own.",
		}),
		queueLen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "riskauth_alert_queue_length",
			Help: "Decisions and events waiting in the in-memory queue, sampled by the worker.",
		}),
		overflow: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riskauth_alert_queue_overflow_total",
			Help: "Publish calls that found the queue full and encoded on the caller's goroutine.",
		}),
		erased: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riskauth_alert_erased_lines_total",
			Help: "Lines naming an erased user removed from the embedded mode's JSONL files (in Kafka mode a tombstone is produced instead).",
		}),
		produce: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "riskauth_alert_produce_duration_seconds",
			Help:    "Time of one produce call to Kafka (or one JSONL append), successful or not.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		kafkaErr: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_alert_kafka_errors_total",
			Help: "Failed produce calls to Kafka, by topic.",
		}, []string{"topic"}),
	}
	reg.MustRegister(m.produced, m.spooled, m.drained, m.dropped, m.spoolB, m.queueLen, m.overflow, m.erased, m.aggregated, m.produce, m.kafkaErr)
	return m
}

// topicSeries are one topic's series, resolved once.
type topicSeries struct {
	produced, drained, kafkaErr prometheus.Counter
	spoolBytes                  prometheus.Gauge
	m                           *Metrics
	topic                       string
}

func (m *Metrics) topic(name string) *topicSeries {
	ts := &topicSeries{
		produced: m.produced.WithLabelValues(name), drained: m.drained.WithLabelValues(name),
		kafkaErr: m.kafkaErr.WithLabelValues(name), spoolBytes: m.spoolB.WithLabelValues(name),
		m: m, topic: name,
	}
	// Export zeros so that alerts on rate() and absent() work from the start.
	for _, r := range []string{reasonKafkaError, reasonKafkaSlow, reasonBacklog, reasonQueueFull, reasonShutdown} {
		m.spooled.WithLabelValues(name, r)
	}
	m.dropped.WithLabelValues(name, reasonSpoolFull)
	return ts
}

func (t *topicSeries) spooled(reason string, n int) {
	t.m.spooled.WithLabelValues(t.topic, reason).Add(float64(n))
}

func (t *topicSeries) dropped(reason string, n int) {
	t.m.dropped.WithLabelValues(t.topic, reason).Add(float64(n))
}
