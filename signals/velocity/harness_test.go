package velocity

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// backend opens fresh stores of one kind for the conformance suite.
type backend struct {
	name string
	// open returns a store for cfg whose state no other test sees.
	open func(t *testing.T, cfg Config) engine.StateStore
	// redis is the client of a Redis backend, nil for memory.
	redis func(engine.StateStore) redis.UniversalClient
}

// testPrefix is a Redis key prefix unique to this test and run, so tests
// can share one server in parallel.
func testPrefix(t testing.TB) string {
	name := strings.NewReplacer("{", "_", "}", "_", " ", "_").Replace(t.Name())
	return fmt.Sprintf("rvt:%s:%x:", name, rand.Uint32())
}

func redisStandalone(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Ping(context.Background()).Err())
	return c
}

func redisCluster(t testing.TB) *redis.ClusterClient {
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testenv.RedisCluster(t)})
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Ping(context.Background()).Err())
	return c
}

// redisTopologies are the deployments every Redis test runs on: the
// same code must hold its one-round-trip and slot promises on both.
var redisTopologies = []struct {
	name   string
	client func(testing.TB) redis.UniversalClient
}{
	{"standalone", func(t testing.TB) redis.UniversalClient { return redisStandalone(t) }},
	{"cluster", func(t testing.TB) redis.UniversalClient { return redisCluster(t) }},
}

func openRedis(t testing.TB, c redis.UniversalClient, cfg Config) *Redis {
	cfg.KeyPrefix = testPrefix(t)
	s := newTestRedis(t, c, cfg, nil)
	dropSketch(t, s)
	waitFirstRefresh(t, s)
	return s
}

// testRefresh is the familiarity refresh interval of the tests' stores.
// The refresher reads the sketch once at start and then every interval;
// the tests refresh explicitly (refreshFamiliarity) at known moments, and
// a periodic refresh landing in a slow run (the default is 30s) would
// change what a mirror holds under a test's feet.
const testRefresh = time.Hour

// newTestRedis is NewRedis for tests: the store logs to the test's log,
// refreshes its mirror every testRefresh unless cfg says otherwise, and is
// closed at cleanup (a second Close is harmless).
func newTestRedis(t testing.TB, c redis.UniversalClient, cfg Config, m *Metrics) *Redis {
	t.Helper()
	if cfg.FamiliarityRefresh == 0 {
		cfg.FamiliarityRefresh = testRefresh
	}
	s, err := newRedis(c, cfg, m, testenv.Logger(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// waitFirstRefresh waits until s's familiarity refresher has made its
// first read, so that its GET is not among the commands a test counts.
// The read is bounded by famRefreshTimeout (10s); the wait used to be 10s
// too, and a loaded machine reached it ("the familiarity refresher made no
// first read"): it is testenv.Patience now.
func waitFirstRefresh(t testing.TB, s *Redis) {
	t.Helper()
	select {
	case <-s.refresher.first:
	case <-s.refresher.done:
	case <-time.After(testenv.Patience):
		t.Fatalf("the familiarity refresher made no first read in %s", testenv.Patience)
	}
}

// dropSketch deletes s's global familiarity sketch when the test ends:
// unlike every other key it has no expiry, and at 5 MiB a few test runs
// would fill a shared test server. Registered after the client's cleanup,
// so it runs before the client is closed.
func dropSketch(t testing.TB, s *Redis) {
	t.Cleanup(func() {
		for _, k := range append(s.fam.keys, s.fam.legacy) {
			_ = s.c.Del(context.Background(), k).Err() // one by one: a Cluster's keys are in several slots
		}
	})
}

func openMemory(t testing.TB, cfg Config) *Memory {
	s, err := NewMemory(cfg, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func redisOf(s engine.StateStore) redis.UniversalClient { return s.(*Redis).c }

func backends() []backend {
	return []backend{
		{name: "memory", open: func(t *testing.T, cfg Config) engine.StateStore { return openMemory(t, cfg) }},
		{name: "memory_sqlite", open: func(t *testing.T, cfg Config) engine.StateStore {
			p, err := NewSQLiteProfiles(filepath.Join(t.TempDir(), "profiles.db"))
			require.NoError(t, err)
			t.Cleanup(func() { _ = p.Close() })
			s, err := NewMemory(cfg, p, nil)
			require.NoError(t, err)
			return s
		}},
		{name: "redis", redis: redisOf, open: func(t *testing.T, cfg Config) engine.StateStore {
			return openRedis(t, redisStandalone(t), cfg)
		}},
		{name: "redis_cluster", redis: redisOf, open: func(t *testing.T, cfg Config) engine.StateStore {
			return openRedis(t, redisCluster(t), cfg)
		}},
	}
}

// base is the start of the virtual time axis: "now-ish", aligned on the
// hour so that bucket boundaries of minute-multiple windows are easy to
// reason about. It is read once per test binary: a test that ran across
// an hour boundary used to see two different bases.
func base() time.Time { return baseTime }

var baseTime = time.Now().UTC().Truncate(time.Hour)

// assertTTL checks the expiry of a key written at written, read as ttl
// now: want, less the time since the write (Redis counts down on its own
// clock), with a second for TTL's rounding. A fixed tolerance (it was 5s)
// fails when a loaded machine takes longer between the write and the
// read; this one is as tight as the machine allows, however slow.
func assertTTL(t testing.TB, want, ttl time.Duration, written time.Time, msgAndArgs ...any) {
	t.Helper()
	elapsed := time.Since(written)
	assert.LessOrEqual(t, ttl, want+time.Second, msgAndArgs...)
	assert.GreaterOrEqual(t, ttl, want-elapsed-time.Second, msgAndArgs...)
}

var evalSeq atomic.Uint64

// load runs a Load that stores a pending evaluation and returns the snapshot
// and the evaluation id.
func load(t testing.TB, s engine.StateStore, kind string, keys engine.Keys, at time.Time, place engine.Place) (*engine.Snapshot, string) {
	t.Helper()
	id := fmt.Sprintf("ev-%d-%x", evalSeq.Add(1), rand.Uint32())
	snap, err := s.Load(context.Background(), &engine.LoadRequest{
		Kind: kind, Keys: keys, At: at,
		Pending: &engine.Pending{EvaluationID: id, Kind: kind, Keys: keys, At: at, Place: place, RuleSetVersion: "v1"},
	})
	require.NoError(t, err)
	return snap, id
}

func counter(name string, on engine.CountOn, key engine.KeyKind, distinct engine.KeyKind, w time.Duration, kinds ...string) engine.CounterSpec {
	return engine.CounterSpec{Name: name, On: on, Key: key, Distinct: distinct, Window: w, Kinds: kinds}
}
