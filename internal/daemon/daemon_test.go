package daemon

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/signals/breached"
	"github.com/riskauth/riskauth/signals/standard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// start builds the whole server from a configuration file (may be empty)
// and the environment map, serves it on a loopback port and returns its
// base URL.
func start(t *testing.T, cfgFile string, envs map[string]string) (string, *Server) {
	t.Helper()
	cfg, err := config.Load(cfgFile, func(k string) string {
		if v, ok := envs[k]; ok {
			return v
		}
		// What these tests check does not depend on how fast a loaded
		// machine's database answers (faults_test.go checks the deadlines).
		if k == "RISKAUTH_DATABASE_READ_TIMEOUT" || k == "RISKAUTH_DATABASE_WRITE_TIMEOUT" {
			return testenv.Budget.String()
		}
		return ""
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := Build(ctx, cfg, WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.API.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.API.App().ShutdownWithTimeout(2 * time.Second)
		cancel()
		srv.Close()
	})
	return "http://" + ln.Addr().String(), srv
}

func post(t *testing.T, url, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEmbeddedDefaults(t *testing.T) {
	dir := t.TempDir()
	base, _ := start(t, "", map[string]string{"RISKAUTH_DATA_DIR": dir})

	keyBytes, err := os.ReadFile(filepath.Join(dir, "api-key"))
	require.NoError(t, err, "a key is generated when none is configured")
	key := strings.TrimSpace(string(keyBytes))
	fi, err := os.Stat(filepath.Join(dir, "api-key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	code, body := post(t, base+"/v1/risk/evaluate", key,
		`{"event":"login","user_id":"alice","ip":"192.0.2.1","user_agent":"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0","password":"password1"}`)
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"decision":"step_up"`, "the embedded breached list knows password1")
	assert.Contains(t, body, `"rule":"breached-password"`)
	assert.Contains(t, body, `"city":"London"`, "the bundled geo fixture places 192.0.2.1 in London")
	assert.NotContains(t, body, "password1")

	code, _ = post(t, base+"/v1/risk/evaluate", "wrong-key-0123456789", `{"event":"login"}`)
	assert.Equal(t, http.StatusUnauthorized, code)

	resp, err := http.Get(base + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.FileExists(t, filepath.Join(dir, "profiles.db"))
}

func TestRedisReadiness(t *testing.T) {
	addr := testenv.RedisAddr(t)
	t.Run("reachable", func(t *testing.T) {
		dir := t.TempDir()
		t.Run("serve", func(t *testing.T) {
			// "velocity available" must not depend on the first Redis
			// round trip beating the 50ms default deadline on a loaded
			// machine: the deadline is not what this test checks.
			cfgFile := filepath.Join(t.TempDir(), "riskauth.yaml")
			require.NoError(t, os.WriteFile(cfgFile, []byte("engine:\n  deadline: "+testenv.Budget.String()+"\n"), 0o644))
			base, _ := start(t, cfgFile, map[string]string{"RISKAUTH_DATA_DIR": dir, "RISKAUTH_REDIS_URL": "redis://" + addr + "/0",
				"RISKAUTH_API_KEYS": "test-key-0123456789"})
			code, body := post(t, base+"/v1/risk/evaluate", "test-key-0123456789", `{"event":"login","user_id":"bob","ip":"198.51.100.7"}`)
			require.Equal(t, http.StatusOK, code, body)
			assert.Contains(t, body, `"velocity":{"available":true`)
			resp, err := http.Get(base + "/readyz")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
		})
		// The global familiarity counts are in Redis, shared by the
		// instances: the server keeps none of its own to snapshot.
		assert.NoFileExists(t, filepath.Join(dir, standard.FamiliaritySnapshotFile))
	})
	t.Run("unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		dead := ln.Addr().String()
		ln.Close() // nothing listens there any more
		base, _ := start(t, "", map[string]string{"RISKAUTH_DATA_DIR": t.TempDir(), "RISKAUTH_REDIS_URL": "redis://" + dead + "/0",
			"RISKAUTH_API_KEYS": "test-key-0123456789"})
		resp, err := http.Get(base + "/readyz")
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		assert.Contains(t, string(b), `"error"`)
		code, body := post(t, base+"/v1/risk/evaluate", "test-key-0123456789", `{"event":"login","user_id":"bob","ip":"198.51.100.7"}`)
		require.Equal(t, http.StatusOK, code, "evaluations go on in degraded mode")
		assert.Contains(t, body, `"velocity":{"available":false`)
		assert.NotContains(t, body, `"decision":"passwordless"`, "never passwordless while a signal is unavailable")
	})
}

// TestServeBreachedRange starts the server on a table-format corpus with
// the range API on, through a configuration file as an operator would.
func TestServeBreachedRange(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "pwned.bin")
	// SHA-1("password1") = E38AD214943DAAD1D64C102FAEC29DE4AFE9DA3D; counts below 32768
	// are kept exactly by the table format.
	_, err := breached.Import(context.Background(), strings.NewReader("E38AD214943DAAD1D64C102FAEC29DE4AFE9DA3D:12345\n"),
		corpus, breached.ImportOptions{Format: breached.FormatTable})
	require.NoError(t, err)
	cfgFile := filepath.Join(dir, "riskauth.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte("breached:\n  corpus: "+corpus+"\n  serve_range: true\n"), 0o644))
	base, _ := start(t, cfgFile, map[string]string{"RISKAUTH_DATA_DIR": dir, "RISKAUTH_API_KEYS": "test-key-0123456789"})
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/breached/range/e38ad", nil)
	req.Header.Set("Authorization", "Bearer test-key-0123456789")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Contains(t, strings.ToUpper(string(body)), "214943DAAD:12345")

	code, out := post(t, base+"/v1/risk/evaluate", "test-key-0123456789",
		`{"event":"login","user_id":"carl","password":"password1"}`)
	require.Equal(t, http.StatusOK, code, out)
	assert.Contains(t, out, `"count":12345`, "the imported corpus knows the count")
}

// TestBuildOptions: the clock and the registry given to Build reach the
// engine and /metrics.
func TestBuildOptions(t *testing.T) {
	cfg, err := config.Load("", func(k string) string {
		return map[string]string{"RISKAUTH_DATA_DIR": t.TempDir(), "RISKAUTH_API_KEYS": "test-key-0123456789"}[k]
	})
	require.NoError(t, err)
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	reg := prometheus.NewRegistry()
	srv, err := Build(context.Background(), cfg, WithLogger(slog.New(slog.DiscardHandler)), WithClock(clock.NewManual(at)), WithRegistry(reg))
	require.NoError(t, err)
	defer srv.Close()
	assert.Same(t, reg, srv.Registry)
	d, err := srv.Engine.Evaluate(context.Background(), engine.Event{Kind: engine.KindLogin, UserID: "alice", IP: netip.MustParseAddr("192.0.2.1")})
	require.NoError(t, err)
	assert.True(t, d.Time.Equal(at), "decision at %s", d.Time)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	assert.True(t, names["riskauth_decisions_total"], "the engine's metrics are on the given registry")
}
