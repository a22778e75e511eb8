package httpapi

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a virtual clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestRateLimiterBucket(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	l, err := newRateLimiter(RateLimitConfig{PerMinute: 6, Burst: 2}, clock)
	require.NoError(t, err)
	a, b := netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("2001:db8::1")

	for range 2 {
		ok, _ := l.allow(a)
		require.True(t, ok, "the burst passes")
	}
	ok, wait := l.allow(a)
	require.False(t, ok)
	assert.Equal(t, 10*time.Second, wait, "one token per 10 seconds at 6 per minute")
	ok, _ = l.allow(b)
	assert.True(t, ok, "buckets are per address")

	clock.advance(9 * time.Second)
	ok, wait = l.allow(a)
	require.False(t, ok)
	assert.Equal(t, time.Second, wait)
	clock.advance(time.Second)
	ok, _ = l.allow(a)
	assert.True(t, ok, "refilled")

	clock.advance(time.Hour)
	for range 2 {
		ok, _ := l.allow(a)
		require.True(t, ok)
	}
	ok, _ = l.allow(a)
	assert.False(t, ok, "a long pause refills no more than the burst")
}

func TestRateLimiterBounded(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(0, 0)}
	l, err := newRateLimiter(RateLimitConfig{PerMinute: 1, Burst: 1, MaxClients: 2}, clock)
	require.NoError(t, err)
	for i := range 100 {
		l.allow(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
	}
	assert.Equal(t, 2, l.buckets.Len(), "the least recently seen addresses are forgotten")

	off, err := newRateLimiter(RateLimitConfig{}, clock)
	require.NoError(t, err)
	assert.Nil(t, off, "PerMinute 0 turns the limiter off")
}
