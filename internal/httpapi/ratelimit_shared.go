package httpapi

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SharedLimiter is a rate limiter whose buckets every instance shares
// (riskauthd's is Redis, internal/daemon): with one, an address gets the
// configured limit across all instances together instead of once per
// instance. Allow takes one request from key's bucket, refilled at
// perMinute and holding at most burst, and reports whether there was room
// and, when there was not, how long until there is. An error means the
// shared store did not answer: the server then decides with its own
// per-instance buckets (see rateLimit).
type SharedLimiter interface {
	Allow(ctx context.Context, key string, perMinute, burst int) (ok bool, retryAfter time.Duration, err error)
}

// Shared limiter tuning. The timeout bounds what a slow store adds to a
// sign-in request; after a failure the store is left alone for
// sharedLimitPause, so that a Redis outage costs one timeout per pause,
// not one per request.
const (
	sharedLimitTimeout = 500 * time.Millisecond
	sharedLimitPause   = 5 * time.Second
)

// sharedLimit is the shared limiter with its fallback state.
type sharedLimit struct {
	lim       SharedLimiter
	perMinute int
	burst     int
	// pausedUntil is the unix nanos (server clock) before which the
	// store is not asked; 0 when it answered last.
	pausedUntil atomic.Int64
	// warned is the unix nanos of the last fallback log line.
	warned   atomic.Int64
	fallback prometheus.Counter
	shared   prometheus.Gauge
}

// setupSharedLimit wires deps.SharedLimiter in front of the per-instance
// limiter when both are configured.
func (s *Server) setupSharedLimit(cfg RateLimitConfig, deps Deps, reg prometheus.Registerer) error {
	if s.limiter == nil || deps.SharedLimiter == nil {
		return nil
	}
	burst := cfg.Burst
	if burst <= 0 {
		burst = cfg.PerMinute
	}
	sl := &sharedLimit{lim: deps.SharedLimiter, perMinute: cfg.PerMinute, burst: burst,
		fallback: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riskauth_rate_limit_fallback_total",
			Help: "Rate-limited requests decided by this instance's own buckets because the shared (Redis) limiter did not answer.",
		}),
		shared: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "riskauth_rate_limit_shared",
			Help: "1 while the per-IP rate limit is shared across instances (Redis answers), 0 while this instance falls back to its own buckets.",
		}),
	}
	for _, c := range []prometheus.Collector{sl.fallback, sl.shared} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("httpapi: register rate limit metrics: %w", err)
		}
	}
	sl.shared.Set(1)
	s.shared = sl
	return nil
}

// allow decides one request of ip: through the shared limiter when it
// answers, else through this instance's buckets (counted and logged at
// most once a minute).
func (s *Server) allowIP(ctx context.Context, ip netip.Addr) (bool, time.Duration) {
	sl := s.shared
	if sl == nil {
		return s.limiter.allow(ip)
	}
	now := s.limiter.clock.Now().UnixNano()
	if now >= sl.pausedUntil.Load() {
		ctx, cancel := context.WithTimeout(ctx, sharedLimitTimeout)
		ok, wait, err := sl.lim.Allow(ctx, "ip:"+ip.Unmap().String(), sl.perMinute, sl.burst)
		cancel()
		if err == nil {
			sl.pausedUntil.Store(0)
			sl.shared.Set(1)
			if !ok {
				wait = max(wait, time.Second)
			}
			return ok, wait
		}
		sl.pausedUntil.Store(now + int64(sharedLimitPause))
		sl.shared.Set(0)
		if last := sl.warned.Load(); now-last >= int64(time.Minute) && sl.warned.CompareAndSwap(last, now) {
			s.log.Warn("shared rate limit unavailable: limiting per instance", "err", err, "retry_in", sharedLimitPause)
		}
	}
	sl.fallback.Inc()
	return s.limiter.allow(ip)
}
