// Package clock is the one way riskauth reads the time: every component
// that needs "now" takes a Clock, so that tests, scenario replays, the
// backtester and the simulator run the production code on a virtual
// clock without sleeping (CONVENTIONS.md, "Time is injected").
//
// It imports nothing of riskauth's. It is not a scheduler: timers and
// tickers stay with the goroutines that use them.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// System is the wall clock.
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

var _ Clock = System{}

// Manual is a virtual clock that only moves when told to: scenarios
// advance it, the simulator sets it to each event's time, nothing sleeps.
// It is safe for concurrent use.
type Manual struct {
	mu  sync.Mutex
	now time.Time
}

var _ Clock = (*Manual)(nil)

// NewManual starts a virtual clock at t.
func NewManual(t time.Time) *Manual { return &Manual{now: t} }

// Now returns the virtual time.
func (c *Manual) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t (the simulator jumps to each event's time).
func (c *Manual) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Advance moves the clock forward by d.
func (c *Manual) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
