package main

import (
	"context"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/engine/scenario"
	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/signals/standard"
)

// harnessDeviceKey derives device ids in riskctl's throw-away engines. It
// is fixed so that replays and explanations print the same ids every run;
// nothing it derives is ever compared with a real deployment's ids.
const harnessDeviceKey = "riskctl-harness-device-key-32byt"

// harnessDeadline replaces the configured signal deadline in riskctl's
// engines: a replay must give the same answer on a loaded CI machine, and a
// signal marked late there would floor decisions the rules did not make.
const harnessDeadline = 10 * time.Second

// harness is the standard engine (signals/standard, as riskauthd builds
// it) on a virtual clock with fresh in-memory state: in-memory velocity
// and profiles, the real device identifier, the bundled or configured geo
// databases, the embedded breached list. It is what `rules test` replays
// scenarios through and what `rules explain` evaluates an event with.
type harness struct {
	engine *engine.Engine
	clock  *clock.Manual
	source *rules.Source
	std    *standard.Assembly
}

// harnessConfig says how to build a harness.
type harnessConfig struct {
	// Config is the riskauthd configuration (counters, geo databases,
	// engine settings).
	Config *config.Config
	// Schema was built from Config's counters.
	Schema *rules.Schema
	// RulesFile is the rule file; empty means the embedded default.
	RulesFile string
	// Signals names the optional signals to attach ("geo", "breached");
	// nil attaches all of them, as riskauthd does.
	Signals []string
	Start   time.Time
}

func newHarness(hc harnessConfig) (*harness, error) {
	h := &harness{clock: clock.NewManual(hc.Start)}
	// Only what a rule test may depend on is taken from the
	// configuration: no data dir (nothing written, no history loaded),
	// no shadow file, and of the breach chain only the embedded list (a
	// replay neither opens the operator's corpus nor calls the range
	// API). The engine settings are the configured ones, with deadlines
	// that a loaded machine cannot miss.
	cfg := standard.Config{
		Rules:    standard.RulesConfig{File: hc.RulesFile},
		Engine:   hc.Config.Engine,
		Velocity: standard.VelocityConfig{Counters: hc.Config.Velocity.Counters},
		Device:   standard.DeviceConfig{Secret: harnessDeviceKey},
		Breached: standard.BreachedConfig{CaseSensitive: hc.Config.Breached.CaseSensitive},
		Geo:      hc.Config.Geo,
	}
	cfg.Engine.Deadline, cfg.Engine.StateBudget, cfg.Engine.SignalBudgets = harnessDeadline, harnessDeadline, nil
	opts := []standard.Option{standard.WithClock(h.clock), standard.WithSchema(hc.Schema)}
	if hc.Signals != nil {
		opts = append(opts, standard.WithSignals(hc.Signals...))
	}
	std, err := standard.New(cfg, opts...)
	if err != nil {
		return nil, err
	}
	h.std, h.engine, h.source = std, std.Engine, std.Rules
	return h, nil
}

// Close releases what the harness opened.
func (h *harness) Close() { _ = h.std.Close() }

// loadConfig reads the riskauthd configuration riskctl works with. The
// environment is not consulted (beyond -config's default): a rule test must
// not depend on who runs it.
func loadConfig(path string) (*config.Config, error) {
	return config.Load(path, func(string) string { return "" })
}

// replayScenario replays one scenario file through a fresh harness built
// with the rule file; observe sees every decision.
func replayScenario(path string, cfg *config.Config, schema *rules.Schema, rulesFile string, observe func(scenario.Observation)) (*scenario.Report, error) {
	s, err := scenario.Load(path)
	if err != nil {
		return nil, err
	}
	signals := s.Signals
	if signals == nil {
		signals = []string{} // only what the scenario asks for, as the engine's scenario tests do
	}
	h, err := newHarness(harnessConfig{Config: cfg, Schema: schema, RulesFile: rulesFile, Signals: signals, Start: s.Start})
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	defer h.Close()
	rep, err := scenario.Replay(context.Background(), s, h.engine, h.clock, observe)
	if err != nil {
		return rep, fmt.Errorf("scenario %s: %w", path, err)
	}
	return rep, nil
}
