package standard_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/signals/standard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

func login(user, ip string) engine.Event {
	return engine.Event{Kind: engine.KindLogin, UserID: user, IP: netip.MustParseAddr(ip), UserAgent: firefox}
}

// TestDataDir: with a data dir the assembly keeps riskauthd's files there
// (the generated device key, SQLite profiles, the familiarity snapshot
// written at Close) and the device ids survive a restart.
func TestDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, err := standard.New(standard.Config{DataDir: dir})
	require.NoError(t, err)
	assert.Equal(t, standard.StateMemory, a.StateKind)
	ev := login("alice", "192.0.2.1")
	ev.Device = &engine.DeviceDescriptor{CookieID: "c-1"}
	d, err := a.Engine.Evaluate(context.Background(), ev)
	require.NoError(t, err)
	require.NoError(t, a.Close())
	require.NoError(t, a.Close(), "a second Close does nothing")
	for _, f := range []string{standard.DeviceKeyFile, standard.ProfilesFile, standard.FamiliaritySnapshotFile} {
		assert.FileExists(t, filepath.Join(dir, f))
	}

	a, err = standard.New(standard.Config{DataDir: dir})
	require.NoError(t, err)
	defer a.Close()
	again, err := a.Engine.Evaluate(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, d.Keys.Device, again.Keys.Device, "the generated device key is kept")
}

// TestInMemory: without a data dir nothing is written, and the device
// secret must be configured.
func TestInMemory(t *testing.T) {
	t.Parallel()
	_, err := standard.New(standard.Config{})
	require.ErrorContains(t, err, "device.secret")

	wd, err := os.Getwd()
	require.NoError(t, err)
	before, err := os.ReadDir(wd)
	require.NoError(t, err)
	a, err := standard.New(standard.Config{Device: standard.DeviceConfig{Secret: "a-test-device-key-0123456789abcdef"}})
	require.NoError(t, err)
	_, err = a.Engine.Evaluate(context.Background(), login("bob", "192.0.2.1"))
	require.NoError(t, err)
	require.NoError(t, a.Close())
	after, err := os.ReadDir(wd)
	require.NoError(t, err)
	assert.Equal(t, len(before), len(after), "nothing written to the working directory")
}

// TestVirtualClock: WithClock drives the engine, so a replay on a manual
// clock sees its own time.
func TestVirtualClock(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewManual(at)
	a, err := standard.New(standard.Config{Device: standard.DeviceConfig{Secret: "a-test-device-key-0123456789abcdef"}}, standard.WithClock(clk))
	require.NoError(t, err)
	defer a.Close()
	d, err := a.Engine.Evaluate(context.Background(), login("carol", "192.0.2.1"))
	require.NoError(t, err)
	assert.True(t, d.Time.Equal(at), "decision time %s", d.Time)
	clk.Advance(time.Hour)
	d, err = a.Engine.Evaluate(context.Background(), login("carol", "192.0.2.1"))
	require.NoError(t, err)
	assert.True(t, d.Time.Equal(at.Add(time.Hour)), "decision time %s", d.Time)
}

func TestWithSignals(t *testing.T) {
	t.Parallel()
	cfg := standard.Config{Device: standard.DeviceConfig{Secret: "a-test-device-key-0123456789abcdef"}}
	for _, tc := range []struct {
		name     string
		signals  []string
		geo      bool
		breached bool
	}{
		{"all by default", nil, true, true},
		{"none", []string{}, false, false},
		{"geo", []string{standard.SignalGeo}, true, false},
		{"breached", []string{standard.SignalBreached}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []standard.Option
			if tc.signals != nil {
				opts = append(opts, standard.WithSignals(tc.signals...))
			}
			a, err := standard.New(cfg, opts...)
			require.NoError(t, err)
			defer a.Close()
			assert.Equal(t, tc.geo, a.Geo != nil)
			assert.Equal(t, tc.breached, a.Breached != nil)
			var names []string
			for _, s := range a.Signals {
				names = append(names, s.Name())
			}
			for _, n := range []string{standard.SignalGeo, standard.SignalBreached} {
				want := (n == standard.SignalGeo && tc.geo) || (n == standard.SignalBreached && tc.breached)
				assert.Equal(t, want, contains(names, n), n)
			}
		})
	}
	_, err := standard.New(cfg, standard.WithSignals("weather"))
	require.ErrorContains(t, err, `unknown signal "weather": want geo or breached`)
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// TestPartialBuild: a failure after the state store opened closes it
// again, so a retry on the same data dir succeeds.
func TestPartialBuild(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := standard.Config{DataDir: dir}
	cfg.Geo.City = []string{filepath.Join(dir, "missing.mmdb")}
	_, err := standard.New(cfg)
	require.ErrorContains(t, err, "missing.mmdb")
	assert.NoFileExists(t, filepath.Join(dir, standard.FamiliaritySnapshotFile), "an engine that never ran writes no snapshot")

	a, err := standard.New(standard.Config{DataDir: dir})
	require.NoError(t, err)
	require.NoError(t, a.Close())
}

// TestMetrics: WithRegisterer registers the components' series under
// riskauthd's names; without it nothing is registered anywhere.
func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	a, err := standard.New(standard.Config{DataDir: t.TempDir()}, standard.WithRegisterer(reg))
	require.NoError(t, err)
	defer a.Close()
	_, err = a.Engine.Evaluate(context.Background(), login("dave", "192.0.2.1"))
	require.NoError(t, err)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
	}
	for _, name := range []string{"riskauth_decisions_total", "riskauth_evaluation_duration_seconds", "riskauth_geo_database_build_timestamp_seconds"} {
		assert.True(t, got[name], "%s registered", name)
	}
}

// TestStartClose: Start's goroutines stop at Close; a Start after Close
// starts nothing.
func TestStartClose(t *testing.T) {
	t.Parallel()
	cfg := standard.Config{DataDir: t.TempDir()}
	cfg.Rules.Poll = 10 * time.Millisecond
	a, err := standard.New(cfg)
	require.NoError(t, err)
	a.Start(context.Background())
	a.Start(context.Background())
	require.NoError(t, a.Close())

	b, err := standard.New(standard.Config{DataDir: t.TempDir()})
	require.NoError(t, err)
	require.NoError(t, b.Close())
	b.Start(context.Background())
}

// TestRedis: with Redis the store keeps profiles and the global
// familiarity counts: nothing of the kind in the data dir.
func TestRedis(t *testing.T) {
	addr := testenv.RedisAddr(t)
	dir := t.TempDir()
	cfg := standard.Config{DataDir: dir}
	cfg.Redis.URL = "redis://" + addr + "/0"
	cfg.Redis.Prefix = "ra-standard-test:"
	// "velocity from Redis" must not depend on the first round trip (a
	// dial) beating the 50ms default deadline on a loaded machine.
	cfg.Engine.Deadline = testenv.Budget
	a, err := standard.New(cfg)
	require.NoError(t, err)
	assert.Equal(t, standard.StateRedis, a.StateKind)
	d, err := a.Engine.Evaluate(context.Background(), login("erin", "192.0.2.1"))
	require.NoError(t, err)
	assert.True(t, d.Features.Velocity.Available, "velocity from Redis")
	require.NoError(t, a.Close())
	assert.NoFileExists(t, filepath.Join(dir, standard.FamiliaritySnapshotFile))
	assert.NoFileExists(t, filepath.Join(dir, standard.ProfilesFile))
	assert.FileExists(t, filepath.Join(dir, standard.DeviceKeyFile))
}
