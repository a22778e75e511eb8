package latency

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestQuantiles(t *testing.T) {
	var h, other Hist
	for i := 1; i <= 10000; i++ {
		d := time.Duration(i) * time.Microsecond
		if i%2 == 0 {
			h.Record(d)
		} else {
			other.Record(d)
		}
	}
	h.Merge(&other)
	assert.Equal(t, uint64(10000), h.Count())
	assert.Equal(t, 10*time.Millisecond, h.Max())
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5000 * time.Microsecond}, {0.99, 9900 * time.Microsecond}, {1, 10000 * time.Microsecond}} {
		got := h.Quantile(c.q)
		assert.InEpsilon(t, float64(c.want), float64(got), 1.0/64, "q%v: %v", c.q, got)
	}
	var empty Hist
	assert.Zero(t, empty.Quantile(0.5))
}

func TestBucketsWithinOneSixtyFourth(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 1000, 1 << 20, 123456789, 1 << 39} {
		i := histIndex(v)
		assert.InEpsilon(t, float64(v)+1, float64(histValue(i))+1, 1.0/64, "value %d bucket %d", v, i)
	}
}
