package engine_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// TestForgetDevice: a trusted device its owner forgets reads as unknown
// and untrusted, and the next sign-in from it is at least a step-up with
// the forgotten-device reason, although the same sign-in was passwordless
// before; a passed step-up makes it trusted again.
func TestForgetDevice(t *testing.T) {
	f := newEngine(t, options{})
	ctx := context.Background()
	ev := engine.Event{Kind: engine.KindLogin, UserID: "fiona", IP: netip.MustParseAddr("192.0.2.44"), UserAgent: chrome,
		Device: &engine.DeviceDescriptor{CookieID: "fiona-phone-7d1e"}}
	signIn := func(o engine.Outcome) *engine.Decision {
		t.Helper()
		f.clock.Advance(time.Hour)
		d, err := f.engine.Evaluate(ctx, ev)
		require.NoError(t, err)
		_, err = f.engine.RecordOutcome(ctx, d.EvaluationID, o)
		require.NoError(t, err)
		return d
	}
	first := signIn(engine.OutcomeStepUpPassed)
	d := signIn(engine.OutcomeSuccess)
	require.Equal(t, risk.Passwordless, d.Action, "a trusted device: %+v", d.Reasons)
	assert.True(t, d.Features.Device.Trusted)

	found, err := f.engine.ForgetDevice(ctx, "fiona", first.Keys.Device)
	require.NoError(t, err)
	assert.True(t, found)
	found, err = f.engine.ForgetDevice(ctx, "fiona", "no-such-device")
	require.NoError(t, err)
	assert.False(t, found)
	found, err = f.engine.ForgetDevice(ctx, "fiona", first.Keys.Device)
	require.NoError(t, err)
	assert.False(t, found, "forgotten already")
	p, err := f.engine.UserProfile(ctx, "fiona")
	require.NoError(t, err)
	require.Len(t, p.Devices, 1)
	assert.True(t, p.Devices[0].Forgotten)

	d = signIn(engine.OutcomeStepUpPassed)
	assert.Equal(t, risk.StepUp, d.Action)
	assert.False(t, d.Features.Device.Known)
	assert.False(t, d.Features.Device.Trusted)
	var rules []string
	for _, r := range d.Reasons {
		rules = append(rules, r.Rule)
	}
	assert.Contains(t, rules, engine.RuleForgottenDevice)

	d = signIn(engine.OutcomeSuccess)
	assert.Equal(t, risk.Passwordless, d.Action, "trusted again after the step-up: %+v", d.Reasons)

	require.NoError(t, f.engine.ForgetUser(ctx, "fiona"))
	p, err = f.engine.UserProfile(ctx, "fiona")
	require.NoError(t, err)
	assert.Zero(t, p.Logins)
}
