package httpapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/rules"
)

func sampleFeatures(t *testing.T) *rules.Features {
	t.Helper()
	schema, err := rules.NewSchema(engine.CounterNames(engine.DefaultCounters()))
	require.NoError(t, err)
	f := schema.NewFeatures()
	f.Event = rules.EventFeatures{Kind: "login", IP: "2001:db8::1", HasUser: true, HourUTC: 23, Headless: true}
	f.User.Available, f.User.Logins, f.User.LastIP = true, 12, "198.51.100.1"
	f.Device.ID, f.Device.AgeDays = "d_0123", 0.000000123
	f.Geo.City, f.Geo.Latitude, f.Geo.Longitude, f.Geo.TravelKmh = "Zürich \"quoted\" <b>&\u2028", 47.3769, -8.5417, 1e22
	f.Breached = rules.BreachedFeatures{Available: true, Checked: true, Password: true, Count: 123456}
	f.Velocity.Available = true
	for i := range f.Velocity.Values {
		f.Velocity.Values[i] = i * 7
	}
	f.Attr = map[string]string{"plan": "pro", "tab\t": "new\nline", "ctl": "\x01\x1f", "z": ""}
	return f
}

// The hand-written encoder renders what encoding/json would: the same JSON
// value (key order and HTML escaping aside).
func TestEncoderMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	fe := newFeatureEncoder()
	f := sampleFeatures(t)
	withShadow := &evaluateResponse{
		EvaluationID: "0190d7a4-0000-7000-8000-000000000000", Decision: "step_up", Score: 45.5,
		Reasons: []reason{
			{Rule: "automation-client", Description: "headless", Score: 45, Alert: "low", Evidence: []evidence{
				{Field: "event.headless", Value: true}, {Field: "event.kind", Value: "login"},
				{Field: "velocity.x", Value: 3}, {Field: "geo.lat", Value: 47.5}, {Field: "n", Value: nil},
				{Field: "i64", Value: int64(-9)}, {Field: "list", Value: []string{"a", "b"}},
			}},
			{Rule: "r2", Description: "", Score: -20, Action: "block"},
		},
		ShadowDecision: "block",
		ShadowReasons:  []reason{{Rule: "s", Description: "shadow", Score: 80}},
		Alert:          "low", Floored: true, Signals: f,
		SignalStatus:   map[string]signalStatus{"velocity": {Available: true, Millis: 0.012}, "geo": {Millis: 50, Error: "timeout"}},
		RuleSetVersion: "d508cf26cfd814fe",
		Time:           time.Date(2026, 11, 28, 13, 4, 5, 123456789, time.UTC),
	}
	plain := &evaluateResponse{EvaluationID: "x", Decision: "passwordless", Reasons: []reason{}, Alert: "none",
		Signals: sampleFeatures(t), SignalStatus: map[string]signalStatus{}, Time: time.Unix(0, 0).UTC()}
	plain.Signals.Attr = nil
	for name, r := range map[string]*evaluateResponse{"full": withShadow, "plain": plain} {
		t.Run(name, func(t *testing.T) {
			got := fe.appendEvaluateResponse(nil, r)
			require.True(t, json.Valid(got), "%s", got)
			want, err := json.Marshal(r)
			require.NoError(t, err)
			var g, w any
			require.NoError(t, json.Unmarshal(got, &g))
			require.NoError(t, json.Unmarshal(want, &w))
			assert.Equal(t, w, g)
		})
	}
}
