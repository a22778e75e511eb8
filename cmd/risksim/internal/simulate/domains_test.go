package simulate

import (
	"math"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDiurnal checks the time-of-day transform: it keeps the local day,
// spreads uniform instants over the hours as hourWeights says, and is
// a function of its inputs alone (no random draw).
func TestDiurnal(t *testing.T) {
	t.Parallel()
	sum := 0.0
	for _, w := range hourWeights {
		sum += w
	}
	for _, off := range []time.Duration{-8 * time.Hour, 0, 5 * time.Hour, 9 * time.Hour} {
		t.Run(off.String(), func(t *testing.T) {
			var hist [24]int
			const n = 24_000
			day := Epoch.Add(48 * time.Hour).Add(-off).UnixNano() // a local midnight
			for i := range n {
				at := day + int64(i)*(int64(24*time.Hour)/n)
				got := diurnal(at, off)
				require.Equal(t, got, diurnal(at, off))
				local := time.Unix(0, got).UTC().Add(off)
				require.Equal(t, time.Unix(0, day).UTC().Add(off).YearDay(), local.YearDay(), "same local day")
				hist[local.Hour()]++
			}
			for h, c := range hist {
				assert.InDelta(t, hourWeights[h]/sum, float64(c)/n, 0.001, "hour %d", h)
			}
		})
	}
}

func TestLocalHour(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		utc  int
		lon  float64
		want int
	}{{12, 0, 12}, {3, -74, 22}, {22, 139.7, 7}, {0, -122.4, 16}, {23, 77.2, 4}} {
		assert.Equal(t, c.want, localHour(c.utc, c.lon), "%d UTC at %g", c.utc, c.lon)
		assert.Equal(t, c.want, ((c.utc + int(math.Round(c.lon/15)) + 24) % 24), "the rule expression's form")
	}
}

// TestEmailDomains checks the email domains on a fixture population: free-
// mail domains are the engine's, corporate ones are keyed, colleagues
// share their employer's office, and every event naming a user carries
// the domain as authn sends it.
func TestEmailDomains(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Seed: 4, Users: 2000, Logins: 4000, Attacks: 1})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	for cc, mix := range freeMail {
		for _, m := range mix {
			assert.True(t, engine.IsFreeMail(m.d), "%s: %s is in engine/freemail.txt", cc, m.d)
		}
	}
	offices := map[string]*user{}
	corporate := 0
	for _, u := range s.pop.users {
		require.Equal(t, u.domain, engine.EmailDomain(u.domain), "a normalised domain")
		require.Equal(t, u.domain, u.attrs[engine.AttrEmailDomain])
		if engine.IsFreeMail(u.domain) {
			continue
		}
		corporate++
		require.GreaterOrEqual(t, u.work, 0, "a work address needs a workplace")
		if first, ok := offices[u.domain]; ok {
			assert.Equal(t, first.work, u.work, "colleagues share the office network")
			assert.Equal(t, first.workIP, u.workIP, "and its address")
		} else {
			offices[u.domain] = u
		}
	}
	assert.Equal(t, s.email.corporate, corporate)
	assert.InDelta(t, shareWork*shareWorkEmail, float64(corporate)/float64(len(s.pop.users)), 0.03)
	assert.Less(t, s.email.companies, corporate, "some employers have several users")

	at := Epoch.Add(40 * 24 * time.Hour)
	v := s.pop.users[0]
	for _, m := range ATOModels {
		assert.Equal(t, v.attrs, s.pop.takeover(s.rng, m, v, at).ev.Attributes, "%s carries the victim's domain", m)
	}
	for _, m := range ReplayModels {
		assert.Equal(t, v.attrs, s.pop.replay(s.arng, m, v, at).ev.Attributes, "%s carries the victim's domain", m)
	}
	assert.Equal(t, v.attrs, s.pop.legit(s.rng, v, at, "").ev.Attributes)

	off, err := New(Config{Seed: 4, Users: 200, Logins: 400, Attacks: 1, NoEmailDomains: true})
	require.NoError(t, err)
	t.Cleanup(func() { off.Close() })
	assert.Nil(t, off.pop.users[0].attrs, "no email domains: no attribute")
}
