package engine

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/rules"
)

// Decision is the engine's answer for one event, with everything needed to
// explain it.
type Decision struct {
	EvaluationID string      `json:"evaluation_id"`
	Action       risk.Action `json:"decision"`
	Score        float64     `json:"score"`
	// Reasons are the enforced rules that matched, most decisive first.
	Reasons []Reason `json:"reasons"`
	// Shadow are shadow rules that matched, and the decision they would
	// have led to; never applied.
	Shadow       []Reason    `json:"shadow_reasons,omitempty"`
	ShadowAction risk.Action `json:"shadow_decision"`
	// Candidate is what the candidate rule set, run in shadow beside the
	// active one on the same features, would have decided; nil when no
	// candidate is loaded. Never applied, never sent to the user.
	Candidate *CandidateDecision `json:"candidate,omitempty"`
	// Alert is the highest alert severity among the enforced matches.
	Alert risk.Severity `json:"alert"`
	// Features is every signal's output, as the rules saw it.
	Features *risk.Features `json:"signals"`
	// Signals tells, per signal, whether it answered and how fast.
	Signals SignalStatuses `json:"signal_status"`
	// Floored is set when an unavailable signal raised the decision to
	// the configured floor.
	Floored        bool          `json:"floored,omitempty"`
	RuleSetVersion string        `json:"ruleset_version"`
	Time           time.Time     `json:"time"`
	Latency        time.Duration `json:"-"`
	// Event is the evaluated event (the password is cleared).
	Event *Event `json:"-"`
	// Keys are the derived keys (user, ip, subnet, device).
	Keys Keys `json:"-"`
}

// CandidateDecision is the would-be decision of the candidate rule set.
type CandidateDecision struct {
	Version string      `json:"version"`
	Action  risk.Action `json:"decision"`
	Score   float64     `json:"score"`
	// Reasons are the candidate's enforced rules that matched, most
	// decisive first.
	Reasons []Reason `json:"reasons"`
	// Floored is set when an unavailable signal raised the candidate's
	// decision to the floor, as it did the active one's.
	Floored bool `json:"floored,omitempty"`
}

// Reason is one matching rule, with the values it read.
type Reason struct {
	Rule        string          `json:"rule"`
	Description string          `json:"description"`
	Score       float64         `json:"score"`
	Action      string          `json:"action,omitempty"`
	Alert       string          `json:"alert,omitempty"`
	Evidence    []risk.Evidence `json:"evidence,omitempty"`
	// Familiarity lists the familiarity score's per-feature
	// contributions, most suspicious first, when the rule read a
	// familiarity field (familiarity.score...): why the login looked
	// unfamiliar. Reasons of one decision share the list.
	Familiarity []FamiliarityContribution `json:"familiarity,omitempty"`
}

// SignalStatus is how one signal fared in an evaluation.
type SignalStatus struct {
	// Name is the signal's name, the key of its entry in JSON.
	Name      string  `json:"-"`
	Available bool    `json:"available"`
	Millis    float64 `json:"ms"`
	Error     string  `json:"error,omitempty"`
}

// SignalStatuses are an evaluation's signal statuses, sorted by name. A
// slice rather than a map: an evaluation has a handful, and building,
// sorting and walking a map per request cost more than the signals' own
// bookkeeping. In JSON it is an object keyed by name, as a map would be.
type SignalStatuses []SignalStatus

// Get returns the named signal's status.
func (s SignalStatuses) Get(name string) (SignalStatus, bool) {
	for _, st := range s {
		if st.Name == name {
			return st, true
		}
	}
	return SignalStatus{}, false
}

// set adds or replaces st, keeping the order by name.
func (s *SignalStatuses) set(st SignalStatus) {
	i, found := slices.BinarySearchFunc(*s, st.Name, func(a SignalStatus, name string) int {
		return strings.Compare(a.Name, name)
	})
	if found {
		(*s)[i] = st
		return
	}
	*s = slices.Insert(*s, i, st)
}

// MarshalJSON writes the statuses as an object keyed by signal name.
func (s SignalStatuses) MarshalJSON() ([]byte, error) {
	if s == nil {
		return []byte("null"), nil
	}
	b := []byte{'{'}
	for i, st := range s {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(st.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(st)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads the object MarshalJSON writes.
func (s *SignalStatuses) UnmarshalJSON(b []byte) error {
	var m map[string]SignalStatus
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		*s = nil
		return nil
	}
	out := make(SignalStatuses, 0, len(m))
	for name, st := range m {
		st.Name = name
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b SignalStatus) int { return strings.Compare(a.Name, b.Name) })
	*s = out
	return nil
}

func reasonsOf(ms []rules.Match) []Reason {
	if len(ms) == 0 {
		return nil
	}
	out := make([]Reason, len(ms))
	for i, m := range ms {
		r := Reason{Rule: m.Rule.ID, Description: m.Rule.Description, Score: m.Rule.Score, Evidence: m.Evidence}
		if m.Rule.HasAction {
			r.Action = m.Rule.Action.String()
		}
		if m.Rule.Alert != risk.SeverityNone {
			r.Alert = m.Rule.Alert.String()
		}
		out[i] = r
	}
	return out
}
