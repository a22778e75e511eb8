package geo

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/signals/geo/internal/fixturegen"
)

const fixtureDir = "../../testdata/geo"

func fixture(name string) string { return filepath.Join(fixtureDir, name) }

// geoip2Config uses the GeoIP2-schema fixtures.
func geoip2Config() Config {
	return Config{
		City:                     []string{fixture("city.mmdb")},
		ASN:                      []string{fixture("isp.mmdb"), fixture("asn.mmdb")},
		AnonymousIP:              []string{fixture("anonymous-ip.mmdb")},
		AllowDocumentationRanges: true,
	}
}

// flatConfig uses the flat-schema fixtures (and the Anonymous-IP one).
func flatConfig() Config {
	return Config{
		City:                     []string{fixture("flat-city.mmdb")},
		ASN:                      []string{fixture("isp.mmdb"), fixture("flat-asn.mmdb")},
		AnonymousIP:              []string{fixture("anonymous-ip.mmdb")},
		AllowDocumentationRanges: true,
	}
}

func openT(t testing.TB, cfg Config) *Geo {
	t.Helper()
	g, err := Open(cfg, nil, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })
	return g
}

func TestFixturesUpToDate(t *testing.T) {
	t.Parallel()
	files, err := fixturegen.BuildFile(fixture("fixtures.yaml"))
	require.NoError(t, err)
	require.Len(t, files, 6)
	for name, want := range files {
		for _, dir := range []string{fixtureDir, embeddedDir} {
			got, err := os.ReadFile(filepath.Join(dir, name))
			require.NoError(t, err)
			assert.Equal(t, want, got, "%s/%s is stale: run go generate ./signals/geo/", dir, name)
		}
		assert.Less(t, len(want), 16<<10, "%s: keep fixtures small", name)
	}
}

func TestLookupBothSchemas(t *testing.T) {
	t.Parallel()
	type want struct {
		country, city, subdivision, tz string
		lat, lon                       float64
		located                        bool
		asn                            int
		org                            string
	}
	cases := []struct {
		ip   string
		want want
	}{
		{"192.0.2.1", want{"GB", "London", "England", "Europe/London", 51.5072, -0.1276, true, 64496, "Example Broadband UK"}},
		{"2001:db8:1::42", want{"GB", "London", "England", "Europe/London", 51.5072, -0.1276, true, 64496, "Example Broadband UK"}},
		{"::ffff:192.0.2.17", want{"GB", "Manchester", "England", "Europe/London", 53.4808, -2.2426, true, 64496, "Example Broadband UK"}},
		{"192.0.2.81", want{"AU", "Sydney", "New South Wales", "Australia/Sydney", -33.8688, 151.2093, true, 64500, "Example Internet Pty Ltd"}},
		{"2001:db8:8:1::1", want{"BR", "São Paulo", "São Paulo", "America/Sao_Paulo", -23.5505, -46.6333, true, 64502, "Exemplo Telecomunicações S.A."}},
		{"3fff:0:5::1", want{"JP", "Tokyo", "Tokyo", "Asia/Tokyo", 35.6762, 139.6503, true, 64499, "Example Hikari KK"}},
		{"192.0.2.177", want{"US", "", "", "America/Chicago", 37.751, -97.822, true, 64501, "Example Cable LLC"}},
		{"192.0.2.250", want{}}, // documentation space with no record
	}
	for _, schema := range []struct {
		name string
		cfg  Config
	}{{"geoip2", geoip2Config()}, {"flat", flatConfig()}} {
		g := openT(t, schema.cfg)
		for _, c := range cases {
			t.Run(schema.name+"/"+c.ip, func(t *testing.T) {
				rec, err := g.Lookup(netip.MustParseAddr(c.ip))
				require.NoError(t, err)
				assert.Equal(t, RangePublic, rec.Range)
				assert.Equal(t, c.want.country, rec.Country)
				assert.Equal(t, c.want.city, rec.City)
				assert.Equal(t, c.want.subdivision, rec.Subdivision)
				assert.Equal(t, c.want.tz, rec.TimeZone)
				assert.Equal(t, c.want.located, rec.Located)
				assert.InDelta(t, c.want.lat, rec.Latitude, 1e-4) // flat stores float32
				assert.InDelta(t, c.want.lon, rec.Longitude, 1e-4)
				assert.Equal(t, c.want.asn, rec.ASN)
				assert.Equal(t, c.want.org, rec.Org)
				assert.False(t, rec.IP.Is4In6(), "IPv4-mapped addresses are unmapped")
			})
		}
	}
}

