package engine

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/riskauth/riskauth/engine/risk"
)

// FamiliarityGlobal is what the engine reads global familiarity
// frequencies from and feeds with successful sign-ins, when the state
// store does not keep them itself (see FamiliarityCountsKeeper).
// *familiarity.Global implements it in process.
type FamiliarityGlobal interface {
	familiarity.GlobalReader
	// Add counts one successful sign-in with the values of x.
	Add(x familiarity.Features)
	// AddUser counts one more user, on a user's first observed sign-in.
	AddUser()
}

var _ FamiliarityGlobal = (*familiarity.Global)(nil)

// FamiliarityCountsKeeper is implemented by a StateStore that keeps the
// global familiarity counts itself, shared by every engine on the same
// backend (velocity.Redis): when KeepsFamiliarityCounts reports true, its
// Load reads the counts for LoadRequest.Pending.Familiarity in the same
// round trip and hands them back in Snapshot.FamiliarityCounts, and its
// RecordOutcome counts a successful sign-in's values. The engine then keeps
// no FamiliarityGlobal of its own (Deps.FamiliarityGlobal must be nil), so
// that instances behind a load balancer score against all sign-ins, not
// each against its own share.
type FamiliarityCountsKeeper interface {
	KeepsFamiliarityCounts() bool
}

// FamiliarityContribution is one feature's part of the familiarity score,
// as a decision's reasons show it: why a login looks unfamiliar. Values
// are this login's (the IP, user agent and device id are in the event
// already); the history holds only hashes.
type FamiliarityContribution struct {
	// Feature is ip, asn, city, country, device_id, user_agent, browser,
	// os or device_type.
	Feature string `json:"feature"`
	// Value is this login's value of the feature.
	Value string `json:"value"`
	// Seen reports whether the user's history has the value; UserWeight
	// is its decayed weight there.
	Seen       bool    `json:"seen"`
	UserWeight float64 `json:"user_weight"`
	// GlobalCount is the estimated number of sign-ins with the value.
	GlobalCount uint64 `json:"global_count"`
	// GlobalProb and UserProb are the smoothed probabilities of the value
	// for an attacker (everybody) and for this user.
	GlobalProb float64 `json:"global_prob"`
	UserProb   float64 `json:"user_prob"`
	// Contribution is the feature's share of familiarity.score, in log10
	// units: positive when the value is likelier for an attacker.
	Contribution float64 `json:"contribution"`
}

// famScorer is the engine's familiarity step: extraction before the state
// load, scoring after it, feeding the global counts after a success.
type famScorer struct {
	model *familiarity.Model
	ext   *familiarity.Extractor
	// global is nil when the state store keeps the counts.
	global FamiliarityGlobal
}

func newFamScorer(m *familiarity.Model, g FamiliarityGlobal, label familiarity.LabelFunc, store StateStore) (*famScorer, error) {
	if label == nil {
		return nil, errors.New("a familiarity model needs UserAgentLabels")
	}
	if k, ok := store.(FamiliarityCountsKeeper); ok && k.KeepsFamiliarityCounts() {
		if g != nil {
			return nil, errors.New("FamiliarityGlobal given, but the state store keeps the global familiarity counts")
		}
		return &famScorer{model: m, ext: familiarity.NewExtractor(label)}, nil
	}
	if g == nil {
		gl, err := familiarity.NewGlobal(familiarity.GlobalConfig{})
		if err != nil {
			return nil, fmt.Errorf("familiarity global counts: %w", err)
		}
		g = gl
	}
	return &famScorer{model: m, ext: familiarity.NewExtractor(label), global: g}, nil
}

// extract returns the login's familiarity values from the event and what
// the inline signals made of it. The user agent's browser, OS and device
// type come from the labeller (Deps.UserAgentLabels): ualabel's cache,
// which the device identifier filled moments before for the same user
// agent, so an evaluation parses it at most once.
func (s *famScorer) extract(ev *Event, keys Keys, place Place) *familiarity.Features {
	in := familiarity.Input{IP: keys.IP, Country: place.Country, City: place.City,
		UserAgent: ev.UserAgent, DeviceID: keys.Device}
	if place.ASN > 0 && place.ASN <= 1<<32-1 {
		in.ASN = uint32(place.ASN)
	}
	x := s.ext.Extract(in)
	return &x
}

