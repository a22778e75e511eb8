package velocity

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine"
)

// benchLoad runs Loads with eightCounters over a working set of users and
// IPs, each storing a pending evaluation and reading a profile.
func benchLoad(b *testing.B, s engine.StateStore, parallel bool) {
	ctx := context.Background()
	t0 := base()
	const users, ips = 10_000, 50_000
	userNames := make([]string, users)
	for i := range userNames {
		userNames[i] = fmt.Sprintf("user-%d@example.com", i)
	}
	ipNames := make([]string, ips)
	for i := range ipNames {
		ipNames[i] = ipString(uint32(0xc0000200 + i))
	}
	// Users with a profile.
	for i := range 100 {
		_, id := load(b, s, "login", engine.Keys{User: userNames[i], Device: "dev"}, t0, engine.Place{Country: "NL", ASN: 1136})
		if _, err := s.RecordOutcome(ctx, id, engine.OutcomeSuccess, t0); err != nil {
			b.Fatal(err)
		}
	}
	var seq atomic.Int64
	one := func(i int64, pending *engine.Pending) {
		keys := engine.Keys{User: userNames[i%users], IP: ipNames[i%ips], Subnet: "192.0.2.0/24", Device: "device-1"}
		*pending = engine.Pending{EvaluationID: "bench-" + strconv.FormatInt(i, 10), Kind: "login", Keys: keys, At: t0}
		_, err := s.Load(ctx, &engine.LoadRequest{Kind: "login", Keys: keys, At: t0.Add(time.Duration(i) * time.Millisecond), Pending: pending})
		if err != nil {
			b.Error(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			var p engine.Pending
			for pb.Next() {
				one(seq.Add(1), &p)
			}
		})
		return
	}
	var p engine.Pending
	for i := 0; b.Loop(); i++ {
		one(int64(i), &p)
	}
}

// BenchmarkLoad measures one evaluation's state load with 8 counters:
//
//	go test -run '^$' -bench BenchmarkLoad -benchtime 2s ./signals/velocity/
func BenchmarkLoad(b *testing.B) {
	cfg := Config{Counters: eightCounters}
	b.Run("memory", func(b *testing.B) { benchLoad(b, openMemory(b, cfg), false) })
	b.Run("memory_parallel", func(b *testing.B) { benchLoad(b, openMemory(b, cfg), true) })
	b.Run("redis", func(b *testing.B) { benchLoad(b, openRedis(b, redisStandalone(b), cfg), false) })
	b.Run("redis_parallel", func(b *testing.B) { benchLoad(b, openRedis(b, redisStandalone(b), cfg), true) })
	b.Run("redis_cluster", func(b *testing.B) { benchLoad(b, openRedis(b, redisCluster(b), cfg), false) })
}

// BenchmarkFlood measures Loads that each bring a new IP into a full
// memory backend (1,000,000 keys): every recorded counter evicts a key.
func BenchmarkFlood(b *testing.B) {
	const maxKeys = 1_000_000
	m := openMemory(b, Config{MaxKeys: maxKeys, Counters: []engine.CounterSpec{
		counter("attempts_ip", engine.CountAttempt, engine.KeyIP, "", 10*time.Minute),
		counter("users_per_ip", engine.CountAttempt, engine.KeyIP, engine.KeyUser, 10*time.Minute),
		counter("fails_ip", engine.CountFailure, engine.KeyIP, "", 10*time.Minute),
	}})
	ctx := context.Background()
	t0 := base()
	req := &engine.LoadRequest{Kind: "login", At: t0, Keys: engine.Keys{User: "victim@example.com"}}
	ips := make([]string, maxKeys)
	for i := range ips {
		ips[i] = ipString(uint32(i))
	}
	for _, ip := range ips {
		req.Keys.IP = ip
		if _, err := m.Load(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// A string of a fresh IP without formatting cost: reuse the
		// precomputed ones with a prefix that changes every round.
		req.Keys.IP = ips[i%maxKeys]
		req.Keys.Subnet = ""
		req.At = t0.Add(time.Duration(1+i/maxKeys) * time.Hour)
		if _, err := m.Load(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
