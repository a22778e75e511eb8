package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/internal/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := config.Load("", env(nil))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8080", c.Addr)
	assert.Equal(t, "data", c.DataDir)
	assert.Equal(t, 64<<10, c.BodyLimit)
	assert.Equal(t, engine.DefaultCounters(), c.Velocity.Counters)
	assert.Equal(t, time.Hour, c.Velocity.PendingTTL)
	assert.Empty(t, c.APIKeys)
}

func TestFileAndEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riskauth.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
addr: 0.0.0.0:9000
trusted_proxies: [10.0.0.0/8, 192.0.2.1]
engine: { deadline: 20ms, unavailable_floor: block }
velocity:
  counters:
    - { name: ip_failures_10m, on: failure, key: ip, window: 10m }
geo: { city: [/srv/geo/city.mmdb] }
`), 0o644))
	c, err := config.Load(path, env(map[string]string{
		"RISKAUTH_ADDR":     "127.0.0.1:9100",
		"RISKAUTH_API_KEYS": "key-one-0123456789, key-two-0123456789",
		"RISKAUTH_GEO_ASN":  "/srv/geo/asn.mmdb",
	}))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9100", c.Addr, "the environment wins over the file")
	assert.Equal(t, []string{"key-one-0123456789", "key-two-0123456789"}, c.APIKeys)
	assert.Equal(t, 20*time.Millisecond, c.Engine.Deadline)
	require.NotNil(t, c.Engine.UnavailableFloor)
	assert.Equal(t, "block", c.Engine.UnavailableFloor.String())
	assert.Len(t, c.Velocity.Counters, 1)
	assert.Equal(t, []string{"/srv/geo/city.mmdb"}, c.Geo.City)
	assert.Equal(t, []string{"/srv/geo/asn.mmdb"}, c.Geo.ASN)
	proxies, err := c.Proxies()
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.0/8", proxies[0].String())
	assert.Equal(t, "192.0.2.1/32", proxies[1].String())
}

func TestInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(path, []byte("addr: x\ncolour: red\n"), 0o644))
	_, err := config.Load(path, env(nil))
	require.ErrorContains(t, err, "field colour not found")

	_, err = config.Load("", env(map[string]string{
		"RISKAUTH_API_KEYS":        "short",
		"RISKAUTH_TRUSTED_PROXIES": "not-a-cidr",
		"RISKAUTH_LOG_LEVEL":       "loud",
		"RISKAUTH_BODY_LIMIT":      "10",
	}))
	require.Error(t, err)
	for _, want := range []string{"api key #1", "trusted proxy \"not-a-cidr\"", "log_level \"loud\"", "body_limit 10"} {
		assert.ErrorContains(t, err, want, "every problem is reported at once")
	}
	_, err = config.Load("", env(map[string]string{"RISKAUTH_BODY_LIMIT": "lots"}))
	require.ErrorContains(t, err, "RISKAUTH_BODY_LIMIT")
	_, err = config.Load("/does/not/exist.yaml", env(nil))
	require.ErrorContains(t, err, "/does/not/exist.yaml")

	require.NoError(t, os.WriteFile(path, []byte("velocity:\n  familiarity_refresh: 10ms\n  max_keys: 10\n"), 0o644))
	_, err = config.Load(path, env(nil))
	assert.ErrorContains(t, err, "velocity.familiarity_refresh 10ms: want at least 1s")
	assert.ErrorContains(t, err, "velocity.max_keys 10: want at least 1000")
}

func TestLoadAlerts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riskauth.yaml")
	// A production file whose other sections would not validate without
	// the server's secrets: only the alerts section matters here.
	require.NoError(t, os.WriteFile(path, []byte("env: production\nalerts:\n  brokers: [k1:9092]\n  sasl: { mechanism: scram-sha-512, username: soc }\n"), 0o600))
	a, err := config.LoadAlerts(path, env(map[string]string{
		"RISKAUTH_KAFKA_ALERTS_TOPIC":  "soc.alerts",
		"RISKAUTH_KAFKA_SASL_PASSWORD": "from-env",
		"RISKAUTH_API_KEYS":            "short", // not read
	}))
	require.NoError(t, err)
	assert.Equal(t, []string{"k1:9092"}, a.Brokers)
	assert.Equal(t, "soc.alerts", a.AlertsTopic)
	require.NotNil(t, a.SASL)
	assert.Equal(t, "from-env", a.SASL.Password)
	assert.Empty(t, a.SpoolDir, "a consumer keeps no spool")

	a, err = config.LoadAlerts("", env(nil))
	require.NoError(t, err)
	assert.Equal(t, "riskauth.alerts", a.AlertsTopic, "defaults filled in")

	require.NoError(t, os.WriteFile(path, []byte("alerts:\n  brokers: [no-port]\n  colour: red\n"), 0o600))
	_, err = config.LoadAlerts(path, env(nil))
	assert.ErrorContains(t, err, "field colour not found")
}

func TestAlertsConfig(t *testing.T) {
	t.Run("embedded by default", func(t *testing.T) {
		c, err := config.Load("", env(map[string]string{"RISKAUTH_DATA_DIR": "/var/lib/riskauth"}))
		require.NoError(t, err)
		assert.True(t, c.Alerts.Embedded())
		assert.Equal(t, "/var/lib/riskauth", c.Alerts.DataDir, "JSONL files and the spool live in the data dir")
		assert.Equal(t, "riskauth.alerts", c.Alerts.AlertsTopic)
		assert.Empty(t, c.Alerts.DecisionsTopic, "decision events are opt-in")
	})
	t.Run("kafka from the environment", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "riskauth.yaml")
		require.NoError(t, os.WriteFile(path, []byte("alerts: { compression: zstd, sasl: { mechanism: plain, username: file-user } }\n"), 0o644))
		c, err := config.Load(path, env(map[string]string{
			"RISKAUTH_KAFKA_BROKERS":         "k1:9092, k2:9092",
			"RISKAUTH_KAFKA_DECISIONS_TOPIC": "riskauth.decisions",
			"RISKAUTH_KAFKA_TLS":             "true",
			"RISKAUTH_KAFKA_SASL_USERNAME":   "svc-riskauth",
			"RISKAUTH_KAFKA_SASL_PASSWORD":   "s3cret-from-env",
		}))
		require.NoError(t, err)
		assert.Equal(t, []string{"k1:9092", "k2:9092"}, c.Alerts.Brokers)
		assert.Equal(t, "riskauth.decisions", c.Alerts.DecisionsTopic)
		assert.Equal(t, "zstd", c.Alerts.Compression)
		require.NotNil(t, c.Alerts.TLS)
		require.NotNil(t, c.Alerts.SASL)
		assert.Equal(t, "svc-riskauth", c.Alerts.SASL.Username)
		assert.Equal(t, "s3cret-from-env", c.Alerts.SASL.Password)
	})
	t.Run("invalid", func(t *testing.T) {
		_, err := config.Load("", env(map[string]string{
			"RISKAUTH_KAFKA_BROKERS":        "no-port",
			"RISKAUTH_KAFKA_COMPRESSION":    "rar",
			"RISKAUTH_KAFKA_SASL_MECHANISM": "gssapi",
			"RISKAUTH_KAFKA_SASL_PASSWORD":  "s3cret-from-env",
		}))
		require.Error(t, err)
		for _, want := range []string{`brokers[0] "no-port"`, `compression "rar"`, "sasl"} {
			assert.ErrorContains(t, err, want)
		}
		assert.NotContains(t, err.Error(), "s3cret-from-env", "credentials never appear in errors")
		_, err = config.Load("", env(map[string]string{"RISKAUTH_KAFKA_TLS": "maybe"}))
		require.ErrorContains(t, err, "RISKAUTH_KAFKA_TLS")
	})
}

// TestDocumentedExample keeps the example in docs/configuration.md valid:
// an operator copying it gets a configuration that loads.
func TestDocumentedExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	require.True(t, ok, "docs/configuration.md has a yaml example")
	example, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	path := filepath.Join(t.TempDir(), "riskauth.yaml")
	require.NoError(t, os.WriteFile(path, []byte(example), 0o644))
	c, err := config.Load(path, env(map[string]string{"RISKAUTH_KAFKA_SASL_PASSWORD": "from-the-environment"}))
	require.NoError(t, err)
	assert.Equal(t, []string{"kafka-1:9093", "kafka-2:9093"}, c.Alerts.Brokers)
}
