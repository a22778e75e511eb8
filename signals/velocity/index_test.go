package velocity

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKeyIndexMatchesMap drives the index and a Go map with the same random
// inserts and deletes (with churn at a fixed size, like a full LRU) and
// checks they agree, and that probe runs stay short.
func TestKeyIndexMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := newKeyIndex()
	ref := map[uint64]int32{}
	var live []uint64
	for step := range 200_000 {
		if len(live) < 3000 || rng.IntN(2) == 0 {
			k := mix64(rng.Uint64())
			if step%97 == 0 {
				k = uint64(rng.IntN(4)) // tiny keys, including 0 and 1, collide in the low bits
			}
			v := int32(step)
			x.put(k, v)
			if _, ok := ref[fixKey(k)]; !ok {
				live = append(live, fixKey(k))
			}
			ref[fixKey(k)] = v
		} else {
			i := rng.IntN(len(live))
			k := live[i]
			live[i] = live[len(live)-1]
			live = live[:len(live)-1]
			x.del(k)
			delete(ref, k)
		}
		if step%10_000 == 0 {
			require.Equal(t, len(ref), x.len())
			for k, v := range ref {
				got, ok := x.get(k)
				require.True(t, ok)
				require.Equal(t, v, got)
			}
			_, ok := x.get(mix64(rng.Uint64()))
			require.False(t, ok)
		}
	}
	// Average probe distance of present keys.
	avg := avgDisplacement(t, &x)
	require.Less(t, avg, 3.0)
}

// avgDisplacement is the average distance of the present keys from their
// home cells: the probes a successful get makes, less one.
func avgDisplacement(t *testing.T, x *keyIndex) float64 {
	t.Helper()
	total := 0
	for i, c := range x.cells {
		if c.k != 0 {
			total += int((uint64(i) - c.k) & x.mask)
		}
	}
	avg := float64(total) / float64(x.len())
	t.Logf("%d keys in %d cells, average displacement %.2f", x.len(), len(x.cells), avg)
	return avg
}
