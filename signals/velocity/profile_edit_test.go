package velocity

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/engine"
)

// TestProfileEditor: on every backend a profile learnt from outcomes reads
// back, an edit that reports a change is stored and one that does not is
// not, a device forgotten and then passed by a step-up is trusted again,
// and a deleted profile reads as none.
func TestProfileEditor(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.open(t, Config{})
			pe := s.(engine.ProfileEditor)
			ctx := t.Context()
			keys := engine.Keys{User: "erin-" + testPrefix(t), Device: "dev-1", IP: "192.0.2.1"}
			_, id := load(t, s, "login", keys, base(), engine.Place{Country: "CH", City: "Zurich", Located: true})
			_, err := s.RecordOutcome(ctx, id, engine.OutcomeStepUpPassed, base())
			require.NoError(t, err)

			p, err := pe.ReadProfile(ctx, keys.User)
			require.NoError(t, err)
			require.Len(t, p.Devices, 1)
			assert.True(t, p.Devices[0].Trusted)

			require.NoError(t, pe.EditProfile(ctx, keys.User, func(p *engine.Profile) bool {
				p.Devices[0].Forgotten, p.Devices[0].Trusted = true, false
				return true
			}))
			require.NoError(t, pe.EditProfile(ctx, keys.User, func(p *engine.Profile) bool {
				p.Logins = 1000 // not stored: no change reported
				return false
			}))
			p, err = pe.ReadProfile(ctx, keys.User)
			require.NoError(t, err)
			assert.True(t, p.Devices[0].Forgotten)
			assert.False(t, p.Devices[0].Trusted)
			assert.Equal(t, 1, p.Logins)

			_, id = load(t, s, "login", keys, base().Add(minute), engine.Place{})
			_, err = s.RecordOutcome(ctx, id, engine.OutcomeStepUpPassed, base().Add(minute))
			require.NoError(t, err)
			p, err = pe.ReadProfile(ctx, keys.User)
			require.NoError(t, err)
			assert.False(t, p.Devices[0].Forgotten, "a passed step-up vouches for the device again")
			assert.True(t, p.Devices[0].Trusted)

			require.NoError(t, pe.DeleteProfile(ctx, keys.User))
			p, err = pe.ReadProfile(ctx, keys.User)
			require.NoError(t, err)
			assert.Equal(t, engine.Profile{}, p)
			require.NoError(t, pe.DeleteProfile(ctx, keys.User), "deleting none is no error")
		})
	}
}
