package simulate

import (
	"errors"
	"fmt"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/signals/breached"
	devicesig "github.com/riskauth/riskauth/signals/device"
	"github.com/riskauth/riskauth/signals/device/ualabel"
	"github.com/riskauth/riskauth/signals/geo"
	"github.com/riskauth/riskauth/signals/velocity"
)

// Engine is the engine under test and what was built for it.
type Engine struct {
	*engine.Engine
	// Geo is the engine's geo signal, for checking what the engine sees.
	Geo *geo.Geo
	// RuleSet is the version (content hash) of the rule set loaded.
	RuleSet string
	closers []func() error
}

// Close releases the velocity store and the geo databases.
func (e *Engine) Close() error {
	var errs []error
	for _, c := range e.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// simDeviceKey keys device ids in simulations; ids only have to be stable
// within one run.
var simDeviceKey = []byte("risksim-device-key-0123456789abcdef")

// NewEngine builds the engine the simulation replays traffic through, the
// way internal/daemon builds riskauthd's embedded default: the default counter
// catalogue, in-memory velocity state and profiles with production
// bounds, the real device identifier, the geo signal (real databases from
// geoDir when HasRealData, the bundled fixture otherwise), the
// breached-password signal on the embedded corpus, the default familiarity
// model with an in-process global count (familiarity.score, scored by the
// engine on the histories its profiles keep), the rule file at rulesPath
// (the embedded default rules when empty), on clock. Every
// signal runs inline, so an evaluation never depends on goroutine
// scheduling and a seed gives the same decisions.
func NewEngine(rulesPath, geoDir string, clock *clock.Manual) (*Engine, error) {
	counters := engine.DefaultCounters()
	schema, err := rules.NewSchema(engine.CounterNames(counters))
	if err != nil {
		return nil, fmt.Errorf("simulate: rule schema: %w", err)
	}
	src, err := rules.NewSource(rules.SourceConfig{Path: rulesPath, Schema: schema})
	if err != nil {
		return nil, fmt.Errorf("simulate: rules: %w", err)
	}
	e := &Engine{RuleSet: src.Current().Version}
	fam, err := familiarity.New(familiarity.Config{})
	if err != nil {
		return nil, fmt.Errorf("simulate: familiarity: %w", err)
	}
	mem, err := velocity.NewMemory(velocity.Config{Counters: counters, ProfileLimits: engine.ProfileLimits{Familiarity: fam}},
		velocity.NewMemProfiles(0), nil)
	if err != nil {
		return nil, fmt.Errorf("simulate: velocity: %w", err)
	}
	e.closers = append(e.closers, mem.Close)
	uaLabels := ualabel.NewCache(0)
	devices, err := devicesig.New(devicesig.Config{Key: simDeviceKey, Labels: uaLabels})
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("simulate: devices: %w", err)
	}
	g, err := geo.Open(GeoConfig(geoDir), clock, nil, nil)
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("simulate: geo: %w", err)
	}
	e.Geo = g
	e.closers = append(e.closers, g.Close)
	bs, err := breached.NewSignal(breached.NewEmbedded(breached.EmbeddedOptions{}), breached.SignalConfig{})
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("simulate: breached: %w", err)
	}
	signals := []engine.Signal{g, bs}
	for _, s := range signals {
		if !s.Inline() {
			e.Close()
			return nil, fmt.Errorf("simulate: signal %s is not inline: results would depend on scheduling", s.Name())
		}
	}
	e.Engine, err = engine.New(engine.Config{}, engine.Deps{Clock: clock, Rules: src, State: mem, Devices: devices,
		Counters: counters, Signals: signals, Familiarity: fam, UserAgentLabels: uaLabels.ReleaseLabels})
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("simulate: engine: %w", err)
	}
	return e, nil
}
