package velocity

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// famLogin returns the familiarity values of a login of user i's device
// on one of three networks.
func famLogin(i int) familiarity.Features {
	return familiarity.Features{IP: fmt.Sprintf("192.0.2.%d", i%3), ASN: fmt.Sprintf("AS%d", 64496+i%3), City: "SE/Stockholm",
		Country: "SE", DeviceID: fmt.Sprintf("dev-%d", i), UserAgent: "Mozilla/5.0", Browser: "Firefox 128", OS: "Linux",
		DeviceType: "desktop"}
}

// TestRedisFamiliarityCounts: two stores on one Redis (two instances)
// count into the same global sketch, and read it through their mirrors
// once refreshed; what they read equals what an in-memory Global fed with
// the same sign-ins reads (same cells, same hashing, and the mirror decodes
// Redis's layout), so the scores are the same; only successful sign-ins
// count, users once; and the counts outlive the stores.
func TestRedisFamiliarityCounts(t *testing.T) {
	t.Parallel()
	for _, tc := range redisTopologies {
		for _, sc := range []struct {
			size   familiarity.GlobalConfig
			shards int
		}{{}, {size: familiarity.GlobalConfig{Width: 256, Depth: 2}}, {shards: 3}, {size: familiarity.GlobalConfig{Width: 256, Depth: 1}, shards: 5}} {
			name := tc.name
			if sc.size.Width != 0 {
				name += fmt.Sprintf("/%dx%d", sc.size.Depth, sc.size.Width)
			}
			if sc.shards != 0 {
				name += fmt.Sprintf("/shards=%d", sc.shards)
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				testRedisFamiliarityCounts(t, tc.client, sc.size, sc.shards)
			})
		}
	}
}

// testRedisFamiliarityCounts: sign-ins recorded on two stores of a sketch
// of the given size add up in Redis as in one familiarity.Global of that
// size, and a store opened later reads them.
func testRedisFamiliarityCounts(t *testing.T, client func(testing.TB) redis.UniversalClient, size familiarity.GlobalConfig, shards int) {
	ctx := context.Background()
	cfg := Config{KeyPrefix: testPrefix(t), FamiliaritySketch: size, FamiliarityShards: shards,
		Counters: []engine.CounterSpec{counter("logins_user", engine.CountSuccess, engine.KeyUser, "", time.Hour)}}
	open := func() *Redis {
		s := newTestRedis(t, client(t), cfg, nil)
		dropSketch(t, s)
		waitFirstRefresh(t, s)
		return s
	}
	stores := []*Redis{open(), open()}
	mem, err := familiarity.NewGlobal(size)
	require.NoError(t, err)
	sized, err := size.Sized()
	require.NoError(t, err)
	for _, k := range stores[0].fam.keys {
		assert.Contains(t, k, fmt.Sprintf(":%dx%d", sized.Depth, sized.Width), "the key is named by the size")
	}
	t0 := base()
	users := map[string]bool{}
	for i := range 24 {
		user := fmt.Sprintf("user-%d", i%5)
		x := famLogin(i % 7)
		k := engine.Keys{User: user, IP: x.IP, Device: x.DeviceID}
		o := []engine.Outcome{engine.OutcomeSuccess, engine.OutcomeFailure, engine.OutcomeStepUpPassed,
			engine.OutcomeStepUpFailed}[i%4]
		at := t0.Add(time.Duration(i) * time.Minute)
		signInWithFamiliarity(t, stores[i%2], k, x, at, o)
		if o == engine.OutcomeSuccess || o == engine.OutcomeStepUpPassed {
			mem.Add(x)
			if !users[user] {
				users[user] = true
				mem.AddUser()
			}
		}
	}
	// A label on a failed sign-in is no sign-in either.
	x := famLogin(0)
	k := engine.Keys{User: "user-0", IP: x.IP}
	_, id := load(t, stores[0], "login", k, t0, engine.Place{})
	_, err = stores[0].RecordOutcome(ctx, id, engine.OutcomeFailure, t0)
	require.NoError(t, err)
	_, err = stores[1].RecordOutcome(ctx, id, engine.OutcomeLegit, t0)
	require.NoError(t, err)
	require.EqualValues(t, 12, mem.Total())
	require.EqualValues(t, 5, mem.Users())

	model, err := familiarity.New(familiarity.Config{})
	require.NoError(t, err)
	var h familiarity.History
	model.Observe(&h, famLogin(1), t0)
	stores = append(stores, open()) // a new instance: the counts are in Redis
	for _, s := range stores {
		require.NoError(t, s.refreshFamiliarity(ctx))
		for i := range 9 { // 7 seen values and 2 never seen
			x := famLogin(i)
			snap, err := s.Load(ctx, &engine.LoadRequest{Kind: "login", Keys: engine.Keys{User: "reader"}, At: t0,
				Pending: &engine.Pending{EvaluationID: fmt.Sprintf("read-%d", i), Kind: "login", At: t0, Familiarity: &x}})
			require.NoError(t, err)
			require.NotNil(t, snap.FamiliarityCounts)
			assert.Equal(t, mem.Lookup(x), *snap.FamiliarityCounts, "login %d", i)
			assert.Equal(t, model.Score(&h, mem, x, t0.Add(time.Hour)), model.Score(&h, *snap.FamiliarityCounts, x, t0.Add(time.Hour)))
		}
	}
	c := stores[0].c
	var n int64
	for _, k := range stores[0].fam.keys {
		m, err := c.MemoryUsage(ctx, k).Result()
		if !errors.Is(err, redis.Nil) { // a small sketch may leave a shard unwritten
			require.NoError(t, err)
		}
		n += m
	}
	t.Logf("global familiarity sketch: %d bytes in Redis (%.2f MiB)", n, float64(n)/(1<<20))
	assert.Less(t, n, int64(6<<20), "the 4.5 MiB of counters, plus Redis' overhead")
}

