package httpapi

import (
	"net/netip"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/riskauth/riskauth/engine/clock"
)

// DefaultRateLimitClients bounds the addresses a rate limiter tracks when
// RateLimitConfig.MaxClients is zero.
const DefaultRateLimitClients = 100_000

// RateLimitConfig is a token bucket per client IP in front of the
// unauthenticated sign-in routes (POST /v1/login, /v1/login/email-code,
// /v1/register, /v1/password/reset/request, /v1/verify-email). It is a
// flood valve. With Deps.SharedLimiter (Redis) the buckets are shared by
// every instance, so an address gets the limit once whatever the number of
// instances; without one, or while the shared store does not answer, each
// instance keeps its own buckets in memory and N instances behind a
// balancer allow up to N times the limit (ratelimit_shared.go). The limit
// is per address, never per account, so the answer (429 rate_limited) is
// the same for existing and unknown accounts.
type RateLimitConfig struct {
	// PerMinute is the refill rate of each address's bucket; 0 turns the
	// limiter off.
	PerMinute int
	// Burst is the bucket size (default PerMinute).
	Burst int
	// MaxClients bounds the addresses tracked (default
	// DefaultRateLimitClients). Beyond it the least recently seen address
	// is forgotten, which only makes the limiter more lenient for it.
	MaxClients int
}

// bucket is one address's token bucket.
type bucket struct {
	tokens float64
	last   time.Time
}

// rateLimiter is a bounded LRU of token buckets keyed by client IP.
type rateLimiter struct {
	perSec float64
	burst  float64
	clock  clock.Clock

	mu      sync.Mutex
	buckets *simplelru.LRU[netip.Addr, *bucket]
}

// newRateLimiter returns nil when cfg disables the limit.
func newRateLimiter(cfg RateLimitConfig, clk clock.Clock) (*rateLimiter, error) {
	if cfg.PerMinute <= 0 {
		return nil, nil
	}
	if cfg.Burst <= 0 {
		cfg.Burst = cfg.PerMinute
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultRateLimitClients
	}
	if clk == nil {
		clk = clock.System{}
	}
	lru, err := simplelru.NewLRU[netip.Addr, *bucket](cfg.MaxClients, nil)
	if err != nil {
		return nil, err
	}
	return &rateLimiter{perSec: float64(cfg.PerMinute) / 60, burst: float64(cfg.Burst), clock: clk, buckets: lru}, nil
}

// allow takes a token from ip's bucket; when there is none it returns how
// long until there is.
func (l *rateLimiter) allow(ip netip.Addr) (bool, time.Duration) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets.Get(ip)
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets.Add(ip, b)
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(l.burst, b.tokens+el.Seconds()*l.perSec)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.perSec * float64(time.Second))
	return false, max(wait, time.Second)
}

// rateLimit is the middleware of the limited routes. The key is the
// resolved client IP (after trusted-proxy handling). A caller with a valid
// API key is a backend speaking for many users from one address; it is
// not limited here (the engine still sees each user's own IP).
func (s *Server) rateLimit(c *fiber.Ctx) error {
	if s.limiter == nil || hasAPIKey(c) {
		return c.Next()
	}
	if ok, wait := s.allowIP(c.UserContext(), s.clientIP(c)); !ok {
		// Counted by riskauth_http_requests_total{code="429"}.
		return &Error{Code: CodeRateLimited, Message: "too many requests from this address; retry later", RetryAfter: wait}
	}
	return c.Next()
}
