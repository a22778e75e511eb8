package standard_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/signals/standard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestConfigValidate: each out-of-range setting is refused with its YAML
// key named; defaults and deliberate opt-outs pass.
func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		change  func(c *standard.Config)
		wantErr string
	}{
		{name: "defaults", change: func(*standard.Config) {}},
		{name: "snapshot every minute", change: func(c *standard.Config) { c.Velocity.FamiliaritySnapshot = time.Minute }},
		{name: "snapshot at shutdown only", change: func(c *standard.Config) { c.Velocity.FamiliaritySnapshot = -1 }},
		{name: "snapshot too often", change: func(c *standard.Config) { c.Velocity.FamiliaritySnapshot = 10 * time.Millisecond },
			wantErr: "velocity.familiarity_snapshot 10ms: want at least 1s"},
		{name: "a small familiarity sketch", change: func(c *standard.Config) {
			c.Velocity.FamiliaritySketch = standard.FamiliaritySketchConfig{Width: 256, Depth: 2}
		}},
		{name: "a familiarity sketch width not a power of two", change: func(c *standard.Config) { c.Velocity.FamiliaritySketch.Width = 1000 },
			wantErr: "velocity.familiarity_sketch: familiarity: bad global sketch size: width 1000 is not a power of two in [2^8, 2^24]"},
		{name: "smallest budget", change: func(c *standard.Config) { c.MemoryLimit = standard.MinMemoryLimit }},
		{name: "budget too small", change: func(c *standard.Config) { c.MemoryLimit = 64 * standard.MiB },
			wantErr: "memory_limit 64MiB: want at least 128MiB"},
		{name: "negative caps", change: func(c *standard.Config) {
			c.Velocity.MaxPending, c.Velocity.ProfileCache, c.Device.UserAgentCache = -1, -2, -3
		}, wantErr: "velocity.max_pending -1: want at least 1\nvelocity.profile_cache -2: want at least 1\ndevice.user_agent_cache -3: want at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := standard.Config{DataDir: t.TempDir()}
			tc.change(&c)
			c.Defaults()
			err := c.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			for _, want := range strings.Split(tc.wantErr, "\n") {
				assert.ErrorContains(t, err, want)
			}
		})
	}
	var c standard.Config
	c.Defaults()
	assert.Equal(t, standard.DefaultFamiliaritySnapshot, c.Velocity.FamiliaritySnapshot)
}

// TestPlanMemory: the caps follow the budget, the Go limit leaves an
// eighth of it to memory the runtime does not count, and explicit caps
// win over the plan.
func TestPlanMemory(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		limit standard.Bytes
		want  standard.MemoryPlan
	}{
		{0, standard.MemoryPlan{Limit: 512 * standard.MiB, GoLimit: 448 * standard.MiB,
			MaxKeys: 419430, MaxPending: 100663, ProfileCache: 15728, UserAgentCache: 4096}},
		{128 * standard.MiB, standard.MemoryPlan{Limit: 128 * standard.MiB, GoLimit: 112 * standard.MiB,
			MaxKeys: 104857, MaxPending: 25165, ProfileCache: 3932, UserAgentCache: 1048}},
		{2 * standard.GiB, standard.MemoryPlan{Limit: 2 * standard.GiB, GoLimit: 1792 * standard.MiB,
			MaxKeys: 1677721, MaxPending: 402653, ProfileCache: 62914, UserAgentCache: 4096}},
	} {
		t.Run(tc.want.Limit.String(), func(t *testing.T) {
			t.Parallel()
			p := standard.PlanMemory(tc.limit)
			assert.Equal(t, tc.want, p)
			tables := int64(p.MaxKeys)*standard.BytesPerCounterKey + int64(p.MaxPending)*standard.BytesPerPending +
				int64(p.ProfileCache)*standard.BytesPerProfile + int64(p.UserAgentCache)*standard.BytesPerUserAgent
			assert.LessOrEqual(t, tables, int64(p.Limit)*40/100, "the full tables take at most 40 %% of the budget")
		})
	}

	c := standard.Config{MemoryLimit: 256 * standard.MiB}
	c.Velocity.MaxKeys, c.Device.UserAgentCache = 5000, 64
	c.Defaults()
	got := c.Memory()
	want := standard.PlanMemory(256 * standard.MiB)
	want.MaxKeys, want.UserAgentCache = 5000, 64
	assert.Equal(t, want, got, "explicit caps win, the others follow the budget")
}

// TestParseBytes: the forms an operator writes, and what is refused.
func TestParseBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    standard.Bytes
		wantErr string
	}{
		{in: "536870912", want: 512 * standard.MiB},
		{in: "512MiB", want: 512 * standard.MiB},
		{in: " 1 GiB ", want: standard.GiB},
		{in: "768mb", want: 768_000_000},
		{in: "2KiB", want: 2048},
		{in: "100B", want: 100},
		{in: "1TiB", want: 1 << 40},
		{in: "1.5GiB", wantErr: "want a whole number of bytes"},
		{in: "-1", wantErr: "want a whole number"},
		{in: "lots", wantErr: "want a whole number"},
		{in: "", wantErr: "want a whole number"},
		{in: "99999999999TiB", wantErr: "too large"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := standard.ParseBytes(tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	assert.Equal(t, "512MiB", (512 * standard.MiB).String())
	assert.Equal(t, "1000B", standard.Bytes(1000).String())
}

// TestMemoryLimitYAML: memory_limit decodes from a unit or a plain
// number, at the top level of the configuration.
func TestMemoryLimitYAML(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		doc  string
		want standard.Bytes
	}{
		{"memory_limit: 768MiB\n", 768 * standard.MiB},
		{"memory_limit: 1073741824\n", standard.GiB},
	} {
		var c standard.Config
		require.NoError(t, yaml.Unmarshal([]byte(tc.doc), &c))
		assert.Equal(t, tc.want, c.MemoryLimit)
	}
	var c standard.Config
	require.ErrorContains(t, yaml.Unmarshal([]byte("memory_limit: 1.5GiB\n"), &c), "whole number")
}

// TestCapsReachTheStore: the pending evaluations cap New hands the
// in-memory store is the configured one: past it the oldest evaluation's
// outcome is unknown.
func TestCapsReachTheStore(t *testing.T) {
	t.Parallel()
	cfg := standard.Config{DataDir: t.TempDir()}
	cfg.Velocity.MaxPending = 2
	a, err := standard.New(cfg, standard.WithSignals())
	require.NoError(t, err)
	defer a.Close()
	ctx := context.Background()
	var ids []string
	for range 3 {
		d, err := a.Engine.Evaluate(ctx, login("frank", "192.0.2.1"))
		require.NoError(t, err)
		ids = append(ids, d.EvaluationID)
	}
	_, err = a.Engine.RecordOutcome(ctx, ids[0], engine.OutcomeSuccess)
	require.ErrorIs(t, err, engine.ErrUnknownEvaluation, "evicted")
	_, err = a.Engine.RecordOutcome(ctx, ids[2], engine.OutcomeSuccess)
	require.NoError(t, err)
}
