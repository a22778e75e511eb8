package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/alert"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/signals/velocity"
	"github.com/stretchr/testify/require"
)

// benchEvents is a fixed, varied event mix: 10k users, 2k IPs, devices with
// and without descriptors, a few automation clients.
func benchEvents(n int) []engine.Event {
	rng := rand.New(rand.NewPCG(1, 2))
	uas := []string{
		chrome,
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"python-requests/2.32.3",
	}
	evs := make([]engine.Event, n)
	for i := range evs {
		u := rng.IntN(10_000)
		ip := netip.AddrFrom4([4]byte{198, 51, byte(rng.IntN(8)), byte(rng.IntN(250) + 1)})
		k := rng.IntN(len(uas))
		// The edge's TLS fingerprint, as an edge that terminates TLS sends
		// it (issue 24): per-evaluation work for the JA4 and device-trait
		// features.
		ev := engine.Event{Kind: engine.KindLogin, UserID: fmt.Sprintf("user-%d", u), IP: ip, UserAgent: uas[k], JA4: benchJA4s[k]}
		if rng.IntN(4) > 0 {
			ev.Device = &engine.DeviceDescriptor{CookieID: fmt.Sprintf("dev-%08d", u*3+rng.IntN(3)), Platform: "Win32",
				Timezone: "Europe/London", ScreenWidth: 1920, ScreenHeight: 1080, Languages: []string{"en-GB"}}
		}
		evs[i] = ev
	}
	return evs
}

// benchJA4s are the TLS fingerprints of benchEvents' user agents, by index.
var benchJA4s = []string{ja4Chrome, ja4Safari, ja4Safari, ja4Firefox, "t13d1812h1_85036bcba153_b26ce05bbdd6"}

// BenchmarkEvaluate measures a whole evaluation with the 50-rule file:
// device identification, velocity and profile read (with the attempt
// recorded), rules, decision. The redis cases need RISKAUTH_TEST_REDIS_ADDR:
// "redis" is one caller at a time, "redis-64" 64 concurrent callers. All
// report p50/p99 latency.
func BenchmarkEvaluate(b *testing.B) {
	evs := benchEvents(4096)
	b.Run("embedded", func(b *testing.B) {
		benchSerial(b, newEngine(b, options{rulesFile: "../testdata/rules/bench50.good.yaml"}), evs)
	})
	b.Run("embedded-candidate", func(b *testing.B) {
		// The same with a candidate rule set (the same 50 rules) running
		// in shadow beside the active one: the cost of a shadow rollout.
		// Compare with "embedded" in the same run.
		f := newEngine(b, options{rulesFile: "../testdata/rules/bench50.good.yaml"})
		src, err := os.ReadFile("../testdata/rules/bench50.good.yaml")
		require.NoError(b, err)
		_, err = f.engine.Rules().SetCandidate(src, "bench")
		require.NoError(b, err)
		benchSerial(b, f, evs)
	})
	b.Run("embedded-kafka-down", func(b *testing.B) {
		// The same, with the alert sink attached as configured by default
		// (alerts topic only) and Kafka unreachable: alerting decisions
		// are encoded and spooled on the sink's goroutine. Compare with
		// "embedded" in the same run.
		sink := kafkaDownSink(b, "")
		benchSerial(b, newEngine(b, options{rulesFile: "../testdata/rules/bench50.good.yaml", sink: sink}), evs)
	})
	b.Run("embedded-kafka-down-decisions", func(b *testing.B) {
		// The worst case: the decisions topic on too, so every decision
		// is also a ~3 KB Authentication event to encode and spool.
		sink := kafkaDownSink(b, "riskauth.decisions")
		benchSerial(b, newEngine(b, options{rulesFile: "../testdata/rules/bench50.good.yaml", sink: sink}), evs)
	})
	redisEngine := func(b *testing.B) *fixture {
		addr := testenv.RedisAddr(b)
		client := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 128})
		b.Cleanup(func() { client.Close() })
		st, err := velocity.NewRedis(client, velocity.Config{Counters: engine.DefaultCounters(), KeyPrefix: fmt.Sprintf("bench%d:", time.Now().UnixNano())}, nil)
		require.NoError(b, err)
		b.Cleanup(func() { st.Close() }) // before the client: it flushes queued annotations
		return newEngine(b, options{rulesFile: "../testdata/rules/bench50.good.yaml", state: st})
	}
	b.Run("redis-ping", func(b *testing.B) {
		// The baseline of the redis cases, in the same run: one bare round
		// trip to the same server.
		client := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(b)})
		b.Cleanup(func() { client.Close() })
		ctx := context.Background()
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			t0 := time.Now()
			if err := client.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		b.StopTimer()
		reportPercentiles(b, lat)
	})
	b.Run("redis", func(b *testing.B) {
		f := redisEngine(b)
		defer reportRedisTime(b)()
		benchSerial(b, f, evs)
	})
	b.Run("redis-64", func(b *testing.B) {
		f := redisEngine(b)
		defer reportRedisTime(b)()
		benchParallel64(b, f, evs)
	})
	b.Run("embedded-64", func(b *testing.B) {
		// The bound on "redis-64" in the same run: the same 64 callers with
		// no I/O at all. Its p50 is what queueing alone costs on this
		// machine (Little's law: 64 in flight / evaluations per second).
		benchParallel64(b, newEngine(b, options{rulesFile: "../testdata/rules/bench50.good.yaml"}), evs)
	})
}

