package alert

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/riskauth/riskauth/engine/alert/spool"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Defaults, exported so that the server's configuration docs and flags can
// quote them rather than copy them.
const (
	DefaultAlertsTopic     = "riskauth.alerts"
	DefaultAuditTopic      = "riskauth.audit"
	DefaultQueueSize       = 8192
	DefaultBatchSize       = 1000
	DefaultBatchBytes      = 1_000_000 // under the broker's default message.max.bytes (1048588)
	DefaultBatchTimeout    = 5 * time.Millisecond
	DefaultCompression     = "lz4"
	DefaultWriteTimeout    = 10 * time.Second
	DefaultMaxAttempts     = 3
	DefaultClientID        = "riskauth"
	DefaultSpoolMaxBytes   = 1 << 30
	DefaultRetryBackoffMin = 200 * time.Millisecond
	DefaultRetryBackoffMax = 10 * time.Second
	DefaultAggregateWindow = time.Minute
	DefaultAggregateGroups = 10_000
)

// Config configures the sink. The zero value plus a DataDir is the
// embedded mode: alerts appended to <DataDir>/alerts.jsonl.
type Config struct {
	// Brokers are the Kafka bootstrap servers (host:port). Empty selects
	// the embedded JSONL mode.
	Brokers []string `yaml:"brokers"`
	// AlertsTopic receives alerts: blocks, decisions whose matched rules
	// carry an alert severity, and account security events
	// (default riskauth.alerts).
	AlertsTopic string `yaml:"alerts_topic"`
	// AuditTopic receives the audit trail: every account security event
	// (those of the alerts topic, byte for byte, and the routine
	// authentication steps that go nowhere else: sign-in succeeded or
	// failed, second factor requested, passed or failed, sign-out, a
	// session revoked). Default riskauth.audit; it cannot be turned off.
	// In the embedded mode the trail is <DataDir>/audit.jsonl.
	AuditTopic string `yaml:"audit_topic"`
	// DecisionsTopic, when set, receives every decision (for analytics
	// and backtests). Empty turns it off, in both modes: every decision
	// is a few KiB, which adds up to gigabytes a day on a busy site.
	DecisionsTopic string `yaml:"decisions_topic"`
	// ClientID names this producer to the brokers (default riskauth).
	ClientID string `yaml:"client_id"`

	// QueueSize bounds the in-memory queue between Publish and the worker
	// (default 8192 items).
	QueueSize int `yaml:"queue_size"`
	// BatchSize and BatchBytes bound one produce call per topic
	// (defaults 1000 messages, 1 MB); BatchBytes must stay under the
	// brokers' message.max.bytes, and no single message may exceed it.
	BatchSize  int   `yaml:"batch_size"`
	BatchBytes int64 `yaml:"batch_bytes"`
	// BatchTimeout is the linger: how long a partial batch waits for
	// more messages (default 5ms).
	BatchTimeout time.Duration `yaml:"batch_timeout"`
	// Compression is none, gzip, snappy, lz4 or zstd (default lz4: it
	// costs less CPU here than kafka-go's snappy, which runs s2 in its
	// slower "better" mode; see docs/benchmarks.md).
	Compression string `yaml:"compression"`
	// WriteTimeout bounds one produce attempt (default 10s); MaxAttempts
	// the attempts of one write before the batch goes to the spool
	// (default 3).
	WriteTimeout time.Duration `yaml:"write_timeout"`
	MaxAttempts  int           `yaml:"max_attempts"`
	// TLS, when set, encrypts the broker connections.
	TLS *TLSConfig `yaml:"tls"`
	// SASL, when set, authenticates to the brokers.
	SASL *SASLConfig `yaml:"sasl"`

	// DataDir holds the JSONL files of the embedded mode and, unless
	// SpoolDir is set, the spool (<DataDir>/spool).
	DataDir string `yaml:"data_dir"`
	// SpoolDir holds one spool per topic (<SpoolDir>/alerts,
	// <SpoolDir>/decisions).
	SpoolDir string `yaml:"spool_dir"`
	// SpoolMaxBytes bounds each topic's spool (default 1 GiB); see the
	// package documentation for what happens when it is reached.
	SpoolMaxBytes int64 `yaml:"spool_max_bytes"`
	// SpoolSync is the spool's fsync policy: batch (default), always or
	// never.
	SpoolSync string `yaml:"spool_sync"`
	// RetryBackoffMin and RetryBackoffMax bound the exponential backoff
	// between attempts to drain a spool into Kafka (defaults 200ms, 10s).
	RetryBackoffMin time.Duration `yaml:"retry_backoff_min"`
	RetryBackoffMax time.Duration `yaml:"retry_backoff_max"`
	// AggregateWindow folds alerts of the same rule and source: the first
	// goes out at once, the rest within the window become one finding
	// with a count when it closes (default 1m; a negative value sends
	// every alert on its own).
	AggregateWindow time.Duration `yaml:"aggregate_window"`
	// AggregateGroups bounds the groups tracked at once (default 10,000);
	// beyond it, groups are closed early rather than memory grown.
	AggregateGroups int `yaml:"aggregate_groups"`
}

