package daemon

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// getWith fetches url with an Authorization header when auth is set.
func getWith(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsProtection: /metrics is open only when nothing protects it
// (development); RISKAUTH_METRICS_TOKEN makes it demand a bearer token
// (not the API key), RISKAUTH_METRICS_ADDR moves it, with the probes, to a
// listener of its own and the main listener answers 404 (issue 17, item
// 11).
func TestMetricsProtection(t *testing.T) {
	const token = "metrics-token-0123456789abcdef-0123456789"
	const apiKey = "test-key-0123456789"
	type probe struct {
		ops  bool // on the operations listener, else the main one
		path string
		auth string
		want int
	}
	cases := []struct {
		name   string
		env    map[string]string
		probes []probe
	}{
		{"default: open on the main listener", nil, []probe{
			{false, "/metrics", "", 200},
		}},
		{"token", map[string]string{"RISKAUTH_METRICS_TOKEN": token}, []probe{
			{false, "/metrics", "", 401},
			{false, "/metrics", "Bearer " + apiKey, 401},
			{false, "/metrics", "Bearer " + token + "x", 401},
			{false, "/metrics", "Bearer " + token, 200},
			{false, "/healthz", "", 200},
			{false, "/readyz", "", 200},
		}},
		{"separate address", map[string]string{"RISKAUTH_METRICS_ADDR": "127.0.0.1:0"}, []probe{
			{false, "/metrics", "", 404},
			{false, "/healthz", "", 200},
			{true, "/metrics", "", 200},
			{true, "/healthz", "", 200},
			{true, "/readyz", "", 200},
			{true, "/v1/risk/evaluate", "Bearer " + apiKey, 404},
			{true, "/openapi.json", "", 404},
		}},
		{"separate address and token", map[string]string{"RISKAUTH_METRICS_ADDR": "127.0.0.1:0", "RISKAUTH_METRICS_TOKEN": token}, []probe{
			{false, "/metrics", "Bearer " + token, 404},
			{true, "/metrics", "", 401},
			{true, "/metrics", "Bearer " + token, 200},
			{true, "/healthz", "", 200},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{"RISKAUTH_DATA_DIR": t.TempDir(), "RISKAUTH_API_KEYS": apiKey}
			for k, v := range c.env {
				env[k] = v
			}
			base, srv := start(t, "", env)
			ops := ""
			if srv.API.OpsApp() != nil {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				go func() { _ = srv.API.ServeOps(ln) }()
				ops = "http://" + ln.Addr().String()
			}
			for _, p := range c.probes {
				url := base + p.path
				if p.ops {
					require.NotEmpty(t, ops, "no operations listener")
					url = ops + p.path
				}
				code, body := getWith(t, url, p.auth)
				assert.Equal(t, p.want, code, "%s (ops %t, auth %q): %s", p.path, p.ops, p.auth, body)
				if code == 200 && p.path == "/metrics" {
					assert.True(t, strings.Contains(body, "go_goroutines"), "the series are there")
				}
			}
		})
	}
}
