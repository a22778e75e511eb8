package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/config"
)

func loadYAML(t *testing.T, src string) (*config.Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "riskauth.yaml")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	return config.Load(path, env(nil))
}

// TestAuthnFlowDefaults: unset flow keys are authn's own defaults, and
// the rate limit is on.
func TestAuthnFlowDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Load("", env(nil))
	require.NoError(t, err)
	want := authn.DefaultConfig()
	want.ServiceName = "riskauth"
	assert.Equal(t, want, c.Authn.Flows())
	require.NotNil(t, c.Authn.RateLimit.PerIPPerMinute)
	assert.Equal(t, config.DefaultRateLimitPerMinute, *c.Authn.RateLimit.PerIPPerMinute)
	assert.Equal(t, config.DefaultRateLimitBurst, c.Authn.RateLimit.Burst)
}

func TestAuthnFlowKeys(t *testing.T) {
	t.Parallel()
	c, err := loadYAML(t, `
authn:
  flow_ttl: 5m
  code_ttl: 2m
  code_max_attempts: 3
  email_send_limit: 2
  sessions: { aal1_idle: 2h, aal2_idle: 10m, aal2_absolute: 1h }
  lockout: { source_delay_after: 10, base_delay: 2s, max_delay: 1m }
  rate_limit: { per_ip_per_minute: 0 }
`)
	require.NoError(t, err)
	f := c.Authn.Flows()
	assert.Equal(t, 5*time.Minute, f.FlowTTL)
	assert.Equal(t, 2*time.Minute, f.CodeTTL)
	assert.Equal(t, 3, f.CodeMaxAttempts)
	assert.Equal(t, 2, f.EmailSendLimit)
	assert.Equal(t, 2*time.Hour, f.Sessions.AAL1Idle)
	assert.Equal(t, authn.DefaultConfig().Sessions.AAL1Absolute, f.Sessions.AAL1Absolute)
	assert.Equal(t, time.Hour, f.Sessions.AAL2Absolute)
	assert.Equal(t, 10, f.Lockout.SourceDelayAfter)
	assert.Equal(t, time.Minute, f.Lockout.MaxDelay)
	require.NotNil(t, c.Authn.RateLimit.PerIPPerMinute)
	assert.Zero(t, *c.Authn.RateLimit.PerIPPerMinute, "an explicit 0 turns the limit off")
}

func TestAuthnFlowInvalid(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"code ttl over 10 minutes", "authn: { code_ttl: 15m }", []string{"authn.code_ttl 15m0s: at most 10m0s"}},
		{"days are not a Go duration", "authn: { sessions: { aal1_idle: 40d } }", []string{"cannot unmarshal !!str `40d` into time.Duration"}},
		{"idle longer than absolute, both levels", "authn: { sessions: { aal1_idle: 800h, aal2_idle: 2h, aal2_absolute: 1h } }",
			[]string{"authn.sessions.aal1_idle 800h0m0s longer than aal1_absolute 720h0m0s", "authn.sessions.aal2_idle 2h0m0s longer than aal2_absolute 1h0m0s"}},
		{"negative durations", "authn: { flow_ttl: -1m, lockout: { otp_window: -1h } }",
			[]string{"authn.flow_ttl -1m0s: must be positive", "authn.lockout.otp_window -1h0m0s: must be positive"}},
		{"code limits", "authn: { code_digits: 4, code_max_attempts: 11 }",
			[]string{"authn.code_digits 4: want 6-10", "authn.code_max_attempts 11: want 1-10"}},
		{"lockout", "authn: { lockout: { account_step_up_after: -1, base_delay: 1m, max_delay: 1s } }",
			[]string{"authn.lockout.account_step_up_after -1: must be positive", "authn.lockout.max_delay 1s shorter than base_delay 1m0s"}},
		{"rate limit", "authn: { rate_limit: { per_ip_per_minute: -5, burst: -1 } }",
			[]string{"authn.rate_limit.per_ip_per_minute -5", "burst and max_clients must not be negative"}},
		{"unknown key", "authn: { session_idle: 1h }", []string{"field session_idle not found"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadYAML(t, tc.yaml)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

// TestDocumentedAuthnExample keeps the sign-in example of
// docs/configuration.md loadable.
func TestDocumentedAuthnExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/configuration.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(doc), "### Sign-in (`authn`)")
	require.True(t, ok)
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	require.True(t, ok)
	example, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	c, err := loadYAML(t, example)
	require.NoError(t, err)
	assert.Equal(t, authn.DefaultConfig().Sessions, c.Authn.Flows().Sessions, "the example shows the defaults")
	assert.Equal(t, authn.DefaultConfig().Lockout, c.Authn.Flows().Lockout)
}
