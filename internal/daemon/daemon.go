// Package daemon builds riskauthd: every component (rule source, state
// store, signals, engine, alert sink, sign-in service, HTTP API) wired from
// a config.Config, and closed again in reverse order.
//
// It is the one place that knows how the parts fit together, so that
// cmd/riskauthd and the load commands (cmd/riskload, cmd/authload), which
// must measure exactly what riskauthd serves, share it instead of copying
// it.
package daemon

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/alert"
	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/httpapi"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/signals/breached"
	"github.com/riskauth/riskauth/signals/device"
	"github.com/riskauth/riskauth/signals/device/ualabel"
	"github.com/riskauth/riskauth/signals/geo"
	"github.com/riskauth/riskauth/signals/velocity"
)

// Server is a built riskauthd: the components a caller serves, tests or
// measures, and what Close releases.
type Server struct {
	// Engine is the risk engine.
	Engine *engine.Engine
	// API is the HTTP server (risk, sign-in, admin and operator routes).
	API *httpapi.Server
	// State is the velocity and profile store; StateKind names it
	// ("memory" or "redis").
	State     engine.StateStore
	StateKind string
	// Sink carries decisions, alerts and audit events to Kafka, the
	// spool or the JSONL file.
	Sink *alert.Sink
	// Authn is the sign-in service; Accounts is its store and Hasher its
	// argon2id hasher (load commands create accounts through them).
	Authn    *authn.Service
	Accounts authn.UserStore
	Hasher   *password.Hasher
	// Registry holds every metric /metrics serves.
	Registry *prometheus.Registry

	// breachedTable is the imported corpus when it is a table, which can
	// serve the range API.
	breachedTable *breached.Table
	// breachedChain is the breach corpus chain, shared by the engine's
	// signal and the password policy.
	breachedChain breached.Checker
	cancel        context.CancelFunc // stops Build's goroutines
	closers       []func() error
}

// Close stops the goroutines Build started and releases everything it
// opened, in reverse order: the sign-in
// service drains its mail before the store closes, the alert sink flushes
// within the shutdown grace, the familiarity snapshot is written once
// nothing evaluates any more. Stop serving API first.
func (s *Server) Close() {
	s.cancel()
	for i := len(s.closers) - 1; i >= 0; i-- {
		_ = s.closers[i]()
	}
}

