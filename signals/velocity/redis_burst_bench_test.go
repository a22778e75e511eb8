package velocity

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine"
)

// BenchmarkLoadBurst is a burst of sign-in evaluations with the default
// counters (engine/counters.yaml) from one address, subnet and device
// against many users: credential stuffing, the load a risk engine must
// absorb. The address's, subnet's and device's keys are written on every
// evaluation, so their PEXPIREs are left out within their horizons
// (redis_expiry.go); the users' keys are new each time.
//
//	go test ./signals/velocity -run '^$' -bench LoadBurst -benchmem -benchtime 3000x
func BenchmarkLoadBurst(b *testing.B) {
	s := openRedis(b, redisStandalone(b), Config{Counters: engine.DefaultCounters()})
	ctx := context.Background()
	t0 := base()
	b.ReportAllocs()
	var p engine.Pending
	for i := 0; b.Loop(); i++ {
		keys := engine.Keys{User: "victim-" + strconv.Itoa(i), IP: "203.0.113.9", Subnet: "203.0.113.0/24", Device: "tool"}
		at := t0.Add(time.Duration(i) * time.Millisecond)
		p = engine.Pending{EvaluationID: "burst-" + strconv.Itoa(i), Kind: "login", Keys: keys, At: at}
		if _, err := s.Load(ctx, &engine.LoadRequest{Kind: "login", Keys: keys, At: at, Pending: &p}); err != nil {
			b.Fatal(err)
		}
	}
}
