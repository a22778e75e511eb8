package engine

import (
	"context"
	"time"

	"github.com/riskauth/riskauth/engine/risk"
)

// Signal is one source of features (geo, breached password, ...). The
// engine calls Collect for every evaluation: inline signals on the caller's
// goroutine before anything else (they must be cheap, in-process and
// non-blocking), the others concurrently under their time budget.
//
// Collect must not write to anything shared with the engine: it returns a
// Result and the engine applies it once all signals are in, so a late
// signal can simply be dropped.
type Signal interface {
	// Name is the signal's namespace in rules and metrics ("geo").
	Name() string
	// Inline reports whether Collect is cheap enough to run on the caller's goroutine.
	Inline() bool
	Collect(ctx context.Context, ev *Event) (Result, error)
}

// Result is what a Signal found for one event.
type Result interface {
	// Apply writes the signal's features. It runs after every signal has
	// answered or timed out, with the user's profile (zero when unknown or
	// unavailable) and the event time, so a signal can compare the event
	// with the user's history (new country, travel speed).
	Apply(f *risk.Features, p *Profile, at time.Time)
}

// Unavailabler is implemented by signals that can mark their features as
// unavailable when Collect failed or was late. Signals that do not
// implement it leave their namespace zero, which already reads as
// unavailable.
type Unavailabler interface {
	MarkUnavailable(f *risk.Features)
}

// Placer is implemented by results that know where the client is; the
// engine keeps the place with the pending evaluation so that a successful
// outcome can become the user's last-known location.
type Placer interface {
	Place() Place
}
