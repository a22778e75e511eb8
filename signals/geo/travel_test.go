package geo

import (
	"context"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

func TestHaversine(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		want, tol              float64
	}{
		{"same point", 51.5, -0.12, 51.5, -0.12, 0, 1e-9},
		{"London-Manchester", 51.5072, -0.1276, 53.4808, -2.2426, 262, 3},
		{"London-Sydney", 51.5072, -0.1276, -33.8688, 151.2093, 16994, 30},
		{"London-New York", 51.5072, -0.1276, 40.7128, -74.006, 5570, 20},
		{"antipodes", 0, 0, 0, 180, math.Pi * earthRadiusKm, 1e-6},
		{"across the antimeridian", 0, 179.5, 0, -179.5, 111.2, 0.5},
	}
	for _, c := range cases {
		assert.InDelta(t, c.want, HaversineKm(c.lat1, c.lon1, c.lat2, c.lon2), c.tol, c.name)
	}
}

// user replays sign-ins on a virtual time axis: each successful sign-in is
// recorded in the profile exactly as the engine does (engine.ApplyOutcome).
type user struct {
	t       *testing.T
	g       *Geo
	profile engine.Profile
}

var t0 = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

// signIn evaluates a sign-in from ip at t0+offset and, when ok, records it
// as successful. It returns the geo features the rules saw.
func (u *user) signIn(ip string, offset time.Duration, ok bool) risk.GeoFeatures {
	u.t.Helper()
	at := t0.Add(offset)
	ev := &engine.Event{Kind: engine.KindLogin, UserID: "u1", IP: netip.MustParseAddr(ip), Time: at}
	res, err := u.g.Collect(context.Background(), ev)
	require.NoError(u.t, err)
	var f risk.Features
	p := u.profile // the engine hands Apply a snapshot
	res.Apply(&f, &p, at)
	if ok {
		pe := &engine.Pending{Kind: ev.Kind, At: at, Place: res.(engine.Placer).Place()}
		engine.ApplyOutcome(&u.profile, pe, engine.OutcomeSuccess, engine.DefaultProfileLimits)
	}
	return f.Geo
}

const (
	london       = "192.0.2.1"
	londonV6     = "2001:db8:1::1"
	londonFibre  = "203.0.113.1"
	manchester   = "192.0.2.17"
	paris        = "192.0.2.33"
	berlin       = "192.0.2.49"
	tokyo        = "192.0.2.65"
	sydney       = "192.0.2.81"
	sydneyV6     = "2001:db8:6::1"
	newYork      = "192.0.2.97"
	saoPaulo     = "192.0.2.113"
	melbourne    = "203.0.113.17"
	gbCountry    = "192.0.2.129"
	frCountry    = "192.0.2.145"
	deCountry    = "192.0.2.161"
	usCountry    = "192.0.2.177"
	auCountry    = "192.0.2.193"
	vpnExit      = "198.51.100.1"
	torExit      = "198.51.100.17"
	hostingIP    = "198.51.100.33"
	resiProxy    = "198.51.100.65"
	starlink     = "198.51.100.81"
	mobileIP     = "198.51.100.97"
	inflight     = "198.51.100.113"
	privateIP    = "10.0.0.7"
	cgnatIP      = "100.64.3.4"
	mappedSydney = "::ffff:192.0.2.81"
)

func newUser(t *testing.T, cfg Config) *user {
	return &user{t: t, g: openT(t, cfg)}
}

