package engine

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSignalStatuses(t *testing.T) {
	var s SignalStatuses
	for _, st := range []SignalStatus{
		{Name: "velocity", Available: true, Millis: 0.2},
		{Name: "geo", Available: true, Millis: 0.01},
		{Name: "breached", Error: "timeout", Millis: 50},
		{Name: "geo", Error: "error"}, // replaces the first geo
	} {
		s.set(st)
	}
	names := make([]string, len(s))
	for i, st := range s {
		names[i] = st.Name
	}
	assert.Equal(t, []string{"breached", "geo", "velocity"}, names)
	geo, ok := s.Get("geo")
	assert.True(t, ok)
	assert.Equal(t, "error", geo.Error)
	_, ok = s.Get("device")
	assert.False(t, ok)

	// JSON: the object a map would give, and back.
	b, err := json.Marshal(s)
	require.NoError(t, err)
	m := map[string]SignalStatus{}
	for _, st := range s {
		m[st.Name] = SignalStatus{Available: st.Available, Millis: st.Millis, Error: st.Error}
	}
	want, err := json.Marshal(m)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(b))
	assert.Equal(t, string(want), string(b), "same key order as encoding/json's sorted map keys")
	var back SignalStatuses
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, s, back)

	b, err = json.Marshal(SignalStatuses(nil))
	require.NoError(t, err)
	assert.Equal(t, "null", string(b))
}
