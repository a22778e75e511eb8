package wire

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/rules"
)

func sampleFeatures(t *testing.T) *risk.Features {
	t.Helper()
	schema, err := rules.NewSchema(engine.CounterNames(engine.DefaultCounters()))
	require.NoError(t, err)
	f := schema.NewFeatures()
	f.Event = risk.EventFeatures{Kind: "login", IP: "2001:db8::1", HasUser: true, HourUTC: 23, Headless: true}
	f.User.Available, f.User.Logins, f.User.LastIP = true, 12, "198.51.100.1"
	f.Device.ID, f.Device.AgeDays = "d_0123", 0.000000123
	f.Geo.City, f.Geo.Latitude, f.Geo.Longitude, f.Geo.TravelKmh = "Zürich \"quoted\" <b>&\u2028", 47.3769, -8.5417, 1e22
	f.Breached = risk.BreachedFeatures{Available: true, Checked: true, Password: true, Count: 123456}
	f.Velocity.Available = true
	for i := range f.Velocity.Values {
		f.Velocity.Values[i] = i * 7
	}
	f.Attr = map[string]string{"plan": "pro", "tab\t": "new\nline", "ctl": "\x01\x1f", "z": ""}
	return f
}

// sampleDecisions are decisions that exercise every part of the answer.
func sampleDecisions(t *testing.T) map[string]*engine.Decision {
	t.Helper()
	withShadow := &engine.Decision{
		EvaluationID: "0190d7a4-0000-7000-8000-000000000000", Action: risk.StepUp, Score: 45.5,
		Reasons: []engine.Reason{
			{Rule: "automation-client", Description: "headless", Score: 45, Alert: "low", Evidence: []risk.Evidence{
				{Field: "event.headless", Value: true}, {Field: "event.kind", Value: "login"},
				{Field: "velocity.x", Value: 3}, {Field: "geo.lat", Value: 47.5}, {Field: "n", Value: nil},
				{Field: "i64", Value: int64(-9)}, {Field: "list", Value: []string{"a", "b"}},
				{Field: "nan", Value: math.NaN()}, {Field: "inf32", Value: float32(math.Inf(1))}, {Field: "f32", Value: float32(1.5)},
			}},
			{Rule: "r2", Description: "", Score: -20, Action: "block"},
			{Rule: "r3", Description: "<b>&", Score: math.Inf(1)},
		},
		ShadowAction: risk.Block,
		Shadow:       []engine.Reason{{Rule: "s", Description: "shadow", Score: 80}},
		Alert:        risk.SeverityLow, Floored: true, Features: sampleFeatures(t),
		Signals: engine.SignalStatuses{{Name: "geo", Millis: 50, Error: "timeout"}, {Name: "nan", Millis: math.NaN()},
			{Name: "velocity", Available: true, Millis: 0.012}},
		RuleSetVersion: "d508cf26cfd814fe",
		Time:           time.Date(2026, 11, 28, 13, 4, 5, 123456789, time.FixedZone("CET", 3600)),
	}
	plain := &engine.Decision{EvaluationID: "x", Action: risk.Passwordless, Features: sampleFeatures(t), Time: time.Unix(0, 0)}
	plain.Features.Attr = nil
	shadowAction := &engine.Decision{EvaluationID: "y", Action: risk.Block, ShadowAction: risk.StepUp, Score: math.NaN(),
		Features: sampleFeatures(t), Signals: engine.SignalStatuses{}, Time: time.Unix(1, 5)}
	shadowReasons := &engine.Decision{EvaluationID: "z", Action: risk.StepUp, ShadowAction: risk.StepUp,
		Shadow: []engine.Reason{{Rule: "s", Score: 1}}, Time: time.Unix(2, 0)}
	return map[string]*engine.Decision{"full": withShadow, "plain": plain, "shadow action": shadowAction,
		"shadow reasons": shadowReasons}
}

// The hand-written encoder renders what encoding/json would for the wire
// form of a decision: the same JSON value (key order and HTML escaping
// aside).
func TestEncoderMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	fe := NewEncoder()
	for name, d := range sampleDecisions(t) {
		t.Run(name, func(t *testing.T) {
			got := fe.AppendDecision(nil, d)
			require.True(t, json.Valid(got), "%s", got)
			want, err := json.Marshal(newEvaluateResponse(d))
			require.NoError(t, err)
			var g, w any
			require.NoError(t, json.Unmarshal(got, &g))
			require.NoError(t, json.Unmarshal(want, &w))
			assert.Equal(t, w, g)
		})
	}
}

