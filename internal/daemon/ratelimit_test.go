package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verifyEmail posts a made-up verification token: a limited route that
// costs no password hash. It returns the status code.
func verifyEmail(t *testing.T, base string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/v1/verify-email", strings.NewReader(`{"token":"not-a-real-token-000000000000"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// limitConfig writes a configuration with a tight per-IP limit (burst,
// one request a minute) under a Redis prefix of the test's own.
func limitConfig(t *testing.T, burst int, prefix string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "riskauth.yaml")
	require.NoError(t, os.WriteFile(f, []byte(fmt.Sprintf(
		"authn:\n  rate_limit:\n    per_ip_per_minute: 1\n    burst: %d\nredis:\n  prefix: %q\nengine:\n  deadline: %s\n",
		burst, prefix, testenv.Budget)), 0o644))
	return f
}

// TestSharedRateLimit: two instances on one Redis share each address's
// bucket, so the address gets the burst once, not once per instance.
func TestSharedRateLimit(t *testing.T) {
	addr := testenv.RedisAddr(t)
	const burst = 4
	prefix := fmt.Sprintf("rl-test-%d:", time.Now().UnixNano())
	cfgFile := limitConfig(t, burst, prefix)
	var bases []string
	for range 2 {
		base, _ := start(t, cfgFile, map[string]string{"RISKAUTH_DATA_DIR": t.TempDir(), "RISKAUTH_REDIS_URL": "redis://" + addr + "/0",
			"RISKAUTH_API_KEYS": "test-key-0123456789"})
		bases = append(bases, base)
	}
	began := time.Now()
	allowed, refused := 0, 0
	for i := range 4 * burst {
		if verifyEmail(t, bases[i%2]) == http.StatusTooManyRequests {
			refused++
		} else {
			allowed++
		}
	}
	// One token a minute refills the bucket: however slow the machine,
	// no more than the burst plus the minutes begun may pass.
	most := burst + int(time.Since(began)/time.Minute) + 1
	assert.LessOrEqual(t, allowed, most, "the instances share one bucket (per instance they would allow %d)", 2*burst)
	assert.GreaterOrEqual(t, allowed, burst, "the burst passes")
	assert.Positive(t, refused)

	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	keys, err := client.Keys(context.Background(), "rate:"+prefix+"rl:ip:*").Result()
	require.NoError(t, err)
	assert.Equal(t, []string{"rate:" + prefix + "rl:ip:127.0.0.1"}, keys, "one bucket, keyed by the address")
}

// TestSharedRateLimitFallback: with Redis down, each instance limits on
// its own (the per-instance limit still holds) and says so in its metrics.
func TestSharedRateLimitFallback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	ln.Close()
	const burst = 3
	base, srv := start(t, limitConfig(t, burst, "ra:"), map[string]string{"RISKAUTH_DATA_DIR": t.TempDir(),
		"RISKAUTH_REDIS_URL": "redis://" + dead + "/0", "RISKAUTH_API_KEYS": "test-key-0123456789"})
	began := time.Now()
	allowed := 0
	for range 3 * burst {
		if verifyEmail(t, base) != http.StatusTooManyRequests {
			allowed++
		}
	}
	most := burst + int(time.Since(began)/time.Minute) + 1
	assert.LessOrEqual(t, allowed, most, "the instance's own buckets limit while Redis is down")
	assert.GreaterOrEqual(t, allowed, burst)
	fallback, err := testutil.GatherAndCount(srv.Registry, "riskauth_rate_limit_fallback_total")
	require.NoError(t, err)
	require.Equal(t, 1, fallback)
	assert.Equal(t, "riskauth_rate_limit_fallback_total 9\n", gathered(t, srv, "riskauth_rate_limit_fallback_total"))
	assert.Equal(t, "riskauth_rate_limit_shared 0\n", gathered(t, srv, "riskauth_rate_limit_shared"))
}

// gathered is one series of srv's registry in the text format, without
// its HELP and TYPE lines.
func gathered(t *testing.T, srv *Server, name string) string {
	t.Helper()
	mfs, err := srv.Registry.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var b strings.Builder
		for _, m := range mf.GetMetric() {
			v := m.GetCounter().GetValue()
			if m.GetGauge() != nil {
				v = m.GetGauge().GetValue()
			}
			fmt.Fprintf(&b, "%s %g\n", name, v)
		}
		return b.String()
	}
	return ""
}
