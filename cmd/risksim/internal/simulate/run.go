package simulate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/engine/risk"
)

// Config describes one simulation. The zero value of a field means its
// default (see Defaults).
type Config struct {
	// Seed makes the run reproducible: the same seed, configuration, rule
	// file and geo data give a byte-identical report.
	Seed uint64
	// Users is the population size; Logins the number of legitimate
	// sign-ins over Weeks simulated weeks.
	Users, Logins, Weeks int
	// Attacks is the number of account-takeover attempts per attacker
	// model; StuffingWaves and SprayingWaves the number of guessing waves.
	Attacks, StuffingWaves, SprayingWaves int
	// RulesPath is the rule file (empty: the embedded default rules).
	RulesPath string
	// GeoDir is the real-data cache (scripts/fetch-data.sh); empty or
	// without the databases, the bundled fixture is used.
	GeoDir string
	// FamiliarityThreshold is the familiarity score above which the
	// familiarity model asks for re-authentication.
	FamiliarityThreshold float64
	// MaxNets bounds the networks the atlas keeps (default 200,000).
	MaxNets int
	// ReplayJA4 is the TLS stack of the cookie-replaying browser:
	// ReplayJA4Chromium (the default) or ReplayJA4Copied.
	ReplayJA4 string
	// FlatDay turns the time-of-day cycle off: sign-ins uniform over the
	// day, as before it was modelled. NoEmailDomains gives no user an
	// email domain. With both, a seed replays the simulator of before
	// them to the byte (TestPopulationUnchanged).
	FlatDay, NoEmailDomains bool
}

// Defaults fills the zero fields of c.
func (c Config) Defaults() Config {
	c.Users = cmp.Or(c.Users, 10_000)
	c.Logins = cmp.Or(c.Logins, 20*c.Users)
	c.Weeks = cmp.Or(c.Weeks, 12)
	c.Attacks = cmp.Or(c.Attacks, max(100, c.Logins/500))
	c.StuffingWaves = cmp.Or(c.StuffingWaves, max(2, c.Logins/100_000))
	c.SprayingWaves = cmp.Or(c.SprayingWaves, max(2, c.Logins/100_000))
	c.FamiliarityThreshold = cmp.Or(c.FamiliarityThreshold, DefaultFamiliarityThreshold)
	c.MaxNets = cmp.Or(c.MaxNets, 200_000)
	c.ReplayJA4 = cmp.Or(c.ReplayJA4, ReplayJA4Chromium)
	return c
}

// DefaultFamiliarityThreshold is the familiarity score above which the
// familiarity column counts a re-authentication: the placeholder of
// docs/familiarity.md, before tuning.
const DefaultFamiliarityThreshold = -2.0

// SweepThresholds are the familiarity thresholds the report sweeps.
var SweepThresholds = []float64{-5, -4, -3, -2, -1, 0, 1}

type evKind uint8

const (
	evLegit evKind = iota
	evDepart
	evArrive
	evATO
	evWave
)

// event is one scheduled attempt; the attempt itself is built when it is
// replayed, from the state at that time.
type event struct {
	at   int64 // unix nanoseconds
	kind evKind
	a, b int32 // user and trip, model, or wave and address
}

// Sim is a prepared simulation: population, attackers and schedule drawn,
// engine built. Run replays it once.
type Sim struct {
	cfg Config
	rng *rand.Rand
	// arng draws what concerns ReplayModels only (their schedule, victims
	// and attempts), so that they leave rng's stream as it was.
	arng *rand.Rand
	// crng draws what concerns ActiveModels only.
	crng *rand.Rand
	// drng draws the users' email domains and employers, hrng the
	// attackers' time zones: each leaves every other stream as it was.
	drng, hrng *rand.Rand
	email      emailStats
	atlas      *Atlas
	pop        *population
	eng        *Engine
	clock      *clock.Manual
	waves      []*wave
	events     []event
}

