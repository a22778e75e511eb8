package simulate

import (
	"math"
	"math/rand/v2"
	"time"
)

// The time-of-day cycle (issue 24). People sign in when they are awake:
// a sign-in's time within its local day follows hourWeights in the local
// time of where the person is. The curve is the usual shape of a consumer
// web service's traffic by local hour (trough around 04:00 at about a
// tenth of the evening peak, a morning rise from 06:00, a plateau through
// the working day and an evening peak at 20:00-21:00; Golder and Macy,
// Science 333:1878, 2011, measured it on Twitter in 84 countries, and
// sites' published hourly traffic has the same shape): stylised, not a
// measured login curve. Automated waves keep no hours (uniform).
var hourWeights = [24]float64{
	3.0, 1.8, 1.1, 0.8, 0.7, 0.9, // 00-05
	1.8, 3.2, 4.3, 4.8, 5.0, 5.1, // 06-11
	5.3, 5.2, 5.0, 5.0, 5.1, 5.3, // 12-17
	5.5, 5.9, 6.3, 6.4, 5.6, 4.4, // 18-23
}

// workHours are the local hours (from, to) in which a weekday sign-in may
// come from the workplace.
var workHours = [2]int{8, 18}

// hourCum is the cumulative share of hourWeights at the end of each hour.
var hourCum = func() (c [24]float64) {
	sum := 0.0
	for _, w := range hourWeights {
		sum += w
	}
	acc := 0.0
	for h, w := range hourWeights {
		acc += w / sum
		c[h] = acc
	}
	c[23] = 1
	return c
}()

// offsetOf is a place's offset from UTC: its longitude at 15 degrees an
// hour, to the nearest hour. Real time zones follow it to within about an
// hour in the simulated countries (Spain and France are an hour ahead of
// it, India half an hour); daylight saving time is not modelled.
func offsetOf(n *Net) time.Duration {
	return time.Duration(math.Round(n.Lon/15)) * time.Hour
}

// localHour is the hour of day at longitude lon (the same formula a rule
// can write with event.hour_utc and geo.lon).
func localHour(hourUTC int, lon float64) int {
	return ((hourUTC+int(math.Round(lon/15)))%24 + 24) % 24
}

// diurnal moves an instant drawn uniformly over the period to the same
// local day (at UTC offset off), at the time of day the curve gives the
// uniform time-of-day it had: the inverse of the curve's distribution,
// linear within each hour. It draws no random number, so every stream
// that drew the instant draws as before.
func diurnal(at int64, off time.Duration) int64 {
	const day = int64(24 * time.Hour)
	local := at + int64(off)
	d := floorDiv(local, day)
	frac := float64(local-d*day) / float64(day)
	h := 0
	for h < 23 && frac >= hourCum[h] {
		h++
	}
	lo := 0.0
	if h > 0 {
		lo = hourCum[h-1]
	}
	within := 0.0
	if hourCum[h] > lo {
		within = (frac - lo) / (hourCum[h] - lo)
	}
	tod := (float64(h) + min(within, 0.999999)) * float64(time.Hour)
	return d*day + int64(tod) - int64(off)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Attackers who act by hand keep human hours in their own time zone, not
// the victim's: the infostealer-log buyer, the phisher, the credential
// buyer. Where they are is an assumption, not a measurement: half in
// UTC+1…+3 (Europe, Russia, West Africa), a quarter in UTC+5…+8 (South
// and Southeast Asia), a quarter in UTC−3…−5 (the Americas). The attacker
// on the victim's own network (SameNetwork) lives there and keeps the
// victim's hours; the automated waves keep none.
var attackerOffsets = []struct {
	h int
	w float64
}{{1, 0.5 / 3}, {2, 0.5 / 3}, {3, 0.5 / 3}, {5, 0.25 / 4}, {6, 0.25 / 4}, {7, 0.25 / 4}, {8, 0.25 / 4},
	{-3, 0.25 / 3}, {-4, 0.25 / 3}, {-5, 0.25 / 3}}

// attackerOffset draws a remote attacker's time zone.
func attackerOffset(rng *rand.Rand) time.Duration {
	ws := make([]float64, len(attackerOffsets))
	for i, o := range attackerOffsets {
		ws[i] = o.w
	}
	return time.Duration(attackerOffsets[pickWeighted(rng, ws)].h) * time.Hour
}

// offsetAt is u's UTC offset at t: the trip's destination while away,
// home otherwise.
func (p *population) offsetAt(u *user, t time.Time) time.Duration {
	if tr := u.tripAt(t); tr != nil {
		return offsetOf(p.atlas.Net(tr.dest))
	}
	return offsetOf(p.atlas.Net(u.home))
}

// legitTime moves a legitimate sign-in drawn uniformly at at onto the
// curve in u's local time, kept inside [start, start+span) and off the
// plane (a sign-in the move puts into a flight happens on landing).
func (s *Sim) legitTime(u *user, at, start, span int64) int64 {
	t := clampDay(diurnal(at, s.pop.offsetAt(u, time.Unix(0, at))), start, start+span)
	for ti := range u.trips {
		tr := &u.trips[ti]
		for _, w := range [][2]time.Time{{tr.start, tr.start.Add(tr.flight)}, {tr.end, tr.end.Add(tr.flight)}} {
			if t >= w[0].UnixNano() && t < w[1].UnixNano() {
				t = w[1].UnixNano() + at%int64(time.Hour)
			}
		}
	}
	return t
}

// attackEvent schedules an attempt of TakeoverModels()[mi] drawn at at
// (uniformly in [lo, hi)): with the time-of-day cycle, at the attacker's
// hours. The same-network attacker lives in the zone of a user drawn from
// hrng and attacks a victim of that zone (replayVictim); the zone travels
// in the event.
func (s *Sim) attackEvent(at int64, mi int, lo, hi int64) event {
	e := event{at: at, kind: evATO, a: int32(mi)}
	if s.cfg.FlatDay {
		return e
	}
	var off time.Duration
	if TakeoverModels()[mi] == SameNetwork {
		u := s.pop.users[s.hrng.IntN(len(s.pop.users))]
		off = offsetOf(s.atlas.Net(u.home))
		e.b = int32(off / time.Hour)
	} else {
		off = attackerOffset(s.hrng)
	}
	e.at = clampDay(diurnal(at, off), lo, hi)
	return e
}

// replayVictim draws the victim of a ReplayModels attempt from arng (one
// draw, whatever the model, so the stream stays aligned): among the
// users of the attacker's zone for the same-network attacker with the
// time-of-day cycle, among every user with history otherwise.
func (s *Sim) replayVictim(e event, m Model, withHistory []*user, byZone map[int32][]*user) *user {
	if m == SameNetwork && !s.cfg.FlatDay {
		if vs := byZone[e.b]; len(vs) > 0 {
			return vs[s.arng.IntN(len(vs))]
		}
	}
	return withHistory[s.arng.IntN(len(withHistory))]
}

// clampDay moves t by whole days into [lo, hi).
func clampDay(t, lo, hi int64) int64 {
	const day = int64(24 * time.Hour)
	for t < lo && t+day < hi {
		t += day
	}
	for t >= hi && t-day >= lo {
		t -= day
	}
	return t
}
