package promshard

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exposition is what /metrics serves for reg, in the text format.
func exposition(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.PanicOnError}).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return rec.Body.String()
}

// manyBuckets has more than 35 bounds, so findBucket searches them
// binarily as client_golang does.
var manyBuckets = prometheus.LinearBuckets(0.25, 0.25, 40)

// observations are exactly representable with few significant bits, so
// that the sum is exact whatever the order of additions (per shard here,
// in sequence in client_golang) and the expositions compare byte for byte.
var observations = []float64{0, 0.125, 0.25, 0.25, 0.375, 1, 2.5, 5, 7.75, 10, 11, 100, -3, 0.0625}

// TestExpositionMatchesClientGolang feeds the same observations to
// client_golang's series and to promshard's, on two registries, and
// compares what /metrics serves.
func TestExpositionMatchesClientGolang(t *testing.T) {
	t.Parallel()
	hopts := prometheus.HistogramOpts{
		Namespace: "riskauth", Subsystem: "test", Name: "duration_seconds", Help: "Durations.",
		Buckets: []float64{.25, 1, 2.5, 10},
	}
	type pair struct{ want, got prometheus.Collector }
	// histograms feeds the same observations to client_golang's histogram
	// and to ours, built with the given buckets.
	histograms := func(buckets []float64, obs ...float64) pair {
		o := hopts
		o.Buckets = buckets
		want, got := prometheus.NewHistogram(o), NewHistogram(o)
		for _, v := range obs {
			want.Observe(v)
			got.Observe(v)
		}
		return pair{want, got}
	}
	copts := prometheus.CounterOpts{Name: "riskauth_test_total", Help: "Things, by kind.", ConstLabels: prometheus.Labels{"instance_kind": "a"}}
	for _, tc := range []struct {
		name string
		// build registers both implementations and feeds them.
		build func() pair
	}{
		{"counter vec", func() pair {
			want, got := prometheus.NewCounterVec(copts, []string{"kind", "code"}), NewCounterVec(copts, []string{"kind", "code"})
			for i, v := range observations {
				lvs := []string{fmt.Sprint("k", i%3), "200"}
				want.WithLabelValues(lvs...).Inc()
				got.WithLabelValues(lvs...).Inc()
				if v >= 0 {
					want.WithLabelValues(lvs...).Add(v)
					got.WithLabelValues(lvs...).Add(v)
				}
			}
			return pair{want, got}
		}},
		{"counter", func() pair {
			want, got := prometheus.NewCounter(copts), NewCounter(copts)
			want.Add(3)
			got.Add(3)
			want.Add(0.5)
			got.Add(0.5)
			want.Inc()
			got.Inc()
			return pair{want, got}
		}},
		{"counter never touched", func() pair {
			return pair{prometheus.NewCounter(copts), NewCounter(copts)}
		}},
		{"gauge", func() pair {
			o := prometheus.GaugeOpts{Name: "riskauth_test_keys", Help: "Keys."}
			want, got := prometheus.NewGauge(o), NewGauge(o)
			for range 5 {
				want.Inc()
				got.Inc()
			}
			want.Dec()
			got.Dec()
			want.Add(-2.5)
			got.Add(-2.5)
			want.Sub(1)
			got.Sub(1)
			return pair{want, got}
		}},
		{"histogram vec", func() pair {
			want, got := prometheus.NewHistogramVec(hopts, []string{"signal"}), NewHistogramVec(hopts, []string{"signal"})
			for i, v := range observations {
				want.WithLabelValues(fmt.Sprint("s", i%2)).Observe(v)
				got.WithLabelValues(fmt.Sprint("s", i%2)).Observe(v)
			}
			want.WithLabelValues("unused")
			got.WithLabelValues("unused")
			return pair{want, got}
		}},
		{"histogram, default buckets", func() pair { return histograms(nil, observations...) }},
		{"histogram, explicit +Inf bucket", func() pair { return histograms([]float64{1, 5, math.Inf(+1)}, observations...) }},
		{"histogram, more than 35 buckets", func() pair {
			return histograms(manyBuckets, append(observations, 9.75, 9.875, 10.25)...)
		}},
		{"histogram, infinities", func() pair {
			return histograms(hopts.Buckets, 1, math.Inf(+1), math.Inf(-1), math.Inf(+1))
		}},
		{"histogram, NaN", func() pair {
			want, got := prometheus.NewHistogram(hopts), NewHistogram(hopts)
			for _, v := range []float64{1, math.NaN(), 3} {
				want.Observe(v)
				got.Observe(v)
			}
			return pair{want, got}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := tc.build()
			wantReg, gotReg := prometheus.NewRegistry(), prometheus.NewRegistry()
			require.NoError(t, wantReg.Register(p.want))
			require.NoError(t, gotReg.Register(p.got))
			want := exposition(t, wantReg)
			require.NotEmpty(t, want)
			assert.Equal(t, want, exposition(t, gotReg))

			// The created timestamps the protobuf format carries are set too.
			mfs, err := gotReg.Gather()
			require.NoError(t, err)
			for _, mf := range mfs {
				for _, m := range mf.GetMetric() {
					switch {
					case m.Counter != nil:
						assert.NotNil(t, m.Counter.CreatedTimestamp)
					case m.Histogram != nil:
						assert.NotNil(t, m.Histogram.CreatedTimestamp)
					}
				}
			}
		})
	}
}

