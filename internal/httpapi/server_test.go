package httpapi_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/httpapi"
)

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{BodyLimit: 4 << 10})
	pad := func(n int) string { return `{"event":"login","pad":"` + strings.Repeat("x", n) + `"}` }
	t.Run("under the limit", func(t *testing.T) {
		r := e.post("/v1/risk/evaluate", pad(3<<10))
		assert.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	})
	for _, size := range []int{5 << 10, 1 << 20} {
		t.Run(fmt.Sprintf("%d bytes", size), func(t *testing.T) {
			r := e.post("/v1/risk/evaluate", pad(size))
			require.Equal(t, http.StatusRequestEntityTooLarge, r.status, "body: %s", r.body)
			assert.Equal(t, "body_too_large", r.errorCode(t))
			assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
			assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
		})
	}
	t.Run("chunked body over the limit", func(t *testing.T) {
		// No Content-Length: the limit still holds while reading.
		body := struct{ *strings.Reader }{strings.NewReader(pad(1 << 20))}
		r := e.do(http.MethodPost, "/v1/risk/evaluate", body)
		require.Equal(t, http.StatusRequestEntityTooLarge, r.status, "body: %s", r.body)
		assert.Equal(t, "body_too_large", r.errorCode(t))
	})
	t.Run("default limit is 64 KiB", func(t *testing.T) {
		d := newEnv(t, httpapi.Config{})
		r := d.post("/v1/risk/evaluate", pad(60<<10))
		assert.Equal(t, http.StatusOK, r.status)
		r = d.post("/v1/risk/evaluate", pad(1<<20))
		assert.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	})
	assert.Contains(t, e.metrics(), `riskauth_http_requests_total{code="413",route="/v1/risk/evaluate"}`)
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	body := loginBody("u-auth", "203.0.113.1")
	tests := []struct {
		name   string
		header string // "" means no Authorization header
		status int
	}{
		{"no header", "", 401},
		{"wrong key", "Bearer nope", 401},
		{"key of another length", "Bearer " + testKey + "x", 401},
		{"prefix of the key", "Bearer " + testKey[:len(testKey)-1], 401},
		{"wrong scheme", "Basic " + testKey, 401},
		{"scheme only", "Bearer ", 401},
		{"right key", "Bearer " + testKey, 200},
		{"scheme is case-insensitive", "bearer " + testKey, 200},
		{"second configured key", "Bearer another-key-xxxxxxxxxxxx", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/v1/risk/evaluate", "/v1/risk/outcome"} {
				r := e.post(path, body, func(r *http.Request) {
					r.Header.Del("Authorization")
					if tc.header != "" {
						r.Header.Set("Authorization", tc.header)
					}
				})
				if tc.status == 401 {
					require.Equal(t, 401, r.status, "%s: %s", path, r.body)
					assert.Equal(t, "unauthorized", r.errorCode(t))
					assert.Equal(t, `Bearer realm="riskauth"`, r.header.Get("WWW-Authenticate"))
				} else if path == "/v1/risk/evaluate" {
					assert.Equal(t, tc.status, r.status, "%s: %s", path, r.body)
				}
			}
		})
	}
	t.Run("probes need no key", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
			assert.Equal(t, 200, e.get(p).status, p)
		}
	})
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	eng, _ := newEngine(t, newRegistry())
	tests := []struct {
		name string
		cfg  httpapi.Config
		deps httpapi.Deps
	}{
		{"no engine", httpapi.Config{APIKeys: []string{"k"}}, httpapi.Deps{}},
		{"no keys", httpapi.Config{}, httpapi.Deps{Engine: eng}},
		{"empty key", httpapi.Config{APIKeys: []string{""}}, httpapi.Deps{Engine: eng}},
		{"key with a space", httpapi.Config{APIKeys: []string{"a b"}}, httpapi.Deps{Engine: eng}},
		{"negative body limit", httpapi.Config{APIKeys: []string{"k"}, BodyLimit: -1}, httpapi.Deps{Engine: eng}},
		{"unknown proxy header", httpapi.Config{APIKeys: []string{"k"}, ProxyHeader: "X-Real-IP"}, httpapi.Deps{Engine: eng}},
		{"invalid prefix", httpapi.Config{APIKeys: []string{"k"}, TrustedProxies: []netip.Prefix{{}}}, httpapi.Deps{Engine: eng}},
		{"short metrics token", httpapi.Config{APIKeys: []string{"k"}, Metrics: httpapi.MetricsConfig{Token: "too-short"}}, httpapi.Deps{Engine: eng}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := httpapi.New(tc.cfg, tc.deps)
			assert.Error(t, err)
		})
	}
	t.Run("metrics registered twice", func(t *testing.T) {
		reg := newRegistry()
		_, err := httpapi.New(httpapi.Config{APIKeys: []string{"k"}}, httpapi.Deps{Engine: eng, Registry: reg})
		require.NoError(t, err)
		_, err = httpapi.New(httpapi.Config{APIKeys: []string{"k"}}, httpapi.Deps{Engine: eng, Registry: reg})
		assert.Error(t, err)
	})
}

func TestRoutingErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	tests := []struct {
		name, method, path string
		status             int
		code, allow        string
	}{
		{"unknown route", "GET", "/nope", 404, "not_found", ""},
		{"unknown api route", "POST", "/v1/risk/nope", 404, "not_found", ""},
		{"GET on evaluate", "GET", "/v1/risk/evaluate", 405, "method_not_allowed", "POST"},
		{"DELETE on outcome", "DELETE", "/v1/risk/outcome", 405, "method_not_allowed", "POST"},
		{"POST on healthz", "POST", "/healthz", 405, "method_not_allowed", "GET, HEAD"},
		{"method fiber does not know", "BREW", "/v1/risk/evaluate", 405, "method_not_allowed", "POST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, nil)
			require.Equal(t, tc.status, r.status, "body: %s", r.body)
			assert.Equal(t, tc.code, r.errorCode(t))
			assert.Equal(t, tc.allow, r.header.Get("Allow"))
			assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
			assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
		})
	}
	t.Run("compressed body", func(t *testing.T) {
		r := e.post("/v1/risk/evaluate", loginBody("u", "192.0.2.1"), withHeader("Content-Encoding", "gzip"))
		require.Equal(t, http.StatusUnsupportedMediaType, r.status)
		assert.Equal(t, "unsupported_media_type", r.errorCode(t))
	})
	t.Run("malformed HTTP", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
		require.NoError(t, err)
		defer conn.Close()
		_, err = conn.Write([]byte("POST /v1/risk/evaluate HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"))
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
		buf := make([]byte, 4096)
		n, _ := conn.Read(buf)
		resp := string(buf[:n])
		assert.True(t, strings.HasPrefix(resp, "HTTP/1.1 400"), resp)
		assert.Contains(t, resp, `"code":"bad_request"`)
	})
	m := e.metrics()
	assert.Contains(t, m, `riskauth_http_requests_total{code="404",route="unmatched"}`)
	assert.Contains(t, m, `riskauth_http_requests_total{code="405",route="unmatched"}`)
}

func TestPanicIsAnOpaque500(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{}, func(app *fiber.App) {
		app.Get("/test-panic", func(*fiber.Ctx) error { panic("secret detail " + testKey[:4]) })
	})
	r := e.get("/test-panic")
	require.Equal(t, http.StatusInternalServerError, r.status)
	assert.Equal(t, "internal", r.errorCode(t))
	assert.NotContains(t, string(r.body), "secret detail")
	assert.NotContains(t, string(r.body), "goroutine")
	assert.Contains(t, e.logs.String(), "panic serving request")
	assert.Equal(t, 200, e.get("/healthz").status, "the server survives")
}

func TestProbes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	r := e.get("/healthz")
	require.Equal(t, 200, r.status)
	assert.Equal(t, "ok", r.json(t)["status"])
	r = e.get("/readyz")
	require.Equal(t, 200, r.status)
	assert.Equal(t, "ready", r.json(t)["status"])
	r = e.do(http.MethodHead, "/healthz", nil)
	assert.Equal(t, 200, r.status)

	// The state store goes away: not ready, the stable shape, no details.
	require.NoError(t, e.store.Close())
	r = e.get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Equal(t, "not_ready", r.errorCode(t))
	assert.NotContains(t, string(r.body), "closed")
	assert.Contains(t, e.logs.String(), "not ready")
	assert.Equal(t, 200, e.get("/healthz").status, "liveness does not depend on backends")

	// Evaluations still answer, floored to step-up; outcomes fail over to 503.
	r = e.post("/v1/risk/evaluate", loginBody("u-down", "203.0.113.9"))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	m := r.json(t)
	assert.Equal(t, "step_up", m["decision"])
	assert.Equal(t, true, m["floored"])
	assert.Equal(t, false, m["signal_status"].(map[string]any)["velocity"].(map[string]any)["available"])
	r = e.post("/v1/risk/outcome", fmt.Sprintf(`{"evaluation_id":%q,"outcome":"success"}`, m["evaluation_id"]))
	assert.Equal(t, http.StatusServiceUnavailable, r.status, "body: %s", r.body)
	assert.Equal(t, "unavailable", r.errorCode(t))
}

