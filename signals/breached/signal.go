package breached

import (
	"context"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// FailurePolicy says what the signal reports when its checker cannot
// answer (an error, or the engine's deadline).
type FailurePolicy string

// Failure policies.
const (
	// FailOpen (default): breached.available is false and breached.password
	// false; rules decide (the engine's unavailable floor already keeps the
	// decision away from passwordless).
	FailOpen FailurePolicy = "open"
	// FailClosed: breached.available is false, breached.checked and
	// breached.password are true: an unchecked password is treated as
	// breached, so rules written for breached passwords apply. Use it where
	// a breached password must never get through (registration, reset).
	FailClosed FailurePolicy = "closed"
)

// SignalName is the signal's namespace in rules and metrics.
const SignalName = "breached"

// SignalConfig configures a Signal.
type SignalConfig struct {
	// FailurePolicy is FailOpen (default) or FailClosed.
	FailurePolicy FailurePolicy
	// Metrics, when set, counts checks.
	Metrics *Metrics
}

// Signal is the breached-password engine signal: it checks the event's
// password with a Checker and fills rules.BreachedFeatures. It is inline
// when the checker is Local (embedded, table, filter, or a Multi of them)
// and runs under the engine's time budget otherwise (range client).
type Signal struct {
	c       Checker
	policy  FailurePolicy
	inline  bool
	metrics *Metrics
}

var (
	_ engine.Signal       = (*Signal)(nil)
	_ engine.Unavailabler = (*Signal)(nil)
	_ engine.Result       = signalResult{}
)

// NewSignal returns the signal for checker c.
func NewSignal(c Checker, cfg SignalConfig) (*Signal, error) {
	if c == nil {
		return nil, fmt.Errorf("breached: nil checker")
	}
	switch cfg.FailurePolicy {
	case "":
		cfg.FailurePolicy = FailOpen
	case FailOpen, FailClosed:
	default:
		return nil, fmt.Errorf("breached: unknown failure policy %q (want %q or %q)", cfg.FailurePolicy, FailOpen, FailClosed)
	}
	return &Signal{c: c, policy: cfg.FailurePolicy, inline: IsLocal(c), metrics: cfg.Metrics}, nil
}

// Name implements engine.Signal.
func (*Signal) Name() string { return SignalName }

// Inline implements engine.Signal.
func (s *Signal) Inline() bool { return s.inline }

// Collect implements engine.Signal. An event without a password yields
// available=true, checked=false. A checker error is returned as is; the
// engine then calls MarkUnavailable, which applies the failure policy.
func (s *Signal) Collect(ctx context.Context, ev *engine.Event) (engine.Result, error) {
	if ev.Password == "" {
		s.metrics.check("skipped")
		return signalResult{f: risk.BreachedFeatures{Available: true}}, nil
	}
	r, err := s.c.Check(ctx, ev.Password)
	if err != nil {
		s.metrics.check("error")
		return nil, fmt.Errorf("breached: %w", err)
	}
	if r.Breached {
		s.metrics.check("breached")
	} else {
		s.metrics.check("clean")
	}
	return signalResult{f: risk.BreachedFeatures{Available: true, Checked: true, Password: r.Breached, Count: r.Count}}, nil
}

// MarkUnavailable implements engine.Unavailabler according to the failure
// policy. The engine only calls it when Collect failed or was late, which
// only happens when a password was presented.
func (s *Signal) MarkUnavailable(f *risk.Features) {
	if s.policy == FailClosed {
		f.Breached = risk.BreachedFeatures{Available: false, Checked: true, Password: true}
		return
	}
	f.Breached = risk.BreachedFeatures{}
}

type signalResult struct {
	f risk.BreachedFeatures
}

// Apply implements engine.Result.
func (r signalResult) Apply(f *risk.Features, _ *engine.Profile, _ time.Time) {
	f.Breached = r.f
}
