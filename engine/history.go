package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// MaxPastSignIns bounds the past sign-ins one LearnHistory call takes:
// more than the profile keeps anyway (its lists hold 16 devices and
// countries, the familiarity history decays), few enough for one
// read-modify-write.
const MaxPastSignIns = 100

// ErrHistoryInFuture: a past sign-in's time is after the engine's clock.
var ErrHistoryInFuture = errors.New("a past sign-in is in the future")

// LearnHistory teaches the engine a user's successful sign-ins from
// before the user came to riskauth (a migration from another identity
// system), so that migrated users are not all strangers on day one: each
// event (time, IP, user agent, device descriptor; Kind and UserID are
// set here) is identified and placed exactly as Evaluate would (the same
// device identifier, the inline signals' geo and network), and all of
// them are added to the user's profile — devices, countries, networks,
// last sign-in and familiarity history — in one read-modify-write, as
// successful outcomes in time order. The event time is required and may
// not be in the future.
//
// What it does not do, on purpose: no rule runs and no decision is made
// or published (nothing reaches the decisions topic or the alerts); no
// velocity counter moves (past sign-ins are outside every window that
// matters and would count against the user); no device becomes trusted
// (trust comes from a step-up passed here); and the population's
// familiarity counts are left to live sign-ins, so that an import does
// not make its own users' values look common. The profile lists are
// bounded by DefaultProfileLimits, as the standard state stores bound
// them. It returns how many sign-ins were learned.
func (e *Engine) LearnHistory(ctx context.Context, user string, past []Event) (int, error) {
	pe, err := e.profileEditor()
	if err != nil {
		return 0, err
	}
	if user == "" {
		return 0, errors.New("engine: learn history: no user")
	}
	if len(past) > MaxPastSignIns {
		return 0, fmt.Errorf("engine: learn history: %d past sign-ins, at most %d", len(past), MaxPastSignIns)
	}
	now := e.clock.Now()
	pending := make([]*Pending, 0, len(past))
	for i := range past {
		p, err := e.pastPending(ctx, user, past[i], now)
		if err != nil {
			return 0, fmt.Errorf("engine: learn history: sign-in %d: %w", i+1, err)
		}
		pending = append(pending, p)
	}
	if len(pending) == 0 {
		return 0, nil
	}
	slices.SortStableFunc(pending, func(a, b *Pending) int { return a.At.Compare(b.At) })
	lim := DefaultProfileLimits
	if e.fam != nil {
		lim.Familiarity = e.fam.model
	}
	err = pe.EditProfile(ctx, user, func(p *Profile) bool {
		changed := false
		for _, x := range pending {
			changed = ApplyOutcome(p, x, OutcomeSuccess, lim) || changed
		}
		return changed
	})
	if err != nil {
		return 0, fmt.Errorf("engine: learn history: %w", err)
	}
	return len(pending), nil
}

// pastPending is what Evaluate would have kept of ev for its outcome: the
// same phases up to the pending evaluation, without the state read, the
// asynchronous signals or the rules.
func (e *Engine) pastPending(ctx context.Context, user string, ev Event, now time.Time) (*Pending, error) {
	if ev.Time.IsZero() {
		return nil, errors.New("no time")
	}
	ev.Kind, ev.UserID, ev.Identifier = KindLogin, user, ""
	var c evalCall
	if err := e.prepareEvent(&c, &ev); err != nil {
		return nil, err
	}
	if c.at.After(now) {
		return nil, ErrHistoryInFuture
	}
	e.newDecision(&c)
	e.identify(&c)
	e.runInline(ctx, &c)
	e.newPending(&c)
	p := c.a.pending
	return &p, nil
}