// benchParallel64 evaluates the events from 64 concurrent callers and
// reports their latency percentiles besides ns/op (wall time per
// evaluation, all callers together).
func benchParallel64(b *testing.B, f *fixture, evs []engine.Event) {
	ctx := context.Background()
	var mu sync.Mutex
	var all []time.Duration
	b.ReportAllocs()
	b.SetParallelism(64 / max(1, runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var lat []time.Duration
		i := rand.IntN(len(evs))
		for pb.Next() {
			t0 := time.Now()
			if _, err := f.engine.Evaluate(ctx, evs[i%len(evs)]); err != nil {
				b.Error(err)
				return
			}
			lat = append(lat, time.Since(t0))
			i++
		}
		mu.Lock()
		all = append(all, lat...)
		mu.Unlock()
	})
	b.StopTimer()
	reportPercentiles(b, all)
}

// benchSerial evaluates the events one at a time and reports latency
// percentiles besides ns/op.
func benchSerial(b *testing.B, f *fixture, evs []engine.Event) {
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if _, err := f.engine.Evaluate(ctx, evs[i%len(evs)]); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Nanoseconds()) / 1e3 }
	b.ReportMetric(p(0.50), "p50-µs")
	b.ReportMetric(p(0.99), "p99-µs")
}

// kafkaDownSink is an alert sink whose only broker address refuses
// connections; decisions names the decisions topic ("" for none).
func kafkaDownSink(b *testing.B, decisions string) *alert.Sink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	addr := ln.Addr().String()
	ln.Close()
	reg := prometheus.NewRegistry()
	sink, err := alert.New(alert.Config{Brokers: []string{addr}, DecisionsTopic: decisions,
		SpoolDir: b.TempDir(), SpoolMaxBytes: 512 << 20}, alert.Deps{Metrics: alert.NewMetrics(reg)})
	require.NoError(b, err)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(b, sink.Close(ctx))
		st := sink.Status()
		for _, t := range st.Topics {
			b.Logf("%s: %s, %d spooled messages (%d bytes)", t.Topic, t.Mode, t.SpoolRecords, t.SpoolBytes)
		}
	})
	return sink
}

// reportRedisTime reports, when the returned func runs, the Redis server's
// time per operation as INFO commandstats counts it (the usec of every
// command, summed over the run): the measure of what an evaluation
// costs Redis. The server should serve this benchmark alone.
func reportRedisTime(b *testing.B) func() {
	client := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(b)})
	before := redisUsec(b, client)
	return func() {
		after := redisUsec(b, client)
		client.Close()
		if b.N > 0 {
			b.ReportMetric(float64(after-before)/float64(b.N), "redis-µs/op")
		}
	}
}

// redisUsec sums the usec fields of INFO commandstats.
func redisUsec(b *testing.B, c *redis.Client) int64 {
	info, err := c.Info(context.Background(), "commandstats").Result()
	require.NoError(b, err)
	var total int64
	for line := range strings.Lines(info) {
		_, rest, ok := strings.Cut(line, ",usec=")
		if !ok {
			continue
		}
		usec, _, _ := strings.Cut(rest, ",")
		n, err := strconv.ParseInt(usec, 10, 64)
		require.NoError(b, err, line)
		total += n
	}
	return total
}
