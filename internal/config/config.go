// Package config reads riskauthd's configuration: a YAML file (optional,
// RISKAUTH_CONFIG) overlaid by RISKAUTH_* environment variables, with
// defaults that start the service on embedded state (in-memory velocity,
// SQLite profiles in the data dir, the bundled rules). It is shared by
// riskauthd and riskctl so both read counters and rules the same way; it
// builds nothing.
//
// The engine's sections (data_dir, rules, engine, velocity, redis,
// device, breached, geo) are signals/standard.Config, embedded inline:
// their types, defaults and validation live there, so that a service
// embedding the engine reads them alike. This package maps the RISKAUTH_*
// variables onto them and owns the rest (listen address, API keys, sign-in,
// alerts, admin).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/riskauth/riskauth/engine/alert"
	"github.com/riskauth/riskauth/signals/standard"
	"go.yaml.in/yaml/v3"
)

// Config is the whole service configuration.
type Config struct {
	// Addr is the listen address (RISKAUTH_ADDR, default 127.0.0.1:8080).
	Addr string `yaml:"addr"`
	// TLS, when set, serves Addr over TLS (tls.go).
	TLS TLSConfig `yaml:"tls"`
	// MetricsAddr, when set, is a listen address of its own for /metrics,
	// /healthz and /readyz (RISKAUTH_METRICS_ADDR); /metrics then answers
	// 404 on Addr. Bind it where only the scraper and the orchestrator
	// reach (a private interface, a pod port not exposed by the Service).
	MetricsAddr string `yaml:"metrics_addr"`
	// MetricsToken, when set, is the bearer token /metrics demands
	// wherever it is served (RISKAUTH_METRICS_TOKEN), at least 32
	// characters. Production requires MetricsAddr or MetricsToken: the
	// series map the service and its defences.
	MetricsToken string `yaml:"metrics_token"`
	// APIKeys authorise server-to-server calls (RISKAUTH_API_KEYS,
	// comma-separated). When none is configured, riskauthd generates one
	// into DataDir/api-key on first start.
	APIKeys []string `yaml:"api_keys"`
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed
	// (RISKAUTH_TRUSTED_PROXIES, comma-separated).
	TrustedProxies []string `yaml:"trusted_proxies"`
	// BodyLimit is the largest accepted request body in bytes (default 64 KiB).
	BodyLimit int `yaml:"body_limit"`
	// LogLevel is debug, info, warn or error (RISKAUTH_LOG_LEVEL, default info).
	LogLevel string `yaml:"log_level"`
	// ShutdownGrace bounds graceful shutdown (default 10s).
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`

	// Config is the risk engine's part: data_dir (RISKAUTH_DATA_DIR,
	// default ./data, which also holds riskauthd's own generated keys,
	// accounts and spools), rules, engine, velocity, redis, device,
	// breached and geo. Its types are signals/standard's, so that a
	// service embedding the engine reads the same keys; inline keeps them
	// at the top level of the file.
	standard.Config `yaml:",inline"`
	// Alerts sends alerts, the audit trail (and optionally every decision)
	// to Kafka, with a disk spool while Kafka is unreachable; with no
	// brokers they are appended to alerts.jsonl and audit.jsonl in the
	// data dir. Environment: RISKAUTH_KAFKA_BROKERS,
	// RISKAUTH_KAFKA_ALERTS_TOPIC, RISKAUTH_KAFKA_AUDIT_TOPIC,
	// RISKAUTH_KAFKA_DECISIONS_TOPIC, RISKAUTH_KAFKA_COMPRESSION,
	// RISKAUTH_KAFKA_TLS (true: TLS with the system CAs),
	// RISKAUTH_KAFKA_TLS_CA, RISKAUTH_KAFKA_SASL_MECHANISM,
	// RISKAUTH_KAFKA_SASL_USERNAME, RISKAUTH_KAFKA_SASL_PASSWORD.
	Alerts alert.Config `yaml:"alerts"`
	// Env is development (default) or production (RISKAUTH_ENV); production
	// refuses generated secrets and local mail (see AuthnConfig).
	Env string `yaml:"env"`
	// Authn configures sign-in, registration and self-service.
	Authn AuthnConfig `yaml:"authn"`
	// Webhooks delivers account events to other systems (webhooks.go).
	Webhooks WebhooksConfig `yaml:"webhooks"`
	// Admin configures the rule rollout admin API (/v1/admin/*).
	Admin AdminConfig `yaml:"admin"`
	// Pages brands the hosted pages (pages.go).
	Pages PagesConfig `yaml:"pages"`
}

// Load reads the file at path (may be empty), applies the environment and
// defaults, and validates the result, reporting every problem at once.
func Load(path string, env func(string) string) (*Config, error) {
	c, err := readFile(path)
	if err != nil {
		return nil, err
	}
	if err := c.applyEnv(env); err != nil {
		return nil, err
	}
	c.defaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", orEnv(path), err)
	}
	return c, nil
}

// readFile decodes the YAML file at path strictly (an unknown field is an
// error); no path is an empty configuration.
func readFile(path string) (*Config, error) {
	c := &Config{}
	if path == "" {
		return c, nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && err.Error() != "EOF" {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

func orEnv(path string) string {
	if path == "" {
		return "(environment)"
	}
	return path
}

// setEnv overlays the variable name, when set, on dst.
func setEnv(env func(string) string, name string, dst *string) {
	if v := strings.TrimSpace(env(name)); v != "" {
		*dst = v
	}
}

// boolEnv reads a true/false variable; ok is false when it is unset.
func boolEnv(env func(string) string, name string) (value, ok bool, err error) {
	v := strings.TrimSpace(env(name))
	if v == "" {
		return false, false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, false, fmt.Errorf("%s %q: want true or false", name, v)
	}
	return b, true, nil
}

func (c *Config) applyEnv(env func(string) string) error {
	set := func(name string, dst *string) { setEnv(env, name, dst) }
	set("RISKAUTH_ADDR", &c.Addr)
	set("RISKAUTH_METRICS_ADDR", &c.MetricsAddr)
	c.applyTLSEnv(env)
	set("RISKAUTH_METRICS_TOKEN", &c.MetricsToken)
	set("RISKAUTH_DATA_DIR", &c.DataDir)
	set("RISKAUTH_REDIS_URL", &c.Redis.URL)
	set("RISKAUTH_RULES_FILE", &c.Rules.File)
	set("RISKAUTH_RULES_SHADOW_FILE", &c.Rules.ShadowFile)
	if err := c.applyAdminEnv(env); err != nil {
		return err
	}
	if err := c.applyWebhooksEnv(env("RISKAUTH_WEBHOOK_SECRETS")); err != nil {
		return err
	}
	set("RISKAUTH_LOG_LEVEL", &c.LogLevel)
	c.applyPagesEnv(env)
	set("RISKAUTH_DEVICE_SECRET", &c.Device.Secret)
	set("RISKAUTH_BREACHED_CORPUS", &c.Breached.Corpus)
	for name, dst := range map[string]*[]string{
		"RISKAUTH_GEO_CITY": &c.Geo.City, "RISKAUTH_GEO_ASN": &c.Geo.ASN, "RISKAUTH_GEO_ANONYMOUS_IP": &c.Geo.AnonymousIP,
	} {
		if v := env(name); strings.TrimSpace(v) != "" {
			*dst = splitList(v)
		}
	}
	if err := c.applyKafkaEnv(env); err != nil {
		return err
	}
	if v := env("RISKAUTH_API_KEYS"); strings.TrimSpace(v) != "" {
		c.APIKeys = splitList(v)
	}
	if v := env("RISKAUTH_TRUSTED_PROXIES"); strings.TrimSpace(v) != "" {
		c.TrustedProxies = splitList(v)
	}
	if err := c.applyAuthnEnv(env); err != nil {
		return err
	}
	if err := c.applyMemoryEnv(env); err != nil {
		return err
	}
	if v := strings.TrimSpace(env("RISKAUTH_BODY_LIMIT")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("RISKAUTH_BODY_LIMIT %q: %w", v, err)
		}
		c.BodyLimit = n
	}
	return nil
}

// applyMemoryEnv reads RISKAUTH_MEMORY_LIMIT over memory_limit. With
// neither set, a GOMEMLIMIT the runtime was started with is the budget the
// caps are derived from too (riskauthd then leaves the runtime's limit as
// the variable set it): one number, whichever way the operator gave it.
func (c *Config) applyMemoryEnv(env func(string) string) error {
	if v := strings.TrimSpace(env("RISKAUTH_MEMORY_LIMIT")); v != "" {
		b, err := standard.ParseBytes(v)
		if err != nil {
			return fmt.Errorf("RISKAUTH_MEMORY_LIMIT: %w", err)
		}
		c.MemoryLimit = b
	}
	if v := strings.TrimSpace(env("GOMEMLIMIT")); c.MemoryLimit == 0 && v != "" && v != "off" {
		if b, err := standard.ParseBytes(v); err == nil { // the runtime refuses to start on a bad one
			c.MemoryLimit = b
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c *Config) defaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.BodyLimit == 0 {
		c.BodyLimit = 64 << 10
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = 10 * time.Second
	}
	c.Config.Defaults()
	if c.Alerts.DataDir == "" {
		c.Alerts.DataDir = c.DataDir
	}
	c.authnDefaults()
}

// Validate reports every problem in the configuration.
func (c *Config) Validate() error {
	var errs []error
	if _, err := c.Proxies(); err != nil {
		errs = append(errs, err)
	}
	if c.BodyLimit < 1024 || c.BodyLimit > 16<<20 {
		errs = append(errs, fmt.Errorf("body_limit %d: want 1 KiB to 16 MiB", c.BodyLimit))
	}
	for i, k := range c.APIKeys {
		if len(k) < 16 {
			errs = append(errs, fmt.Errorf("api key #%d: shorter than 16 characters", i+1))
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level %q: want debug, info, warn or error", c.LogLevel))
	}
	// The engine's sections: rules, velocity, breached, device (their
	// messages name the YAML keys, as these do).
	if err := c.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Alerts.Validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateAuthn()...)
	errs = append(errs, c.validateAdmin()...)
	errs = append(errs, c.validateWebhooks()...)
	errs = append(errs, c.validateMetrics()...)
	errs = append(errs, c.validateTLS()...)
	errs = append(errs, c.validatePages()...)
	return errors.Join(errs...)
}

// Proxies parses TrustedProxies; a bare address means a single host.
func (c *Config) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want a CIDR or an address", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