func TestAccuracy(t *testing.T) {
	t.Parallel()
	london := netip.MustParseAddr("192.0.2.1")
	coarse := netip.MustParseAddr("192.0.2.177")
	g := openT(t, geoip2Config())
	rec, _ := g.Lookup(london)
	assert.Equal(t, 10.0, rec.AccuracyKm)
	assert.False(t, rec.AccuracyAssumed)
	rec, _ = g.Lookup(coarse)
	assert.Equal(t, 1000.0, rec.AccuracyKm)

	f := openT(t, flatConfig())
	rec, _ = f.Lookup(london)
	assert.Equal(t, float64(DefaultFlatCityAccuracyKm), rec.AccuracyKm)
	assert.True(t, rec.AccuracyAssumed)
	rec, _ = f.Lookup(coarse)
	assert.Equal(t, float64(DefaultCountryRadiusKm), rec.AccuracyKm, "flat country-level: the country radius")
}

func TestAnonymousAndMobile(t *testing.T) {
	t.Parallel()
	g := openT(t, geoip2Config())
	cases := []struct {
		ip                                         string
		vpn, tor, hosting, proxy, residential, mob bool
	}{
		{"198.51.100.1", true, false, false, false, false, false},
		{"198.51.100.17", false, true, false, false, false, false},
		{"2001:db8:101::1", false, true, false, false, false, false},
		{"198.51.100.33", false, false, true, false, false, false},
		{"198.51.100.49", false, false, false, true, false, false},
		{"198.51.100.65", false, false, false, false, true, false},
		{"198.51.100.97", false, false, false, false, false, true},
		{"192.0.2.1", false, false, false, false, false, false},
	}
	for _, c := range cases {
		t.Run(c.ip, func(t *testing.T) {
			rec, err := g.Lookup(netip.MustParseAddr(c.ip))
			require.NoError(t, err)
			assert.Equal(t, c.vpn, rec.VPN, "vpn")
			assert.Equal(t, c.tor, rec.Tor, "tor")
			assert.Equal(t, c.hosting, rec.Hosting, "hosting")
			assert.Equal(t, c.proxy, rec.Proxy, "proxy")
			assert.Equal(t, c.residential, rec.ResidentialProxy, "residential proxy")
			assert.Equal(t, c.mob, rec.Mobile, "mobile")
			assert.Equal(t, c.vpn || c.tor || c.hosting || c.proxy || c.residential, rec.AnyAnonymous())
		})
	}
}

func TestPrivateAddresses(t *testing.T) {
	t.Parallel()
	strict := openT(t, Config{City: []string{fixture("city.mmdb")}})
	lenient := openT(t, geoip2Config())
	cases := []struct {
		ip      string
		strict  Range
		lenient Range
	}{
		{"10.1.2.3", RangePrivate, RangePrivate},
		{"172.20.0.1", RangePrivate, RangePrivate},
		{"192.168.1.1", RangePrivate, RangePrivate},
		{"100.64.0.1", RangeCGNAT, RangeCGNAT},
		{"100.127.255.254", RangeCGNAT, RangeCGNAT},
		{"127.0.0.1", RangeLoopback, RangeLoopback},
		{"169.254.10.1", RangeLinkLocal, RangeLinkLocal},
		{"0.0.0.0", RangeUnspecified, RangeUnspecified},
		{"224.0.0.251", RangeMulticast, RangeMulticast},
		{"255.255.255.255", RangeReserved, RangeReserved},
		{"198.18.0.1", RangeBenchmarking, RangeBenchmarking},
		{"192.0.2.1", RangeDocumentation, RangePublic},
		{"198.51.100.1", RangeDocumentation, RangePublic},
		{"203.0.113.1", RangeDocumentation, RangePublic},
		{"::1", RangeLoopback, RangeLoopback},
		{"::", RangeUnspecified, RangeUnspecified},
		{"fe80::1%eth0", RangeLinkLocal, RangeLinkLocal},
		{"fd00::1", RangeUniqueLocal, RangeUniqueLocal},
		{"ff02::1", RangeMulticast, RangeMulticast},
		{"2001:db8::1", RangeDocumentation, RangePublic},
		{"3fff::1", RangeDocumentation, RangePublic},
		{"::ffff:10.0.0.1", RangePrivate, RangePrivate},
		{"::ffff:127.0.0.1", RangeLoopback, RangeLoopback},
		{"::ffff:100.64.1.1", RangeCGNAT, RangeCGNAT},
		{"64:ff9b::a00:1", RangePrivate, RangePrivate}, // NAT64 of 10.0.0.1
		{"64:ff9b:1::1", RangePrivate, RangePrivate},
		{"100.128.0.1", RangePublic, RangePublic}, // just past CGNAT
		{"8.8.8.8", RangePublic, RangePublic},
		{"2a00:1450::1", RangePublic, RangePublic},
	}
	for _, c := range cases {
		t.Run(c.ip, func(t *testing.T) {
			ip := netip.MustParseAddr(c.ip)
			for _, x := range []struct {
				g    *Geo
				want Range
			}{{strict, c.strict}, {lenient, c.lenient}} {
				rec, err := x.g.Lookup(ip)
				require.NoError(t, err)
				assert.Equal(t, x.want, rec.Range)
				assert.Equal(t, x.want != RangePublic, rec.Private())
				if rec.Private() {
					assert.Empty(t, rec.Country)
					assert.False(t, rec.Located)
				}
				assert.False(t, rec.IP.Is4In6())
				assert.Empty(t, rec.IP.Zone())
			}
		})
	}
}