// A feature set of another schema (other counters) is rendered with its
// own counter names, not the cached ones of the last.
func TestEncoderVelocityKeysFollowSchema(t *testing.T) {
	t.Parallel()
	fe := NewEncoder()
	for _, names := range [][]string{{"a_1m", "b_1h"}, {"c_1d"}, {"a_1m", "b_1h"}, {}} {
		schema, err := rules.NewSchema(names)
		require.NoError(t, err)
		f := schema.NewFeatures()
		for i := range f.Velocity.Values {
			f.Velocity.Values[i] = i + 1
		}
		var got struct {
			Velocity map[string]any `json:"velocity"`
		}
		require.NoError(t, json.Unmarshal(fe.appendFeatures(nil, f), &got))
		want := map[string]any{"available": false}
		for i, n := range names {
			want[n] = float64(i + 1)
		}
		assert.Equal(t, want, got.Velocity)
	}
}

// evaluateResponse is the 200 body of POST /v1/risk/evaluate as a Go
// value: the reference AppendDecision is held to (encoding/json of this
// value, TestEncoderMatchesEncodingJSON). It is declared here, not
// borrowed from engine.Decision, so that the wire contract changes only on
// purpose (and with openapi.json).
type evaluateResponse struct {
	EvaluationID string  `json:"evaluation_id"`
	Decision     string  `json:"decision"`
	Score        float64 `json:"score"`
	// Reasons are the enforced rules that matched, most decisive first;
	// never null.
	Reasons []reason `json:"reasons"`
	// ShadowDecision and ShadowReasons are present when shadow rules
	// matched: what they would have decided. Never applied.
	ShadowDecision string   `json:"shadow_decision,omitempty"`
	ShadowReasons  []reason `json:"shadow_reasons,omitempty"`
	// Alert is the highest alert severity among the enforced matches.
	Alert string `json:"alert"`
	// Floored is set when an unavailable signal raised the decision.
	Floored bool `json:"floored"`
	// Signals are the features by namespace, as the rules saw them.
	Signals *risk.Features `json:"signals"`
	// SignalStatus tells per signal whether it answered and how fast.
	SignalStatus   map[string]signalStatus `json:"signal_status"`
	RuleSetVersion string                  `json:"ruleset_version"`
	Time           time.Time               `json:"time"`
}

type reason struct {
	Rule        string     `json:"rule"`
	Description string     `json:"description"`
	Score       float64    `json:"score"`
	Action      string     `json:"action,omitempty"`
	Alert       string     `json:"alert,omitempty"`
	Evidence    []evidence `json:"evidence,omitempty"`
}

type evidence struct {
	Field string `json:"field"`
	Value any    `json:"value"`
}

type signalStatus struct {
	Available bool    `json:"available"`
	Millis    float64 `json:"ms"`
	Error     string  `json:"error,omitempty"`
}

// newEvaluateResponse maps a decision to its wire form, the slow and
// obvious way.
func newEvaluateResponse(d *engine.Decision) *evaluateResponse {
	r := &evaluateResponse{
		EvaluationID:   d.EvaluationID,
		Decision:       d.Action.String(),
		Score:          finite(d.Score),
		Reasons:        reasonsOf(d.Reasons),
		Alert:          d.Alert.String(),
		Floored:        d.Floored,
		Signals:        d.Features,
		SignalStatus:   make(map[string]signalStatus, len(d.Signals)),
		RuleSetVersion: d.RuleSetVersion,
		Time:           d.Time.UTC(),
	}
	if r.Reasons == nil {
		r.Reasons = []reason{}
	}
	if len(d.Shadow) > 0 || d.ShadowAction != d.Action {
		r.ShadowDecision = d.ShadowAction.String()
		r.ShadowReasons = reasonsOf(d.Shadow)
	}
	for _, st := range d.Signals {
		r.SignalStatus[st.Name] = signalStatus{Available: st.Available, Millis: finite(st.Millis), Error: st.Error}
	}
	return r
}

func reasonsOf(rs []engine.Reason) []reason {
	if len(rs) == 0 {
		return nil
	}
	out := make([]reason, len(rs))
	for i, x := range rs {
		out[i] = reason{Rule: x.Rule, Description: x.Description, Score: finite(x.Score), Action: x.Action, Alert: x.Alert}
		if len(x.Evidence) > 0 {
			out[i].Evidence = make([]evidence, len(x.Evidence))
			for j, e := range x.Evidence {
				out[i].Evidence[j] = evidence{Field: e.Field, Value: evidenceValue(e.Value)}
			}
		}
	}
	return out
}

// evidenceValue keeps evidence encodable: a non-finite float becomes null.
func evidenceValue(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil
		}
	}
	return v
}
