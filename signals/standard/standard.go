package standard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/riskauth/riskauth/internal/leaf/backend"
	"github.com/riskauth/riskauth/internal/leaf/privfile"
	"github.com/riskauth/riskauth/internal/leaf/secretfile"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/signals/breached"
	"github.com/riskauth/riskauth/signals/device"
	"github.com/riskauth/riskauth/signals/device/ualabel"
	"github.com/riskauth/riskauth/signals/geo"
	"github.com/riskauth/riskauth/signals/velocity"
)

// Files New keeps in Config.DataDir.
const (
	// ProfilesFile holds the SQLite user risk profiles (in-memory
	// velocity state only; Redis keeps profiles itself).
	ProfilesFile = "profiles.db"
	// DeviceKeyFile holds the generated device-id key when
	// Config.Device.Secret is empty.
	DeviceKeyFile = "device.key"
)

// State kinds, as Assembly.StateKind names them.
const (
	StateMemory = "memory"
	StateRedis  = "redis"
)

// Assembly is the standard engine and the parts built for it that its
// caller still needs: the rule source to administer, the state store to
// probe, the geo signal whose databases refresh, the breach corpus that a
// password policy and a range API share with the engine.
type Assembly struct {
	// Engine evaluates events and records outcomes.
	Engine *engine.Engine
	// Rules is the hot-reloaded rule source (active set, shadow
	// candidate, history), for the admin API and explanations.
	Rules *rules.Source
	// State is the velocity and profile store; StateKind names it
	// (StateMemory or StateRedis).
	State     engine.StateStore
	StateKind string
	// Redis is the client of the Redis state store (nil on in-memory
	// state), for what else the instances share there: riskauthd's rate
	// limit and the rule sets (rulesync.go). The Assembly closes it.
	Redis redis.UniversalClient
	// Signals are the optional signals attached to the engine, in the
	// order the engine runs them (geo, breached).
	Signals []engine.Signal
	// Geo is the geo signal, nil when WithSignals left it out.
	Geo *geo.Geo
	// Breached is the breach corpus chain (embedded list, imported
	// corpus, range client), nil when WithSignals left the breached
	// signal out. A password policy asks it so that registration and the
	// engine agree on what is breached.
	Breached breached.Checker
	// BreachedTable is the imported corpus when it is a table-format
	// one, which can serve the range API; nil otherwise.
	BreachedTable *breached.Table
	// Backends counts backend failures (riskauth_backend_errors_total):
	// Redis's here, and whatever else the caller counts on it (riskauthd
	// its account store). Nil without a registerer.
	Backends *backend.Metrics

	cfg     Config
	log     *slog.Logger
	closers []func() error
	// famSnap keeps the global familiarity counts in the data dir; nil
	// with Redis or without a data dir.
	famSnap  *famSnapshots
	famTicks <-chan time.Time // replaces the snapshot ticker (tests)
	famSaved chan<- error     // receives each periodic save's result (tests)

	startOnce sync.Once
	cancel    context.CancelFunc // stops what Start started
	// snapDone is closed when the snapshot goroutine Start ran has
	// returned (closed at once when none runs).
	snapDone chan struct{}
	// rsync shares the rule sets through Redis (nil on in-memory state);
	// syncDone is closed when its goroutine has returned (nil when none
	// runs).
	rsync    *ruleSync
	syncDone chan struct{}
}

