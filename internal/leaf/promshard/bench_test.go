package promshard

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// benchBuckets are riskauth_signal_duration_seconds's buckets.
var benchBuckets = []float64{.00001, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05}

// BenchmarkHistogramObserve observes into one histogram series from every
// P at once: run with -cpu 1,2 to see what sharing a series between cores
// costs client_golang and what sharding saves.
func BenchmarkHistogramObserve(b *testing.B) {
	opts := prometheus.HistogramOpts{Name: "h", Help: "h", Buckets: benchBuckets}
	for _, bc := range []struct {
		name string
		h    prometheus.Observer
	}{
		{"client_golang", prometheus.NewHistogram(opts)},
		{"promshard", NewHistogram(opts)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				v := 0.0003
				for pb.Next() {
					bc.h.Observe(v)
				}
			})
		})
	}
}

// BenchmarkCounterInc increments one counter series from every P at once.
func BenchmarkCounterInc(b *testing.B) {
	opts := prometheus.CounterOpts{Name: "c_total", Help: "c"}
	for _, bc := range []struct {
		name string
		c    interface{ Inc() }
	}{
		{"client_golang", prometheus.NewCounter(opts)},
		{"promshard", NewCounter(opts)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					bc.c.Inc()
				}
			})
		})
	}
}

// reportCPU starts measuring the process's CPU time; the function it
// returns reports it per operation as cpu-ns/op, the cost that grows with
// contention (ns/op is wall time shared by the Ps).
func reportCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		end, _ := processCPU()
		if ok {
			b.ReportMetric(float64((end-start)/time.Nanosecond)/float64(b.N), "cpu-ns/op")
		}
	}
}
