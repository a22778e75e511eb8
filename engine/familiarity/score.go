package familiarity

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Config parameterises a Model. The zero value selects every default.
type Config struct {
	// HalfLife is how long it takes a login's weight in a history to halve;
	// default 90 days. Old habits fade: a value last used a year ago
	// (four half-lives) weighs 1/16 of a value used yesterday.
	HalfLife time.Duration
	// Cap is the number of values kept per feature and user, 1..MaxCap;
	// default 16.
	Cap int
	// MinWeight drops a value from a history once its decayed weight falls
	// below it (default 0.05: one login, about 4.3 half-lives ago), so
	// histories shrink back after travel.
	MinWeight float64
	// MinLogins is the history size below which Result.ColdStart is set;
	// default 3. The score is still computed from the first login on.
	MinLogins uint64
	// MinGlobalLogins is the global total below which Result.ColdStart is
	// set, because global frequencies are not yet meaningful; default 1000.
	MinGlobalLogins uint64
	// NoveltyFactor is the group ratio (global / user probability) given
	// to a group none of whose values the user has ever used, when
	// smoothing would give less; default 4 (Wiefling et al.'s rule).
	NoveltyFactor float64
	// Weights mixes the levels of each group; all zero selects
	// DefaultWeights(). Weights must be ≥ 0 with a positive sum per group;
	// they are used as given (not normalised).
	Weights [NumFeatures]float64
}

// DefaultWeights returns the level weights of each group. The network group
// takes Wiefling et al.'s IP/ASN/country weights (0.6/0.3/0.1) and gives
// 0.1 of the ASN's share to the city, which their data set lacked; the
// client group takes their UA/browser/OS/device-type weights as published
// with their implementation; the device group has one level. They are
// starting points for the simulator to tune, not measurements on
// riskauth's traffic.
// (A function, not a variable, so that no caller can change the defaults
// of every other.)
func DefaultWeights() [NumFeatures]float64 {
	return [NumFeatures]float64{
		FeatureIP:         0.6,
		FeatureASN:        0.2,
		FeatureCity:       0.1,
		FeatureCountry:    0.1,
		FeatureDeviceID:   1,
		FeatureUserAgent:  0.5387,
		FeatureBrowser:    0.2680,
		FeatureOS:         0.1882,
		FeatureDeviceType: 0.0051,
	}
}

const (
	defaultHalfLife        = 90 * 24 * time.Hour
	defaultCap             = 16
	defaultMinWeight       = 0.05
	defaultMinLogins       = 3
	defaultMinGlobalLogins = 1000
	defaultNoveltyFactor   = 4
)

// ErrConfig is returned (wrapped) by New for an unusable Config.
var ErrConfig = errors.New("familiarity: invalid config")

// Model scores logins against a user's History and global frequencies and
// updates histories. It is immutable after New and safe for concurrent use
// (the histories it is given are not).
type Model struct {
	cfg      Config
	halfLife float64 // seconds
}

