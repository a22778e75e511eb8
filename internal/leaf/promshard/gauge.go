package promshard

import "github.com/prometheus/client_golang/prometheus"

// Gauge is a series that goes up and down, sharded per P; a shard may
// hold a negative value, only the sum is meaningful. There is no Set:
// setting would have to reset every shard at once.
type Gauge struct {
	desc *prometheus.Desc
	v    *values
}

var _ prometheus.Collector = (*Gauge)(nil)

// NewGauge returns a gauge without variable labels, exported like
// prometheus.NewGauge(opts).
func NewGauge(opts prometheus.GaugeOpts) *Gauge {
	desc, _ := newDesc(opts.Namespace, opts.Subsystem, opts.Name, opts.Help, nil, opts.ConstLabels)
	return &Gauge{desc: desc, v: newValues()}
}

// Inc adds one.
func (g *Gauge) Inc() { g.v.addInt(1) }

// Dec subtracts one.
func (g *Gauge) Dec() { g.v.addInt(-1) }

// Add adds v, which may be negative. Whole amounts are added exactly.
func (g *Gauge) Add(v float64) {
	if n := int64(v); float64(n) == v && n <= 1<<62 && n >= -1<<62 {
		g.v.addInt(n)
		return
	}
	g.v.addFloat(v)
}

// Sub subtracts v.
func (g *Gauge) Sub(v float64) { g.Add(-v) }

// Describe implements prometheus.Collector.
func (g *Gauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

// Collect implements prometheus.Collector.
func (g *Gauge) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, g.v.sum())
}
