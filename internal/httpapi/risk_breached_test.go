package httpapi_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/httpapi"
	"github.com/riskauth/riskauth/signals/breached"
)

// bearer adds the API key to every request of the range client.
type bearer struct{ key string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(r)
}

// TestBreachedRangeRoute serves the range API from an imported corpus
// table through the real server and queries it with the real k-anonymity
// client over HTTP.
func TestBreachedRangeRoute(t *testing.T) {
	var corpus strings.Builder
	for i := range 5000 {
		sum := sha1.Sum(fmt.Appendf(nil, "filler-%d", i))
		fmt.Fprintf(&corpus, "%s:%d\r\n", strings.ToUpper(hex.EncodeToString(sum[:])), i%50+1)
	}
	sum := sha1.Sum([]byte("hunter2"))
	fmt.Fprintf(&corpus, "%s:17\r\n", strings.ToUpper(hex.EncodeToString(sum[:])))
	path := filepath.Join(t.TempDir(), "corpus.bin")
	_, err := breached.Import(context.Background(), strings.NewReader(corpus.String()), path, breached.ImportOptions{Format: breached.FormatTable})
	require.NoError(t, err)
	tbl, err := breached.OpenTable(path)
	require.NoError(t, err)
	t.Cleanup(func() { tbl.Close() })

	serve := func(h http.Handler) string {
		eng, _ := newEngine(t, prometheus.NewRegistry())
		srv, err := httpapi.New(httpapi.Config{APIKeys: []string{testKey}}, httpapi.Deps{Engine: eng, BreachedRange: h})
		require.NoError(t, err)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
		})
		return "http://" + ln.Addr().String()
	}
	base := serve(breached.NewRangeHandler(tbl))

	client, err := breached.NewRangeClient(breached.RangeClientConfig{BaseURL: base + "/v1/breached",
		HTTPClient: &http.Client{Transport: bearer{testKey}, Timeout: 5 * time.Second}})
	require.NoError(t, err)
	res, err := client.Check(context.Background(), "hunter2")
	require.NoError(t, err)
	assert.True(t, res.Breached)
	assert.Equal(t, 17, res.Count)
	res, err = client.Check(context.Background(), "a password nobody has ever used 8f3a")
	require.NoError(t, err)
	assert.False(t, res.Breached)

	resp, err := http.Get(base + "/v1/breached/range/ABCDE")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the range route needs an API key")

	unconfigured := serve(nil)
	req, _ := http.NewRequest(http.MethodGet, unconfigured+"/v1/breached/range/ABCDE", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}
