package alert

import (
	"sync"
	"time"

	"github.com/riskauth/riskauth/engine"
)

// aggregator folds repeated alerts into one finding per rule, source and
// window. A credential-stuffing run from one address is thousands of
// blocks a minute; the SOC needs the incident, at once, and its size, not
// thousands of identical findings (CrowdSec reports an attack as one alert
// with an event count for the same reason). The first alert of a group is
// sent at once; the ones after it within the window are counted, and one
// finding with OCSF's count, start_time and end_time stands for them when
// the window closes. Nothing is lost: every decision is still on the
// decisions topic when that is on, and the summary carries the count.
type aggregator struct {
	window time.Duration
	max    int

	mu     sync.Mutex
	groups map[groupID]*group
}

// group is one rule and source within a window.
type group struct {
	start time.Time // decision time of the alert that opened the window
	wall  time.Time // when it opened, by the wall clock, for the sweep
	// Folded alerts since the first: how many, the first and last times,
	// and the latest decision (the summary describes it).
	n           int
	first, last time.Time
	latest      *engine.Decision
}

// summary is a closed group with folded alerts to report.
type summary struct {
	d           *engine.Decision
	n           int
	first, last time.Time
}

func newAggregator(window time.Duration, max int) *aggregator {
	return &aggregator{window: window, max: max, groups: make(map[groupID]*group)}
}

// groupID is the decisive rule and the source: the client address when
// known, else the user. A struct rather than one joined string: no
// allocation per alert.
type groupID struct{ rule, source string }

func groupKey(d *engine.Decision) groupID {
	rule := "decision:" + d.Action.String()
	if len(d.Reasons) > 0 {
		rule = d.Reasons[0].Rule
	}
	src := d.Keys.User
	switch {
	case d.Keys.IP != "": // the engine's canonical form of Event.IP
		src = d.Keys.IP
	case d.Event != nil && d.Event.IP.IsValid():
		src = d.Event.IP.String()
	}
	return groupID{rule, src}
}

// admit reports whether d's finding goes out now, and returns the
// summaries of groups it closed (its own, or others to make room).
func (a *aggregator) admit(d *engine.Decision, wall time.Time) (send bool, closed []summary) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := groupKey(d)
	g := a.groups[k]
	if g != nil && d.Time.Sub(g.start) < a.window && !d.Time.Before(g.start) {
		if g.n == 0 {
			g.first = d.Time
		}
		g.n++
		g.last, g.latest = d.Time, d
		return false, nil
	}
	if g != nil {
		closed = g.close(closed)
	} else if len(a.groups) >= a.max {
		// Bounded: make room by closing the groups that are done, or,
		// under a flood of distinct sources, all of them.
		closed = a.sweepLocked(wall, closed)
		if len(a.groups) >= a.max {
			closed = a.closeAllLocked(closed)
		}
	}
	a.groups[k] = &group{start: d.Time, wall: wall}
	return true, closed
}

// sweep closes the groups whose window has passed by the wall clock.
func (a *aggregator) sweep(wall time.Time) []summary {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sweepLocked(wall, nil)
}

func (a *aggregator) sweepLocked(wall time.Time, out []summary) []summary {
	for k, g := range a.groups {
		if wall.Sub(g.wall) >= a.window {
			out = g.close(out)
			delete(a.groups, k)
		}
	}
	return out
}

// closeAll closes every group, at shutdown.
func (a *aggregator) closeAll() []summary {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closeAllLocked(nil)
}

func (a *aggregator) closeAllLocked(out []summary) []summary {
	for k, g := range a.groups {
		out = g.close(out)
		delete(a.groups, k)
	}
	return out
}

func (g *group) close(out []summary) []summary {
	if g.n == 0 {
		return out
	}
	return append(out, summary{d: g.latest, n: g.n, first: g.first, last: g.last})
}
