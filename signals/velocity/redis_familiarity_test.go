package velocity

import (
	"context"
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
		for _, size := range []familiarity.GlobalConfig{{}, {Width: 256, Depth: 2}} {
			name := tc.name
			if size.Width != 0 {
				name += fmt.Sprintf("/%dx%d", size.Depth, size.Width)
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				testRedisFamiliarityCounts(t, tc.client, size)
			})
		}
	}
}

// testRedisFamiliarityCounts: sign-ins recorded on two stores of a sketch
// of the given size add up in Redis as in one familiarity.Global of that
// size, and a store opened later reads them.
func testRedisFamiliarityCounts(t *testing.T, client func(testing.TB) redis.UniversalClient, size familiarity.GlobalConfig) {
	ctx := context.Background()
	cfg := Config{KeyPrefix: testPrefix(t), FamiliaritySketch: size,
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
	require.True(t, strings.HasSuffix(stores[0].fam.key, fmt.Sprintf(":%dx%d", sized.Depth, sized.Width)), "the key is named by the size: %s", stores[0].fam.key)
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
	n, err := c.MemoryUsage(ctx, stores[0].fam.key).Result()
	require.NoError(t, err)
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
	var args []any
	for _, a := range s.fam.cells(nil, "", &x) {
		args = append(args, a)
		if len(args)%3 == 2 { // after "u32", "#n"
			args = append(args, uint64(math.MaxUint32))
		}
	}
	set := []any{}
	for i := 0; i < len(args); i += 3 {
		set = append(set, "SET", args[i], args[i+1], args[i+2])
	}
	require.NoError(t, c.BitField(ctx, s.fam.key, set...).Err())
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
	require.NoError(t, c.Del(ctx, s.fam.key).Err())
	require.NoError(t, c.LPush(ctx, s.fam.key, "not a sketch").Err())

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
	require.NoError(b, s.c.BitField(ctx, s.fam.key, "SET", "u32", "#"+strconv.Itoa(famCellBase+len(s.mirror.Load().cells)-1), 1).Err())
	n, err := s.c.StrLen(ctx, s.fam.key).Result()
	require.NoError(b, err)
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.refreshFamiliarity(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
