package simulate

import (
	"fmt"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/signals/geo"
	"github.com/riskauth/riskauth/signals/standard"
	"github.com/riskauth/riskauth/signals/velocity"
)

// Engine is the engine under test and what was built for it.
type Engine struct {
	*engine.Engine
	// Geo is the engine's geo signal, for checking what the engine sees.
	Geo *geo.Geo
	// RuleSet is the version (content hash) of the rule set loaded.
	RuleSet string
	std     *standard.Assembly
}

// Close releases the velocity store and the geo databases.
func (e *Engine) Close() error { return e.std.Close() }

// simDeviceKey keys device ids in simulations; ids only have to be stable
// within one run.
const simDeviceKey = "risksim-device-key-0123456789abcdef"

// NewEngine builds the engine the simulation replays traffic through:
// riskauthd's standard engine (signals/standard) on its embedded default
// with nothing kept on disk: the default counter catalogue, in-memory
// velocity state and profiles (with fixed bounds, the ones riskauthd had
// before its memory budget: a million counter keys, 200,000 pending
// evaluations, 100,000 profiles, so that a seed's decisions do not depend
// on a budget and a simulation of many users keeps every profile), the real device
// identifier, the geo signal (real databases from geoDir when HasRealData,
// the bundled fixture otherwise), the breached-password signal on the
// embedded corpus, the default familiarity model with an in-process
// global count (familiarity.score, scored by the engine on the histories
// its profiles keep), the rule file at rulesPath (the embedded default
// rules when empty), on clock. Every signal runs inline, so an
// evaluation never depends on goroutine scheduling and a seed gives the
// same decisions.
func NewEngine(rulesPath, geoDir string, clock *clock.Manual) (*Engine, error) {
	cfg := standard.Config{
		Rules:  standard.RulesConfig{File: rulesPath},
		Device: standard.DeviceConfig{Secret: simDeviceKey},
		Geo:    GeoConfig(geoDir),
		Velocity: standard.VelocityConfig{MaxKeys: velocity.DefaultMaxKeys, MaxPending: velocity.DefaultMaxPending,
			ProfileCache: velocity.DefaultProfileCacheSize},
	}
	std, err := standard.New(cfg, standard.WithClock(clock))
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	for _, s := range std.Signals {
		if !s.Inline() {
			_ = std.Close()
			return nil, fmt.Errorf("simulate: signal %s is not inline: results would depend on scheduling", s.Name())
		}
	}
	return &Engine{Engine: std.Engine, Geo: std.Geo, RuleSet: std.Rules.Current().Version, std: std}, nil
}