func TestScenarioLondonThenSydneyIsImpossible(t *testing.T) {
	t.Parallel()
	for _, cfg := range []struct {
		name string
		cfg  Config
	}{{"geoip2", geoip2Config()}, {"flat", flatConfig()}} {
		t.Run(cfg.name, func(t *testing.T) {
			u := newUser(t, cfg.cfg)
			first := u.signIn(london, 0, true)
			assert.Equal(t, -1.0, first.ElapsedHours, "no last login")
			assert.Equal(t, -1.0, first.DistanceKm)
			assert.False(t, first.NewCountry, "no history: nothing is new")
			assert.False(t, first.ImpossibleTravel)

			g := u.signIn(sydney, time.Hour, false)
			// The evidence: both places, both radii, distance, time, speed.
			assert.True(t, g.ImpossibleTravel)
			assert.Equal(t, "AU", g.Country)
			assert.Equal(t, "Sydney", g.City)
			assert.Equal(t, "GB", g.LastCountry)
			assert.Equal(t, "London", g.LastCity)
			assert.Positive(t, g.AccuracyKm)
			assert.Positive(t, g.LastAccuracyKm)
			assert.Equal(t, 1.0, g.ElapsedHours)
			assert.InDelta(t, 16994, g.DistanceKm, 30)
			want := (g.DistanceKm - g.AccuracyKm - g.LastAccuracyKm) / g.ElapsedHours
			assert.InDelta(t, want, g.TravelKmh, 1e-6, "speed uses the uncertainty-adjusted distance")
			assert.Greater(t, g.TravelKmh, float64(DefaultMaxSpeedKmh))
			assert.True(t, g.NewCountry)
			assert.True(t, g.NewASN)
		})
	}
}

func TestScenarioLondonThenSydneyOverIPv6AndMapped(t *testing.T) {
	t.Parallel()
	u := newUser(t, geoip2Config())
	u.signIn(londonV6, 0, true)
	assert.True(t, u.signIn(sydneyV6, 2*time.Hour, false).ImpossibleTravel)
	assert.True(t, u.signIn(mappedSydney, 2*time.Hour, false).ImpossibleTravel)
}