// TLSConfig secures broker connections. Config, when set, is used as is
// and the file fields must be empty.
type TLSConfig struct {
	// CAFile is a PEM bundle of the CAs that sign the brokers'
	// certificates (default: the system pool).
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate for mutual TLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the brokers' certificates.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify turns certificate checks off; for lab use only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// Config is a ready-made configuration, for embedders and tests.
	Config *tls.Config `yaml:"-"`
}

// SASLConfig authenticates to the brokers.
type SASLConfig struct {
	// Mechanism is plain, scram-sha-256 or scram-sha-512.
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"`
	Password  string `yaml:"password"`
}

// Embedded reports whether the configuration selects the JSONL mode.
func (c *Config) Embedded() bool { return len(c.Brokers) == 0 }

func (c *Config) defaults() {
	c.AlertsTopic = cmp.Or(c.AlertsTopic, DefaultAlertsTopic)
	c.AuditTopic = cmp.Or(c.AuditTopic, DefaultAuditTopic)
	c.ClientID = cmp.Or(c.ClientID, DefaultClientID)
	c.QueueSize = cmp.Or(c.QueueSize, DefaultQueueSize)
	c.BatchSize = cmp.Or(c.BatchSize, DefaultBatchSize)
	c.BatchBytes = cmp.Or(c.BatchBytes, DefaultBatchBytes)
	c.BatchTimeout = cmp.Or(c.BatchTimeout, DefaultBatchTimeout)
	c.Compression = cmp.Or(c.Compression, DefaultCompression)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, DefaultWriteTimeout)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	if c.SpoolDir == "" && c.DataDir != "" {
		c.SpoolDir = filepath.Join(c.DataDir, "spool")
	}
	c.SpoolMaxBytes = cmp.Or(c.SpoolMaxBytes, DefaultSpoolMaxBytes)
	c.SpoolSync = cmp.Or(c.SpoolSync, spool.SyncBatch.String())
	c.RetryBackoffMin = cmp.Or(c.RetryBackoffMin, DefaultRetryBackoffMin)
	c.RetryBackoffMax = cmp.Or(c.RetryBackoffMax, DefaultRetryBackoffMax)
	// Zero only: a negative window turns aggregation off.
	c.AggregateWindow = cmp.Or(c.AggregateWindow, DefaultAggregateWindow)
	c.AggregateGroups = cmp.Or(c.AggregateGroups, DefaultAggregateGroups)
}

// Validate fills in the defaults and reports every problem at once.
func (c *Config) Validate() error { return c.validate(true) }

// ValidateClient is Validate for a consumer of the same brokers (riskctl
// alerts tail): the producer's data and spool directories are not asked
// for, since a consumer keeps no files.
func (c *Config) ValidateClient() error { return c.validate(false) }

