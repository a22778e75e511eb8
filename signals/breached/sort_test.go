package breached

import (
	"cmp"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRadixSort(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	var counts []uint32
	for _, n := range []int{0, 1, 2, 3, 17, 1000, 100_000} {
		raw := make([]byte, 0, n*12)
		want := make([]spillRec, n)
		for i := range n {
			k := 0x42<<56 | rng.Uint64()>>8
			if i%10 == 3 && i > 0 {
				k = want[i-1].key // duplicates
			}
			want[i] = spillRec{key: k, count: uint32(i)}
			raw = binary.LittleEndian.AppendUint64(raw, k)
			raw = binary.LittleEndian.AppendUint32(raw, uint32(i))
		}
		got := make([]spillRec, n)
		radixSort(raw, got, &counts)
		slices.SortStableFunc(want, func(a, b spillRec) int { return cmp.Compare(a.key, b.key) })
		require.Equal(t, len(want), len(got))
		for i := range got {
			if want[i].key != got[i].key {
				t.Fatalf("n=%d i=%d: key %x, want %x", n, i, got[i].key, want[i].key)
			}
		}
		// Same multiset of records: equal keys may come in any order.
		byKeyCount := func(a, b spillRec) int {
			if a.key != b.key {
				return cmp.Compare(a.key, b.key)
			}
			return cmp.Compare(a.count, b.count)
		}
		slices.SortFunc(want, byKeyCount)
		slices.SortFunc(got, byKeyCount)
		require.Equal(t, want, got)
	}
}
