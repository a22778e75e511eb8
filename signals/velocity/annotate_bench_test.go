package velocity

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine"
)

// BenchmarkLoadAnnotate measures the store's part of an evaluation that
// matched a rule: Load (storing the pending evaluation), then
// AnnotatePending with the matched rule ids, as the engine calls them.
// Issue 2 wants one round trip per evaluation; compare with BenchmarkLoad:
//
//	go test ./signals/velocity -run '^$' -bench 'BenchmarkLoad(Annotate)?/redis' -count 3
func BenchmarkLoadAnnotate(b *testing.B) {
	cfg := Config{Counters: eightCounters}
	b.Run("redis", func(b *testing.B) { benchLoadAnnotate(b, openRedis(b, redisStandalone(b), cfg), false) })
	b.Run("redis_parallel", func(b *testing.B) { benchLoadAnnotate(b, openRedis(b, redisStandalone(b), cfg), true) })
}

func benchLoadAnnotate(b *testing.B, s engine.StateStore, parallel bool) {
	ctx := context.Background()
	t0 := base()
	a := s.(engine.PendingAnnotator)
	rules := []string{"fails_user_burst", "new_country"}
	var seq atomic.Int64
	one := func(i int64) {
		keys := engine.Keys{User: "user-" + strconv.FormatInt(i%10_000, 10) + "@example.com", IP: ipString(uint32(0xc0000200 + i%50_000)),
			Subnet: "192.0.2.0/24", Device: "device-1"}
		p := &engine.Pending{EvaluationID: "bench-" + strconv.FormatInt(i, 10), Kind: "login", Keys: keys, At: t0, RuleSetVersion: "v1"}
		if _, err := s.Load(ctx, &engine.LoadRequest{Kind: "login", Keys: keys, At: t0.Add(time.Duration(i) * time.Millisecond), Pending: p}); err != nil {
			b.Error(err)
			return
		}
		p.Rules = rules
		if err := a.AnnotatePending(ctx, p); err != nil {
			b.Error(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				one(seq.Add(1))
			}
		})
	} else {
		for i := 0; b.Loop(); i++ {
			one(int64(i))
		}
	}
	// The writer's backlog is part of the cost: Close writes it.
	_ = s.Close()
}