// TestRedisFamiliaritySaturates: a counter stops at 2^32-1, as
// familiarity.Global's do, instead of wrapping or failing the sign-in, in
// Redis and in the mirror's local bump.
func TestRedisFamiliaritySaturates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redisStandalone(t)
	s := openRedis(t, c, Config{})
	x := famLogin(1)
	setFamCells(t, s, &x, math.MaxUint32)
	require.NoError(t, s.refreshFamiliarity(ctx))
	// Redis saturates the counters, and so does the local bump.
	signInWithFamiliarity(t, s, engine.Keys{User: "sat", IP: x.IP}, x, base(), engine.OutcomeSuccess)
	snap, err := s.Load(ctx, &engine.LoadRequest{Kind: "login", At: base(),
		Pending: &engine.Pending{EvaluationID: "sat", Kind: "login", At: base(), Familiarity: &x}})
	require.NoError(t, err)
	require.NotNil(t, snap.FamiliarityCounts)
	for f, v := range snap.FamiliarityCounts.Freq {
		assert.EqualValues(t, uint64(math.MaxUint32), v, familiarity.Feature(f).String())
	}
	assert.EqualValues(t, 1, snap.FamiliarityCounts.Total, "the one sign-in")
	require.NoError(t, s.refreshFamiliarity(ctx))
	snap, err = s.Load(ctx, &engine.LoadRequest{Kind: "login", At: base(),
		Pending: &engine.Pending{EvaluationID: "sat2", Kind: "login", At: base(), Familiarity: &x}})
	require.NoError(t, err)
	assert.Equal(t, uint64(math.MaxUint32), snap.FamiliarityCounts.Freq[0], "in Redis")
}

