package velocity

import (
	"testing"
	"time"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"github.com/riskauth/riskauth/engine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSlotIsOneCacheLine: a counter key's window is 64 bytes, so that a
// read or bump touches one cache line.
func TestSlotIsOneCacheLine(t *testing.T) {
	assert.Equal(t, uintptr(64), unsafe.Sizeof(slot{}))
}

// TestCounterKeysOfOneValueAreNear: the counters on one key value get
// distinct keys in one shard whose home cells in the index are adjacent,
// and with a million such keys the index's probe runs stay short.
func TestCounterKeysOfOneValueAreNear(t *testing.T) {
	m := openMemory(t, Config{MaxKeys: 2_000_000, Counters: prodCounters})
	require.Len(t, m.groups, 4)
	seen := map[uint64]bool{}
	x := newKeyIndex()
	for v := range 200_000 {
		h := xxhash.Sum64String(ipString(uint32(v)))
		for _, g := range m.groups {
			k0 := m.counterKey(g.counters[0], h)
			for j, i := range g.counters {
				k := m.counterKey(i, h)
				require.False(t, seen[k], "key collision")
				seen[k] = true
				assert.Equal(t, uint32(k0)+uint32(j), uint32(k), "home cells adjacent")
				if g.key == engine.KeyIP {
					x.put(k, int32(i))
				}
			}
		}
	}
	avg := avgDisplacement(t, &x)
	assert.Less(t, avg, 4.0)
}

// TestMemoryGroupSharesShard: the counters on one key value live in one
// shard (one lock per key value in Load), and an outcome finds the keys
// Load created.
func TestMemoryGroupSharesShard(t *testing.T) {
	m := openMemory(t, Config{Counters: prodCounters})
	t0 := base()
	k := engine.Keys{User: "ursula", IP: "192.0.2.7", Subnet: "192.0.2.0/24", Device: "dev-u"}
	_, id := load(t, m, "login", k, t0, engine.Place{})
	_, err := m.RecordOutcome(t.Context(), id, engine.OutcomeFailure, t0)
	require.NoError(t, err)
	shards := 0
	for i := range m.counters.shards {
		if m.counters.shards[i].index.len() > 0 {
			shards++
		}
	}
	assert.LessOrEqual(t, shards, 4)
	snap, _ := load(t, m, "login", k, t0.Add(time.Second), engine.Place{})
	for i, c := range prodCounters {
		want := 0
		switch {
		case len(c.Kinds) > 0 || c.On == engine.CountSuccess:
		case c.On == engine.CountAttempt, c.On == engine.CountFailure:
			want = 1
		}
		assert.Equal(t, want, snap.Counters[i], c.Name)
	}
}
