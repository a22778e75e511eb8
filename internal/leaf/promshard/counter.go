package promshard

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Counter is a monotonically increasing series sharded per P. A Counter
// made by NewCounter is a prometheus.Collector; one returned by
// CounterVec.WithLabelValues is exported by its vec.
type Counter struct {
	desc    *prometheus.Desc
	lvs     []string
	created time.Time // exported as the created timestamp, as client_golang does
	v       *values
}

var _ prometheus.Collector = (*Counter)(nil)

func newCounter(desc *prometheus.Desc, lvs []string) *Counter {
	return &Counter{desc: desc, lvs: lvs, created: time.Now(), v: newValues()}
}

// NewCounter returns a counter without variable labels, exported like
// prometheus.NewCounter(opts).
func NewCounter(opts prometheus.CounterOpts) *Counter {
	desc, _ := newDesc(opts.Namespace, opts.Subsystem, opts.Name, opts.Help, nil, opts.ConstLabels)
	return newCounter(desc, nil)
}

// Inc adds one.
func (c *Counter) Inc() { c.v.addInt(1) }

// Add adds v, which must not be negative (it panics otherwise, as
// client_golang's counter does). Whole amounts are added exactly.
func (c *Counter) Add(v float64) {
	if v < 0 {
		panic(errors.New("counter cannot decrease in value"))
	}
	if n := uint64(v); float64(n) == v && n <= 1<<62 {
		c.v.addInt(int64(n))
		return
	}
	c.v.addFloat(v)
}

// Describe implements prometheus.Collector.
func (c *Counter) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *Counter) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

func (c *Counter) collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetricWithCreatedTimestamp(c.desc, prometheus.CounterValue, c.v.sum(), c.created, c.lvs...)
}

// CounterVec is a counter family with variable labels.
type CounterVec struct{ v *vec[*Counter] }

var _ prometheus.Collector = (*CounterVec)(nil)

// NewCounterVec returns a counter family exported like
// prometheus.NewCounterVec(opts, labelNames).
func NewCounterVec(opts prometheus.CounterOpts, labelNames []string) *CounterVec {
	desc, fq := newDesc(opts.Namespace, opts.Subsystem, opts.Name, opts.Help, labelNames, opts.ConstLabels)
	return &CounterVec{v: newVec(desc, fq, len(labelNames), func(lvs []string) *Counter { return newCounter(desc, lvs) })}
}

// WithLabelValues returns the series for the label values, the same one
// every time for the same values. It takes a lock: resolve once, keep the
// child.
func (v *CounterVec) WithLabelValues(lvs ...string) *Counter { return v.v.get(lvs) }

// Describe implements prometheus.Collector.
func (v *CounterVec) Describe(ch chan<- *prometheus.Desc) { v.v.describe(ch) }

// Collect implements prometheus.Collector.
func (v *CounterVec) Collect(ch chan<- prometheus.Metric) { v.v.collect(ch) }
