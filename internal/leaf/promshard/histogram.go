package promshard

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// histShard is one shard of a histogram series. counts has one word per
// upper bound plus one for observations above every bound (and NaN), so an
// observation is one atomic add there and one on sumBits; the count is
// their sum, computed at scrape.
type histShard struct {
	_       [cacheLine]byte
	sumBits atomic.Uint64
	counts  []atomic.Uint64 // allocated with cacheLine of padding each side
	_       [cacheLine]byte
}

// histogramOpts is what the histogram types keep of prometheus.HistogramOpts.
type histogramOpts struct {
	desc   *prometheus.Desc
	name   string    // fully qualified, for panic messages
	bounds []float64 // strictly increasing, +Inf removed
}

// Histogram is a classic-bucket histogram series sharded per P. A
// Histogram made by NewHistogram is a prometheus.Collector; one returned by
// HistogramVec.WithLabelValues is exported by its vec.
type Histogram struct {
	*histogramOpts
	lvs     []string
	created time.Time // exported as the created timestamp, as client_golang does
	shards  shards[histShard]
}

var _ prometheus.Collector = (*Histogram)(nil)

// newHistogramOpts checks opts as client_golang's NewHistogram does and
// panics where it would.
func newHistogramOpts(opts prometheus.HistogramOpts, labelNames []string) *histogramOpts {
	if opts.NativeHistogramBucketFactor != 0 {
		panic(fmt.Errorf("promshard: %s: native histograms are not supported", opts.Name))
	}
	for _, l := range labelNames {
		if l == "le" {
			panic(fmt.Errorf("promshard: %s: \"le\" is not allowed as label name in histograms", opts.Name))
		}
	}
	if _, ok := opts.ConstLabels["le"]; ok {
		panic(fmt.Errorf("promshard: %s: \"le\" is not allowed as label name in histograms", opts.Name))
	}
	desc, fq := newDesc(opts.Namespace, opts.Subsystem, opts.Name, opts.Help, labelNames, opts.ConstLabels)
	bounds := opts.Buckets
	if len(bounds) == 0 {
		bounds = prometheus.DefBuckets
	}
	bounds = slices.Clone(bounds)
	for i := range bounds {
		if i < len(bounds)-1 && bounds[i] >= bounds[i+1] {
			panic(fmt.Errorf("histogram buckets must be in increasing order: %f >= %f", bounds[i], bounds[i+1]))
		}
	}
	if n := len(bounds); math.IsInf(bounds[n-1], +1) {
		// The +Inf bucket is implicit, as in client_golang.
		bounds = bounds[:n-1]
	}
	return &histogramOpts{desc: desc, name: fq, bounds: bounds}
}

func newHistogram(o *histogramOpts, lvs []string) *Histogram {
	h := &Histogram{histogramOpts: o, lvs: lvs, created: time.Now()}
	n := len(o.bounds) + 1
	const pad = cacheLine / 8
	h.shards.init(func() *histShard {
		return &histShard{counts: make([]atomic.Uint64, pad+n+pad)[pad : pad+n : pad+n]}
	})
	return h
}

// NewHistogram returns a histogram without variable labels, exported like
// prometheus.NewHistogram(opts). Only classic buckets are supported.
func NewHistogram(opts prometheus.HistogramOpts) *Histogram {
	return newHistogram(newHistogramOpts(opts, nil), nil)
}

// Observe records v: it goes to the first bucket whose upper bound is at
// least v; NaN goes to no finite bucket but is counted and makes the sum
// NaN, as in client_golang.
func (h *Histogram) Observe(v float64) {
	i := h.findBucket(v)
	s := h.shards.get()
	s.counts[i].Add(1)
	addFloat(&s.sumBits, v)
	h.shards.put(s)
}

// findBucket is client_golang's: linear search below 35 bounds (faster on
// short arrays), binary above; len(bounds) for v above every bound or NaN.
func (h *Histogram) findBucket(v float64) int {
	b := h.bounds
	n := len(b)
	if n == 0 || v <= b[0] {
		return 0
	}
	if v > b[n-1] {
		return n
	}
	if n < 35 {
		for i, bound := range b {
			if v <= bound {
				return i
			}
		}
		return n
	}
	return sort.SearchFloat64s(b, v)
}

// Describe implements prometheus.Collector.
func (h *Histogram) Describe(ch chan<- *prometheus.Desc) { ch <- h.desc }

// Collect implements prometheus.Collector.
func (h *Histogram) Collect(ch chan<- prometheus.Metric) { h.collect(ch) }

func (h *Histogram) collect(ch chan<- prometheus.Metric) {
	counts := make([]uint64, len(h.bounds)+1)
	var sum float64
	for _, s := range h.shards.snapshot() {
		for i := range counts {
			counts[i] += s.counts[i].Load()
		}
		sum += math.Float64frombits(s.sumBits.Load())
	}
	buckets := make(map[float64]uint64, len(h.bounds))
	var cum uint64
	for i, b := range h.bounds {
		cum += counts[i]
		buckets[b] = cum
	}
	cum += counts[len(h.bounds)]
	ch <- prometheus.MustNewConstHistogramWithCreatedTimestamp(h.desc, cum, sum, buckets, h.created, h.lvs...)
}

// HistogramVec is a histogram family with variable labels.
type HistogramVec struct{ v *vec[*Histogram] }

var _ prometheus.Collector = (*HistogramVec)(nil)

// NewHistogramVec returns a histogram family exported like
// prometheus.NewHistogramVec(opts, labelNames). Only classic buckets are
// supported.
func NewHistogramVec(opts prometheus.HistogramOpts, labelNames []string) *HistogramVec {
	o := newHistogramOpts(opts, labelNames)
	return &HistogramVec{v: newVec(o.desc, o.name, len(labelNames), func(lvs []string) *Histogram { return newHistogram(o, lvs) })}
}

// WithLabelValues returns the series for the label values, the same one
// every time for the same values. It takes a lock: resolve once, keep the
// child.
func (v *HistogramVec) WithLabelValues(lvs ...string) *Histogram { return v.v.get(lvs) }

// Describe implements prometheus.Collector.
func (v *HistogramVec) Describe(ch chan<- *prometheus.Desc) { v.v.describe(ch) }

// Collect implements prometheus.Collector.
func (v *HistogramVec) Collect(ch chan<- prometheus.Metric) { v.v.collect(ch) }