func TestScenarios(t *testing.T) {
	t.Parallel()
	type step struct {
		ip     string
		offset time.Duration
	}
	cases := []struct {
		name       string
		cfg        func() Config
		last, next step
		impossible bool
		check      func(t *testing.T, g risk.GeoFeatures)
	}{
		{name: "London then Manchester an hour later", last: step{london, 0}, next: step{manchester, time.Hour},
			check: func(t *testing.T, g risk.GeoFeatures) {
				assert.InDelta(t, 262, g.DistanceKm, 3)
				assert.Zero(t, g.TravelKmh, "under the minimum distance: not judged")
				assert.False(t, g.NewCountry)
				assert.False(t, g.NewASN)
			}},
		{name: "London then Manchester a minute later", last: step{london, 0}, next: step{manchester, time.Minute}},
		{name: "London then Manchester with no minimum distance, 10 min later", cfg: func() Config {
			c := geoip2Config()
			c.MinDistanceKm = -1
			return c
		}, last: step{london, 0}, next: step{manchester, 10 * time.Minute}, impossible: true, check: func(t *testing.T, g risk.GeoFeatures) {
			assert.InDelta(t, (g.DistanceKm-30)*6, g.TravelKmh, 1e-6)
		}},
		{name: "London then Paris an hour later (Eurostar-plausible)", last: step{london, 0}, next: step{paris, time.Hour}},
		{name: "London then Paris ten minutes later", last: step{london, 0}, next: step{paris, 10 * time.Minute}, impossible: true},
		{name: "London then New York eight hours later (a flight)", last: step{london, 0}, next: step{newYork, 8 * time.Hour}},
		{name: "London then New York three hours later", last: step{london, 0}, next: step{newYork, 3 * time.Hour}, impossible: true},
		{name: "Sydney then Melbourne an hour later (a flight)", last: step{sydney, 0}, next: step{melbourne, time.Hour}},
		{name: "Tokyo then São Paulo a day later", last: step{tokyo, 0}, next: step{saoPaulo, 24 * time.Hour}},
		{name: "Tokyo then São Paulo two hours later", last: step{tokyo, 0}, next: step{saoPaulo, 2 * time.Hour}, impossible: true},
		{name: "same London, new ASN", last: step{london, 0}, next: step{londonFibre, time.Minute}, check: func(t *testing.T, g risk.GeoFeatures) {
			assert.True(t, g.NewASN)
			assert.False(t, g.NewCountry)
			assert.Less(t, g.DistanceKm, 10.0)
		}},
		{name: "out-of-order replay", last: step{london, 2 * time.Hour}, next: step{sydney, time.Hour}, impossible: true, check: func(t *testing.T, g risk.GeoFeatures) {
			assert.Equal(t, 1.0, g.ElapsedHours)
		}},
		{name: "same second", last: step{london, 0}, next: step{sydney, 0}, impossible: true, check: func(t *testing.T, g risk.GeoFeatures) {
			assert.False(t, math.IsInf(g.TravelKmh, 0))
		}},

		// Coarse, country-level locations.
		{name: "two coarse countries with large radii, an hour apart", last: step{frCountry, 0}, next: step{deCountry, time.Hour}, check: func(t *testing.T, g risk.GeoFeatures) {
			assert.Equal(t, 500.0, g.AccuracyKm)
			assert.Equal(t, 500.0, g.LastAccuracyKm)
			assert.Greater(t, g.DistanceKm, 500.0)
			assert.Zero(t, g.TravelKmh)
		}},
		{name: "coarse country then a city of another country, minutes later", last: step{gbCountry, 0}, next: step{paris, 5 * time.Minute}},
		{name: "coarse DE then coarse AU an hour later: even the closest points are too far", last: step{deCountry, 0}, next: step{auCountry, time.Hour}, impossible: true},
		{name: "coarse DE then coarse AU a day later", last: step{deCountry, 0}, next: step{auCountry, 24 * time.Hour}},
		// US territory reaches Hawaii and the Aleutians, so the closest-points
		// bound between "somewhere in the US" and "somewhere in Australia" is
		// too small to call an hour impossible: coarse data stays conservative.
		{name: "coarse US then coarse AU an hour later", last: step{usCountry, 0}, next: step{auCountry, time.Hour}},
		{name: "coarse GB then London, same country", last: step{gbCountry, 0}, next: step{london, time.Minute}},
		{name: "New York then coarse US, same country", last: step{newYork, 0}, next: step{usCountry, time.Minute}},

		// Unreliable networks.
		{name: "London then Tor exit a minute later", last: step{london, 0}, next: step{torExit, time.Minute}, check: func(t *testing.T, g risk.GeoFeatures) {
			assert.True(t, g.Anonymous)
			assert.True(t, g.Tor)
			assert.Zero(t, g.TravelKmh)
			assert.Positive(t, g.DistanceKm)
		}},
		{name: "London then VPN", last: step{london, 0}, next: step{vpnExit, time.Minute}},
		{name: "London then hosting", last: step{london, 0}, next: step{hostingIP, time.Minute}},
		{name: "London then residential proxy", last: step{london, 0}, next: step{resiProxy, time.Minute}},
		{name: "London then Starlink", last: step{london, 0}, next: step{starlink, time.Minute}},
		{name: "Starlink then Sydney", last: step{starlink, 0}, next: step{sydney, time.Minute}},
		{name: "Starlink as an ordinary network when the defaults are dropped", cfg: func() Config {
			c := geoip2Config()
			c.NoDefaultUnreliableASNs = true
			return c
		}, last: step{london, 0}, next: step{starlink, time.Minute}, impossible: true},
		{name: "London then mobile carrier", last: step{sydney, 0}, next: step{mobileIP, time.Minute}},
		{name: "in-flight wifi is an ordinary network unless configured", last: step{newYork, 0}, next: step{inflight, time.Hour}, impossible: true},
		{name: "configured in-flight ASN", cfg: func() Config {
			c := geoip2Config()
			c.UnreliableASNs = []int{64510}
			return c
		}, last: step{newYork, 0}, next: step{inflight, time.Hour}},
		{name: "VPN then home: the VPN place was never remembered", last: step{vpnExit, 0}, next: step{sydney, time.Minute}, check: func(t *testing.T, g risk.GeoFeatures) {
			assert.Equal(t, -1.0, g.DistanceKm)
			assert.Equal(t, "NL", g.LastCountry)
		}},

		// Private addresses.
		{name: "London then a private address", last: step{london, 0}, next: step{privateIP, time.Minute}, check: func(t *testing.T, g risk.GeoFeatures) {
			assert.True(t, g.Available)
			assert.True(t, g.Private)
			assert.Empty(t, g.Country)
			assert.Equal(t, -1.0, g.DistanceKm)
			assert.False(t, g.NewCountry)
			assert.False(t, g.NewASN)
			assert.Equal(t, "GB", g.LastCountry)
		}},
		{name: "CGNAT then Sydney", last: step{cgnatIP, 0}, next: step{sydney, time.Minute}, check: func(t *testing.T, g risk.GeoFeatures) {
			assert.Equal(t, -1.0, g.DistanceKm)
			assert.True(t, g.NewCountry, "the user has history, but no country in it: Sydney is new")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := geoip2Config()
			if c.cfg != nil {
				cfg = c.cfg()
			}
			u := newUser(t, cfg)
			u.signIn(c.last.ip, c.last.offset, true)
			g := u.signIn(c.next.ip, c.next.offset, false)
			assert.Equal(t, c.impossible, g.ImpossibleTravel, "%+v", g)
			if c.check != nil {
				c.check(t, g)
			}
		})
	}
}

