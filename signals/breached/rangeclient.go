package breached

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/riskauth/riskauth/engine/clock"
	"github.com/sony/gobreaker/v2"
)

// Defaults of RangeClientConfig.
const (
	DefaultRangeBaseURL    = "https://api.pwnedpasswords.com"
	DefaultRangeTimeout    = 2 * time.Second
	DefaultRangeCacheSize  = 1024
	DefaultRangeCacheTTL   = 30 * time.Minute
	DefaultBreakerFailures = 5
	DefaultBreakerOpenFor  = 30 * time.Second
	DefaultUserAgent       = "riskauth-breached/1 (+https://github.com/riskauth/riskauth)"
	maxRangeBody           = 4 << 20
)

// ErrUnavailable is wrapped by the range client's errors when it cannot
// answer: the circuit breaker is open, the server failed or timed out, or
// its answer was unusable.
var ErrUnavailable = errors.New("breached-password range API unavailable")

// RangeClientConfig configures a RangeClient. The zero value talks to the
// public Pwned Passwords API with the defaults above.
type RangeClientConfig struct {
	// BaseURL is the API root; the client requests {BaseURL}/range/{prefix}.
	// For a riskauth server: http://host/v1/breached.
	BaseURL string
	// Timeout bounds one request (default 2s).
	Timeout time.Duration
	// UserAgent is sent with every request (the public API requires one).
	UserAgent string
	// NoPadding turns off the Add-Padding request header. Padding makes
	// every response about the same size, so an observer of the encrypted
	// traffic cannot tell the prefix from it.
	NoPadding bool
	// CacheSize is how many prefixes' responses are kept (default 1024;
	// negative disables the cache). About 24 bytes per suffix, ~23 KiB per
	// prefix of the full corpus.
	CacheSize int
	// CacheTTL is how long a cached response is used (default 30 min).
	CacheTTL time.Duration
	// BreakerFailures consecutive failures open the circuit breaker
	// (default 5); while open, checks fail at once with ErrUnavailable.
	BreakerFailures uint32
	// BreakerOpenFor is how long the breaker stays open before one probe
	// request may try again (default 30s).
	BreakerOpenFor time.Duration
	// HTTPClient sends the requests (default: a new client).
	HTTPClient *http.Client
	// Clock times cache entries (default engine.SystemClock).
	Clock clock.Clock
	// Logger receives breaker state changes (default slog.Default()).
	Logger *slog.Logger
	// Metrics, when set, counts lookups.
	Metrics *Metrics
}

// RangeClient checks passwords against a k-anonymity range API (Have I
// Been Pwned's, or a riskauth server's RangeHandler): only the first 5 hex
// digits of the password's SHA-1 leave the host. It is safe for concurrent
// use and is not Local.
type RangeClient struct {
	cfg     RangeClientConfig
	base    string
	cb      *gobreaker.CircuitBreaker[[]rangeEntry]
	cache   *prefixCache
	metrics *Metrics
}

var _ Checker = (*RangeClient)(nil)

// errCallerGone marks failures caused by the caller's context ending, which
// say nothing about the server's health and so do not count for the breaker.
var errCallerGone = errors.New("caller gave up")

