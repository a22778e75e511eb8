package engine_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	ja4Chrome  = "t13d1516h2_8daaf6152771_d8a2da3f94cd"
	ja4Firefox = "t13d1717h2_5b57614c22b0_3cbfd9057e0d"
	ja4Safari  = "t13d2013h2_a09f3c656075_7f0f34a4126d"
	firefox    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:145.0) Gecko/20100101 Firefox/145.0"
	iphone     = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/140.0 Mobile/15E148 Safari/604.1"
)

// TestDeviceTraits: a device id that signed in successfully records its
// platform, time zone, languages, screen and JA4; the next sign-in with the
// same cookie is compared with them, as a replayed cookie would be.
func TestDeviceTraits(t *testing.T) {
	t.Parallel()
	desc := func() *engine.DeviceDescriptor {
		return &engine.DeviceDescriptor{CookieID: "erin-laptop-5d1c0b", Platform: "Win32", Timezone: "Europe/Berlin",
			Languages: []string{"de-DE", "de", "en"}, ScreenWidth: 1920, ScreenHeight: 1080}
	}
	for _, tc := range []struct {
		name   string
		change func(ev *engine.Event)
		want   risk.DeviceFeatures
	}{
		{name: "same device", change: func(*engine.Event) {}},
		{name: "harmless differences", change: func(ev *engine.Event) {
			ev.Device.Platform, ev.Device.Timezone, ev.JA4 = " WIN32", "europe/berlin", " "+ja4Chrome
			ev.Device.ScreenWidth, ev.Device.ScreenHeight = 1080, 1920 // rotated
		}},
		{name: "traits not sent", change: func(ev *engine.Event) {
			ev.Device = &engine.DeviceDescriptor{CookieID: ev.Device.CookieID}
			ev.JA4 = ""
		}},
		{name: "replayed cookie, other settings", change: func(ev *engine.Event) {
			ev.Device.Platform, ev.Device.Timezone, ev.Device.Languages = "MacIntel", "America/New_York", []string{"en-US"}
			ev.Device.ScreenWidth = 1440
		}, want: risk.DeviceFeatures{PlatformChanged: true, TimezoneChanged: true, LanguagesChanged: true, ScreenChanged: true, TraitsChanged: 4}},
		{name: "replayed cookie, other TLS stack", change: func(ev *engine.Event) { ev.JA4 = ja4Firefox },
			want: risk.DeviceFeatures{JA4Changed: true}},
		{name: "time zone only", change: func(ev *engine.Event) { ev.Device.Timezone = "Asia/Tokyo" },
			want: risk.DeviceFeatures{TimezoneChanged: true, TraitsChanged: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newEngine(t, options{})
			ctx := context.Background()
			ev := engine.Event{Kind: engine.KindLogin, UserID: "erin", IP: netip.MustParseAddr("192.0.2.50"), UserAgent: chrome,
				Device: desc(), JA4: ja4Chrome}
			d, err := f.engine.Evaluate(ctx, ev)
			require.NoError(t, err)
			assert.Equal(t, risk.DeviceFeatures{}, changes(d.Features.Device), "nothing recorded yet")
			_, err = f.engine.RecordOutcome(ctx, d.EvaluationID, engine.OutcomeSuccess)
			require.NoError(t, err)

			f.clock.Advance(time.Hour)
			next := ev
			next.Device = desc()
			tc.change(&next)
			d, err = f.engine.Evaluate(ctx, next)
			require.NoError(t, err)
			require.True(t, d.Features.Device.Known)
			assert.Equal(t, tc.want, changes(d.Features.Device))
		})
	}
}

// TestDeviceJA4History: a device keeps its last four JA4s, so a browser
// that alternates between two TLS stacks (two edges) is not "changed".
func TestDeviceJA4History(t *testing.T) {
	t.Parallel()
	f := newEngine(t, options{})
	ctx := context.Background()
	signIn := func(ja4 string) risk.DeviceFeatures {
		t.Helper()
		f.clock.Advance(time.Hour)
		d, err := f.engine.Evaluate(ctx, engine.Event{Kind: engine.KindLogin, UserID: "finn", IP: netip.MustParseAddr("192.0.2.51"),
			UserAgent: chrome, Device: &engine.DeviceDescriptor{CookieID: "finn-pc-00aa11"}, JA4: ja4})
		require.NoError(t, err)
		_, err = f.engine.RecordOutcome(ctx, d.EvaluationID, engine.OutcomeSuccess)
		require.NoError(t, err)
		return d.Features.Device
	}
	signIn("t13d1516h2_8daaf6152771_000000000001")
	for i := 2; i <= 5; i++ {
		assert.True(t, signIn("t13d1516h2_8daaf6152771_00000000000"+string(rune('0'+i))).JA4Changed, "JA4 %d is new", i)
	}
	assert.False(t, signIn("t13d1516h2_8daaf6152771_000000000002").JA4Changed, "the second is among the last four")
	assert.True(t, signIn("t13d1516h2_8daaf6152771_000000000001").JA4Changed, "the first was dropped")
}

