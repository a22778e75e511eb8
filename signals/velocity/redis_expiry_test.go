package velocity

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/engine"
)

func TestExpiryMemo(t *testing.T) {
	m := newExpiryMemo()
	const horizon = int64(time.Minute)
	now := time.Unix(1_800_000_000, 0).UnixNano()
	h, fresh := m.fresh("k1", now, horizon)
	assert.False(t, fresh, "never set")
	m.set(h, now)
	for _, tc := range []struct {
		name  string
		key   string
		at    int64
		fresh bool
	}{
		{"same key, same instant", "k1", now, true},
		{"same key, within the horizon", "k1", now + horizon - 1, true},
		{"same key, at the horizon", "k1", now + horizon, false},
		{"same key, before it was set (a clock step back)", "k1", now - 1, false},
		{"another key", "k2", now, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := m.fresh(tc.key, tc.at, horizon)
			assert.Equal(t, tc.fresh, got)
		})
	}
	m.forget(h)
	_, fresh = m.fresh("k1", now, horizon)
	assert.False(t, fresh, "forgotten")

	// A key whose slot another key took answers for that key only.
	var other string
	for i := 0; ; i++ {
		other = fmt.Sprintf("other-%d", i)
		oh, _ := m.fresh(other, now, horizon)
		if oh%(memoShards*memoSlots) == h%(memoShards*memoSlots) && oh != h {
			m.set(h, now)
			m.set(oh, now)
			break
		}
	}
	_, fresh = m.fresh("k1", now, horizon)
	assert.False(t, fresh, "k1's slot now holds %s", other)
	_, fresh = m.fresh(other, now, horizon)
	assert.True(t, fresh)
}

// TestRedisExpirySkip checks the PEXPIREs Load leaves out on a real
// server: a key value written again within its horizon (the smallest
// bucket of its counters) gets none, and keeps the expiry it had; past
// the horizon it gets one again; and a key that vanished meanwhile (an
// erasure, an eviction) is given its expiry at once, in a second round
// trip, rather than being left without one.
func TestRedisExpirySkip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redisStandalone(t)
	s := openRedis(t, c, Config{Counters: eightCounters})
	hook := &countingHook{}
	c.AddHook(hook)
	wall := time.Now()
	s.wall = func() time.Time { return wall }
	at := base()
	keys := engine.Keys{User: "ann", IP: "192.0.2.77", Subnet: "192.0.2.0/24", Device: "dev-ann"}
	ring := s.rings[1].key(keys.IP) // the IP's ring (attempts_ip_1m: 6s buckets)
	require.Equal(t, engine.KeyIP, s.rings[1].kind)
	distinct := s.counterKey(5, keys.IP) // ip_distinct_users_10m: 1m buckets
	pexpires := func() int {
		hook.mu.Lock()
		defer hook.mu.Unlock()
		n := 0
		for _, p := range hook.pipelines {
			for _, name := range p {
				if name == "pexpire" {
					n++
				}
			}
		}
		hook.pipelines = nil
		return n
	}
	ttls := func() []time.Duration {
		var out []time.Duration
		for _, k := range []string{ring, distinct} {
			ttl, err := c.PTTL(ctx, k).Result()
			require.NoError(t, err)
			out = append(out, ttl)
		}
		return out
	}

	load(t, s, "login", keys, at, engine.Place{})
	assert.Equal(t, 3, pexpires(), "first write: the IP's ring (the only one an attempt writes), two distinct keys")
	for _, ttl := range ttls() {
		assert.Positive(t, ttl)
	}

	wall = wall.Add(5 * time.Second)
	load(t, s, "login", keys, at.Add(5*time.Second), engine.Place{})
	assert.Equal(t, 0, pexpires(), "within every key's horizon")

	wall = wall.Add(2 * time.Second) // 7s: past the IP ring's 6s horizon, within the rest
	load(t, s, "login", keys, at.Add(7*time.Second), engine.Place{})
	assert.Equal(t, 1, pexpires(), "the IP's ring only")

	// The keys vanish behind the instance's back.
	require.NoError(t, c.Del(ctx, ring, distinct).Err())
	wall = wall.Add(time.Second)
	load(t, s, "login", keys, at.Add(8*time.Second), engine.Place{})
	hook.mu.Lock()
	ps := slices.DeleteFunc(slices.Clone(hook.pipelines), handshake)
	require.Len(t, ps, 2, "the load's pipeline and the repair")
	assert.Equal(t, []string{"pexpire", "pexpire"}, ps[1])
	assert.False(t, slices.Contains(ps[0], "pexpire"), "skipped in the load itself")
	hook.pipelines = nil
	hook.mu.Unlock()
	for _, ttl := range ttls() {
		assert.Positive(t, ttl, "no key is left without an expiry")
	}
}

// TestRedisDefaultCommands pins the commands one sign-in evaluation sends
// with the default counters (engine/counters.yaml), counted by the hook:
// a sign-in whose key values this instance has not written lately, and
// the same sign-in again within the buckets (a burst from one address, a
// user retrying), which leaves out the PEXPIREs. The distinct keys' trims
// (one write in trimEvery, at random) are left out.
//
//	go test ./signals/velocity -run TestRedisDefaultCommands -v
func TestRedisDefaultCommands(t *testing.T) {
	t.Parallel()
	c := redisStandalone(t)
	s := openRedis(t, c, Config{Counters: engine.DefaultCounters()})
	hook := &countingHook{}
	c.AddHook(hook)
	wall := time.Now()
	s.wall = func() time.Time { return wall }
	keys := engine.Keys{User: "dee", IP: "192.0.2.88", Subnet: "192.0.2.0/24", Device: "dev-dee"}
	count := func() map[string]int {
		hook.mu.Lock()
		defer hook.mu.Unlock()
		// The Load's pipelines (a new connection's handshake is one too).
		ps := slices.DeleteFunc(slices.Clone(hook.pipelines), handshake)
		require.Len(t, ps, 1, "one round trip")
		m := map[string]int{"total": 0}
		for _, name := range ps[0] {
			if !strings.HasPrefix(name, "zremrangeby") {
				m[name]++
				m["total"]++
			}
		}
		hook.pipelines = nil
		return m
	}
	load(t, s, "login", keys, base(), engine.Place{})
	first := count()
	wall = wall.Add(time.Second)
	load(t, s, "login", keys, base().Add(time.Second), engine.Place{})
	again := count()
	wall = wall.Add(time.Second)
	keys.User = "another-victim" // a stuffing burst: same address, subnet and device
	load(t, s, "login", keys, base().Add(2*time.Second), engine.Place{})
	burst := count()
	t.Logf("new key values: %v", first)
	t.Logf("again within the buckets: %v", again)
	t.Logf("a new user from the same address, subnet and device: %v", burst)
	assert.Equal(t, map[string]int{"getrange": 5, "zcount": 6, "bitfield": 2, "pexpire": 6, "zadd": 4, "set": 1, "total": 24}, first)
	assert.Equal(t, map[string]int{"getrange": 5, "zcount": 6, "bitfield": 2, "zadd": 4, "set": 1, "total": 18}, again)
	assert.Equal(t, map[string]int{"getrange": 5, "zcount": 6, "bitfield": 2, "pexpire": 2, "zadd": 4, "set": 1, "total": 20}, burst,
		"the user's ring and distinct addresses only")
}

// handshake reports whether a pipeline is a new connection's handshake
// (CLIENT SETINFO), not a Load's.
func handshake(p []string) bool { return len(p) > 0 && (p[0] == "client" || p[0] == "hello") }