// TestConcurrentTotals checks that nothing is lost or counted twice while
// observers run on every P and a scraper reads at the same time (run it
// with -race), including across GCs, which empty the pools.
func TestConcurrentTotals(t *testing.T) {
	t.Parallel()
	const workers, perWorker = 16, 5000
	bounds := []float64{1, 2, 4}
	perBucket := [4]float64{0.5, 1.5, 2.5, 4.5}
	c := NewCounterVec(prometheus.CounterOpts{Name: "c_total", Help: "c"}, []string{"l"})
	g := NewGauge(prometheus.GaugeOpts{Name: "g", Help: "g"})
	h := NewHistogram(prometheus.HistogramOpts{Name: "h", Help: "h", Buckets: bounds})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, g, h)

	done := make(chan struct{})
	var scrapes sync.WaitGroup
	scrapes.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			_, err := reg.Gather()
			assert.NoError(t, err)
			runtime.GC()
		}
	})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			ci := c.WithLabelValues("x")
			for i := range perWorker {
				ci.Inc()
				ci.Add(0.5)
				if i%3 == 0 {
					g.Dec()
				} else {
					g.Inc()
				}
				// 0.5, 1.5, 2.5, 4.5 in turn: one per bucket, +Inf included.
				h.Observe(perBucket[(i+w)%4])
			}
		})
	}
	wg.Wait()
	close(done)
	scrapes.Wait()

	mfs, err := reg.Gather()
	require.NoError(t, err)
	byName := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		switch {
		case m.Counter != nil:
			byName[mf.GetName()] = m.Counter.GetValue()
		case m.Gauge != nil:
			byName[mf.GetName()] = m.Gauge.GetValue()
		case m.Histogram != nil:
			hist := m.Histogram
			require.Len(t, hist.Bucket, len(bounds))
			const n = workers * perWorker
			assert.Equal(t, uint64(n), hist.GetSampleCount())
			assert.Equal(t, float64(n/4)*(0.5+1.5+2.5+4.5), hist.GetSampleSum())
			for i, b := range hist.Bucket {
				assert.Equal(t, bounds[i], b.GetUpperBound())
				assert.Equal(t, uint64(n/4*(i+1)), b.GetCumulativeCount(), "le=%v", b.GetUpperBound())
			}
		}
	}
	assert.Equal(t, float64(workers*perWorker)*1.5, byName["c_total"])
	incs := perWorker - (perWorker+2)/3
	assert.Equal(t, float64(workers*(incs-(perWorker-incs))), byName["g"])
	assert.LessOrEqual(t, len(h.shards.snapshot()), maxShards(), "shards beyond the cap")
}

func TestWithLabelValues(t *testing.T) {
	t.Parallel()
	c := NewCounterVec(prometheus.CounterOpts{Name: "c_total", Help: "c"}, []string{"a", "b"})
	h := NewHistogramVec(prometheus.HistogramOpts{Name: "h", Help: "h"}, []string{"a"})
	for _, tc := range []struct {
		name string
		f    func()
		// panics says the call must panic, as client_golang's does.
		panics bool
	}{
		{"same values, same counter", func() {
			require.Same(t, c.WithLabelValues("x", "y"), c.WithLabelValues("x", "y"))
			require.NotSame(t, c.WithLabelValues("x", "y"), c.WithLabelValues("xy", ""))
		}, false},
		{"same values, same histogram", func() { require.Same(t, h.WithLabelValues("x"), h.WithLabelValues("x")) }, false},
		{"too few values", func() { c.WithLabelValues("x") }, true},
		{"too many values", func() { h.WithLabelValues("x", "y") }, true},
		{"invalid UTF-8", func() { h.WithLabelValues("\xff") }, true},
		{"le label", func() { NewHistogramVec(prometheus.HistogramOpts{Name: "h", Help: "h"}, []string{"le"}) }, true},
		{"decreasing buckets", func() { NewHistogram(prometheus.HistogramOpts{Name: "h", Help: "h", Buckets: []float64{2, 1}}) }, true},
		{"negative counter add", func() { c.WithLabelValues("x", "y").Add(-1) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.panics {
				assert.Panics(t, tc.f)
			} else {
				assert.NotPanics(t, tc.f)
			}
		})
	}
}

// TestShardsCapped checks that pools emptied by GC do not grow the shard
// list past its cap, and that shards handed out again past the cap still
// count.
func TestShardsCapped(t *testing.T) {
	t.Parallel()
	c := NewCounter(prometheus.CounterOpts{Name: "c_total", Help: "c"})
	const rounds = 200
	for range rounds {
		// Taking shards without putting them back forces New each time.
		s := c.v.shards.get()
		s.ival.Add(1)
	}
	assert.Len(t, c.v.shards.snapshot(), maxShards())
	assert.Equal(t, float64(rounds), c.v.sum())
}
