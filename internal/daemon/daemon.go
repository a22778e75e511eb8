// Package daemon builds riskauthd: every component (alert sink, the risk
// engine with its rule source, state store and signals, sign-in service,
// HTTP API) wired from a config.Config, and closed again in reverse order.
//
// It is the one place that knows how the service's parts fit together, so
// that cmd/riskauthd and the load commands (cmd/riskload, cmd/authload),
// which must measure exactly what riskauthd serves, share it instead of
// copying it. The engine itself comes from signals/standard, which the
// rule-test harness, the simulator and embedding services use too; this
// package adds what only the server has (alerts, sign-in, API keys, HTTP).
package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/alert"
	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/httpapi"
	"github.com/riskauth/riskauth/internal/leaf/secretfile"
	"github.com/riskauth/riskauth/internal/tracing"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/signals/breached"
	"github.com/riskauth/riskauth/signals/standard"
)

// Server is a built riskauthd: the components a caller serves, tests or
// measures, and what Close releases.
type Server struct {
	// Engine is the risk engine.
	Engine *engine.Engine
	// evaluator is what the HTTP layer and authn evaluate with: Engine,
	// or Engine inside a span per evaluation when tracing is on.
	evaluator evaluator
	// API is the HTTP server (risk, sign-in, admin and operator routes).
	API *httpapi.Server
	// State is the velocity and profile store; StateKind names it
	// ("memory" or "redis").
	State     engine.StateStore
	StateKind string
	// Sink carries decisions, alerts and audit events to Kafka, the
	// spool or the JSONL file.
	Sink *alert.Sink
	// Authn are the sign-in services; Accounts is their store and Hasher
	// their argon2id hasher (load commands create accounts through them).
	Authn    *authn.Services
	Accounts authn.UserStore
	Hasher   *password.Hasher
	// Erasure is the job that carries out due erasure requests (run in
	// the background every few minutes; tests run a round at once).
	Erasure *authn.ErasureJob
	// Registry holds every metric /metrics serves.
	Registry *prometheus.Registry

	// risk is the standard engine assembly (signals/standard): the
	// engine, its rule source, state store, signals and breach corpus
	// (shared with the password policy and the range API).
	risk    *standard.Assembly
	cancel  context.CancelFunc // stops Build's goroutines
	closers []func() error
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

// Option changes what Build wires in besides the configuration.
type Option func(*options)

// evaluator is the engine as both its callers need it.
type evaluator interface {
	httpapi.Engine
	authn.Risk
}

type options struct {
	clock   clock.Clock
	log     *slog.Logger
	reg     *prometheus.Registry
	tracing *tracing.Tracing
}

// WithClock runs the engine, the signals, the sign-in service and the
// rate limiter on clk instead of the system clock, so that a test or a
// load run can drive riskauthd on a virtual clock.
func WithClock(clk clock.Clock) Option { return func(o *options) { o.clock = clk } }

// WithLogger sends every component's log lines to log instead of
// slog.Default(): riskauthd's JSON logger at the configured level, or a
// discarding one for a load run that must not print.
func WithLogger(log *slog.Logger) Option { return func(o *options) { o.log = log } }

// WithRegistry registers every metric on reg (and serves it on /metrics)
// instead of a new registry: a caller that measures or scrapes in-process
// reads the same series. Build adds the Go and process collectors to it.
func WithRegistry(reg *prometheus.Registry) Option { return func(o *options) { o.reg = reg } }

// WithTracing traces requests and evaluations with t (nil: off, the
// default); riskauthd passes what tracing.Setup made of the OTEL_*
// environment. The caller shuts t down after the server.
func WithTracing(t *tracing.Tracing) Option { return func(o *options) { o.tracing = t } }

// Build wires every component from cfg, as riskauthd runs them. The
// engine comes from signals/standard, as every other program that builds
// the production engine gets it; the clock, logger and registry given as
// options are passed on to it. The goroutines Build starts (rule file
// watch, geo database refresh, authn sweeps) stop with ctx or at Close.
// On error it closes what it already opened.
func Build(ctx context.Context, cfg *config.Config, opts ...Option) (_ *Server, err error) {
	o := options{clock: clock.System{}}
	for _, opt := range opts {
		opt(&o)
	}
	log := o.log
	if log == nil {
		log = slog.Default()
	}
	s := &Server{}
	ctx, s.cancel = context.WithCancel(ctx)
	log = foldLog(ctx, log)
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := privateDataDir(cfg, log); err != nil {
		return nil, err
	}
	reg := o.reg
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.Registry = reg
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		memoryLimitGauge(cfg.Memory()))

	host, _ := os.Hostname()
	// The sink comes before the engine: every rule-set change, including
	// the candidate file read at start, is an audit event.
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
	s.risk, err = standard.New(cfg.Config, standard.WithClock(o.clock), standard.WithLogger(log), standard.WithRegisterer(reg),
		standard.WithDecisionSink(s.Sink), standard.WithRuleAudit(auditor(log, s.Sink)))
	if err != nil {
		return nil, err
	}
	// The assembly closes in reverse order of its own: the familiarity
	// snapshot is written once the HTTP server has stopped evaluating.
	s.closers = append(s.closers, s.risk.Close)
	s.risk.Start(ctx)
	s.Engine, s.State, s.StateKind = s.risk.Engine, s.risk.State, s.risk.StateKind
	// What the HTTP layer and authn evaluate with: the engine, or the
	// engine inside a span when tracing is on.
	s.evaluator = s.Engine
	if o.tracing != nil {
		s.evaluator = o.tracing.WrapEngine(s.Engine)
	}
	src := s.risk.Rules

	apiKeys := cfg.APIKeys
	if len(apiKeys) == 0 {
		k, err := secretfile.Secret("", filepath.Join(cfg.DataDir, "api-key"), log)
		if err != nil {
			return nil, err
		}
		apiKeys = []string{k}
		log.Warn("no RISKAUTH_API_KEYS configured: using the generated key in the data dir", "file", filepath.Join(cfg.DataDir, "api-key"))
	}
	proxies, err := cfg.Proxies()
	if err != nil {
		return nil, err
	}
	deps := httpapi.Deps{Engine: s.evaluator, Registry: reg, Logger: log, Rules: src, Clock: o.clock}
	if cfg.Breached.ServeRange {
		if s.risk.BreachedTable == nil {
			return nil, fmt.Errorf("breached.serve_range: %s is not a table-format corpus (import it with -format table)", cfg.Breached.Corpus)
		}
		deps.BreachedRange = breached.NewRangeHandler(s.risk.BreachedTable)
	}
	apiCfg := httpapi.Config{APIKeys: apiKeys, BodyLimit: cfg.BodyLimit, TrustedProxies: proxies, Metrics: cfg.Metrics(),
		Pages: cfg.Pages.HTTP()}
	if o.tracing != nil {
		apiCfg.Tracing = &httpapi.TracingConfig{Tracer: o.tracing.Tracer(), Propagator: o.tracing.Propagator()}
	}
	for _, k := range cfg.Admin.APIKeys {
		apiCfg.AdminKeys = append(apiCfg.AdminKeys, httpapi.AdminKey{Name: k.Name, Key: k.Key, Scopes: k.Scopes})
	}
	if len(apiCfg.AdminKeys) == 0 {
		log.Info("admin API is off: no admin key configured (RISKAUTH_ADMIN_API_KEYS); /v1/admin/* answers 404")
	} else {
		log.Info("admin API is on", "admin_keys", len(apiCfg.AdminKeys), "rules_file", cfg.Rules.File, "shadow_file", cfg.Rules.ShadowFile)
	}
	if err := s.buildAuthn(ctx, cfg, reg, log, o.clock, &apiCfg, &deps, o.tracing); err != nil {
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
// log line and an OCSF Entity Management event on the alerts topic. The
// alert tree has its own record of a change (ocsf.RuleChange, the same
// fields), so that it does not import the rule compiler; the conversion
// happens here, where both are wired.
func auditor(log *slog.Logger, sink *alert.Sink) func(rules.Change) {
	return func(c rules.Change) {
		log.Info("rule set change audited", "action", c.Action, "actor", c.Actor, "candidate", c.Candidate,
			"old_version", c.OldVersion, "new_version", c.NewVersion, "at", c.At)
		sink.Audit(ocsf.RuleChange(c))
	}
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
