package velocity

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRingCells drives one ring through real BITFIELD writes and checks
// what its cells read: a new bucket restarts its cell, a cell reused 16
// buckets later forgets the old bucket, late writes land in their own cell.
func TestRingCells(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range redisTopologies {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tc.client(t)
			s := openRedis(t, c, Config{Counters: []engine.CounterSpec{
				counter("a", engine.CountAttempt, engine.KeyIP, "", 10*time.Minute),
				counter("b", engine.CountFailure, engine.KeyIP, "", time.Minute),
			}})
			w := s.windows[0]
			c0 := w.index(base())
			bump := func(bucket int64) {
				t.Helper()
				b := getCmdBuf()
				defer b.release()
				at := time.Unix(0, bucket*w.bucket)
				require.True(t, s.queueRing(ctx, b, 0, b.str(s.rings[0].key("198.51.100.1")), engine.CountAttempt, "login", at, at, false))
				require.Len(t, b.cmds, 1, "one bitfield (the caller adds the expiry)")
				_, err := b.exec(ctx, c)
				require.NoError(t, err)
			}
			read := func(block int, at int64) int {
				t.Helper()
				v, err := c.Get(ctx, s.rings[0].key("198.51.100.1")).Result()
				require.NoError(t, err)
				return ringSum(v, block, s.windows[block], at)
			}
			steps := []struct {
				name   string
				bucket int64 // relative to c0; -1 for no write
				read   int64
				want   int
			}{
				{"first event", 0, 0, 1},
				{"same bucket", 0, 0, 2},
				{"next bucket", 1, 1, 3},
				{"read before the second bucket", -1, 0, 2},
				{"window moves on", 12, 12, 1},           // buckets 0 and 1 left the window (3..12)
				{"late by 9 buckets", 3, 12, 2},          // its own cell, in the window
				{"cell reused 16 buckets on", 16, 16, 2}, // bucket 0's cell: 0 forgotten; 12 and 16 read
				{"long gap", 100, 100, 1},
				{"stale cells after a gap", -1, 109, 1},
				{"out of the window", -1, 110, 0},
			}
			for _, st := range steps {
				if st.bucket >= 0 {
					bump(c0 + st.bucket)
				}
				assert.Equal(t, st.want, read(0, c0+st.read), st.name)
				assert.Equal(t, 0, read(1, s.windows[1].index(base())+st.read), "the other counter's block: %s", st.name)
			}
		})
	}
}

// TestRingMatchesMemory replays random attempts and outcomes, with times
// moving forward and sometimes a little back, through the Redis and the
// memory backends, and compares every event count read. (Distinct counts
// are left out: read in the past of a member's newest sighting, Redis'
// ZCOUNT counts it and the memory backend does not, as before the ring.)
func TestRingMatchesMemory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	counters := []engine.CounterSpec{
		counter("ip_attempts_1m", engine.CountAttempt, engine.KeyIP, "", time.Minute),
		counter("ip_fails_10m", engine.CountFailure, engine.KeyIP, "", 10*time.Minute),
		counter("user_attempts_10m", engine.CountAttempt, engine.KeyUser, "", 10*time.Minute),
		counter("user_logins_1h", engine.CountSuccess, engine.KeyUser, "", time.Hour),
		counter("device_regs_1h", engine.CountAttempt, engine.KeyDevice, "", time.Hour, engine.KindRegistration),
	}
	for _, tc := range redisTopologies {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := openRedis(t, tc.client(t), Config{Counters: counters})
			m := openMemory(t, Config{Counters: counters})
			rng := rand.New(rand.NewPCG(7, uint64(len(tc.name))))
			at := base()
			outcomes := []engine.Outcome{engine.OutcomeSuccess, engine.OutcomeFailure, engine.OutcomeFraud}
			for step := range 400 {
				// Mostly forward by up to 40s, sometimes back by up to 10s
				// (events of several instances arriving out of order).
				at = at.Add(time.Duration(rng.IntN(50)-10) * time.Second)
				keys := engine.Keys{User: fmt.Sprintf("u%d", rng.IntN(3)), IP: fmt.Sprintf("192.0.2.%d", rng.IntN(3)), Device: fmt.Sprintf("d%d", rng.IntN(2))}
				kind := []string{engine.KindLogin, engine.KindRegistration}[rng.IntN(2)]
				id := fmt.Sprintf("ring-%d", step)
				var snaps [2]*engine.Snapshot
				for j, s := range []engine.StateStore{r, m} {
					snap, err := s.Load(ctx, &engine.LoadRequest{Kind: kind, Keys: keys, At: at,
						Pending: &engine.Pending{EvaluationID: id, Kind: kind, Keys: keys, At: at}})
					require.NoError(t, err)
					snaps[j] = snap
				}
				require.Equal(t, snaps[1].Counters, snaps[0].Counters, "step %d at %s", step, at.Sub(base()))
				if rng.IntN(2) == 0 {
					o := outcomes[rng.IntN(len(outcomes))]
					late := time.Duration(rng.IntN(20)) * time.Second
					for _, s := range []engine.StateStore{r, m} {
						_, err := s.RecordOutcome(ctx, id, o, at.Add(late))
						require.NoError(t, err)
					}
				}
			}
		})
	}
}

// TestRedisDistinctTrim checks that a distinct counter's key stays near
// its cap although trims run on one write in trimEvery, and that the count
// saturates at the cap.
func TestRedisDistinctTrim(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redisStandalone(t)
	s := openRedis(t, c, Config{MaxDistinct: 5, Counters: []engine.CounterSpec{
		counter("users_ip", engine.CountAttempt, engine.KeyIP, engine.KeyUser, 10*time.Minute),
	}})
	var snap *engine.Snapshot
	for i := range 300 {
		snap, _ = load(t, s, "login", engine.Keys{IP: "192.0.2.9", User: fmt.Sprintf("user%d", i)}, base().Add(time.Duration(i)*time.Millisecond), engine.Place{})
	}
	assert.Equal(t, 5, snap.Counters[0], "saturates at MaxDistinct")
	n, err := c.ZCard(ctx, s.counterKey(0, "192.0.2.9")).Result()
	require.NoError(t, err)
	// The chance that none of the last 150 writes trimmed is (7/8)^150,
	// about 2e-9.
	assert.Less(t, n, int64(5+150), "members kept")
	assert.Greater(t, n, int64(4))
}

// FuzzRingSum reads arbitrary strings as rings: any reply Redis could hold
// under the key (a foreign or truncated value) must read without a panic
// and as a count no larger than the cells could hold.
func FuzzRingSum(f *testing.F) {
	f.Add(strings.Repeat("\xff", 8*ringCells), 0, int64(0))
	f.Add("", 3, int64(1))
	f.Add("\x00\x00\x00\x01\x00\x00\x00\x02", 0, int64(-5))
	w := newWindow(10 * time.Minute)
	c0 := w.index(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
	f.Fuzz(func(t *testing.T, s string, block int, dc int64) {
		if block < 0 || block > 16 {
			return
		}
		n := ringSum(s, block, w, c0+dc%1_000_000)
		if n < 0 || n > numBuckets*ringCountMask {
			t.Fatalf("ringSum = %d", n)
		}
	})
}
