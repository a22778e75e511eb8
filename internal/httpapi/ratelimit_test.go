package httpapi

import (
	"net/netip"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRateLimiterBucket(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	l, err := newRateLimiter(RateLimitConfig{PerMinute: 6, Burst: 2}, clk)
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

	clk.Advance(9 * time.Second)
	ok, wait = l.allow(a)
	require.False(t, ok)
	assert.Equal(t, time.Second, wait)
	clk.Advance(time.Second)
	ok, _ = l.allow(a)
	assert.True(t, ok, "refilled")

	clk.Advance(time.Hour)
	for range 2 {
		ok, _ := l.allow(a)
		require.True(t, ok)
	}
	ok, _ = l.allow(a)
	assert.False(t, ok, "a long pause refills no more than the burst")
}

func TestRateLimiterBounded(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Unix(0, 0))
	l, err := newRateLimiter(RateLimitConfig{PerMinute: 1, Burst: 1, MaxClients: 2}, clk)
	require.NoError(t, err)
	for i := range 100 {
		l.allow(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
	}
	assert.Equal(t, 2, l.buckets.Len(), "the least recently seen addresses are forgotten")

	off, err := newRateLimiter(RateLimitConfig{}, clk)
	require.NoError(t, err)
	assert.Nil(t, off, "PerMinute 0 turns the limiter off")
}
