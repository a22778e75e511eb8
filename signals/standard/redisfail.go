package standard

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/riskauth/riskauth/internal/leaf/backend"
)

// countRedisFailures counts every failed Redis call, dial, command or
// pipeline, in riskauth_backend_errors_total{backend="redis"}: the
// velocity store already degrades on them (the engine marks the signal
// unavailable and floors the decision), so this counter is what an
// operator alerts on. Nothing is counted without metrics.
func countRedisFailures(c redis.UniversalClient, m *backend.Metrics) {
	if m == nil {
		return
	}
	m.Init("redis")
	c.AddHook(redisHook{m})
}

// redisHook implements redis.Hook.
type redisHook struct{ m *backend.Metrics }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		h.observe(err)
		return conn, err
	}
}

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.observe(err)
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.observe(err)
		return err
	}
}

// observe counts err when Redis, not the command, failed.
func (h redisHook) observe(err error) {
	if kind, ok := redisFailure(err); ok {
		h.m.Observe(backend.Wrap("redis", kind, err))
	}
}

// redisFailure classifies a go-redis error: a network failure or
// deadline, a pool that gave no connection in time, or a server that
// says it cannot serve (loading, cluster down, no master). A missing
// key (redis.Nil), a script or type error and the caller's own
// cancellation are not failures of the backend.
func redisFailure(err error) (string, bool) {
	if err == nil || errors.Is(err, redis.Nil) {
		return "", false
	}
	if kind, ok := backend.Network(err); ok {
		return kind, true
	}
	if errors.Is(err, redis.ErrPoolTimeout) {
		return backend.KindTimeout, true
	}
	if errors.Is(err, redis.ErrClosed) {
		return backend.KindDown, true
	}
	msg := err.Error()
	for _, p := range []string{"LOADING", "CLUSTERDOWN", "MASTERDOWN", "TRYAGAIN", "READONLY"} {
		if strings.HasPrefix(msg, p) {
			return backend.KindDown, true
		}
	}
	return "", false
}
