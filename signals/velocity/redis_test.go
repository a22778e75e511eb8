package velocity

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/riskauth/riskauth/engine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingHook counts what a go-redis client sends: single commands,
// pipelines (with their command names) and dials.
type countingHook struct {
	mu        sync.Mutex
	dials     int
	singles   []string
	pipelines [][]string
}

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		h.mu.Lock()
		h.dials++
		h.mu.Unlock()
		return next(ctx, network, addr)
	}
}

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		h.singles = append(h.singles, cmd.Name())
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name()
		}
		h.mu.Lock()
		h.pipelines = append(h.pipelines, names)
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (h *countingHook) reset() {
	h.mu.Lock()
	h.dials, h.singles, h.pipelines = 0, nil, nil
	h.mu.Unlock()
}

var eightCounters = []engine.CounterSpec{
	counter("fails_user_10m", engine.CountFailure, engine.KeyUser, "", 10*time.Minute),
	counter("fails_ip_10m", engine.CountFailure, engine.KeyIP, "", 10*time.Minute),
	counter("fails_device_1h", engine.CountFailure, engine.KeyDevice, "", time.Hour),
	counter("fails_subnet_10m", engine.CountFailure, engine.KeySubnet, "", 10*time.Minute),
	counter("attempts_ip_1m", engine.CountAttempt, engine.KeyIP, "", time.Minute),
	counter("ip_distinct_users_10m", engine.CountAttempt, engine.KeyIP, engine.KeyUser, 10*time.Minute),
	counter("user_distinct_ips_1h", engine.CountAttempt, engine.KeyUser, engine.KeyIP, time.Hour),
	counter("logins_user_24h", engine.CountSuccess, engine.KeyUser, "", 24*time.Hour),
}

// TestRedisLoadIsOneRoundTrip proves that Load sends exactly one pipeline
// and no single command, on a standalone server and on a cluster (where
// the pipeline fans out to the nodes in parallel inside go-redis).
func TestRedisLoadIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range redisTopologies {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tc.client(t)
			hook := &countingHook{}
			c.AddHook(hook)
			s := openRedis(t, c, Config{Counters: eightCounters})
			wall := time.Now()
			s.wall = func() time.Time { return wall } // all within one bucket
			t0 := base()
			// Warm up: connections and (cluster) slot map.
			load(t, s, "login", engine.Keys{User: "warm", IP: "192.0.2.1"}, t0, engine.Place{})
			hook.reset()
			const n = 20
			for i := range n {
				snap, _ := load(t, s, "login", engine.Keys{
					User: fmt.Sprintf("user-%d", i), IP: fmt.Sprintf("192.0.2.%d", i%3),
					Subnet: "192.0.2.0/24", Device: fmt.Sprintf("dev-%d", i),
				}, t0.Add(time.Duration(i)*time.Second), engine.Place{})
				want := i / 3 // earlier users on the same IP
				if i%3 == 1 {
					want++ // and the warm-up user
				}
				assert.Equal(t, want, snap.Counters[5], "distinct users of 192.0.2.%d", i%3)
			}
			hook.mu.Lock()
			defer hook.mu.Unlock()
			assert.Empty(t, hook.singles, "single commands")
			require.Len(t, hook.pipelines, n, "pipelines")
			// Reads first (one GETRANGE per key value's ring, one ZCOUNT per
			// distinct counter), then the attempt writes (one BITFIELD and
			// PEXPIRE for the IP's ring, ZADD and PEXPIRE per distinct
			// counter), the pending evaluation and the profile read. The
			// distinct keys' trims come one write in trimEvery, at random:
			// left out here. An IP this instance wrote within the bucket
			// (all but the first two loads: 192.0.2.1 was the warm-up's)
			// gets no PEXPIRE, for its ring nor its distinct users.
			want := strings.Fields("getrange getrange getrange getrange zcount zcount " +
				"bitfield pexpire zadd pexpire zadd pexpire set getrange")
			wantFresh := strings.Fields("getrange getrange getrange getrange zcount zcount " +
				"bitfield zadd zadd pexpire set getrange")
			for i, p := range hook.pipelines {
				p = slices.DeleteFunc(p, func(name string) bool { return strings.HasPrefix(name, "zremrangeby") })
				if i == 0 || i == 2 {
					assert.Equal(t, want, p, "load %d", i)
				} else {
					assert.Equal(t, wantFresh, p, "load %d", i)
				}
			}
		})
	}
}