// familiarityFeatures scores the login against the history that came with
// the profile into res and fills the familiarity namespace. It returns
// false when the history cannot be read: the namespace then stays
// unavailable and the floor applies, as for a failed signal.
func (e *Engine) familiarityFeatures(f *risk.Features, snap *Snapshot, x *familiarity.Features, at time.Time, res *familiarity.Result) bool {
	var h familiarity.History
	if len(snap.Profile.Familiarity) > 0 {
		if err := h.UnmarshalBinary(snap.Profile.Familiarity); err != nil {
			// The next successful sign-in replaces it (ApplyOutcome).
			e.log.Warn("familiarity history unreadable", "err", err)
			return false
		}
	}
	var g familiarity.GlobalReader
	switch {
	case snap.FamiliarityCounts != nil:
		g = *snap.FamiliarityCounts
	case e.fam.global != nil:
		g = e.fam.global
	default:
		// The store keeps the counts but could not read them: scoring
		// against zeros would pass for a cold start, so the namespace is
		// unavailable and the floor applies.
		e.log.Warn("familiarity global counts not read by the state store")
		return false
	}
	*res = e.fam.model.Score(&h, g, *x, at)
	ff := &f.Familiarity
	ff.Available = true
	ff.Score = res.Score
	ff.ColdStart = res.ColdStart
	ff.Logins = res.Weight
	ff.Prior = res.Prior
	var top familiarity.Contribution
	for _, c := range res.Features {
		if c.Contribution > top.Contribution {
			top = c
		}
	}
	if top.Contribution > 0 {
		ff.Top = top.Feature.String()
	}
	ff.IPLogins = int(min(res.Features[familiarity.FeatureIP].GlobalCount, 1<<31-1))
	ff.ASNLogins = int(min(res.Features[familiarity.FeatureASN].GlobalCount, 1<<31-1))
	return true
}

// attachFamiliarity adds the score's per-feature contributions, most
// suspicious first, to every reason (enforced, shadow, candidate) whose
// rule read a familiarity field, so that the analyst sees why the login
// looked unfamiliar. The list is built once and shared by those reasons.
func attachFamiliarity(res *familiarity.Result, d *Decision) {
	var list []FamiliarityContribution
	attach := func(rs []Reason) {
		for i := range rs {
			if !readsFamiliarity(rs[i].Evidence) {
				continue
			}
			if list == nil {
				ranked := res.Ranked()
				list = make([]FamiliarityContribution, len(ranked))
				for j, c := range ranked {
					list[j] = FamiliarityContribution{Feature: c.Feature.String(), Value: c.Value, Seen: c.Seen,
						UserWeight: c.UserWeight, GlobalCount: c.GlobalCount, GlobalProb: c.GlobalProb,
						UserProb: c.UserProb, Contribution: c.Contribution}
				}
			}
			rs[i].Familiarity = list
		}
	}
	attach(d.Reasons)
	attach(d.Shadow)
	if d.Candidate != nil {
		attach(d.Candidate.Reasons)
	}
}

func readsFamiliarity(ev []risk.Evidence) bool {
	for _, e := range ev {
		if strings.HasPrefix(e.Field, "familiarity.") {
			return true
		}
	}
	return false
}

// observe feeds the global counts with a successful sign-in's values,
// after the store added them to the user's history. A store that keeps
// the counts has counted them already.
func (s *famScorer) observe(p *Pending, o Outcome) {
	if s.global == nil || p == nil || p.Familiarity == nil || (o != OutcomeSuccess && o != OutcomeStepUpPassed) {
		return
	}
	s.global.Add(*p.Familiarity)
	if p.firstObserved {
		s.global.AddUser()
	}
}