// New prepares a simulation: it builds the atlas (the slow part with real
// data: seconds), the engine, the population and the whole schedule.
func New(cfg Config) (*Sim, error) {
	cfg = cfg.Defaults()
	if cfg.Users < 1 || cfg.Logins < cfg.Users || cfg.Weeks < 1 {
		return nil, fmt.Errorf("simulate: want users ≥ 1, logins ≥ users, weeks ≥ 1 (got %d, %d, %d)", cfg.Users, cfg.Logins, cfg.Weeks)
	}
	if cfg.ReplayJA4 != ReplayJA4Chromium && cfg.ReplayJA4 != ReplayJA4Copied {
		return nil, fmt.Errorf("simulate: replay JA4 %q: want %q or %q", cfg.ReplayJA4, ReplayJA4Chromium, ReplayJA4Copied)
	}
	s := &Sim{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x7269736b73696d)), clock: clock.NewManual(Epoch),
		arng: rand.New(rand.NewPCG(cfg.Seed, 0x7265706c6179)), crng: rand.New(rand.NewPCG(cfg.Seed, 0x616374697665)),
		drng: rand.New(rand.NewPCG(cfg.Seed, 0x646f6d61696e)), hrng: rand.New(rand.NewPCG(cfg.Seed, 0x686f757273))}
	var err error
	if s.atlas, err = NewAtlas(cfg.GeoDir, cfg.MaxNets, s.rng); err != nil {
		return nil, err
	}
	period := time.Duration(cfg.Weeks) * 7 * 24 * time.Hour
	s.pop = newPopulation(s.rng, s.atlas, cfg.Users, Epoch, period)
	s.pop.replayJA4, s.pop.flatDay = cfg.ReplayJA4, cfg.FlatDay
	if !cfg.NoEmailDomains {
		s.email = s.pop.assignEmail(s.drng)
	}
	s.schedule(period)
	if s.eng, err = NewEngine(cfg.RulesPath, cfg.GeoDir, s.clock); err != nil {
		return nil, err
	}
	return s, nil
}

// Close releases the engine.
func (s *Sim) Close() error { return s.eng.Close() }

// Atlas returns the address pools, for the report and tests.
func (s *Sim) Atlas() *Atlas { return s.atlas }

// Evaluations is how many attempts Run will evaluate (legitimate typos
// come on top).
func (s *Sim) Evaluations() int { return len(s.events) }

func (s *Sim) schedule(period time.Duration) {
	rng, p := s.rng, s.pop
	start := Epoch.UnixNano()
	span := int64(period)
	var evs []event
	// Trips: a sign-in before leaving and one after landing, the flight
	// in between at airliner speed.
	for ui, u := range p.users {
		home := s.atlas.Net(u.home)
		for ti, tr := range u.trips {
			dep := tr.start.Add(-time.Duration(30+rng.IntN(150)) * time.Minute)
			if dep.After(Epoch) {
				evs = append(evs, event{at: dep.UnixNano(), kind: evDepart, a: int32(ui), b: int32(ti)})
			}
			km := DistanceKm(home, s.atlas.Net(tr.dest))
			u.trips[ti].flight = time.Duration(km/planeSpeedKmh*float64(time.Hour)) + time.Hour
			arr := tr.start.Add(u.trips[ti].flight + time.Duration(30+rng.IntN(90))*time.Minute)
			if arr.UnixNano() < start+span && arr.Before(tr.end) {
				evs = append(evs, event{at: arr.UnixNano(), kind: evArrive, a: int32(ui), b: int32(ti)})
			}
		}
	}
	extra := len(evs)
	main := max(s.cfg.Logins-extra, s.cfg.Logins/2)
	for range main {
		ui := p.pickUser(rng)
		at := start + rng.Int64N(span)
		// Nobody signs in from the plane: a sign-in that falls during a
		// flight happens after landing instead.
		for ti := range p.users[ui].trips {
			tr := &p.users[ui].trips[ti]
			for _, w := range [][2]time.Time{{tr.start, tr.start.Add(tr.flight)}, {tr.end, tr.end.Add(tr.flight)}} {
				if at >= w[0].UnixNano() && at < w[1].UnixNano() {
					at = w[1].UnixNano() + rng.Int64N(int64(time.Hour))
				}
			}
		}
		if !s.cfg.FlatDay {
			at = s.legitTime(p.users[ui], at, start, span)
		}
		evs = append(evs, event{at: at, kind: evLegit, a: int32(ui)})
	}
	// Takeover attempts once histories exist: the last three quarters.
	for mi := range ATOModels {
		for range s.cfg.Attacks {
			evs = append(evs, s.attackEvent(start+span/4+rng.Int64N(span-span/4), mi, start+span/4, start+span))
		}
	}
	for mi := range ReplayModels {
		for range s.cfg.Attacks {
			evs = append(evs, s.attackEvent(start+span/4+s.arng.Int64N(span-span/4), len(ATOModels)+mi, start+span/4, start+span))
		}
	}
	for mi := range ActiveModels {
		for range s.cfg.Attacks {
			evs = append(evs, s.attackEvent(start+span/4+s.crng.Int64N(span-span/4), len(ATOModels)+len(ReplayModels)+mi,
				start+span/4, start+span))
		}
	}
	for _, m := range WaveModels {
		n := s.cfg.StuffingWaves
		if m == Spraying {
			n = s.cfg.SprayingWaves
		}
		for range n {
			t0 := start + rng.Int64N(span-int64(24*time.Hour))
			w := p.newWave(rng, m, time.Unix(0, t0))
			wi := int32(len(s.waves))
			s.waves = append(s.waves, w)
			for ai := range w.addrs {
				t := t0
				k, gapLo, gapHi := 100+rng.IntN(200), 2, 8
				if m == Spraying {
					k, gapLo, gapHi = 40+rng.IntN(80), 20, 90
				}
				for range k {
					t += int64(gapLo+rng.IntN(gapHi-gapLo+1)) * int64(time.Second)
					evs = append(evs, event{at: t, kind: evWave, a: wi, b: int32(ai)})
				}
			}
		}
	}
	slices.SortStableFunc(evs, func(x, y event) int { return cmp.Compare(x.at, y.at) })
	s.events = evs
}

