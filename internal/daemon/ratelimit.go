package daemon

import (
	"context"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/riskauth/riskauth/internal/httpapi"
)

// redisLimiter is the HTTP API's shared rate limiter on the Redis the
// velocity state already uses: a GCRA bucket per key
// (github.com/go-redis/redis_rate, one Lua script call, one key, so it
// works on Redis Cluster too and every request costs one round trip). The
// time is Redis's own (TIME inside the script), so instances whose clocks
// disagree still share one bucket exactly.
type redisLimiter struct {
	lim    *redis_rate.Limiter
	prefix string
}

var _ httpapi.SharedLimiter = (*redisLimiter)(nil)

// newRedisLimiter limits under prefix+"rl:" (redis_rate puts its own
// "rate:" in front).
func newRedisLimiter(client redis.UniversalClient, prefix string) *redisLimiter {
	return &redisLimiter{lim: redis_rate.NewLimiter(client), prefix: prefix + "rl:"}
}

// Allow implements httpapi.SharedLimiter.
func (l *redisLimiter) Allow(ctx context.Context, key string, perMinute, burst int) (bool, time.Duration, error) {
	res, err := l.lim.Allow(ctx, l.prefix+key, redis_rate.Limit{Rate: perMinute, Burst: burst, Period: time.Minute})
	if err != nil {
		return false, 0, err
	}
	return res.Allowed > 0, max(res.RetryAfter, 0), nil
}
