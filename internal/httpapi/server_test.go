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
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/httpapi"
)

func TestEvaluateHappyPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})

	tests := []struct {
		name       string
		body       string
		decision   string
		wantReason string
		check      func(t *testing.T, m map[string]any)
	}{
		{
			name:     "browser login with device data",
			body:     loginBody("u-1", "203.0.113.7"),
			decision: "passwordless",
			check: func(t *testing.T, m map[string]any) {
				sig := m["signals"].(map[string]any)
				assert.Equal(t, "login", sig["event"].(map[string]any)["kind"])
				assert.Equal(t, "203.0.113.7", sig["event"].(map[string]any)["ip"])
				assert.Equal(t, "web", sig["attr"].(map[string]any)["app"])
				dev := sig["device"].(map[string]any)
				assert.Equal(t, true, dev["present"])
				assert.Equal(t, true, dev["has_cookie"])
				assert.NotEmpty(t, dev["id"])
				vel := sig["velocity"].(map[string]any)
				assert.Equal(t, true, vel["available"])
				assert.Contains(t, vel, "ip_failures_10m")
				st := m["signal_status"].(map[string]any)["velocity"].(map[string]any)
				assert.Equal(t, true, st["available"])
				assert.Empty(t, m["reasons"])
				assert.NotContains(t, m, "shadow_decision")
			},
		},
		{
			name:       "scripted client is stepped up with the reason",
			body:       `{"event":"login","identifier":"Alice@Example.com","ip":"198.51.100.9","user_agent":"curl/8.5.0","password":"` + testPassword + `"}`,
			decision:   "step_up",
			wantReason: "automation-client",
			check: func(t *testing.T, m map[string]any) {
				r := m["reasons"].([]any)
				require.NotEmpty(t, r)
				first := r[0].(map[string]any)
				assert.Equal(t, "headless browser, HTTP library or no user agent at all", first["description"])
				assert.EqualValues(t, 40, first["score"])
				assert.Equal(t, "low", first["alert"])
				assert.NotEmpty(t, first["evidence"])
				assert.Equal(t, "low", m["alert"])
			},
		},
		{
			name:     "ipv4-mapped ipv6 is normalised",
			body:     `{"event":"registration","identifier":"bob","ip":"::ffff:192.0.2.1","user_agent":"` + browserUA + `"}`,
			decision: "passwordless",
			check: func(t *testing.T, m map[string]any) {
				assert.Equal(t, "192.0.2.1", m["signals"].(map[string]any)["event"].(map[string]any)["ip"])
			},
		},
		{
			name:     "unknown fields are ignored",
			body:     `{"event":"mfa","user_id":"u-2","ip":"2001:db8::1","user_agent":"` + browserUA + `","future_field":{"x":[1,2]}}`,
			decision: "passwordless",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post("/v1/risk/evaluate", tc.body)
			require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
			assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
			assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
			assert.NotContains(t, string(r.body), testPassword)
			m := r.json(t)
			assert.Equal(t, tc.decision, m["decision"], "body: %s", r.body)
			_, err := uuid.Parse(m["evaluation_id"].(string))
			assert.NoError(t, err)
			assert.NotEmpty(t, m["ruleset_version"])
			assert.IsType(t, []any{}, m["reasons"])
			assert.Contains(t, m, "score")
			assert.Contains(t, m, "time")
			if tc.wantReason != "" {
				var ids []string
				for _, x := range m["reasons"].([]any) {
					ids = append(ids, x.(map[string]any)["rule"].(string))
				}
				assert.Contains(t, ids, tc.wantReason)
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

// Twenty distinct accounts from one IP within ten minutes is credential
// stuffing: the default rules block the next attempt, over real HTTP.
func TestEvaluateCredentialStuffingBlocks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	var last map[string]any
	for i := range 21 {
		r := e.post("/v1/risk/evaluate", loginBody(fmt.Sprintf("victim-%d", i), "192.0.2.66"))
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		last = r.json(t)
	}
	assert.Equal(t, "block", last["decision"])
	assert.Equal(t, "credential-stuffing-ip", last["reasons"].([]any)[0].(map[string]any)["rule"])
	assert.Contains(t, e.metrics(), `riskauth_decisions_total{decision="block"} 1`)
}

func TestOutcome(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	evaluate := func() string {
		r := e.post("/v1/risk/evaluate", loginBody("u-out", "203.0.113.20"))
		require.Equal(t, http.StatusOK, r.status)
		return r.json(t)["evaluation_id"].(string)
	}
	id := evaluate()
	outcome := func(id, o string) string { return fmt.Sprintf(`{"evaluation_id":%q,"outcome":%q}`, id, o) }

	steps := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"first flow outcome is recorded", outcome(id, "success"), 200, ""},
		{"second flow outcome conflicts", outcome(id, "failure"), 409, "outcome_already_recorded"},
		{"labels may repeat", outcome(id, "fraud"), 200, ""},
		{"labels may repeat twice", outcome(id, "legit"), 200, ""},
		{"unknown evaluation id", outcome(uuid.NewString(), "success"), 404, "unknown_evaluation"},
		{"evaluation id that is no uuid", outcome("no-such-evaluation", "success"), 404, "unknown_evaluation"},
		{"invalid outcome", outcome(id, "maybe"), 422, "invalid_request"},
		{"missing fields", `{}`, 422, "invalid_request"},
		{"wrong types", `{"evaluation_id":1,"outcome":true}`, 422, "invalid_request"},
		{"malformed", `{"evaluation_id":`, 400, "malformed_json"},
	}
	for _, s := range steps { // in order: they share the evaluation
		t.Run(s.name, func(t *testing.T) {
			r := e.post("/v1/risk/outcome", s.body)
			require.Equal(t, s.status, r.status, "body: %s", r.body)
			if s.code != "" {
				assert.Equal(t, s.code, r.errorCode(t))
				return
			}
			m := r.json(t)
			assert.Equal(t, true, m["recorded"])
			assert.Equal(t, id, m["evaluation_id"])
		})
	}
	t.Run("fields of a 422 are listed", func(t *testing.T) {
		r := e.post("/v1/risk/outcome", `{"evaluation_id":1,"outcome":true}`)
		assert.Equal(t, []string{"evaluation_id", "outcome"}, r.fields(t))
		r = e.post("/v1/risk/outcome", `{}`)
		assert.Equal(t, []string{"evaluation_id", "outcome"}, r.fields(t))
	})
	// The success taught the profile: the same user is now known.
	r := e.post("/v1/risk/evaluate", loginBody("u-out", "203.0.113.20"))
	require.Equal(t, http.StatusOK, r.status)
	user := r.json(t)["signals"].(map[string]any)["user"].(map[string]any)
	assert.Equal(t, true, user["known"])
	assert.Contains(t, e.metrics(), `riskauth_outcomes_total{outcome="failure",result="duplicate"} 1`)
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	attrs := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":"v"`, i)
		}
		return `{"event":"login","user_id":"u","attributes":{` + b.String() + `}}`
	}
	tests := []struct {
		name   string
		body   []byte
		status int
		code   string
		fields []string
	}{
		{"empty body", nil, 400, "malformed_json", nil},
		{"not json", []byte(`hello`), 400, "malformed_json", nil},
		{"truncated", []byte(`{"event":"login"`), 400, "malformed_json", nil},
		{"trailing garbage", []byte(`{"event":"login"} x`), 400, "malformed_json", nil},
		{"two values", []byte(`{"event":"login"}{"event":"login"}`), 400, "malformed_json", nil},
		{"invalid utf-8", []byte("{\"event\":\"login\",\"user_id\":\"\xff\xfe\"}"), 400, "malformed_json", nil},
		{"raw control character", []byte("{\"event\":\"lo\x01gin\"}"), 400, "malformed_json", nil},
		{"top-level array", []byte(`[1,2]`), 422, "invalid_request", []string{"(body)"}},
		{"top-level string", []byte(`"login"`), 422, "invalid_request", []string{"(body)"}},
		{"null body means no event", []byte(`null`), 422, "invalid_request", []string{"event"}},
		{"missing event", []byte(`{"user_id":"u"}`), 422, "invalid_request", []string{"event"}},
		{"bad event name", []byte(`{"event":"Log In"}`), 422, "invalid_request", []string{"event"}},
		{"wrong types everywhere", []byte(`{"event":1,"user_id":["u"],"ip":7,"device":{"screen_width":"wide","languages":[1],"pixel_ratio":"x"},"attributes":{"a":1,"b":"ok","c":{"d":1}}}`),
			422, "invalid_request", []string{"attributes.a", "attributes.c", "device.languages", "device.pixel_ratio", "device.screen_width", "event", "ip", "user_id"}},
		{"attributes not an object", []byte(`{"event":"login","attributes":["a"]}`), 422, "invalid_request", []string{"attributes"}},
		{"device not an object", []byte(`{"event":"login","device":"iphone"}`), 422, "invalid_request", []string{"device"}},
		{"float for an integer", []byte(`{"event":"login","device":{"screen_width":1.5}}`), 422, "invalid_request", []string{"device.screen_width"}},
		{"negative screen", []byte(`{"event":"login","device":{"screen_width":-1}}`), 422, "invalid_request", []string{"device.screen_width"}},
		{"NUL in user id", []byte(`{"event":"login","user_id":"a\u0000b"}`), 422, "invalid_request", []string{"user_id"}},
		{"NUL in attribute", []byte(`{"event":"login","attributes":{"k":"a\u0000"}}`), 422, "invalid_request", []string{"attributes.k"}},
		{"NUL in password", []byte(`{"event":"login","password":"\u0000"}`), 422, "invalid_request", []string{"password"}},
		{"NUL in device", []byte(`{"event":"login","device":{"languages":["e\u0000n"]}}`), 422, "invalid_request", []string{"device.languages[0]"}},
		{"bad ip", []byte(`{"event":"login","ip":"300.1.1.1"}`), 422, "invalid_request", []string{"ip"}},
		{"ip with zone", []byte(`{"event":"login","ip":"fe80::1%eth0"}`), 422, "invalid_request", []string{"ip"}},
		{"too many attributes", []byte(attrs(33)), 422, "invalid_request", []string{"attributes"}},
		{"user id too long", []byte(`{"event":"login","user_id":"` + strings.Repeat("a", 257) + `"}`), 422, "invalid_request", []string{"user_id"}},
		{"everything at once", []byte(`{"user_id":"` + strings.Repeat("a", 257) + `","ip":"x","user_agent":"` + strings.Repeat("u", 1025) + `"}`),
			422, "invalid_request", []string{"event", "ip", "user_id", "user_agent"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(http.MethodPost, "/v1/risk/evaluate", bytes.NewReader(tc.body))
			require.Equal(t, tc.status, r.status, "body: %s", r.body)
			assert.Equal(t, tc.code, r.errorCode(t))
			if tc.fields != nil {
				assert.ElementsMatch(t, tc.fields, r.fields(t), "body: %s", r.body)
			} else {
				assert.Empty(t, r.fields(t))
			}
			assert.NotContains(t, string(r.body), "goroutine")
		})
	}
	t.Run("attributes at the limit pass", func(t *testing.T) {
		r := e.post("/v1/risk/evaluate", attrs(32))
		assert.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	})
}

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