func TestNormalizeNAT64(t *testing.T) {
	t.Parallel()
	g := openT(t, geoip2Config())
	rec, err := g.Lookup(netip.MustParseAddr("64:ff9b::c000:251")) // 192.0.2.81
	require.NoError(t, err)
	assert.Equal(t, "Sydney", rec.City)
	assert.Equal(t, netip.MustParseAddr("192.0.2.81"), rec.IP)
}

func TestZeroAddress(t *testing.T) {
	t.Parallel()
	g := openT(t, geoip2Config())
	rec, err := g.Lookup(netip.Addr{})
	require.NoError(t, err)
	assert.Equal(t, Record{}, rec)
}

func TestEmbeddedDefault(t *testing.T) {
	t.Parallel()
	g := openT(t, Config{})
	rec, err := g.Lookup(netip.MustParseAddr("192.0.2.65"))
	require.NoError(t, err)
	assert.Equal(t, "Tokyo", rec.City)
	assert.Equal(t, 64499, rec.ASN)
	rec, _ = g.Lookup(netip.MustParseAddr("198.51.100.97"))
	assert.True(t, rec.Mobile, "embedded ISP fixture")
	rec, _ = g.Lookup(netip.MustParseAddr("198.51.100.17"))
	assert.True(t, rec.Tor)
	st := g.Status()
	require.Len(t, st, 4)
	assert.Equal(t, "embedded/city.mmdb", st[0].Name)
	assert.Equal(t, "GeoIP2-City", st[0].DatabaseType)
	assert.Equal(t, int64(1764288000), st[0].BuildTime.Unix())
	// Run has nothing to poll: it returns when the context ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, g.Run(ctx))

	fsys := EmbeddedFixture()
	for _, n := range []string{"city.mmdb", "asn.mmdb", "anonymous-ip.mmdb", "isp.mmdb", "flat-city.mmdb", "flat-asn.mmdb"} {
		_, err := fsys.Open(n)
		assert.NoError(t, err, n)
	}
}

func TestOpenErrorsNameTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.mmdb")
	require.NoError(t, os.WriteFile(corrupt, []byte("this is not a MaxMind DB file"), 0o644))
	truncated := filepath.Join(dir, "truncated.mmdb")
	b, err := os.ReadFile(fixture("city.mmdb"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(truncated, b[:len(b)/2], 0o644))
	missing := filepath.Join(dir, "missing.mmdb")

	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"missing", Config{City: []string{missing}}, []string{"open city database", missing, "no such file"}},
		{"corrupt", Config{City: []string{corrupt}}, []string{"open city database", corrupt}},
		{"truncated", Config{City: []string{truncated}}, []string{"open city database", truncated}},
		{"directory", Config{ASN: []string{dir}}, []string{"open asn database", dir, "not a regular file"}},
		{"wrong role", Config{City: []string{fixture("asn.mmdb")}}, []string{fixture("asn.mmdb"), `"GeoLite2-ASN" is a asn database, configured as city`}},
		{"wrong role flat", Config{ASN: []string{fixture("flat-city.mmdb")}}, []string{fixture("flat-city.mmdb"), "configured as asn"}},
		{"second file bad", Config{City: []string{fixture("city.mmdb")}, AnonymousIP: []string{corrupt}}, []string{"open anonymous_ip database", corrupt}},
		{"bad config", Config{City: []string{fixture("city.mmdb")}, MaxSpeedKmh: -5, UnreliableASNs: []int{-1}}, []string{"max_speed_kmh -5", "unreliable_asns: -1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := Open(c.cfg, nil, nil, nil)
			require.Error(t, err)
			require.Nil(t, g)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestDetectSchema(t *testing.T) {
	t.Parallel()
	cases := []struct {
		dbType string
		schema Schema
		role   Role
	}{
		{"GeoIP2-City", SchemaGeoIP2City, RoleCity},
		{"GeoLite2-City", SchemaGeoIP2City, RoleCity},
		{"GeoLite2-Country", SchemaGeoIP2City, RoleCity},
		{"GeoIP2-Enterprise", SchemaGeoIP2City, RoleCity},
		{"DBIP-City-Lite", SchemaGeoIP2City, RoleCity},
		{"GeoLite2-ASN", SchemaGeoIP2ASN, RoleASN},
		{"GeoIP2-ISP", SchemaGeoIP2ASN, RoleASN},
		{"DBIP-ASN-Lite (compat=GeoLite2-ASN)", SchemaGeoIP2ASN, RoleASN},
		{"GeoIP2-Anonymous-IP", SchemaGeoIP2Anonymous, RoleAnonymousIP},
		{"city ipv4", SchemaFlat, RoleCity},
		{"city ipv6", SchemaFlat, RoleCity},
		{"country ipvAll", SchemaFlat, RoleCity},
		{"asn ipv4", SchemaFlat, RoleASN},
	}
	for _, c := range cases {
		s, r, err := detectSchema(c.dbType)
		require.NoError(t, err, c.dbType)
		assert.Equal(t, c.schema, s, c.dbType)
		assert.Equal(t, c.role, r, c.dbType)
	}
	for _, bad := range []string{"", "GeoIP2-Domain", "My-Custom-DB", "weather ipv4", "GeoIP2-Connection-Type"} {
		_, _, err := detectSchema(bad)
		assert.ErrorIs(t, err, ErrUnsupportedDatabase, bad)
	}
}

func TestMetricsRegistration(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	m2 := NewMetrics(reg) // same registry: reuses the collectors
	g, err := Open(geoip2Config(), nil, nil, m2)
	require.NoError(t, err)
	defer g.Close()
	assert.Equal(t, float64(1764288000), testutil.ToFloat64(m.build.WithLabelValues("city.mmdb")))
	n, err := testutil.GatherAndCount(reg, "riskauth_geo_database_build_timestamp_seconds")
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	var nilMetrics *Metrics
	nilMetrics.reloadError("x") // no panic
}

func TestDuplicateBaseNames(t *testing.T) {
	t.Parallel()
	g := openT(t, Config{City: []string{fixture("city.mmdb"), fixture("city.mmdb")}, AllowDocumentationRanges: true})
	st := g.Status()
	require.Len(t, st, 2)
	assert.Equal(t, "city.mmdb", st[0].Name)
	assert.Equal(t, "city.mmdb#2", st[1].Name)
	assert.True(t, strings.HasSuffix(st[1].Path, "city.mmdb"))
}

func TestSignalContract(t *testing.T) {
	t.Parallel()
	g := openT(t, geoip2Config())
	assert.Equal(t, "geo", g.Name())
	assert.True(t, g.Inline())
	res, err := g.Collect(context.Background(), &engine.Event{IP: netip.MustParseAddr("192.0.2.1")})
	require.NoError(t, err)
	pl, ok := res.(engine.Placer)
	require.True(t, ok)
	p := pl.Place()
	assert.Equal(t, engine.Place{IP: "192.0.2.1", Country: "GB", City: "London", Lat: 51.5072, Lon: -0.1276, AccuracyKm: 10, ASN: 64496, Located: true}, p)

	require.NoError(t, g.Close())
	_, err = g.Collect(context.Background(), &engine.Event{IP: netip.MustParseAddr("192.0.2.1")})
	assert.ErrorIs(t, err, ErrClosed)
	require.NoError(t, g.Close(), "Close twice")
}

// TestCacheIsTransparent: with and without the decoded-record cache, and on
// a first and a repeated lookup, every fixture address answers the same.
func TestCacheIsTransparent(t *testing.T) {
	t.Parallel()
	for _, base := range []Config{geoip2Config(), flatConfig()} {
		cached := openT(t, base)
		base.CacheEntries = -1
		uncached := openT(t, base)
		base.CacheEntries = 1 // every record fights for one slot
		tiny := openT(t, base)
		for _, ip := range append(randomIPv4(2000, true), netip.MustParseAddr("2001:db8:1::1"), netip.MustParseAddr("2001:db8:105::9")) {
			want, err := uncached.Lookup(ip)
			require.NoError(t, err)
			for round := 0; round < 2; round++ {
				for _, g := range []*Geo{cached, tiny} {
					got, err := g.Lookup(ip)
					require.NoError(t, err)
					require.Equal(t, want, got, "%s round %d", ip, round)
				}
			}
		}
	}
}
