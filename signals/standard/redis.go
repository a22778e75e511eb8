package standard

import (
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
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
			return redis.NewClusterClient(opts), nil
		}
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs}), nil
	}
	opts, err := redis.ParseURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	return redis.NewClient(opts), nil
}