// TestRedisFamiliarityOutage: when the sketch cannot be read or written
// (here a key of the wrong type; a Redis outage fails the Load and the
// profile update anyway), the failures are counted and neither the Load
// nor the outcome fails for them: a failed refresh keeps the previous
// mirror, which Load goes on scoring against, and the history is still
// updated.
func TestRedisFamiliarityOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redisStandalone(t)
	reg := newTestRegistry(t)
	// The refresher must not add a failure of its own to the ones counted
	// below: newTestRedis gives it an hour between reads.
	s := newTestRedis(t, c, Config{KeyPrefix: testPrefix(t),
		Counters: []engine.CounterSpec{counter("logins_user", engine.CountSuccess, engine.KeyUser, "", time.Hour)}}, reg.metrics)
	dropSketch(t, s)
	waitFirstRefresh(t, s)
	errs := func(op string) float64 {
		return reg.value(t, "riskauth_velocity_backend_errors_total", map[string]string{"backend": "redis", "op": op})
	}
	age := func() float64 { return reg.value(t, "riskauth_velocity_familiarity_mirror_age_seconds", nil) }

	x := famLogin(2)
	signInWithFamiliarity(t, s, engine.Keys{User: "pia", IP: x.IP}, x, base(), engine.OutcomeSuccess)
	require.NoError(t, s.refreshFamiliarity(ctx))
	require.Equal(t, 0.0, errs(opFamiliarityRefresh))
	require.Equal(t, 0.0, age())
	require.NoError(t, c.Del(ctx, s.fam.keys[0]).Err())
	require.NoError(t, c.LPush(ctx, s.fam.keys[0], "not a sketch").Err())

	require.ErrorContains(t, s.refreshFamiliarity(ctx), "WRONGTYPE")
	assert.Equal(t, 1.0, errs(opFamiliarityRefresh))
	assert.Greater(t, age(), 0.0, "the mirror is older than the failed refresh")
	k := engine.Keys{User: "olga", IP: x.IP}
	snap := signInWithFamiliarity(t, s, k, x, base(), engine.OutcomeSuccess)
	require.NotNil(t, snap.FamiliarityCounts, "the previous mirror")
	assert.EqualValues(t, 1, snap.FamiliarityCounts.Total, "pia's sign-in, from the previous mirror")
	snap, _ = load(t, s, "login", k, base().Add(time.Minute), engine.Place{})
	assert.EqualValues(t, 1, historyOf(t, snap.Profile).Logins(), "the history was updated")
	assert.Equal(t, 1, snap.Counters[0], "the counters were bumped")
	// The failed add and the failed user count; the local mirror counts
	// neither (Redis does not have them).
	assert.Equal(t, 2.0, errs(opFamiliarity))
	assert.Equal(t, 0.0, errs(opOutcome))
	assert.EqualValues(t, 1, s.mirror.Load().lookup(&x).Total)
	assert.EqualValues(t, 1, s.mirror.Load().lookup(&x).Users)
}