// Run replays the schedule through the engine, one attempt at a time in
// time order, and returns the report. progress, when not nil, is called
// every few thousand attempts with the number done and the total.
func (s *Sim) Run(ctx context.Context, progress func(done, total int)) (*Report, error) {
	if s.events == nil {
		return nil, errors.New("simulate: Run called twice")
	}
	st := &stats{contexts: map[Context]*tally{}, ato: map[Model]*tally{}, atoHist: map[Model]*[5]tally{}, waves: map[Model]*tally{},
		rules: map[string]*RuleRow{}, sweep10: map[*user][]int{}, hours: map[string]*[24]int{},
		groups14: map[string]*tally{}, rules14: map[string]int{}}
	var withHistory []*user
	// byZone are the users with history by their home's UTC offset in
	// hours, for the same-network attacker (replayVictim).
	byZone := map[int32][]*user{}
	// recent are the successful legitimate sign-ins in time order, for
	// the active-device replays.
	var recent []recentLogin
	rng, p := s.rng, s.pop
	for i, e := range s.events {
		if progress != nil && i%20_000 == 0 {
			progress(i, len(s.events))
		}
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		t := time.Unix(0, e.at).UTC()
		s.clock.Set(t)
		switch e.kind {
		case evLegit, evDepart, evArrive:
			u := p.users[e.a]
			var force Context
			if e.kind == evDepart {
				force = CtxHome
				if u.carrier != 0 {
					force = CtxMobile
				}
			} else if e.kind == evArrive {
				force = CtxHotel
				if u.carrier != 0 && rng.IntN(2) == 0 {
					force = CtxRoaming
				}
			}
			l := p.legit(rng, u, t, force)
			if rng.Float64() < shareTypo {
				typo := l.ev
				typo.Password += "x"
				d, err := s.eng.Evaluate(ctx, typo)
				if err != nil {
					return nil, fmt.Errorf("simulate: evaluate: %w", err)
				}
				st.typos++
				if d.Action != risk.Block {
					if err := s.outcome(ctx, d, engine.OutcomeFailure); err != nil {
						return nil, err
					}
				}
			}
			d, err := s.eng.Evaluate(ctx, l.ev)
			if err != nil {
				return nil, fmt.Errorf("simulate: evaluate: %w", err)
			}
			fam := d.Features.Familiarity.Score
			b := bucketOf(u.logins)
			st.legit[b].add(d, fam, &s.cfg, b >= 2)
			if u.logins >= 1 && u.logins <= 4 {
				st.legit14.add(d, fam, &s.cfg, false)
				st.split14(d, fam, &s.cfg, l.ctx, u)
			}
			ct := st.contexts[l.ctx]
			if ct == nil {
				ct = &tally{}
				st.contexts[l.ctx] = ct
			}
			ct.add(d, fam, &s.cfg, false)
			st.hourTally("legit", d)
			s.countRules(st, d, func(r *RuleRow) {
				r.Legit++
				if d.Action == risk.Block {
					r.LegitBlock++
				}
			})

			if u.logins >= 10 {
				u.n10++
				sw := st.sweep10[u]
				if sw == nil {
					sw = make([]int, len(SweepThresholds))
					st.sweep10[u] = sw
				}
				for i, th := range SweepThresholds {
					if fam > th {
						sw[i]++
					}
				}
				if d.Action != risk.Passwordless {
					u.c10++
				}
				if fam > s.cfg.FamiliarityThreshold {
					u.f10++
				}
			}
			o := engine.OutcomeSuccess
			switch d.Action {
			case risk.Block:
				u.blocked = true
				st.blockedLog++
				continue // the user cannot sign in: nothing to learn
			case risk.StepUp:
				o = engine.OutcomeStepUpPassed
			}
			if err := s.outcome(ctx, d, o); err != nil {
				return nil, err
			}
			// The outcome added the login to the user's history and the
			// engine's global counts.
			if u.logins == 0 {
				withHistory = append(withHistory, u)
				z := int32(offsetOf(s.atlas.Net(u.home)) / time.Hour)
				byZone[z] = append(byZone[z], u)
			}
			u.logins++
			recent = append(recent, recentLogin{at: e.at, u: u, d: l.dev})
		case evATO:
			m := TakeoverModels()[e.a]
			if len(withHistory) == 0 {
				st.skipped++
				continue
			}
			var l login
			var v *user
			switch {
			case int(e.a) < len(ATOModels):
				v = withHistory[rng.IntN(len(withHistory))]
				l = p.takeover(rng, m, v, t)
			case int(e.a) < len(ATOModels)+len(ReplayModels):
				v = s.replayVictim(e, m, withHistory, byZone)
				l = p.replay(s.arng, m, v, t)
			default:
				r := pickRecent(s.crng, recent, e.at)
				v = r.u
				l = p.replayDevice(s.crng, m, v, r.d, t)
			}
			d, err := s.eng.Evaluate(ctx, l.ev)
			if err != nil {
				return nil, fmt.Errorf("simulate: evaluate: %w", err)
			}
			// The engine scores the attempt against the victim's history.
			fam := d.Features.Familiarity.Score
			tl := st.ato[m]
			if tl == nil {
				tl = &tally{}
				st.ato[m] = tl
			}
			tl.add(d, fam, &s.cfg, true)
			h := st.atoHist[m]
			if h == nil {
				h = new([5]tally)
				st.atoHist[m] = h
			}
			h[bucketOf(v.logins)].add(d, fam, &s.cfg, false)
			st.hourTally(string(m), d)
			s.countRules(st, d, func(r *RuleRow) {
				r.Takeover++
				if r.ByModel == nil {
					r.ByModel = map[Model]int{}
				}
				r.ByModel[m]++
			})
			// A stepped-up attacker fails the second factor. A missed one
			// would be in; its sign-in is not recorded, so every attempt
			// is measured against the victim's own history.
			if d.Action == risk.StepUp && l.ev.Kind == engine.KindLogin {
				if err := s.outcome(ctx, d, engine.OutcomeStepUpFailed); err != nil {
					return nil, err
				}
			}
		case evWave:
			w := s.waves[e.a]
			l := p.waveAttempt(rng, w, int(e.b), t)
			d, err := s.eng.Evaluate(ctx, l.ev)
			if err != nil {
				return nil, fmt.Errorf("simulate: evaluate: %w", err)
			}
			tl := st.waves[w.model]
			if tl == nil {
				tl = &tally{}
				st.waves[w.model] = tl
			}
			tl.add(d, 0, &s.cfg, false)
			s.countRules(st, d, func(r *RuleRow) { r.Wave++ })
			// A blocked attempt never reaches the password check.
			if d.Action != risk.Block {
				if err := s.outcome(ctx, d, engine.OutcomeFailure); err != nil {
					return nil, err
				}
			}
		}
	}
	if progress != nil {
		progress(len(s.events), len(s.events))
	}
	s.events = nil
	return s.report(st), nil
}

