// Package latency records request latencies for the load commands in a
// fixed-size histogram, so a long run costs no memory per request and
// quantiles stay accurate to about 1.6%.
package latency

import (
	"fmt"
	"math/bits"
	"time"
)

// Hist is a log-linear latency histogram: exact below 128ns, then 64
// sub-buckets per power of two, so any recorded value is reported within
// 1/64 (about 1.6%). It holds durations up to about 2^40 ns (18 minutes)
// in a fixed 18 KiB, whatever the request count. The zero value is empty
// and ready; it is not safe for concurrent use (merge per-worker ones).
type Hist struct {
	counts [histBuckets]uint64
	total  uint64
	max    time.Duration
}

const (
	histSub     = 64
	histLinear  = 2 * histSub
	histBuckets = histLinear + 34*histSub
)

func histIndex(v uint64) int {
	if v < histLinear {
		return int(v)
	}
	shift := bits.Len64(v) - 7 // v>>shift is in [64, 127]
	idx := histLinear + (shift-1)*histSub + int(v>>shift) - histSub
	return min(idx, histBuckets-1)
}

// histValue is the middle of bucket i.
func histValue(i int) uint64 {
	if i < histLinear {
		return uint64(i)
	}
	shift := (i-histLinear)/histSub + 1
	mant := uint64((i-histLinear)%histSub + histSub)
	return mant<<shift + (uint64(1)<<shift)/2
}

// Record adds one latency; negative ones count as zero.
func (h *Hist) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[histIndex(uint64(d))]++
	h.total++
	h.max = max(h.max, d)
}

// Merge adds o's values to h.
func (h *Hist) Merge(o *Hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.max = max(h.max, o.max)
}

// Quantile returns the q-quantile (0 < q <= 1) of the recorded values.
func (h *Hist) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(histValue(i)), h.max)
		}
	}
	return h.max
}

// Max returns the largest recorded latency.
func (h *Hist) Max() time.Duration { return h.max }

// Count returns how many latencies were recorded.
func (h *Hist) Count() uint64 { return h.total }

// Format prints d the way the load commands report latencies: seconds,
// milliseconds with two decimals, or whole microseconds, so that a column
// of figures of very different sizes stays readable.
func Format(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	}
}