func TestNoHistory(t *testing.T) {
	t.Parallel()
	g := openT(t, geoip2Config())
	res, err := g.Collect(context.Background(), &engine.Event{IP: netip.MustParseAddr(sydney)})
	require.NoError(t, err)
	for _, p := range []*engine.Profile{nil, {}} {
		var f risk.Features
		res.Apply(&f, p, t0)
		assert.True(t, f.Geo.Available)
		assert.Equal(t, "AU", f.Geo.Country)
		assert.False(t, f.Geo.NewCountry)
		assert.False(t, f.Geo.NewASN)
		assert.Equal(t, -1.0, f.Geo.ElapsedHours)
		assert.Equal(t, -1.0, f.Geo.DistanceKm)
		assert.False(t, f.Geo.ImpossibleTravel)
	}
}

func TestMarkUnavailable(t *testing.T) {
	t.Parallel()
	g := openT(t, geoip2Config())
	f := risk.Features{Geo: risk.GeoFeatures{Available: true, Country: "GB"}}
	g.MarkUnavailable(&f)
	assert.Equal(t, risk.GeoFeatures{ElapsedHours: -1, DistanceKm: -1, DeviceElapsedHours: -1, DeviceDistanceKm: -1}, f.Geo)
}

func TestUncertaintyRadius(t *testing.T) {
	t.Parallel()
	c, err := Config{}.withDefaults()
	require.NoError(t, err)
	p := newPolicy(&c)
	cases := []struct {
		s      spot
		want   float64
		coarse bool
	}{
		{spot{country: "GB", city: "London", accuracyKm: 10}, 10, false},
		{spot{country: "GB", city: "London", accuracyKm: 0}, DefaultFlatCityAccuracyKm, false},
		{spot{country: "GB", city: "London", accuracyKm: 500}, 1200, true},
		{spot{country: "DE", accuracyKm: 200}, DefaultCountryRadiusKm, true},
		{spot{country: "US", accuracyKm: 1000}, 9900, true},
		{spot{country: "XX"}, DefaultCountryRadiusKm, true},
	}
	for _, c := range cases {
		r, coarse := p.uncertainty(&c.s)
		assert.Equal(t, c.want, r, "%+v", c.s)
		assert.Equal(t, c.coarse, coarse, "%+v", c.s)
	}
}

func TestZeroResult(t *testing.T) {
	t.Parallel()
	r := &Result{Record: Record{IP: netip.MustParseAddr("192.0.2.1"), Country: "GB", City: "London", Latitude: 51.5, Longitude: -0.12, Located: true, AccuracyKm: 10, ASN: 14593}}
	assert.False(t, r.Place().Located, "Starlink (default unreliable ASN) is never remembered as located")
	var f risk.Features
	p := &engine.Profile{Logins: 1, Last: &engine.LastLogin{At: t0, Place: engine.Place{Country: "AU", City: "Sydney", Lat: -33.87, Lon: 151.21, AccuracyKm: 20, Located: true}}}
	r.Apply(&f, p, t0.Add(time.Hour))
	assert.False(t, f.Geo.ImpossibleTravel)
	r.ASN = 64496
	r.Apply(&f, p, t0.Add(time.Hour))
	assert.True(t, f.Geo.ImpossibleTravel)
}

