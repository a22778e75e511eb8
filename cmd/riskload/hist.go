package main

import (
	"math/bits"
	"time"
)

// hist is a log-linear latency histogram: exact below 128ns, then 64
// sub-buckets per power of two, so any recorded value is reported within
// 1/64 (about 1.6%). It holds durations up to about 2^40 ns (18 minutes)
// in a fixed 18 KiB, whatever the request count.
type hist struct {
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

func (h *hist) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[histIndex(uint64(d))]++
	h.total++
	h.max = max(h.max, d)
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.max = max(h.max, o.max)
}

// quantile returns the q-quantile (0 < q <= 1) of the recorded values.
func (h *hist) quantile(q float64) time.Duration {
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