func (c *Config) validate(producer bool) error {
	c.defaults()
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for i, b := range c.Brokers {
		if _, port, ok := strings.Cut(b, ":"); !ok || port == "" || strings.TrimSpace(b) != b {
			add("alert: brokers[%d] %q: want host:port", i, b)
		}
	}
	for _, t := range []struct{ field, name string }{{"alerts_topic", c.AlertsTopic}, {"audit_topic", c.AuditTopic},
		{"decisions_topic", c.DecisionsTopic}} {
		if t.name != "" && !validTopic(t.name) {
			add("alert: %s %q: want 1-249 characters of [a-zA-Z0-9._-]", t.field, t.name)
		}
	}
	if c.DecisionsTopic != "" && c.DecisionsTopic == c.AlertsTopic {
		add("alert: decisions_topic %q: must differ from alerts_topic", c.DecisionsTopic)
	}
	if c.AuditTopic == c.AlertsTopic || c.AuditTopic == c.DecisionsTopic {
		add("alert: audit_topic %q: must differ from alerts_topic and decisions_topic", c.AuditTopic)
	}
	if c.QueueSize < 1 {
		add("alert: queue_size %d: want at least 1", c.QueueSize)
	}
	if c.BatchSize < 1 {
		add("alert: batch_size %d: want at least 1", c.BatchSize)
	}
	if c.BatchBytes < 1024 {
		add("alert: batch_bytes %d: want at least 1024", c.BatchBytes)
	}
	if c.BatchTimeout < 0 {
		add("alert: batch_timeout %s: want a positive duration", c.BatchTimeout)
	}
	if _, err := compression(c.Compression); err != nil {
		add("alert: %w", err)
	}
	if c.WriteTimeout < 0 {
		add("alert: write_timeout %s: want a positive duration", c.WriteTimeout)
	}
	if c.MaxAttempts < 1 {
		add("alert: max_attempts %d: want at least 1", c.MaxAttempts)
	}
	if producer && c.DataDir == "" && c.Embedded() {
		add("alert: data_dir is required when no brokers are configured (the JSONL files live there)")
	}
	if producer && c.SpoolDir == "" && !c.Embedded() {
		add("alert: spool_dir (or data_dir) is required with brokers: the spool keeps messages while Kafka is down")
	}
	if c.SpoolMaxBytes < 1<<20 {
		add("alert: spool_max_bytes %d: want at least 1 MiB", c.SpoolMaxBytes)
	}
	if _, err := syncPolicy(c.SpoolSync); err != nil {
		add("alert: %w", err)
	}
	if c.RetryBackoffMin <= 0 {
		add("alert: retry_backoff_min %s: want a positive duration", c.RetryBackoffMin)
	}
	if c.RetryBackoffMax < c.RetryBackoffMin {
		add("alert: retry_backoff_max %s: want at least retry_backoff_min (%s)", c.RetryBackoffMax, c.RetryBackoffMin)
	}
	if c.AggregateGroups < 1 {
		add("alert: aggregate_groups %d: want at least 1", c.AggregateGroups)
	}
	if c.TLS != nil {
		if c.TLS.Config != nil && (c.TLS.CAFile != "" || c.TLS.CertFile != "" || c.TLS.KeyFile != "") {
			add("alert: tls: set either a ready-made config or the file paths, not both")
		}
		if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
			add("alert: tls: cert_file and key_file go together")
		}
	}
	if c.SASL != nil {
		if _, err := c.SASL.mechanism(); err != nil {
			add("alert: %w", err)
		}
	}
	return errors.Join(errs...)
}

func validTopic(s string) bool {
	if len(s) == 0 || len(s) > 249 || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func compression(name string) (kafka.Compression, error) {
	switch name {
	case "none":
		return 0, nil
	case "gzip":
		return kafka.Gzip, nil
	case "snappy":
		return kafka.Snappy, nil
	case "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	}
	return 0, fmt.Errorf("compression %q: want none, gzip, snappy, lz4 or zstd", name)
}

// syncPolicy parses the names spool.SyncPolicy.String gives.
func syncPolicy(name string) (spool.SyncPolicy, error) {
	for _, p := range []spool.SyncPolicy{spool.SyncBatch, spool.SyncAlways, spool.SyncNever} {
		if name == p.String() {
			return p, nil
		}
	}
	return 0, fmt.Errorf("spool_sync %q: want batch, always or never", name)
}

func (s *SASLConfig) mechanism() (sasl.Mechanism, error) {
	if s.Username == "" || s.Password == "" {
		return nil, errors.New("sasl: username and password are required")
	}
	switch strings.ToLower(s.Mechanism) {
	case "plain":
		return plain.Mechanism{Username: s.Username, Password: s.Password}, nil
	case "scram-sha-256":
		return scram.Mechanism(scram.SHA256, s.Username, s.Password)
	case "scram-sha-512":
		return scram.Mechanism(scram.SHA512, s.Username, s.Password)
	}
	// The mechanism name is not a secret; the credentials never appear
	// in errors.
	return nil, fmt.Errorf("sasl: mechanism %q: want plain, scram-sha-256 or scram-sha-512", s.Mechanism)
}

// ClientConfig builds the client TLS configuration, reading the files:
// what the sink dials with, and what a consumer of the same brokers
// (riskctl alerts tail) should dial with too.
func (t *TLSConfig) ClientConfig() (*tls.Config, error) {
	if t.Config != nil {
		return t.Config.Clone(), nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // opt-in, documented as lab-only
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: ca_file %s: no PEM certificates found", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