// recentLogin is a successful legitimate sign-in: when, who, on which
// device.
type recentLogin struct {
	at int64
	u  *user
	d  *device
}

// pickRecent draws one of the sign-ins of the last activeWindow before at
// (recent is in time order and not empty), or the latest one when none is
// that recent.
func pickRecent(rng *rand.Rand, recent []recentLogin, at int64) recentLogin {
	from, _ := slices.BinarySearchFunc(recent, at-int64(activeWindow), func(r recentLogin, t int64) int { return cmp.Compare(r.at, t) })
	if from >= len(recent) {
		return recent[len(recent)-1]
	}
	return recent[from+rng.IntN(len(recent)-from)]
}

func (s *Sim) outcome(ctx context.Context, d *engine.Decision, o engine.Outcome) error {
	if _, err := s.eng.RecordOutcome(ctx, d.EvaluationID, o); err != nil {
		return fmt.Errorf("simulate: outcome %s: %w", o, err)
	}
	return nil
}

func (s *Sim) countRules(st *stats, d *engine.Decision, inc func(*RuleRow)) {
	for _, r := range d.Reasons {
		row := st.rules[r.Rule]
		if row == nil {
			row = &RuleRow{Rule: r.Rule}
			st.rules[r.Rule] = row
		}
		inc(row)
	}
}