// Build wires every component from cfg, as riskauthd runs them. The
// goroutines it starts (rule file watch, geo database refresh, authn
// sweeps) stop with ctx or at Close. On error it closes what it already
// opened.
func Build(ctx context.Context, cfg *config.Config, log *slog.Logger) (_ *Server, err error) {
	s := &Server{}
	ctx, s.cancel = context.WithCancel(ctx)
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	reg := prometheus.NewRegistry()
	s.Registry = reg
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	schema, err := rules.NewSchema(engine.CounterNames(cfg.Velocity.Counters))
	if err != nil {
		return nil, err
	}
	em := engine.NewMetrics(reg)
	host, _ := os.Hostname()
	// The sink comes before the rule source: every rule-set change,
	// including the candidate file read at start, is an audit event.
	s.Sink, err = alert.New(cfg.Alerts, alert.Deps{Logger: log, Metrics: alert.NewMetrics(reg),
		Encoder: ocsf.NewEncoder(ocsf.Meta{Version: Version(), Host: host})})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() error {
		// Deliver what is queued within the grace period; the rest waits
		// in the spool for the next start.
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
		defer cancel()
		return s.Sink.Close(ctx)
	})
	src, err := rules.NewSource(rules.SourceConfig{Path: cfg.Rules.File, CandidatePath: cfg.Rules.ShadowFile, Schema: schema,
		OnChange: em.RuleSetChanged, OnAudit: auditor(log, s.Sink), HistorySize: cfg.Rules.HistorySize, Logger: log})
	if err != nil {
		return nil, err
	}
	go func() { _ = src.Watch(ctx, cfg.Rules.Poll) }()

	vm, err := velocity.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	// One familiarity model for the engine (scores) and the state store
	// (updates histories), so that both decay histories alike.
	fam, err := familiarity.New(familiarity.Config{})
	if err != nil {
		return nil, err
	}
	// With Redis the state store keeps the global familiarity counts
	// (shared by every instance): no Global here, nothing to snapshot.
	var famGlobal engine.FamiliarityGlobal
	saveFamGlobal := func() error { return nil }
	if cfg.Redis.URL == "" {
		g, save, err := familiarityGlobal(cfg.DataDir, log)
		if err != nil {
			return nil, err
		}
		famGlobal, saveFamGlobal = g, save
	}
	vcfg := velocity.Config{Counters: cfg.Velocity.Counters, MaxKeys: cfg.Velocity.MaxKeys,
		PendingTTL: cfg.Velocity.PendingTTL, FamiliarityRefresh: cfg.Velocity.FamiliarityRefresh, KeyPrefix: cfg.Redis.Prefix,
		ProfileLimits: engine.ProfileLimits{Familiarity: fam}}
	if cfg.Redis.URL != "" {
		client, err := redisClient(cfg.Redis)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, client.Close)
		st, err := velocity.NewRedis(client, vcfg, vm)
		if err != nil {
			return nil, err
		}
		s.State, s.StateKind = st, "redis"
	} else {
		profiles, err := velocity.NewSQLiteProfiles(filepath.Join(cfg.DataDir, "profiles.db"))
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, profiles.Close)
		st, err := velocity.NewMemory(vcfg, profiles, vm)
		if err != nil {
			return nil, err
		}
		s.State, s.StateKind = st, "memory"
	}
	s.closers = append(s.closers, s.State.Close)

	deviceKey, err := secret(cfg.Device.Secret, filepath.Join(cfg.DataDir, "device.key"), log)
	if err != nil {
		return nil, err
	}
	uaLabels := ualabel.NewCache(0)
	devices, err := device.New(device.Config{Key: []byte(deviceKey), Labels: uaLabels})
	if err != nil {
		return nil, err
	}
	apiKeys := cfg.APIKeys
	if len(apiKeys) == 0 {
		k, err := secret("", filepath.Join(cfg.DataDir, "api-key"), log)
		if err != nil {
			return nil, err
		}
		apiKeys = []string{k}
		log.Warn("no RISKAUTH_API_KEYS configured: using the generated key in the data dir", "file", filepath.Join(cfg.DataDir, "api-key"))
	}
	g, err := geo.Open(cfg.Geo, clock.System{}, log, geo.NewMetrics(reg))
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, g.Close)
	go g.Run(ctx)
	signals := []engine.Signal{g}
	bsig, err := s.breachedSignal(cfg.Breached, reg, log)
	if err != nil {
		return nil, err
	}
	signals = append(signals, bsig)
	s.Engine, err = engine.New(cfg.Engine, engine.Deps{
		Rules: src, State: s.State, Devices: devices, Counters: cfg.Velocity.Counters, Signals: signals,
		Sink: s.Sink, Metrics: em, Logger: log, Familiarity: fam, FamiliarityGlobal: famGlobal, UserAgentLabels: uaLabels.ReleaseLabels,
	})
	if err != nil {
		return nil, err
	}
	// Closers run in reverse: the snapshot is written once the HTTP server
	// has stopped evaluating.
	s.closers = append(s.closers, saveFamGlobal)
	proxies, err := cfg.Proxies()
	if err != nil {
		return nil, err
	}
	deps := httpapi.Deps{Engine: s.Engine, Registry: reg, Logger: log, Rules: src}
	if cfg.Breached.ServeRange {
		if s.breachedTable == nil {
			return nil, fmt.Errorf("breached.serve_range: %s is not a table-format corpus (import it with -format table)", cfg.Breached.Corpus)
		}
		deps.BreachedRange = breached.NewRangeHandler(s.breachedTable)
	}
	apiCfg := httpapi.Config{APIKeys: apiKeys, BodyLimit: cfg.BodyLimit, TrustedProxies: proxies}
	for _, k := range cfg.Admin.APIKeys {
		apiCfg.AdminKeys = append(apiCfg.AdminKeys, httpapi.AdminKey{Name: k.Name, Key: k.Key})
	}
	if len(apiCfg.AdminKeys) == 0 {
		log.Info("admin API is off: no admin key configured (RISKAUTH_ADMIN_API_KEYS); /v1/admin/* answers 404")
	} else {
		log.Info("admin API is on", "admin_keys", len(apiCfg.AdminKeys), "rules_file", cfg.Rules.File, "shadow_file", cfg.Rules.ShadowFile)
	}
	if err := s.buildAuthn(ctx, cfg, reg, log, &apiCfg, &deps); err != nil {
		return nil, err
	}
	s.API, err = httpapi.New(apiCfg, deps)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// auditor is the rule source's audit hook: every change of the active or