// TestDeviceHistory: the device_* features compare an event with the
// history of its own device, not the user's last sign-in: a device in two
// places at once is two devices (a replayed cookie), whatever the user's
// other devices did in between.
func TestDeviceHistory(t *testing.T) {
	t.Parallel()
	type step struct {
		device, ip string
		offset     time.Duration
	}
	cases := []struct {
		name    string
		history []step
		now     step
		want    func(t *testing.T, g risk.GeoFeatures)
	}{
		{
			name:    "no history for the device",
			history: []step{{"laptop", london, 0}},
			now:     step{"phone", sydney, time.Hour},
			want: func(t *testing.T, g risk.GeoFeatures) {
				assert.True(t, g.ImpossibleTravel, "the user's last sign-in")
				assert.False(t, g.DeviceImpossibleTravel)
				assert.False(t, g.DeviceNewASN)
				assert.Equal(t, -1.0, g.DeviceDistanceKm)
				assert.Equal(t, -1.0, g.DeviceElapsedHours)
			},
		},
		{
			name: "replayed from afar while the user's last sign-in was unlocated",
			// The phone's carrier address has no place of the user's, so
			// the user-level hop is not judged; the laptop's is.
			history: []step{{"laptop", london, 0}, {"phone", mobileIP, time.Hour}},
			now:     step{"laptop", sydney, 2 * time.Hour},
			want: func(t *testing.T, g risk.GeoFeatures) {
				assert.False(t, g.ImpossibleTravel, "the last sign-in was on a carrier")
				assert.True(t, g.DeviceImpossibleTravel)
				assert.InDelta(t, 16994, g.DeviceDistanceKm, 30)
				assert.Equal(t, 2.0, g.DeviceElapsedHours)
				assert.True(t, g.DeviceNewASN)
			},
		},
		{
			name:    "the device stayed while another one travelled",
			history: []step{{"laptop", london, 0}, {"phone", sydney, 30 * time.Hour}},
			now:     step{"laptop", london, 31 * time.Hour},
			want: func(t *testing.T, g risk.GeoFeatures) {
				assert.True(t, g.ImpossibleTravel, "Sydney to London in an hour")
				assert.False(t, g.DeviceImpossibleTravel, "the laptop never left London")
				assert.False(t, g.DeviceNewASN)
				assert.Equal(t, 31.0, g.DeviceElapsedHours)
			},
		},
		{
			name:    "a network the user knows but the device does not",
			history: []step{{"laptop", london, 0}, {"phone", londonFibre, time.Hour}},
			now:     step{"laptop", londonFibre, 3 * time.Hour},
			want: func(t *testing.T, g risk.GeoFeatures) {
				assert.False(t, g.NewASN, "the phone signed in from it")
				assert.True(t, g.DeviceNewASN)
				assert.False(t, g.DeviceImpossibleTravel)
				assert.Equal(t, 3.0, g.DeviceElapsedHours, "since the laptop's own last sign-in, not the phone's")
			},
		},
		{
			name:    "every network of the device is remembered, not only the last",
			history: []step{{"laptop", london, 0}, {"laptop", londonFibre, time.Hour}},
			now:     step{"laptop", london, 2 * time.Hour},
			want: func(t *testing.T, g risk.GeoFeatures) {
				assert.False(t, g.DeviceNewASN)
				assert.Equal(t, 1.0, g.DeviceElapsedHours)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := openT(t, geoip2Config())
			var profile engine.Profile
			eval := func(s step, record bool) risk.GeoFeatures {
				at := t0.Add(s.offset)
				ev := &engine.Event{Kind: engine.KindLogin, UserID: "u1", IP: netip.MustParseAddr(s.ip), Time: at}
				res, err := g.Collect(context.Background(), ev)
				require.NoError(t, err)
				var f risk.Features
				f.Device.ID = s.device
				p := profile
				res.Apply(&f, &p, at)
				if record {
					pe := &engine.Pending{Kind: ev.Kind, At: at, Keys: engine.Keys{Device: s.device}, Place: res.(engine.Placer).Place()}
					engine.ApplyOutcome(&profile, pe, engine.OutcomeSuccess, engine.DefaultProfileLimits)
				}
				return f.Geo
			}
			for _, s := range tc.history {
				eval(s, true)
			}
			tc.want(t, eval(tc.now, false))
		})
	}
}
