package standard

import (
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis client timeouts riskauth applies unless the URL sets its own
// (dial_timeout, read_timeout, write_timeout, pool_timeout). go-redis's
// defaults (5 s to dial, 3 s per read, 4 s for a pooled connection) are
// made for caches, not for a store whose reads have a 50 ms budget: with
// Redis frozen they held sign-ins past 10 s (issue 18). Context deadlines
// abort a call too (ContextTimeoutEnabled), so a read that missed the
// engine's budget releases its connection instead of holding it for the
// whole read timeout.
const (
	redisDialTimeout = time.Second
	redisIOTimeout   = time.Second
	redisPoolTimeout = time.Second
)

// redisClient opens a standalone client for a redis:// or rediss:// URL,
// or a cluster client for a comma-separated address list, a cluster URL
// with Cluster set, or one address with Cluster set.
func redisClient(c RedisConfig) (redis.UniversalClient, error) {
	if strings.Contains(c.URL, ",") || c.Cluster {
		var addrs []string
		for _, a := range strings.Split(c.URL, ",") {
			a = strings.TrimPrefix(strings.TrimSpace(a), "redis://")
			addrs = append(addrs, a)
		}
		if len(addrs) == 1 && strings.Contains(c.URL, "://") {
			opts, err := redis.ParseClusterURL(c.URL)
			if err != nil {
				return nil, fmt.Errorf("redis url: %w", err)
			}
			boundTimeouts(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.PoolTimeout)
			opts.ContextTimeoutEnabled = true
			return redis.NewClusterClient(opts), nil
		}
		opts := &redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true}
		boundTimeouts(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.PoolTimeout)
		return redis.NewClusterClient(opts), nil
	}
	opts, err := redis.ParseURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	boundTimeouts(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.PoolTimeout)
	opts.ContextTimeoutEnabled = true
	return redis.NewClient(opts), nil
}

// boundTimeouts sets the timeouts the URL left unset.
func boundTimeouts(dial, read, write, pool *time.Duration) {
	for _, t := range []struct {
		dst *time.Duration
		def time.Duration
	}{{dial, redisDialTimeout}, {read, redisIOTimeout}, {write, redisIOTimeout}, {pool, redisPoolTimeout}} {
		if *t.dst == 0 {
			*t.dst = t.def
		}
	}
}
