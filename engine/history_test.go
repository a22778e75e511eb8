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

// TestLearnHistory: past sign-ins imported with a migrated user make the
// next sign-in from the same device and network a familiar one (no
// step-up for a new device), where a user without that history is
// stepped up; the profile counts them, in time order, with no device
// trusted; bad histories are refused whole.
func TestLearnHistory(t *testing.T) {
	f := newEngine(t, options{})
	ctx := context.Background()
	f.clock.Advance(30 * 24 * time.Hour)
	now := f.clock.Now()
	ip := netip.MustParseAddr("192.0.2.44")
	laptop := &engine.DeviceDescriptor{CookieID: "ann-laptop-5c2a"}
	past := []engine.Event{
		{IP: ip, UserAgent: chrome, Device: laptop, Time: now.Add(-72 * time.Hour)},
		{IP: ip, UserAgent: chrome, Device: laptop, Time: now.Add(-20 * 24 * time.Hour)},
		{IP: ip, UserAgent: chrome, Device: laptop, Time: now.Add(-5 * 24 * time.Hour)},
	}
	n, err := f.engine.LearnHistory(ctx, "ann", past)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	p, err := f.engine.UserProfile(ctx, "ann")
	require.NoError(t, err)
	assert.Equal(t, 3, p.Logins)
	assert.True(t, p.FirstLogin.Equal(past[1].Time), "the earliest")
	require.NotNil(t, p.Last)
	assert.True(t, p.Last.At.Equal(past[0].Time), "the latest")
	require.Len(t, p.Devices, 1)
	assert.False(t, p.Devices[0].Trusted, "trust comes from a step-up passed here")
	assert.NotEmpty(t, p.Familiarity)

	signIn := func(user string) *engine.Decision {
		t.Helper()
		d, err := f.engine.Evaluate(ctx, engine.Event{Kind: engine.KindLogin, UserID: user, IP: ip, UserAgent: chrome, Device: laptop})
		require.NoError(t, err)
		return d
	}
	d := signIn("ann")
	assert.True(t, d.Features.Device.Known, "the imported device")
	assert.Equal(t, risk.Passwordless, d.Action, "a familiar sign-in: %+v", d.Reasons)
	// Dora's imported history is on her phone at home: the laptop, on
	// another network, is new to her.
	phone := &engine.DeviceDescriptor{CookieID: "dora-phone-77e1"}
	_, err = f.engine.LearnHistory(ctx, "dora", []engine.Event{{IP: netip.MustParseAddr("198.51.100.7"), UserAgent: chrome, Device: phone, Time: now.Add(-48 * time.Hour)}})
	require.NoError(t, err)
	d = signIn("dora")
	assert.False(t, d.Features.Device.Known)
	assert.NotEqual(t, risk.Passwordless, d.Action, "a device the history does not know")

	t.Run("refused whole", func(t *testing.T) {
		for name, evs := range map[string][]engine.Event{
			"future":   {past[0], {IP: ip, UserAgent: chrome, Time: now.Add(time.Hour)}},
			"no time":  {{IP: ip, UserAgent: chrome}},
			"too many": make([]engine.Event, engine.MaxPastSignIns+1),
		} {
			t.Run(name, func(t *testing.T) {
				_, err := f.engine.LearnHistory(ctx, "cleo", evs)
				require.Error(t, err)
				p, err := f.engine.UserProfile(ctx, "cleo")
				require.NoError(t, err)
				assert.Zero(t, p.Logins, "nothing learned")
			})
		}
		_, err := f.engine.LearnHistory(ctx, "", past)
		assert.Error(t, err)
	})
}
