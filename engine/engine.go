package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/rules"
)

// Config tunes the engine. The zero value means the defaults.
type Config struct {
	// Deadline bounds a whole evaluation's wait for signals (default 50ms).
	Deadline time.Duration `yaml:"deadline"`
	// StateBudget bounds the velocity/profile read (default: Deadline).
	StateBudget time.Duration `yaml:"state_budget"`
	// SignalBudgets bound individual signals by name (default: Deadline).
	SignalBudgets map[string]time.Duration `yaml:"signal_budgets"`
	// UnavailableFloor is the least decision while any configured signal
	// is unavailable (default step_up: never passwordless on partial data).
	UnavailableFloor *risk.Action `yaml:"unavailable_floor"`
	// DeviceUsersCounter names the distinct counter that feeds device.users
	// (default device_users_30d; empty string in the file keeps the default).
	DeviceUsersCounter string `yaml:"device_users_counter"`
}

func (c *Config) defaults() {
	if c.Deadline <= 0 {
		c.Deadline = 50 * time.Millisecond
	}
	if c.StateBudget <= 0 || c.StateBudget > c.Deadline {
		c.StateBudget = c.Deadline
	}
	if c.UnavailableFloor == nil {
		f := risk.StepUp
		c.UnavailableFloor = &f
	}
	if c.DeviceUsersCounter == "" {
		c.DeviceUsersCounter = "device_users_30d"
	}
}

// Deps are the engine's collaborators.
type Deps struct {
	Clock   clock.Clock
	Rules   *rules.Source
	State   StateStore
	Devices DeviceIdentifier
	// Counters is the catalogue State was built with; the rules' schema
	// must have been built from the same names.
	Counters []CounterSpec
	Signals  []Signal
	Sink     DecisionSink
	Metrics  *Metrics
	Logger   *slog.Logger
	// Familiarity is the familiarity model behind the familiarity rule
	// namespace; nil leaves the namespace unavailable (and floors
	// nothing). The state store must update histories with the same model
	// (ProfileLimits.Familiarity).
	Familiarity *familiarity.Model
	// FamiliarityGlobal holds the global value frequencies the model
	// scores against and successful sign-ins feed; nil with a model means
	// a fresh in-process familiarity.Global of the default size. It must
	// be nil when State keeps the counts (FamiliarityCountsKeeper).
	FamiliarityGlobal FamiliarityGlobal
	// UserAgentLabels labels user agents for the familiarity model
	// (required with Familiarity): the device identifier's cache
	// (ualabel.Cache.ReleaseLabels), so that an evaluation parses its
	// user agent once.
	UserAgentLabels familiarity.LabelFunc
}

// DecisionSink receives every decision after it was made, off the
// request's critical path (engine/alert implements it with a bounded
// queue); Publish must not block.
type DecisionSink interface {
	Publish(d *Decision)
}

// Engine evaluates events. It is safe for concurrent use.
type Engine struct {
	cfg         Config
	clock       clock.Clock
	rules       *rules.Source
	state       StateStore
	stateInline bool
	devices     DeviceIdentifier
	counters    []CounterSpec
	deviceUsers int // index of DeviceUsersCounter, -1 when absent
	inline      []Signal
	async       []Signal
	signals     []Signal // inline then async: the order of the results slice
	sink        DecisionSink
	m           *Metrics
	series      map[string]signalSeries // by signal name, when m is set
	log         *slog.Logger
	fam         *famScorer // nil without a familiarity model
}

// New builds an engine.
func New(cfg Config, d Deps) (*Engine, error) {
	cfg.defaults()
	if d.Rules == nil || d.State == nil || d.Devices == nil {
		return nil, errors.New("engine: Rules, State and Devices are required")
	}
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if err := ValidateCounters(d.Counters); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	schemaNames := d.Rules.Current().Schema().Counters()
	if strings.Join(schemaNames, ",") != strings.Join(CounterNames(d.Counters), ",") {
		return nil, errors.New("engine: the rule schema was built for a different counter catalogue")
	}
	e := &Engine{cfg: cfg, clock: d.Clock, rules: d.Rules, state: d.State, devices: d.Devices,
		counters: d.Counters, sink: d.Sink, m: d.Metrics, log: d.Logger, deviceUsers: -1}
	if in, ok := d.State.(interface{ Inline() bool }); ok {
		e.stateInline = in.Inline()
	}
	for i, c := range d.Counters {
		if c.Name == cfg.DeviceUsersCounter {
			e.deviceUsers = i
		}
	}
	seen := map[string]bool{"velocity": true, "user": true, "device": true}
	for _, s := range d.Signals {
		if seen[s.Name()] {
			return nil, fmt.Errorf("engine: signal name %q used twice", s.Name())
		}
		seen[s.Name()] = true
		if s.Inline() {
			e.inline = append(e.inline, s)
		} else {
			e.async = append(e.async, s)
		}
	}
	e.signals = append(append([]Signal(nil), e.inline...), e.async...)
	if d.Familiarity != nil {
		fs, err := newFamScorer(d.Familiarity, d.FamiliarityGlobal, d.UserAgentLabels, d.State)
		if err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		e.fam = fs
	}
	if e.m != nil {
		e.m.setRuleSet(d.Rules.Current())
		e.series = map[string]signalSeries{"velocity": e.m.signalSeries("velocity")}
		for _, s := range d.Signals {
			e.series[s.Name()] = e.m.signalSeries(s.Name())
		}
	}
	return e, nil
}

// Rules returns the rule source, for the admin API and reload hooks.
func (e *Engine) Rules() *rules.Source { return e.rules }

// Evaluate decides about one event. It fails only for an invalid event or
// a cancelled context; failing signals make their features unavailable
// and the configured floor applies.
func (e *Engine) Evaluate(ctx context.Context, ev Event) (*Decision, error) {
	var c evalCall
	if err := e.prepareEvent(&c, &ev); err != nil {
		return nil, err
	}
	e.newDecision(&c)
	e.identify(&c)
	e.runInline(ctx, &c)
	e.newPending(&c)
	deadline, cancel := e.deadline(ctx)
	if cancel != nil {
		defer cancel()
	}
	sigCh := e.startAsync(deadline, &c)
	e.loadState(ctx, deadline, &c)
	e.awaitAsync(deadline, &c, sigCh)
	e.markUnavailable(&c)
	e.applyState(&c)
	e.applyResults(&c)
	e.runRules(&c)
	e.decide(&c)
	e.floor(&c)
	e.recordMatches(ctx, &c)
	e.finish(&c)
	e.report(&c)
	return &c.a.d, nil
}

// Ready reports whether the engine's backends answer.
func (e *Engine) Ready(ctx context.Context) error {
	if err := e.state.Ping(ctx); err != nil {
		return fmt.Errorf("state store: %w", err)
	}
	return nil
}
