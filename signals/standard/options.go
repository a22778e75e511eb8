package standard

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/rules"
)

// Option changes what New wires in besides the configuration: the things
// a caller owns (its clock, logger, registry, sinks), which no
// configuration file can name.
type Option func(*options)

type options struct {
	clock      clock.Clock
	log        *slog.Logger
	reg        prometheus.Registerer
	sink       engine.DecisionSink
	audit      func(rules.Change)
	schema     *rules.Schema
	signals    []string // nil: every optional signal
	signalsSet bool     // WithSignals was given
	// famTicks replaces the familiarity snapshot's ticker: a test sends
	// the periods itself instead of waiting for them.
	famTicks <-chan time.Time
	famSaved chan<- error // receives each periodic snapshot's result
}

// WithClock drives the engine, the geo signal's travel and reload
// checks and the rule source's change times from clk instead of the
// system clock: a replay or a simulation runs the production engine on a
// virtual clock (clock.Manual) with no sleeps.
func WithClock(clk clock.Clock) Option { return func(o *options) { o.clock = clk } }

// WithLogger sends the components' log lines (rule reloads, geo reloads,
// generated secrets, the familiarity snapshot, the breach range client's
// breaker) to log. Without it they are discarded: an embedded engine says
// nothing unless asked to.
func WithLogger(log *slog.Logger) Option { return func(o *options) { o.log = log } }

// WithRegisterer registers the engine's, the velocity store's, the geo
// signal's and the breached signal's metrics on reg, under the names
// riskauthd serves. Without it no metric is kept: a throw-away engine
// must not collide with its host's series.
func WithRegisterer(reg prometheus.Registerer) Option { return func(o *options) { o.reg = reg } }

// WithDecisionSink hands every decision to sink (riskauthd's alert sink
// sends alerts and decision events to Kafka or a spool).
func WithDecisionSink(sink engine.DecisionSink) Option { return func(o *options) { o.sink = sink } }

// WithRuleAudit calls audit after every change of the active or
// candidate rule set, whoever made it (a file edit, an admin promotion),
// so that the caller can record who changed the rules and when.
func WithRuleAudit(audit func(rules.Change)) Option { return func(o *options) { o.audit = audit } }

// WithSchema compiles the rules against schema instead of one New builds
// from the configured counters: a caller that also lints rules or lists
// fields with its own schema (riskctl, with counter documentation) shares
// it. It must have been built from the configured counter catalogue.
func WithSchema(schema *rules.Schema) Option { return func(o *options) { o.schema = schema } }

// WithSignals attaches only the named optional signals ("geo",
// "breached"; none when empty) instead of all of them. A rule test
// replays a scenario with exactly the signals it declares, so that a
// signal it does not describe cannot change its decisions. The device
// identifier, the velocity state and familiarity are always on.
func WithSignals(names ...string) Option {
	return func(o *options) { o.signals, o.signalsSet = slices.Clone(names), true }
}

// Optional signal names, as WithSignals takes them and as the engine
// names their rule namespaces.
const (
	SignalGeo      = "geo"
	SignalBreached = "breached"
)

func (o *options) wants(name string) bool {
	return !o.signalsSet || slices.Contains(o.signals, name)
}

func (o *options) check() error {
	for _, name := range o.signals {
		if name != SignalGeo && name != SignalBreached {
			return fmt.Errorf("unknown signal %q: want geo or breached", name)
		}
	}
	return nil
}