// New returns a Model for cfg, with defaults filled in.
func New(cfg Config) (*Model, error) {
	if cfg.HalfLife == 0 {
		cfg.HalfLife = defaultHalfLife
	}
	if cfg.Cap == 0 {
		cfg.Cap = defaultCap
	}
	if cfg.MinWeight == 0 {
		cfg.MinWeight = defaultMinWeight
	}
	if cfg.MinLogins == 0 {
		cfg.MinLogins = defaultMinLogins
	}
	if cfg.MinGlobalLogins == 0 {
		cfg.MinGlobalLogins = defaultMinGlobalLogins
	}
	if cfg.NoveltyFactor == 0 {
		cfg.NoveltyFactor = defaultNoveltyFactor
	}
	if cfg.Weights == ([NumFeatures]float64{}) {
		cfg.Weights = DefaultWeights()
	}
	var errs []error
	if cfg.HalfLife < 0 {
		errs = append(errs, fmt.Errorf("%w: half-life %v is negative", ErrConfig, cfg.HalfLife))
	}
	if cfg.Cap < 1 || cfg.Cap > MaxCap {
		errs = append(errs, fmt.Errorf("%w: cap %d not in [1, %d]", ErrConfig, cfg.Cap, MaxCap))
	}
	if !(cfg.MinWeight > 0 && cfg.MinWeight < 1) {
		errs = append(errs, fmt.Errorf("%w: min weight %v not in (0, 1)", ErrConfig, cfg.MinWeight))
	}
	if !(cfg.NoveltyFactor >= 1) || math.IsInf(cfg.NoveltyFactor, 0) {
		errs = append(errs, fmt.Errorf("%w: novelty factor %v below 1", ErrConfig, cfg.NoveltyFactor))
	}
	for _, g := range groups {
		sum := 0.0
		for f := g.first; f < g.end; f++ {
			w := cfg.Weights[f]
			if !(w >= 0) || math.IsInf(w, 0) {
				errs = append(errs, fmt.Errorf("%w: weight of %s is %v", ErrConfig, f, w))
			}
			sum += w
		}
		if !(sum > 0) {
			errs = append(errs, fmt.Errorf("%w: weights of the %s group sum to %v", ErrConfig, g.name, sum))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Model{cfg: cfg, halfLife: cfg.HalfLife.Seconds()}, nil
}

// Config returns the model's configuration, defaults filled in.
func (m *Model) Config() Config { return m.cfg }

// Result is the familiarity score of one login and its evidence.
type Result struct {
	// Score is log10 of Freeman et al.'s likelihood ratio
	// p(x|attack)·p(u|attack) / (p(x|u,legit)·p(u|legit)): higher means
	// riskier (less familiar). 0 is "no evidence either way", +1 is "ten
	// times likelier an attacker than this user", -2 "a hundred times
	// likelier this user". It is the sum of Prior and every
	// Features[i].Contribution.
	Score float64
	// Prior is the user term log10(p(u|attack)/p(u|legit)) =
	// log10(Total / (Users·Logins)): positive for users who log in less
	// than the average user (attackers pick users uniformly, legitimate
	// logins come from active users). 0 when there are no global counts.
	Prior float64
	// ColdStart is set when the evidence is thin: the user has fewer than
	// Config.MinLogins logins, or the global counts fewer than
	// Config.MinGlobalLogins. With no history at all Score is 0 (no
	// evidence) and the contributions are zero.
	ColdStart bool
	// Logins is the user's raw login count; Weight the decayed count at
	// the time of the login.
	Logins uint64
	Weight float64
	// Features holds one contribution per feature, in Feature order.
	Features [NumFeatures]Contribution
}

// Contribution is one feature's part of a Score: what the analyst reads to
// see why a login looks unfamiliar.
type Contribution struct {
	// Feature is the feature this part is about.
	Feature Feature
	// Value is the login's value of the feature.
	Value string
	// Seen reports whether the value is in the user's history, and
	// UserWeight is its decayed weight there (0 if not).
	Seen       bool
	UserWeight float64
	// GlobalCount is the estimated number of logins with this value.
	GlobalCount uint64
	// GlobalProb is the smoothed global probability of the value, the
	// model's stand-in for p(value | attacker); UserProb its smoothed
	// probability in this user's history, p(value | user).
	GlobalProb, UserProb float64
	// Weight is the feature's level weight in its group.
	Weight float64
	// Contribution is this feature's share of Score in log10 units:
	// positive when the value is likelier for an attacker than for the
	// user. A group's shares add up to its log10 ratio exactly.
	Contribution float64
}

// Score computes the familiarity score of a login with values x at time at
// for the user whose history is h (nil or empty for a user with no
// history), reading global counts from g. The history must not yet contain
// this login: score first, then Observe after a successful sign-in.
//
// Score does not allocate, fails on nothing and never panics.
func (m *Model) Score(h *History, g GlobalReader, x Features, at time.Time) Result {
	var empty History
	if h == nil {
		h = &empty
	}
	c := g.Lookup(x)
	res := Result{Logins: h.logins}
	N := float64(c.Total)
	decay := decayFactor(h.at, at.Unix(), m.halfLife)
	n := float64(h.total) * decay
	res.Weight = n
	res.ColdStart = h.logins < m.cfg.MinLogins || c.Total < m.cfg.MinGlobalLogins

	for f := Feature(0); f < NumFeatures; f++ {
		v := x.Value(f)
		cf := &res.Features[f]
		cf.Feature, cf.Value, cf.Weight = f, v, m.cfg.Weights[f]
		cf.GlobalCount = c.Freq[f]
		// Global smoothing: an unseen value counts as seen once. With
		// millions of logins the distinct-value term of Freeman's
		// smoothing is negligible and a sketch cannot count it anyway.
		cf.GlobalProb = float64(max(c.Freq[f], 1)) / (N + 1)
		if w, ok := h.weightOf(f, hashValue(v)); ok {
			cf.Seen, cf.UserWeight = true, w*decay
		}
	}
	if h.logins == 0 {
		// No history, no model: p(u|legit) is 0 and every user probability
		// is the same guess. Report the values, claim nothing.
		res.ColdStart = true
		return res
	}
	if c.Users > 0 && c.Total > 0 {
		res.Prior = math.Log10(N / (float64(c.Users) * float64(h.logins)))
	}
	res.Score = res.Prior
	for _, gr := range groups {
		res.Score += m.scoreGroup(h, n, gr, &res.Features)
	}
	return res
}

// scoreGroup fills in the user probabilities and contributions of group gr
// and returns its log10 ratio.
func (m *Model) scoreGroup(h *History, n float64, gr group, cs *[NumFeatures]Contribution) float64 {
	// Freeman's smoothing: for level j, the number of values the user has
	// not used is estimated by U_j = 1 + Σ (distinct kept values of every
	// less specific level): a new IP is likely in a known ASN, or in a
	// new ASN of a known city, and so on. Each unseen slot and each seen
	// value gets a pseudo-count of one:
	//   p_u(v) = (c(v) + 1) / (n + U_j + k_j),  p_u(unseen) = 1 / (n + U_j + k_j).
	unseen := 1.0
	for f := gr.end - 1; f >= gr.first && f < gr.end; f-- {
		k := float64(len(h.vals[f]))
		cf := &cs[f]
		cf.UserProb = (cf.UserWeight + 1) / (n + unseen + k)
		unseen += k
	}
	var pg, pu float64
	anySeen := false
	for f := gr.first; f < gr.end; f++ {
		pg += cs[f].Weight * cs[f].GlobalProb
		pu += cs[f].Weight * cs[f].UserProb
		anySeen = anySeen || cs[f].Seen
	}
	if !anySeen && pg/pu < m.cfg.NoveltyFactor {
		// Wiefling et al.'s edge case: when the user has used none of the
		// group's values, a rare value would otherwise look as unlikely
		// for an attacker as for the user. Each level is then taken to be
		// NoveltyFactor times likelier for an attacker, so the group's
		// ratio is NoveltyFactor and the blame goes to the levels in
		// proportion to their weighted global probability.
		for f := gr.first; f < gr.end; f++ {
			cs[f].UserProb = cs[f].GlobalProb / m.cfg.NoveltyFactor
		}
		pu = pg / m.cfg.NoveltyFactor
	}
	lr := math.Log10(pg) - math.Log10(pu)
	// Attribute lr to the levels exactly with the logarithmic mean
	// (LMDI): log(Σa/Σb) = Σ (a_j - b_j) / L(Σa, Σb), L(a,b) = (a-b)/ln(a/b).
	var scale float64
	if d := pg - pu; math.Abs(d) > 1e-12*pg {
		scale = lr / d
	} else {
		scale = 1 / (pg * math.Ln10)
	}
	for f := gr.first; f < gr.end; f++ {
		cs[f].Contribution = cs[f].Weight * (cs[f].GlobalProb - cs[f].UserProb) * scale
	}
	return lr
}

// Observe records a successful login with values x at time at in h: it
// decays h to at, adds one to each value (evicting the least weighted
// value of a full feature) and to the totals. A nil h is a no-op. The
// caller also adds x to the global counts (Global.Add, and Global.AddUser
// when h.Logins() was 0 before the call).
func (m *Model) Observe(h *History, x Features, at time.Time) {
	if h == nil {
		return
	}
	var hs [NumFeatures]uint64
	for f := Feature(0); f < NumFeatures; f++ {
		hs[f] = hashValue(x.Value(f))
	}
	h.observe(&hs, at.Unix(), &m.cfg)
}

// Ranked returns the contributions from the most suspicious to the most
// reassuring (largest Contribution first): the order in which evidence
// lists them, so that "why" reads from the top.
func (r *Result) Ranked() [NumFeatures]Contribution {
	out := r.Features
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Contribution > out[j-1].Contribution; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