// BenchmarkLoadFamiliarity measures what looking the global familiarity
// counts up in the mirror adds to a Load (8 counters, a profile with a
// history, a populated sketch of 5 MiB): "without" is the same Load for an
// evaluation that carries no familiarity values, in the same run.
func BenchmarkLoadFamiliarity(b *testing.B) {
	s := openRedis(b, redisStandalone(b), Config{Counters: eightCounters})
	t0 := base()
	ctx := context.Background()
	for i := range 50 {
		x := famLogin(i)
		_, id := load(b, s, "login", engine.Keys{User: "bench", IP: x.IP}, t0, engine.Place{})
		sn, err := s.Load(ctx, &engine.LoadRequest{Kind: "login", Keys: engine.Keys{User: "bench", IP: x.IP}, At: t0,
			Pending: &engine.Pending{EvaluationID: id + "f", Kind: "login", At: t0, Keys: engine.Keys{User: "bench", IP: x.IP}, Familiarity: &x}})
		require.NoError(b, err)
		require.NotNil(b, sn.FamiliarityCounts)
		_, err = s.RecordOutcome(ctx, id+"f", engine.OutcomeSuccess, t0)
		require.NoError(b, err)
	}
	require.NoError(b, s.refreshFamiliarity(ctx))
	for _, with := range []bool{false, true} {
		name := "without"
		if with {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
			x := famLogin(3)
			keys := engine.Keys{User: "bench", IP: x.IP, Subnet: "192.0.2.0/24", Device: x.DeviceID}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				p := &engine.Pending{EvaluationID: "bench-" + strconv.Itoa(i), Kind: "login", Keys: keys, At: t0}
				if with {
					p.Familiarity = &x
				}
				if _, err := s.Load(ctx, &engine.LoadRequest{Kind: "login", Keys: keys, At: t0, Pending: p}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFamiliarityRefresh measures one refresh of the mirror: a GET of
// the whole populated sketch (4.5 MiB) and its decode into a fresh mirror,
// what each instance pays every Config.FamiliarityRefresh.
func BenchmarkFamiliarityRefresh(b *testing.B) {
	s := openRedis(b, redisStandalone(b), Config{})
	ctx := context.Background()
	// The highest cell, so that the string has its full length.
	sh, off := s.fam.field(int64(famCellBase+len(s.mirror.Load().cells)-1) * 32)
	require.NoError(b, s.c.BitField(ctx, s.fam.keys[sh], "SET", "u32", off, 1).Err())
	b.SetBytes(int64(s.fam.size))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.refreshFamiliarity(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// setFamCells sets every counter x's values map to to v, in Redis.
func setFamCells(t testing.TB, s *Redis, x *familiarity.Features, v uint32) {
	t.Helper()
	for sh, a := range s.fam.byShard(x, "SET") {
		if len(a) == 0 {
			continue
		}
		var set []any
		for i := 0; i < len(a); i += 3 { // "SET", "u32", offset
			set = append(set, a[i], a[i+1], a[i+2], int64(v))
		}
		require.NoError(t, s.c.BitField(context.Background(), s.fam.keys[sh], set...).Err())
	}
}

// TestFamiliarityShardsSpread: the shards' hash tags put them in as many
// slots, one in each equal part of the slot range, so that a Cluster
// whose nodes own equal ranges serves them from as many nodes as it can.
func TestFamiliarityShardsSpread(t *testing.T) {
	t.Parallel()
	assert.Equal(t, uint16(0x31c3), crc16("123456789"), "CRC-16/XMODEM's check value")
	for _, n := range []int{2, 3, 4, 16, maxFamShards} {
		f, err := newFamSketch("ra:", familiarity.GlobalConfig{}, n)
		require.NoError(t, err)
		require.Len(t, f.keys, n)
		for i, k := range f.keys {
			tag := k[strings.IndexByte(k, '{')+1 : strings.IndexByte(k, '}')]
			slot := int(crc16(tag)) % 16384
			assert.True(t, slot >= i*16384/n && slot < (i+1)*16384/n, "shard %d of %d: slot %d", i, n, slot)
		}
		assert.GreaterOrEqual(t, f.shardBytes*n, f.size)
		assert.Zero(t, f.shardBytes%8, "no field straddles two shards")
	}
	f, err := newFamSketch("ra:", familiarity.GlobalConfig{}, 1)
	require.NoError(t, err)
	assert.Equal(t, []string{"ra:{fam}:global:4x32768"}, f.keys, "one shard is the one-key sketch of before")
	_, err = newFamSketch("ra:", familiarity.GlobalConfig{}, maxFamShards+1)
	assert.Error(t, err)
}

// TestFamiliarityShardsMigrate: a sharded store started where only the
// one-key sketch exists reads its counts and copies them into the shards,
// once.
func TestFamiliarityShardsMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range redisTopologies {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prefix := testPrefix(t)
			cfg := Config{KeyPrefix: prefix, FamiliarityShards: 1,
				Counters: []engine.CounterSpec{counter("logins_user", engine.CountSuccess, engine.KeyUser, "", time.Hour)}}
			one := newTestRedis(t, tc.client(t), cfg, nil)
			dropSketch(t, one)
			waitFirstRefresh(t, one)
			x := famLogin(4)
			for i := range 3 {
				signInWithFamiliarity(t, one, engine.Keys{User: fmt.Sprintf("mig-%d", i), IP: x.IP}, x, base(), engine.OutcomeSuccess)
			}
			cfg.FamiliarityShards = 4
			sharded := newTestRedis(t, tc.client(t), cfg, nil)
			dropSketch(t, sharded)
			waitFirstRefresh(t, sharded)
			want := familiarity.Counts{Total: 3, Users: 3}
			for f := range want.Freq {
				want.Freq[f] = 3
			}
			assert.Equal(t, want, *sharded.mirror.Load().lookup(&x), "the one-key counts, read through the migration")
			var n int64
			for _, k := range sharded.fam.keys { // one by one: several slots
				e, err := sharded.c.Exists(ctx, k).Result()
				require.NoError(t, err)
				n += e
			}
			assert.Positive(t, n, "shards written")
			signInWithFamiliarity(t, sharded, engine.Keys{User: "mig-new", IP: x.IP}, x, base(), engine.OutcomeSuccess)
			require.NoError(t, sharded.refreshFamiliarity(ctx))
			want.Total, want.Users = 4, 4
			for f := range want.Freq {
				want.Freq[f] = 4
			}
			assert.Equal(t, want, *sharded.mirror.Load().lookup(&x), "read from the shards, not migrated again")
		})
	}
}