// NewRangeClient returns a client for the range API.
func NewRangeClient(cfg RangeClientConfig) (*RangeClient, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultRangeBaseURL
	}
	if !strings.HasPrefix(cfg.BaseURL, "https://") && !strings.HasPrefix(cfg.BaseURL, "http://") {
		return nil, fmt.Errorf("breached: range base URL %q is not http(s)", cfg.BaseURL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultRangeTimeout
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultRangeCacheSize
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultRangeCacheTTL
	}
	if cfg.BreakerFailures == 0 {
		cfg.BreakerFailures = DefaultBreakerFailures
	}
	if cfg.BreakerOpenFor <= 0 {
		cfg.BreakerOpenFor = DefaultBreakerOpenFor
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &RangeClient{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/"), metrics: cfg.Metrics}
	if cfg.CacheSize > 0 {
		c.cache = newPrefixCache(cfg.CacheSize, cfg.CacheTTL, cfg.Clock)
	}
	failures := cfg.BreakerFailures
	logger := cfg.Logger
	c.cb = gobreaker.NewCircuitBreaker[[]rangeEntry](gobreaker.Settings{
		Name:        "breached-range",
		MaxRequests: 1,
		Timeout:     cfg.BreakerOpenFor,
		ReadyToTrip: func(counts gobreaker.Counts) bool { return counts.ConsecutiveFailures >= failures },
		IsExcluded:  func(err error) bool { return errors.Is(err, errCallerGone) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			logger.Warn("breached range client circuit breaker", "from", from.String(), "to", to.String(), "base_url", c.base)
		},
	})
	return c, nil
}

// Check implements Checker. The password is checked exactly as typed.
func (c *RangeClient) Check(ctx context.Context, password string) (Result, error) {
	sum := digest(password)
	prefix, suffix := splitDigest(&sum)
	clear(sum[:])
	defer clear(suffix[:])
	entries, err := c.lookup(ctx, prefix)
	if err != nil {
		return Result{}, err
	}
	count, ok := matchRange(entries, &suffix)
	return Result{Breached: ok, Count: int(count)}, nil
}

func (c *RangeClient) lookup(ctx context.Context, prefix uint32) ([]rangeEntry, error) {
	if c.cache != nil {
		if e, ok := c.cache.get(prefix); ok {
			c.metrics.rangeRequest("cache_hit")
			return e, nil
		}
	}
	entries, err := c.cb.Execute(func() ([]rangeEntry, error) { return c.fetch(ctx, prefix) })
	switch {
	case errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests):
		c.metrics.rangeRequest("breaker_open")
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	case err != nil:
		c.metrics.rangeRequest("error")
		return nil, err
	}
	c.metrics.rangeRequest("fetched")
	if c.cache != nil {
		c.cache.put(prefix, entries)
	}
	return entries, nil
}

func (c *RangeClient) fetch(ctx context.Context, prefix uint32) ([]rangeEntry, error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	fail := func(err error) ([]rangeEntry, error) {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w: %w", ErrUnavailable, errCallerGone, ctx.Err())
		}
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	url := fmt.Sprintf("%s/range/%05X", c.base, prefix)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	req.Header.Set("Accept", "text/plain")
	if !c.cfg.NoPadding {
		req.Header.Set("Add-Padding", "true")
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return fail(fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRangeBody+1))
	if err != nil {
		return fail(fmt.Errorf("GET %s: %w", url, err))
	}
	if len(body) > maxRangeBody {
		return fail(fmt.Errorf("GET %s: response larger than %d bytes", url, maxRangeBody))
	}
	entries, err := parseRange(body)
	if err != nil {
		return fail(fmt.Errorf("GET %s: %w", url, err))
	}
	return entries, nil
}

// prefixCache is a small LRU of range responses with a TTL.
type prefixCache struct {
	mu    sync.Mutex
	size  int
	ttl   time.Duration
	clock clock.Clock
	ll    *list.List // front = most recent; values are *cacheItem
	items map[uint32]*list.Element
}

type cacheItem struct {
	prefix  uint32
	entries []rangeEntry
	expires time.Time
}

func newPrefixCache(size int, ttl time.Duration, clock clock.Clock) *prefixCache {
	return &prefixCache{size: size, ttl: ttl, clock: clock, ll: list.New(), items: make(map[uint32]*list.Element, size)}
}

func (p *prefixCache) get(prefix uint32) ([]rangeEntry, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	el, ok := p.items[prefix]
	if !ok {
		return nil, false
	}
	it := el.Value.(*cacheItem)
	if !p.clock.Now().Before(it.expires) {
		p.ll.Remove(el)
		delete(p.items, prefix)
		return nil, false
	}
	p.ll.MoveToFront(el)
	return it.entries, true
}

func (p *prefixCache) put(prefix uint32, entries []rangeEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	expires := p.clock.Now().Add(p.ttl)
	if el, ok := p.items[prefix]; ok {
		it := el.Value.(*cacheItem)
		it.entries, it.expires = entries, expires
		p.ll.MoveToFront(el)
		return
	}
	p.items[prefix] = p.ll.PushFront(&cacheItem{prefix: prefix, entries: entries, expires: expires})
	for p.ll.Len() > p.size {
		el := p.ll.Back()
		p.ll.Remove(el)
		delete(p.items, el.Value.(*cacheItem).prefix)
	}
}

func (p *prefixCache) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ll.Len()
}
