package config

import (
	"fmt"
	"strings"

	"github.com/riskauth/riskauth/engine/alert"
)

// applyKafkaEnv overlays the RISKAUTH_KAFKA_* variables on the alerts
// section.
func (c *Config) applyKafkaEnv(env func(string) string) error {
	set := func(name string, dst *string) { setEnv(env, name, dst) }
	if v := env("RISKAUTH_KAFKA_BROKERS"); strings.TrimSpace(v) != "" {
		c.Alerts.Brokers = splitList(v)
	}
	set("RISKAUTH_KAFKA_ALERTS_TOPIC", &c.Alerts.AlertsTopic)
	set("RISKAUTH_KAFKA_AUDIT_TOPIC", &c.Alerts.AuditTopic)
	set("RISKAUTH_KAFKA_DECISIONS_TOPIC", &c.Alerts.DecisionsTopic)
	set("RISKAUTH_KAFKA_COMPRESSION", &c.Alerts.Compression)
	tlsOn, tlsSet, err := boolEnv(env, "RISKAUTH_KAFKA_TLS")
	if err != nil {
		return err
	}
	switch {
	case tlsSet && !tlsOn:
		c.Alerts.TLS = nil
	case tlsSet && c.Alerts.TLS == nil:
		c.Alerts.TLS = &alert.TLSConfig{}
	}
	if v := strings.TrimSpace(env("RISKAUTH_KAFKA_TLS_CA")); v != "" {
		if c.Alerts.TLS == nil {
			c.Alerts.TLS = &alert.TLSConfig{}
		}
		c.Alerts.TLS.CAFile = v
	}
	if v := strings.TrimSpace(env("RISKAUTH_KAFKA_SASL_MECHANISM")); v != "" {
		if c.Alerts.SASL == nil {
			c.Alerts.SASL = &alert.SASLConfig{}
		}
		c.Alerts.SASL.Mechanism = v
	}
	if c.Alerts.SASL != nil {
		set("RISKAUTH_KAFKA_SASL_USERNAME", &c.Alerts.SASL.Username)
		// The password belongs in the environment (or a secret store
		// rendering it there), not in the YAML file.
		if v := env("RISKAUTH_KAFKA_SASL_PASSWORD"); v != "" {
			c.Alerts.SASL.Password = v
		}
	}
	return nil
}

// LoadAlerts reads only what a Kafka consumer of riskauthd's alerts needs:
// the alerts section of the configuration file at path (may be empty)
// with the RISKAUTH_KAFKA_* variables over it, validated on its own. The
// rest of the file is parsed (an unknown field is still an error) but not
// validated and no other variable is read, so that an operator can point
// riskctl at the production file without the server's secrets.
func LoadAlerts(path string, env func(string) string) (alert.Config, error) {
	c, err := readFile(path)
	if err != nil {
		return alert.Config{}, err
	}
	if err := c.applyKafkaEnv(env); err != nil {
		return alert.Config{}, err
	}
	if err := c.Alerts.ValidateClient(); err != nil {
		return alert.Config{}, fmt.Errorf("config %s: %w", orEnv(path), err)
	}
	return c.Alerts, nil
}