func TestMetricsExposition(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	require.Equal(t, 200, e.post("/v1/risk/evaluate", loginBody("u-m", "203.0.113.3")).status)
	r := e.get("/metrics")
	require.Equal(t, 200, r.status)
	assert.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "text/plain"), r.header.Get("Content-Type"))
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	m := string(r.body)
	for _, want := range []string{
		`riskauth_decisions_total{decision="passwordless"} 1`,
		"riskauth_evaluation_duration_seconds_bucket",
		`riskauth_signal_duration_seconds_count{signal="velocity"} 1`,
		"riskauth_ruleset_info{",
		`riskauth_http_requests_total{code="200",route="/v1/risk/evaluate"} 1`,
		`riskauth_http_request_duration_seconds_count{route="/v1/risk/evaluate"} 1`,
	} {
		assert.Contains(t, m, want)
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	r := e.get("/healthz", withHeader("X-Request-ID", "abc-123"))
	assert.Equal(t, "abc-123", r.header.Get("X-Request-ID"))
	r = e.get("/nope", withHeader("X-Request-ID", "abc-123"))
	assert.Equal(t, "abc-123", r.header.Get("X-Request-ID"))
	r = e.get("/healthz", withHeader("X-Request-ID", strings.Repeat("a", 200)))
	assert.Empty(t, r.header.Get("X-Request-ID"))
}

func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	r := e.get("/openapi.json")
	require.Equal(t, 200, r.status)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	assert.Equal(t, httpapi.OpenAPIDocument(), r.body)
	assert.Equal(t, "3.1.0", r.json(t)["openapi"])
}

func TestClientIPOverHTTP(t *testing.T) {
	t.Parallel()
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	eventIP := func(r response) string {
		return r.json(t)["signals"].(map[string]any)["event"].(map[string]any)["ip"].(string)
	}
	noIP := `{"event":"login","user_id":"u-ip","user_agent":"` + browserUA + `"}`
	tests := []struct {
		name    string
		cfg     httpapi.Config
		body    string
		headers map[string]string
		want    string
	}{
		{"no proxies: the peer, XFF ignored", httpapi.Config{}, noIP,
			map[string]string{"X-Forwarded-For": "203.0.113.7"}, "127.0.0.1"},
		{"untrusted peer: XFF ignored", httpapi.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, noIP,
			map[string]string{"X-Forwarded-For": "203.0.113.7"}, "127.0.0.1"},
		{"trusted peer: the first untrusted hop", httpapi.Config{TrustedProxies: append(loopback, netip.MustParsePrefix("10.0.0.0/8"))}, noIP,
			map[string]string{"X-Forwarded-For": "6.6.6.6, 203.0.113.7, 10.0.0.5"}, "203.0.113.7"},
		{"trusted peer, Forwarded configured", httpapi.Config{TrustedProxies: loopback, ProxyHeader: "Forwarded"}, noIP,
			map[string]string{"Forwarded": `for="[2001:db8::9]:1234"`, "X-Forwarded-For": "6.6.6.6"}, "2001:db8::9"},
		{"trusted peer, XFF configured: Forwarded ignored", httpapi.Config{TrustedProxies: loopback}, noIP,
			map[string]string{"Forwarded": `for=6.6.6.6`}, "127.0.0.1"},
		{"the body's ip wins", httpapi.Config{TrustedProxies: loopback}, loginBody("u-ip", "198.51.100.4"),
			map[string]string{"X-Forwarded-For": "203.0.113.7"}, "198.51.100.4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.cfg)
			var opts []reqOpt
			for k, v := range tc.headers {
				opts = append(opts, withHeader(k, v))
			}
			r := e.post("/v1/risk/evaluate", tc.body, opts...)
			require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
			assert.Equal(t, tc.want, eventIP(r))
		})
	}
}

// A client that writes its whole oversized body before reading must get the
// 413, not a connection reset.
func TestBodyTooLargeRawClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	for i := range 5 {
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
		require.NoError(t, err)
		body := bytes.Repeat([]byte("x"), 1<<20)
		head := fmt.Sprintf("POST /v1/risk/evaluate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", testKey, len(body))
		require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
		_, err = conn.Write(append([]byte(head), body...))
		require.NoError(t, err, "attempt %d", i)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err, "attempt %d", i)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		assert.Contains(t, string(b), `"code":"body_too_large"`)
		conn.Close()
	}
}