// New builds the engine riskauthd runs from cfg (after Defaults): the
// rule source, the velocity and profile store (in memory with SQLite
// profiles, or Redis), the device identifier and the user-agent label
// cache it shares with the familiarity scorer, one familiarity model for
// the engine and the store, the geo and breached-password signals, and
// the metrics. It starts no goroutine (see Start). On error it closes
// what it already opened.
func New(cfg Config, opts ...Option) (_ *Assembly, err error) {
	o := options{clock: clock.System{}}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Assembly{cfg: cfg, log: o.log, cancel: func() {}, famTicks: o.famTicks, famSaved: o.famSaved, snapDone: make(chan struct{})}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	if cfg.DataDir != "" {
		if err := privfile.MkdirAll(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	m := newMetrics(o.reg)
	if err := m.err; err != nil {
		return nil, err
	}
	a.Backends = m.backends
	counters := cfg.Velocity.Counters
	schema := o.schema
	if schema == nil {
		if schema, err = rules.NewSchema(engine.CounterNames(counters)); err != nil {
			return nil, err
		}
	} else if !slices.Equal(schema.Counters(), engine.CounterNames(counters)) {
		return nil, errors.New("standard: the schema was not built from the configured counters")
	}
	src := rules.SourceConfig{Path: cfg.Rules.File, CandidatePath: cfg.Rules.ShadowFile, Schema: schema,
		OnAudit: a.ruleChanged(o.audit), HistorySize: cfg.Rules.HistorySize, Now: o.clock.Now, Logger: o.log}
	if m.engine != nil {
		src.OnChange = m.engine.RuleSetChanged
	}
	if a.Rules, err = rules.NewSource(src); err != nil {
		return nil, err
	}

	// One familiarity model for the engine (scores) and the state store
	// (updates histories), so that both decay histories alike.
	fam, err := familiarity.New(familiarity.Config{})
	if err != nil {
		return nil, err
	}
	if err := a.openState(fam, m.velocity, o.clock, m.snapshot); err != nil {
		return nil, err
	}
	if a.Redis != nil {
		a.rsync = newRuleSync(a.Redis, a.Rules, cfg.Redis.Prefix, cfg.Rules.Poll, o.clock, o.log, newRuleSyncMetrics(o.reg))
	}

	deviceKey := cfg.Device.Secret
	if cfg.DataDir != "" {
		if deviceKey, err = secretfile.Secret(deviceKey, filepath.Join(cfg.DataDir, DeviceKeyFile), o.log); err != nil {
			return nil, err
		}
	}
	uaLabels := ualabel.NewCache(cfg.Device.UserAgentCache)
	devices, err := device.New(device.Config{Key: []byte(deviceKey), Labels: uaLabels})
	if err != nil {
		return nil, err
	}

	if o.wants(SignalGeo) {
		if a.Geo, err = geo.Open(cfg.Geo, o.clock, o.log, m.geo); err != nil {
			return nil, err
		}
		a.closers = append(a.closers, a.Geo.Close)
		a.Signals = append(a.Signals, a.Geo)
	}
	if o.wants(SignalBreached) {
		bs, err := a.breachedSignal(m.breached)
		if err != nil {
			return nil, err
		}
		a.Signals = append(a.Signals, bs)
	}
	deps := engine.Deps{Clock: o.clock, Rules: a.Rules, State: a.State, Devices: devices, Counters: counters,
		Signals: a.Signals, Sink: o.sink, Metrics: m.engine, Logger: o.log,
		Familiarity: fam, UserAgentLabels: uaLabels.ReleaseLabels}
	switch {
	case a.famSnap != nil:
		deps.FamiliarityGlobal = a.famSnap.g
	case a.StateKind == StateMemory:
		// No data dir: counts in memory only, of the configured size.
		if deps.FamiliarityGlobal, err = familiarity.NewGlobal(cfg.Velocity.FamiliaritySketch.global()); err != nil {
			return nil, fmt.Errorf("familiarity global counts: %w", err)
		}
	}
	if a.Engine, err = engine.New(cfg.Engine, deps); err != nil {
		return nil, err
	}
	if a.famSnap != nil {
		// Closers run in reverse: the snapshot is written first, once
		// nothing evaluates any more, and only for an engine that ran.
		a.closers = append(a.closers, a.famSnap.close)
	}
	return a, nil
}

// openState opens the velocity and profile store the configuration names
// and, on in-memory state with a data dir, the global familiarity counts
// loaded from their snapshot (a.famSnap; nil otherwise: with Redis the
// store keeps the counts, shared by every instance; without a data dir
// the engine keeps fresh ones in memory).
func (a *Assembly) openState(fam *familiarity.Model, vm *velocity.Metrics, clk clock.Clock, sm *snapshotMetrics) (err error) {
	cfg := a.cfg
	if cfg.Redis.URL == "" && cfg.DataDir != "" {
		if a.famSnap, err = openFamSnapshots(cfg.DataDir, cfg.Velocity.FamiliaritySketch.global(), a.log, clk.Now, sm); err != nil {
			return err
		}
	}
	vcfg := velocity.Config{Counters: cfg.Velocity.Counters, MaxKeys: cfg.Velocity.MaxKeys, MaxPending: cfg.Velocity.MaxPending,
		PendingTTL: cfg.Velocity.PendingTTL, FamiliarityRefresh: cfg.Velocity.FamiliarityRefresh, KeyPrefix: cfg.Redis.Prefix,
		ProfileLimits: engine.ProfileLimits{Familiarity: fam}}
	vcfg.FamiliaritySketch = cfg.Velocity.FamiliaritySketch.global()
	vcfg.FamiliarityShards = cfg.Velocity.FamiliaritySketch.Shards
	switch {
	case cfg.Redis.URL != "":
		client, err := redisClient(cfg.Redis)
		if err != nil {
			return err
		}
		countRedisFailures(client, a.Backends)
		a.closers = append(a.closers, client.Close)
		a.Redis = client
		st, err := velocity.NewRedis(client, vcfg, vm)
		if err != nil {
			return err
		}
		a.State, a.StateKind = st, StateRedis
	default:
		var profiles velocity.ProfileStore
		if cfg.DataDir != "" {
			p, err := velocity.NewSQLiteProfiles(filepath.Join(cfg.DataDir, ProfilesFile), velocity.WithProfileCacheSize(cfg.Velocity.ProfileCache))
			if err != nil {
				return err
			}
			a.closers = append(a.closers, p.Close)
			profiles = p
		} else {
			profiles = velocity.NewMemProfiles(cfg.Velocity.ProfileCache)
		}
		st, err := velocity.NewMemory(vcfg, profiles, vm)
		if err != nil {
			return err
		}
		a.State, a.StateKind = st, StateMemory
	}
	a.closers = append(a.closers, a.State.Close)
	return nil
}

// breachedSignal chains the embedded list, an imported corpus and the
// remote range API, in that order, as configured.
func (a *Assembly) breachedSignal(m *breached.Metrics) (*breached.Signal, error) {
	c := a.cfg.Breached
	chain := breached.Multi{breached.NewEmbedded(breached.EmbeddedOptions{CaseSensitive: c.CaseSensitive})}
	if c.Corpus != "" {
		corpus, err := breached.Open(c.Corpus)
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, corpus.Close)
		chain = append(chain, corpus)
		if tbl, ok := corpus.(*breached.Table); ok {
			a.BreachedTable = tbl
		}
	}
	if c.Remote.Enabled {
		rc, err := breached.NewRangeClient(breached.RangeClientConfig{BaseURL: c.Remote.BaseURL, Timeout: c.Remote.Timeout,
			CacheSize: c.Remote.CacheSize, CacheTTL: c.Remote.CacheTTL, Logger: a.log, Metrics: m})
		if err != nil {
			return nil, err
		}
		chain = append(chain, rc)
	}
	a.Breached = chain
	return breached.NewSignal(chain, breached.SignalConfig{FailurePolicy: breached.FailurePolicy(c.FailurePolicy), Metrics: m})
}

// Start runs the background work a long-lived engine needs until ctx
// ends or Close: the rule file watch (hot reload every Rules.Poll and on
// file events), the geo databases' refresh and, on in-memory state with a
// data dir, the familiarity snapshot every Velocity.FamiliaritySnapshot
// (so that a crash loses at most one interval of what the engine learnt
// about the crowd's sign-ins). A throw-away engine (a
// replay, a simulation) does not call it: nothing changes under it. Only
// the first call starts anything.
func (a *Assembly) Start(ctx context.Context) {
	a.startOnce.Do(func() {
		ctx, a.cancel = context.WithCancel(ctx)
		a.startRuleSync(ctx)
		go func() { _ = a.Rules.Watch(ctx, a.cfg.Rules.Poll) }()
		if a.Geo != nil {
			go func() { _ = a.Geo.Run(ctx) }()
		}
		a.startSnapshots(ctx)
	})
}

// startSnapshots writes the global familiarity counts every
// Velocity.FamiliaritySnapshot on a goroutine of its own, until ctx ends
// or Close, when there are counts to keep and a positive interval.
func (a *Assembly) startSnapshots(ctx context.Context) {
	every := a.cfg.Velocity.FamiliaritySnapshot
	if a.famSnap == nil || (every <= 0 && a.famTicks == nil) {
		close(a.snapDone)
		return
	}
	ticks := a.famTicks
	var stop func() bool
	if ticks == nil {
		t := time.NewTicker(every)
		ticks, stop = t.C, func() bool { t.Stop(); return true }
	}
	go func() {
		defer close(a.snapDone)
		if stop != nil {
			defer stop()
		}
		a.famSnap.run(ctx, ticks, a.famSaved)
	}()
}

// SnapshotFamiliarity writes the global familiarity counts to the data
// dir now, as Start's periodic snapshot does (nothing when they have not
// changed since the last write): for a caller that wants a checkpoint at
// a moment of its choosing, such as before a planned restart of the host.
// It does nothing with Redis or without a data dir, where there is no
// snapshot to write.
func (a *Assembly) SnapshotFamiliarity() error {
	if a.famSnap == nil {
		return nil
	}
	return a.famSnap.save(false)
}

// Close stops what Start started and releases what New opened in
// reverse order: the familiarity snapshot is written first (nothing
// evaluates any more), then the breach corpus, the geo databases, the
// state store and its SQLite file or Redis client. It is safe after a
// partial build and a second call does nothing. Stop evaluating first.
func (a *Assembly) Close() error {
	a.startOnce.Do(func() { close(a.snapDone) }) // a Start after Close starts nothing
	a.cancel()
	<-a.snapDone // no periodic snapshot races the last one
	if a.syncDone != nil {
		<-a.syncDone // the rule sync is done with the Redis client
	}
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}