// candidate rule set, by an admin or read from disk, becomes a structured
// log line and an OCSF Entity Management event on the alerts topic.
func auditor(log *slog.Logger, sink *alert.Sink) func(rules.Change) {
	return func(c rules.Change) {
		log.Info("rule set change audited", "action", c.Action, "actor", c.Actor, "candidate", c.Candidate,
			"old_version", c.OldVersion, "new_version", c.NewVersion, "at", c.At)
		sink.Audit(c)
	}
}

// breachedSignal chains the embedded list, an imported corpus and the
// remote range API, in that order, as configured.
func (s *Server) breachedSignal(c config.BreachedConfig, reg prometheus.Registerer, log *slog.Logger) (*breached.Signal, error) {
	m := breached.NewMetrics(reg)
	chain := breached.Multi{breached.NewEmbedded(breached.EmbeddedOptions{CaseSensitive: c.CaseSensitive})}
	if c.Corpus != "" {
		corpus, err := breached.Open(c.Corpus)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, corpus.Close)
		chain = append(chain, corpus)
		if tbl, ok := corpus.(*breached.Table); ok {
			s.breachedTable = tbl
		}
	}
	if c.Remote.Enabled {
		rc, err := breached.NewRangeClient(breached.RangeClientConfig{BaseURL: c.Remote.BaseURL, Timeout: c.Remote.Timeout,
			CacheSize: c.Remote.CacheSize, CacheTTL: c.Remote.CacheTTL, Logger: log, Metrics: m})
		if err != nil {
			return nil, err
		}
		chain = append(chain, rc)
	}
	s.breachedChain = chain
	return breached.NewSignal(chain, breached.SignalConfig{FailurePolicy: breached.FailurePolicy(c.FailurePolicy), Metrics: m})
}

func redisClient(c config.RedisConfig) (redis.UniversalClient, error) {
	if strings.Contains(c.URL, ",") || c.Cluster {
		var addrs []string
		for _, a := range strings.Split(c.URL, ",") {
			a = strings.TrimPrefix(strings.TrimSpace(a), "redis://")
			addrs = append(addrs, a)
		}
		if len(addrs) == 1 && strings.Contains(c.URL, "://") {
			opts, err := redis.ParseClusterURL(c.URL)
			if err != nil {
				return nil, fmt.Errorf("redis url: %w", err)
			}
			return redis.NewClusterClient(opts), nil
		}
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs}), nil
	}
	opts, err := redis.ParseURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	return redis.NewClient(opts), nil
}

// secret returns configured when set; otherwise the secret kept in file,
// generating a random one (256 bits) there on first use.
func secret(configured, file string, log *slog.Logger) (string, error) {
	if configured != "" {
		return configured, nil
	}
	s, err := loadOrGenerate(file, func() string { return randomBase64(32) }, log, "generated a secret")
	if err != nil {
		return "", err
	}
	if len(s) < 32 {
		return "", fmt.Errorf("%s: secret is too short, delete the file to regenerate it", file)
	}
	return s, nil
}

// loadOrGenerate returns the trimmed content of file; when there is no
// file it writes generate()'s value there (0600) and logs msg.
func loadOrGenerate(file string, generate func() string, log *slog.Logger, msg string) (string, error) {
	b, err := os.ReadFile(file)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	v := generate()
	if err := os.WriteFile(file, []byte(v+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", file, err)
	}
	log.Info(msg, "file", file)
	return v, nil
}

// randomBase64 is n random bytes in unpadded URL base64.
func randomBase64(n int) string {
	raw := make([]byte, n)
	_, _ = rand.Read(raw)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// SetDefaultGC applies GCPercent unless the GOGC variable says otherwise:
// riskauthd and the load commands that measure it run alike.
func SetDefaultGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
}

// GCPercent is riskauthd's default GOGC (the GOGC variable overrides it).
// Every argon2id verification allocates its 19 MiB afresh; at Go's default
// of 100 that starts a collection every few sign-ins, each marking the
// whole live heap, about 13% of a saturated server's CPU. At 400 the live
// heap (tens of MiB) may grow to five times its size between collections,
// and password sign-in throughput rises from about 0.82 to about 0.94 of
// the raw argon2id limit (docs/benchmarks.md, cmd/authload).
const GCPercent = 400

// Version is the module version the binary was built from ("devel" for a
// source build), stamped into every SOC message's metadata.product.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
