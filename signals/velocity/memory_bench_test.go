package velocity

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine"
)

// prodCounters mirror engine/counters.yaml: 17 counters, 5 of them
// distinct counts.
var prodCounters = []engine.CounterSpec{
	counter("ip_attempts_1m", engine.CountAttempt, engine.KeyIP, "", time.Minute),
	counter("ip_failures_10m", engine.CountFailure, engine.KeyIP, "", 10*time.Minute),
	counter("ip_failures_1h", engine.CountFailure, engine.KeyIP, "", time.Hour),
	counter("ip_distinct_users_10m", engine.CountAttempt, engine.KeyIP, engine.KeyUser, 10*time.Minute),
	counter("ip_failed_users_1h", engine.CountFailure, engine.KeyIP, engine.KeyUser, time.Hour),
	counter("ip_registrations_1h", engine.CountAttempt, engine.KeyIP, "", time.Hour, "registration"),
	counter("subnet_failures_1h", engine.CountFailure, engine.KeySubnet, "", time.Hour),
	counter("subnet_distinct_users_1h", engine.CountAttempt, engine.KeySubnet, engine.KeyUser, time.Hour),
	counter("user_attempts_10m", engine.CountAttempt, engine.KeyUser, "", 10*time.Minute),
	counter("user_failures_1h", engine.CountFailure, engine.KeyUser, "", time.Hour),
	counter("user_failures_24h", engine.CountFailure, engine.KeyUser, "", 24*time.Hour),
	counter("user_distinct_ips_24h", engine.CountAttempt, engine.KeyUser, engine.KeyIP, 24*time.Hour),
	counter("user_logins_24h", engine.CountSuccess, engine.KeyUser, "", 24*time.Hour),
	counter("user_resets_24h", engine.CountAttempt, engine.KeyUser, "", 24*time.Hour, "password_reset"),
	counter("device_failures_1h", engine.CountFailure, engine.KeyDevice, "", time.Hour),
	counter("device_distinct_users_24h", engine.CountAttempt, engine.KeyDevice, engine.KeyUser, 24*time.Hour),
	counter("device_users_30d", engine.CountSuccess, engine.KeyDevice, engine.KeyUser, 720*time.Hour),
}

// BenchmarkMemoryLoad17 measures the memory backend's Load with the 17
// counters of engine/counters.yaml over 50,000 users, each with a device
// and a few IPs, after one warm-up pass over every key (so that the timed
// Loads find their keys, like a service in steady state); one in ten
// outcomes is a failure:
//
//	go test -run '^$' -bench BenchmarkMemoryLoad17 ./signals/velocity/
func BenchmarkMemoryLoad17(b *testing.B) {
	for _, par := range []bool{false, true} {
		name := "serial"
		if par {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			m := openMemory(b, Config{Counters: prodCounters})
			ctx := context.Background()
			t0 := base()
			const users = 50_000
			type ident struct{ user, dev string }
			ids := make([]ident, users)
			for i := range ids {
				ids[i] = ident{fmt.Sprintf("user-%d@example.com", i), fmt.Sprintf("device-%08x", mix64(uint64(i))>>32)}
			}
			ipOf := func(i int64) (string, string) {
				u := uint32(mix64(uint64(i%(4*users))) >> 40) // about 4 IPs per user, 2^24 space
				ip := ipString(0x0a000000 | u)
				return ip, ipString(0x0a000000|u&^0xff) + "/24"
			}
			one := func(i int64, p *engine.Pending, outcome bool) {
				id := ids[i%users]
				ip, subnet := ipOf(i)
				keys := engine.Keys{User: id.user, IP: ip, Subnet: subnet, Device: id.dev}
				at := t0.Add(time.Duration(i) * time.Millisecond)
				*p = engine.Pending{EvaluationID: "e-" + strconv.FormatInt(i, 10), Kind: "login", Keys: keys, At: at}
				if _, err := m.Load(ctx, &engine.LoadRequest{Kind: "login", Keys: keys, At: at, Pending: p}); err != nil {
					b.Error(err)
				}
				if outcome {
					o := engine.OutcomeSuccess
					if i%10 == 0 {
						o = engine.OutcomeFailure
					}
					if _, err := m.RecordOutcome(ctx, p.EvaluationID, o, at); err != nil {
						b.Error(err)
					}
				}
			}
			var p engine.Pending
			for i := range int64(4 * users) {
				one(i, &p, true)
			}
			var seq atomic.Int64
			seq.Store(4 * users)
			b.ReportAllocs()
			b.ResetTimer()
			defer reportCPU(b)()
			if par {
				b.RunParallel(func(pb *testing.PB) {
					var p engine.Pending
					for pb.Next() {
						one(seq.Add(1), &p, false)
					}
				})
				return
			}
			for i := int64(4 * users); b.Loop(); i++ {
				one(i, &p, false)
			}
		})
	}
}

// reportCPU starts counting the process's CPU time (user and system, all
// threads, the garbage collector's included); the function it returns
// reports it per op as cpu-ns/op. On a shared machine it is steadier than
// ns/op, which also counts the time other processes hold the cores.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