// TestJA4Stack: the JA4's TLS stack against the user agent's claim.
func TestJA4Stack(t *testing.T) {
	t.Parallel()
	f := newEngine(t, options{})
	for _, tc := range []struct {
		ua, ja4, stack string
		mismatch       bool
	}{
		{chrome, ja4Chrome, "chromium", false},
		{chrome, ja4Firefox, "firefox", true},
		{firefox, ja4Firefox, "firefox", false},
		{firefox, ja4Chrome, "chromium", true},
		{iphone, ja4Safari, "safari", false}, // Chrome on iOS is WebKit with Apple's TLS
		{iphone, ja4Chrome, "chromium", true},
		{chrome, "t13d1812h1_85036bcba153_b26ce05bbdd6", "", false}, // unknown stack: no claim either way
		{"python-requests/2.32.3", ja4Chrome, "chromium", false},    // no browser claimed
		{chrome, "", "", false},
		{chrome, "garbage", "", false},
	} {
		d, err := f.engine.Evaluate(context.Background(), engine.Event{Kind: engine.KindLogin, UserAgent: tc.ua, JA4: tc.ja4})
		require.NoError(t, err)
		assert.Equal(t, tc.ja4, d.Features.Event.JA4)
		assert.Equal(t, tc.stack, d.Features.Event.JA4Stack, "%s / %s", tc.ua, tc.ja4)
		assert.Equal(t, tc.mismatch, d.Features.Event.JA4Mismatch, "%s / %s", tc.ua, tc.ja4)
	}
}

// changes keeps the comparison fields of f.
func changes(f risk.DeviceFeatures) risk.DeviceFeatures {
	return risk.DeviceFeatures{PlatformChanged: f.PlatformChanged, TimezoneChanged: f.TimezoneChanged, LanguagesChanged: f.LanguagesChanged,
		ScreenChanged: f.ScreenChanged, TraitsChanged: f.TraitsChanged, JA4Changed: f.JA4Changed}
}

// TestDevicePlaceHistory: a successful sign-in records its network on the
// device (the last eight, most recent last) and, when it is the device's
// latest, its place without the address; an older sign-in replayed out of
// order does not move the place, and a latest one without a place clears
// it rather than leaving an older place paired with the newer time.
func TestDevicePlaceHistory(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	london := engine.Place{IP: "192.0.2.1", Country: "GB", City: "London", Lat: 51.5, Lon: -0.12, ASN: 64500, Located: true}
	sign := func(p *engine.Profile, pl engine.Place, at time.Time) {
		pe := &engine.Pending{Kind: engine.KindLogin, At: at, Keys: engine.Keys{Device: "laptop"}, Place: pl}
		require.True(t, engine.ApplyOutcome(p, pe, engine.OutcomeSuccess, engine.DefaultProfileLimits))
	}
	for _, tc := range []struct {
		name  string
		steps func(p *engine.Profile)
		asns  []int
		where *engine.Place
	}{
		{name: "one sign-in", steps: func(p *engine.Profile) { sign(p, london, t0) },
			asns: []int{64500}, where: &engine.Place{Country: "GB", City: "London", Lat: 51.5, Lon: -0.12, ASN: 64500, Located: true}},
		{name: "a known network moves to the end", steps: func(p *engine.Profile) {
			sign(p, london, t0)
			other := london
			other.ASN = 64501
			sign(p, other, t0.Add(time.Hour))
			sign(p, london, t0.Add(2*time.Hour))
		}, asns: []int{64501, 64500}, where: &engine.Place{Country: "GB", City: "London", Lat: 51.5, Lon: -0.12, ASN: 64500, Located: true}},
		{name: "at most eight networks", steps: func(p *engine.Profile) {
			for i := range 10 {
				pl := london
				pl.ASN = 64500 + i
				sign(p, pl, t0.Add(time.Duration(i)*time.Hour))
			}
		}, asns: []int{64502, 64503, 64504, 64505, 64506, 64507, 64508, 64509},
			where: &engine.Place{Country: "GB", City: "London", Lat: 51.5, Lon: -0.12, ASN: 64509, Located: true}},
		{name: "an older sign-in does not move the place", steps: func(p *engine.Profile) {
			sign(p, london, t0.Add(time.Hour))
			sign(p, engine.Place{Country: "AU", City: "Sydney", Lat: -33.9, Lon: 151.2, ASN: 64510, Located: true}, t0)
		}, asns: []int{64500, 64510}, where: &engine.Place{Country: "GB", City: "London", Lat: 51.5, Lon: -0.12, ASN: 64500, Located: true}},
		{name: "a latest sign-in without a place clears it", steps: func(p *engine.Profile) {
			sign(p, london, t0)
			sign(p, engine.Place{IP: "192.0.2.9"}, t0.Add(time.Hour))
		}, asns: []int{64500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var p engine.Profile
			tc.steps(&p)
			d := p.Device("laptop")
			require.NotNil(t, d)
			assert.Equal(t, tc.asns, d.ASNs)
			assert.Equal(t, tc.where, d.Where)
		})
	}
}
