package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riskauth/riskauth/internal/leaf/testenv"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/internal/httpapi"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/signals/device"
	"github.com/riskauth/riskauth/signals/velocity"
)

const (
	testKey      = "test-key-0123456789abcdef"
	testPassword = "correct horse battery staple"
)

// env is a real riskauth HTTP API on a loopback port: the engine with the
// embedded default rules, the in-memory velocity store and the device
// identifier. Nothing is mocked.
type env struct {
	t     *testing.T
	srv   *httpapi.Server
	url   string
	reg   *prometheus.Registry
	store *velocity.Memory
	logs  *testenv.LogBuffer
	http  *http.Client
	// auth is the sign-in service behind the server (see authnEnv).
	auth *authnEnv
	// rules is the engine's rule source (the admin API's too).
	rules *rules.Source
}

type envOption func(*fiber.App)

func newEngine(t testing.TB, reg *prometheus.Registry) (*engine.Engine, *velocity.Memory) {
	t.Helper()
	return newEngineRules(t, reg, "")
}

func newEngineRules(t testing.TB, reg *prometheus.Registry, rulesPath string) (*engine.Engine, *velocity.Memory) {
	t.Helper()
	counters := engine.DefaultCounters()
	schema, err := rules.NewSchema(engine.CounterNames(counters))
	require.NoError(t, err)
	src, err := rules.NewSource(rules.SourceConfig{Schema: schema, Path: rulesPath})
	require.NoError(t, err)
	vm, err := velocity.NewMetrics(reg)
	require.NoError(t, err)
	store, err := velocity.NewMemory(velocity.Config{Counters: counters}, nil, vm)
	require.NoError(t, err)
	dev, err := device.New(device.Config{Key: []byte("0123456789abcdef0123456789abcdef")})
	require.NoError(t, err)
	eng, err := engine.New(engine.Config{}, engine.Deps{
		Rules: src, State: store, Devices: dev, Counters: counters, Metrics: engine.NewMetrics(reg),
	})
	require.NoError(t, err)
	return eng, store
}

func newEnv(t *testing.T, cfg httpapi.Config, opts ...envOption) *env {
	t.Helper()
	return newEnvRules(t, cfg, "", opts...)
}

// newEnvRules is newEnv with the rule file at rulesPath ("" for the
// embedded default rules). The server always runs the real sign-in
// service too (SQLite store, outbox, the same engine).
func newEnvRules(t *testing.T, cfg httpapi.Config, rulesPath string, opts ...envOption) *env {
	t.Helper()
	return newEnvAuthn(t, cfg, rulesPath, nil, opts...)
}

// newEnvAuthn is newEnvRules with the authn configuration changed by
// acfg (nil: the tests' default).
func newEnvAuthn(t *testing.T, cfg httpapi.Config, rulesPath string, acfg func(*authn.Config), opts ...envOption) *env {
	t.Helper()
	reg := prometheus.NewRegistry()
	eng, store := newEngineRules(t, reg, rulesPath)
	if cfg.APIKeys == nil {
		cfg.APIKeys = []string{"another-key-xxxxxxxxxxxx", testKey}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	if cfg.PublicOrigin == "" {
		cfg.PublicOrigin = url
		// The same server named localhost, where a browser may run
		// WebAuthn (passkey_browser_test.go).
		cfg.AllowedOrigins = append(cfg.AllowedOrigins, localhostOrigin(url))
	}
	logs := &testenv.LogBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ae := newAuthnEnv(t, eng, reg, cfg.PublicOrigin, logger, acfg)
	srv, err := httpapi.New(cfg, ae.deps(httpapi.Deps{
		Engine: eng, Registry: reg, Logger: logger, Rules: eng.Rules(),
	}))
	require.NoError(t, err)
	for _, o := range opts {
		o(srv.App())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	e := &env{t: t, srv: srv, url: url, reg: reg, store: store, logs: logs,
		http: &http.Client{Timeout: 10 * time.Second}, auth: ae, rules: eng.Rules()}
	t.Cleanup(func() {
		// The client first: net/http may have dialled a connection it
		// never used (a dial that lost the race to a freed idle one), and
		// fasthttp's Shutdown, like net/http's, waits 5 s before it treats
		// a connection that has not sent a request as idle.
		e.http.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
		require.NoError(t, <-done)
		_ = store.Close()
		// Secrets never reach the log, whatever the test did.
		require.NotContains(t, logs.String(), testKey)
		require.NotContains(t, logs.String(), testPassword)
		for _, secret := range ae.secrets() {
			require.NotContains(t, logs.String(), secret, "a token or code reached the log")
		}
	})
	return e
}

// response is one exchange as the client saw it.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// errorCode checks the stable error shape and returns its code.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Fields  []struct {
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"fields"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&b), "body: %s", r.body)
	require.NotEmpty(t, b.Error.Code, "body: %s", r.body)
	require.NotEmpty(t, b.Error.Message, "body: %s", r.body)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	return b.Error.Code
}

// fields returns the field names of a 422.
func (r response) fields(t *testing.T) []string {
	t.Helper()
	var b struct {
		Error struct {
			Fields []struct {
				Field string `json:"field"`
			} `json:"fields"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(r.body, &b))
	var out []string
	for _, f := range b.Error.Fields {
		out = append(out, f.Field)
	}
	return out
}

type reqOpt func(*http.Request)

func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

// do sends a request; POSTs carry the test key unless an option overrides it.
func (e *env) do(method, path string, body io.Reader, opts ...reqOpt) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	require.NoError(e.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if strings.HasPrefix(path, "/v1/") {
		req.Header.Set("Authorization", "Bearer "+testKey)
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := e.http.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *env) post(path, body string, opts ...reqOpt) response {
	e.t.Helper()
	return e.do(http.MethodPost, path, strings.NewReader(body), opts...)
}

func (e *env) get(path string, opts ...reqOpt) response {
	e.t.Helper()
	return e.do(http.MethodGet, path, nil, opts...)
}

func (e *env) metrics() string {
	e.t.Helper()
	r := e.get("/metrics")
	require.Equal(e.t, http.StatusOK, r.status)
	return string(r.body)
}

const browserUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// loginBody is a realistic evaluate body.
func loginBody(user, ip string) string {
	b, _ := json.Marshal(map[string]any{
		"event": "login", "user_id": user, "ip": ip, "user_agent": browserUA,
		"device": map[string]any{
			"cookie_id": "dvc-7f3a9c21-" + user, "platform": "Win32", "languages": []string{"en-US", "en"},
			"timezone": "Europe/Berlin", "screen_width": 1920, "screen_height": 1080, "color_depth": 24,
			"pixel_ratio": 1.25, "hardware_concurrency": 8, "device_memory": 8,
		},
		"attributes": map[string]string{"app": "web"},
	})
	return string(b)
}

func newRegistry() *prometheus.Registry { return prometheus.NewRegistry() }