// TestRedisKeyExpiry checks the layout and the expiries: a key value's
// ring of event counters lives for its longest window plus two of its
// buckets plus its smallest bucket (the horizon within which a write
// skips the PEXPIRE) after every write, a distinct counter's key for its
// window plus three buckets, pending evaluations for the pending TTL,
// profiles for the profile TTL.
func TestRedisKeyExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redisStandalone(t)
	s := openRedis(t, c, Config{
		Counters: []engine.CounterSpec{
			counter("attempts_user", engine.CountAttempt, engine.KeyUser, "", 10*time.Minute),
			counter("ips_user", engine.CountAttempt, engine.KeyUser, engine.KeyIP, 10*time.Minute),
			counter("fails_user", engine.CountFailure, engine.KeyUser, "", time.Hour),
		},
		ProfileTTL: 48 * time.Hour,
	})
	at := base().Add(15 * time.Second)
	loaded := time.Now()
	_, id := load(t, s, "login", engine.Keys{User: "pat", IP: "192.0.2.4"}, at, engine.Place{})
	require.Len(t, s.rings, 1)
	ring := s.rings[0].key("pat")
	assert.True(t, strings.HasPrefix(ring, s.cfg.KeyPrefix+"{v:user:pat}:r"), ring)
	for _, k := range []struct {
		key, typ string
		ttl      time.Duration
	}{
		{ring, "string", time.Hour + 13*time.Minute}, // the longest window, 1h, plus two 6m buckets and the 1m horizon
		{s.counterKey(1, "pat"), "zset", 13 * time.Minute},
	} {
		ttl, err := c.PTTL(ctx, k.key).Result()
		require.NoError(t, err)
		assertTTL(t, k.ttl, ttl, loaded, k.key)
		typ, err := c.Type(ctx, k.key).Result()
		require.NoError(t, err)
		assert.Equal(t, k.typ, typ, k.key)
	}
	val, err := c.Get(ctx, ring).Result()
	require.NoError(t, err)
	assert.LessOrEqual(t, len(val), 8*ringCells, "only block 0 (attempts_user) is written by an attempt")
	w := s.windows[0]
	assert.Equal(t, 1, ringSum(val, 0, w, w.index(at)+1), "the attempt, read from the ring")
	members, err := c.ZRange(ctx, s.counterKey(1, "pat"), 0, -1).Result()
	require.NoError(t, err)
	require.Len(t, members, 1)
	assert.NotContains(t, members[0], "192.0.2.4", "distinct members are stored hashed")
	written := time.Now()
	_, err = s.RecordOutcome(ctx, id, engine.OutcomeSuccess, at)
	require.NoError(t, err)
	ttl, err := c.TTL(ctx, s.profileKey("pat")).Result()
	require.NoError(t, err)
	assertTTL(t, 48*time.Hour, ttl, written, "profile")
	ttl, err = c.PTTL(ctx, s.pendingKey(id)+":flow").Result()
	require.NoError(t, err)
	// The flow marker lives as long as the pending evaluation, which was
	// stored by the Load before: it counts down from then.
	assertTTL(t, DefaultPendingTTL, ttl, loaded, "flow marker")
}

func TestRedisErrorsAreWrapped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Nothing listens on this port: every call fails fast.
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	reg := newTestRegistry(t)
	s := newTestRedis(t, c, Config{Counters: eightCounters}, reg.metrics)
	_, err := s.Load(ctx, &engine.LoadRequest{Kind: "login", At: base(), Keys: engine.Keys{User: "secret-user@example.com"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "velocity redis: load")
	assert.NotContains(t, err.Error(), "secret-user")
	_, err = s.RecordOutcome(ctx, "id", engine.OutcomeSuccess, base())
	require.Error(t, err)
	assert.NotErrorIs(t, err, engine.ErrUnknownEvaluation)
	require.Error(t, s.Ping(ctx))
	assert.Equal(t, 1.0, reg.value(t, "riskauth_velocity_backend_errors_total", map[string]string{"backend": "redis", "op": "load"}))
	assert.Equal(t, 1.0, reg.value(t, "riskauth_velocity_backend_errors_total", map[string]string{"backend": "redis", "op": "outcome"}))
}

func TestRedisConfig(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	_, err := NewRedis(c, Config{KeyPrefix: "ra{x}:"}, nil)
	assert.ErrorContains(t, err, "key prefix")
	_, err = NewRedis(nil, Config{}, nil)
	assert.Error(t, err)
	_, err = NewRedis(c, Config{Counters: []engine.CounterSpec{{Name: "Bad"}}}, nil)
	assert.Error(t, err)
}
