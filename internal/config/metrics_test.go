package config_test

import (
	"testing"

	"github.com/riskauth/riskauth/internal/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// productionEnv is everything production asks for but the metrics
// settings.
var productionEnv = map[string]string{
	"RISKAUTH_ENV": "production", "RISKAUTH_SEAL_KEYS": "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"RISKAUTH_AUTHN_SECRET": "authn-secret-0123456789abcdef-0123456789", "RISKAUTH_SMTP_URL": "smtp://mail.example.com:587?from=a@example.com",
	"RISKAUTH_PUBLIC_ORIGIN": "https://auth.example.com",
}

func TestMetricsSettings(t *testing.T) {
	t.Parallel()
	const token = "metrics-token-0123456789abcdef-0123456789"
	cases := []struct {
		name       string
		env        map[string]string
		production bool
		err        string // "" when valid
		separate   bool
	}{
		{"development: open", nil, false, "", false},
		{"separate address", map[string]string{"RISKAUTH_METRICS_ADDR": "10.0.0.5:9090"}, false, "", true},
		{"token", map[string]string{"RISKAUTH_METRICS_TOKEN": token}, false, "", false},
		{"short token", map[string]string{"RISKAUTH_METRICS_TOKEN": "short"}, false, "at least 32 characters", false},
		{"address without a port", map[string]string{"RISKAUTH_METRICS_ADDR": "10.0.0.5"}, false, "want host:port", false},
		{"address of the API", map[string]string{"RISKAUTH_ADDR": "0.0.0.0:8080", "RISKAUTH_METRICS_ADDR": "0.0.0.0:8080"}, false, "must differ from addr", false},
		{"production without either", nil, true, "production requires RISKAUTH_METRICS_ADDR", false},
		{"production with an address", map[string]string{"RISKAUTH_METRICS_ADDR": "10.0.0.5:9090"}, true, "", true},
		{"production with a token", map[string]string{"RISKAUTH_METRICS_TOKEN": token}, true, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := map[string]string{"RISKAUTH_DATA_DIR": t.TempDir()}
			if c.production {
				for k, v := range productionEnv {
					m[k] = v
				}
			}
			for k, v := range c.env {
				m[k] = v
			}
			cfg, err := config.Load("", env(m))
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				if tok := c.env["RISKAUTH_METRICS_TOKEN"]; tok != "" {
					assert.NotContains(t, err.Error(), tok, "the token is never echoed")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.separate, cfg.Metrics().Separate)
			assert.Equal(t, c.env["RISKAUTH_METRICS_TOKEN"], cfg.Metrics().Token)
		})
	}
}
