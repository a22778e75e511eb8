package geo

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/geoip2-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/riskauth/riskauth/signals/geo/internal/mmdbrec"
)

// Role is what a configured database is used for.
type Role string

// Database roles, matching the Config lists.
const (
	RoleCity        Role = "city"
	RoleASN         Role = "asn"
	RoleAnonymousIP Role = "anonymous_ip"
)

// Schema is the record layout of a database, read from its metadata.
type Schema string

// Supported schemas.
const (
	SchemaGeoIP2City      Schema = "geoip2-city"      // GeoIP2/GeoLite2/DB-IP City, Country, Enterprise
	SchemaGeoIP2ASN       Schema = "geoip2-asn"       // GeoLite2/GeoIP2 ASN, GeoIP2 ISP, DB-IP ASN
	SchemaGeoIP2Anonymous Schema = "geoip2-anonymous" // GeoIP2 Anonymous IP (and Anonymous Plus)
	SchemaFlat            Schema = "flat"             // @ip-location-db: country_code, city, latitude, ...
)

// ErrUnsupportedDatabase is returned for a file whose database_type the
// signal cannot read, or that cannot serve the role it was configured for.
var ErrUnsupportedDatabase = errors.New("unsupported database")

// detectSchema maps a database_type to its schema and the role it can serve.
func detectSchema(dbType string) (Schema, Role, error) {
	t := strings.TrimSpace(dbType)
	// The flat @ip-location-db files say "<content> <ipv4|ipv6|ipvAll>".
	if f := strings.Fields(strings.ToLower(t)); len(f) == 2 && strings.HasPrefix(f[1], "ipv") {
		switch f[0] {
		case "city", "country":
			return SchemaFlat, RoleCity, nil
		case "asn":
			return SchemaFlat, RoleASN, nil
		}
	}
	switch {
	case strings.HasPrefix(t, "GeoIP"), strings.HasPrefix(t, "GeoLite"), strings.HasPrefix(t, "DBIP"):
		switch {
		case strings.Contains(t, "Anonymous-IP"), strings.Contains(t, "Anonymous-Plus"):
			return SchemaGeoIP2Anonymous, RoleAnonymousIP, nil
		case strings.Contains(t, "ASN"), strings.Contains(t, "ISP"):
			return SchemaGeoIP2ASN, RoleASN, nil
		case strings.Contains(t, "City"), strings.Contains(t, "Country"), strings.Contains(t, "Enterprise"):
			return SchemaGeoIP2City, RoleCity, nil
		}
	}
	return "", "", fmt.Errorf("%w: database_type %q", ErrUnsupportedDatabase, dbType)
}

// fileStat is what the poll loop compares to notice a replaced file.
type fileStat struct {
	mtime time.Time
	size  int64
}

func (a fileStat) same(b fileStat) bool { return a.size == b.size && a.mtime.Equal(b.mtime) }

// database is one open generation of one configured file. It is shared by
// the snapshots that reference it and closed (its private copy released)
// when the last of them is released.
type database struct {
	name   string // metrics label and log name
	path   string // empty for embedded data
	role   Role
	schema Schema
	dbType string
	build  time.Time
	skip4  bool // has no IPv4 data (flat "ipv6" files)
	skip6  bool // IPv4-only database
	stat   fileStat
	reader *maxminddb.Reader
	size   int          // bytes of data the reader holds
	free   func() error // releases a file's private copy; nil for embedded data
	cache  *partCache   // nil: no cache
	refs   atomic.Int64 // snapshots holding this generation
}

// errChanged reports a file written to while it was being read: an
// operator copying over it in place. Its stat changed, so the next poll
// tries again.
var errChanged = errors.New("the file changed while it was being read (written in place?); it will be read again once it changes no more")

// openFile reads one database file into private memory (privateCopy) and
// checks it. The file itself is never mapped: rewritten or truncated in
// place, a mapped file crashes the process (SIGBUS) inside the tree walk,
// while a private copy keeps answering until a valid new file is read.
func openFile(path, name string, role Role, cacheEntries int) (*database, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	before := fileStat{st.ModTime(), st.Size()}
	if before.size == 0 {
		return nil, errors.New("file is empty")
	}
	if int64(int(before.size)) != before.size {
		return nil, fmt.Errorf("file is %d bytes: too large to read", before.size)
	}
	mem, free, err := privateCopy(f, int(before.size))
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*database, error) {
		_ = free()
		return nil, err
	}
	// A copy in place that was running while we read could leave us a mix
	// of two files that still parses: compare the stat of the open file.
	if st, err = f.Stat(); err != nil {
		return fail(err)
	}
	if !before.same(fileStat{st.ModTime(), st.Size()}) {
		return fail(errChanged)
	}
	r, err := maxminddb.OpenBytes(mem)
	if err != nil {
		return fail(err)
	}
	db, err := newDatabase(r, path, name, role, cacheEntries)
	if err != nil {
		_ = r.Close()
		return fail(err)
	}
	db.stat, db.size, db.free = before, len(mem), free
	return db, nil
}

// openBytes opens a database held in memory.
func openBytes(b []byte, name string, role Role, cacheEntries int) (*database, error) {
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, err
	}
	db, err := newDatabase(r, "", name, role, cacheEntries)
	if err != nil {
		return nil, err
	}
	db.size = len(b)
	return db, nil
}

// probe is a public address every real database covers (or misses
// cleanly); decoding its record catches a data section that is truncated
// or garbled although the metadata parsed.
var (
	probe4 = netip.AddrFrom4([4]byte{8, 8, 8, 8})
	probe6 = netip.MustParseAddr("2001:4860:4860::8888")
)

func newDatabase(r *maxminddb.Reader, path, name string, role Role, cacheEntries int) (*database, error) {
	md := r.Metadata
	schema, canServe, err := detectSchema(md.DatabaseType)
	if err != nil {
		return nil, err
	}
	if canServe != role {
		return nil, fmt.Errorf("%w: database_type %q is a %s database, configured as %s", ErrUnsupportedDatabase, md.DatabaseType, canServe, role)
	}
	db := &database{
		name:   name,
		path:   path,
		role:   role,
		schema: schema,
		dbType: md.DatabaseType,
		reader: r,
		skip6:  md.IPVersion == 4,
		skip4:  schema == SchemaFlat && strings.HasSuffix(strings.ToLower(md.DatabaseType), " ipv6"),
	}
	if md.BuildEpoch > 0 && md.BuildEpoch < math.MaxInt32*4 {
		db.build = time.Unix(int64(md.BuildEpoch), 0).UTC()
	}
	// A database has fewer distinct records than search-tree nodes: no
	// need for more slots than that.
	db.cache = newPartCache(min(cacheEntries, int(min(md.NodeCount, 1<<30))))
	// Decode one record per family: a cheap sanity check of the data section.
	var rec Record
	var a assumed
	var sc scratch
	for _, ip := range []netip.Addr{probe4, probe6} {
		if (ip.Is4() && db.skip4) || (ip.Is6() && db.skip6) {
			continue
		}
		if _, err := db.lookup(ip, &rec, &a, &sc); err != nil {
			return nil, fmt.Errorf("corrupt data section: %w", err)
		}
	}
	return db, nil
}

// close releases the reader and the private copy it reads; no lookup may
// run on db any more (the snapshots' reference counts see to it).
func (db *database) close() error {
	err := db.reader.Close()
	if db.free != nil {
		err = errors.Join(err, db.free())
		db.free = nil
	}
	return err
}

// scratch holds the decode targets of one lookup. Decode takes an `any`,
// so a target on the stack would escape to the heap at every lookup;
// scratches are pooled instead.
type scratch struct {
	part part
	city mmdbrec.City
	flat mmdbrec.Flat
	isp  geoip2.ISP
	anon geoip2.AnonymousIP
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// assumed carries the radii a flat-schema record lacks.
type assumed struct {
	cityKm, countryKm float64
}

// lookup adds what this database knows about ip (normalised) to rec. It
// reports whether the database answered (had a usable record), so that the
// next database of the role is tried otherwise.
func (db *database) lookup(ip netip.Addr, rec *Record, a *assumed, sc *scratch) (bool, error) {
	if (ip.Is4() && db.skip4) || (ip.Is6() && db.skip6) {
		return false, nil
	}
	res := db.reader.Lookup(ip)
	if !res.Found() {
		return false, res.Err()
	}
	p := &sc.part
	if db.cache != nil && db.cache.get(res.Offset(), p) {
		return p.applyTo(rec, db.role), nil
	}
	*p = part{}
	if err := db.decode(res, p, a, sc); err != nil {
		return false, err
	}
	if db.cache != nil {
		db.cache.put(res.Offset(), p)
	}
	return p.applyTo(rec, db.role), nil
}

// decode reads one record into p.
func (db *database) decode(res maxminddb.Result, p *part, a *assumed, sc *scratch) error {
	switch db.schema {
	case SchemaGeoIP2City:
		v := &sc.city
		*v = mmdbrec.City{Location: mmdbrec.Location{Latitude: math.NaN(), Longitude: math.NaN()}}
		if err := res.Decode(v); err != nil {
			return err
		}
		if v.Country.ISOCode == "" && math.IsNaN(v.Location.Latitude) {
			return nil
		}
		p.answered = true
		p.country = v.Country.ISOCode
		p.subdivision = v.Subdivisions.Names.EN
		p.city = v.City.Names.EN
		p.timeZone = v.Location.TimeZone
		p.accuracyKm = float64(v.Location.AccuracyRadius)
		p.setPoint(v.Location.Latitude, v.Location.Longitude, a)
		t := &v.Traits
		p.asn, p.org = int(t.AutonomousSystemNumber), t.AutonomousSystemOrganization
		p.mobile = t.ConnectionType == "Cellular" || t.UserType == "cellular" || t.MobileCountryCode != ""
		p.vpn, p.tor, p.hosting = t.IsAnonymousVPN, t.IsTorExitNode, t.IsHostingProvider
		p.proxy, p.residential, p.anonymous = t.IsPublicProxy, t.IsResidentialProxy, t.IsAnonymous
	case SchemaGeoIP2ASN:
		v := &sc.isp
		*v = geoip2.ISP{}
		if err := res.Decode(v); err != nil {
			return err
		}
		p.answered = v.AutonomousSystemNumber != 0
		p.asn, p.org = int(v.AutonomousSystemNumber), v.AutonomousSystemOrganization
		p.mobile = v.MobileCountryCode != ""
	case SchemaGeoIP2Anonymous:
		v := &sc.anon
		*v = geoip2.AnonymousIP{}
		if err := res.Decode(v); err != nil {
			return err
		}
		p.answered = true
		p.vpn, p.tor, p.hosting = v.IsAnonymousVPN, v.IsTorExitNode, v.IsHostingProvider
		p.proxy, p.residential, p.anonymous = v.IsPublicProxy, v.IsResidentialProxy, v.IsAnonymous
	case SchemaFlat:
		v := &sc.flat
		*v = mmdbrec.Flat{Latitude: math.NaN(), Longitude: math.NaN()}
		if err := res.Decode(v); err != nil {
			return err
		}
		if db.role == RoleASN {
			p.answered = v.AutonomousSystemNumber != 0
			p.asn, p.org = int(v.AutonomousSystemNumber), v.AutonomousSystemOrganization
			return nil
		}
		if v.CountryCode == "" {
			return nil
		}
		p.answered = true
		p.country, p.subdivision, p.city, p.timeZone = v.CountryCode, v.State1, v.City, v.Timezone
		// Flat files store float32 coordinates of 4-decimal source values:
		// round away the float32 noise (37.750999450683594 -> 37.751). They
		// publish no radius: setPoint assumes one.
		p.setPoint(round4(v.Latitude), round4(v.Longitude), a)
	}
	return nil
}

// part is what one database says about one record: decoded once, then
// cached by the record's offset.
type part struct {
	country, subdivision, city, timeZone, org string
	lat, lon, accuracyKm                      float64
	asn                                       int
	answered, located, assumed                bool
	anonymous, vpn, tor, hosting, proxy       bool
	residential, mobile                       bool
}

// applyTo adds the part to rec according to the database's role, and
// reports whether the database answered.
func (p *part) applyTo(rec *Record, role Role) bool {
	if !p.answered {
		return false
	}
	switch role {
	case RoleCity:
		rec.Country, rec.Subdivision, rec.City, rec.TimeZone = p.country, p.subdivision, p.city, p.timeZone
		rec.Latitude, rec.Longitude, rec.Located = p.lat, p.lon, p.located
		rec.AccuracyKm, rec.AccuracyAssumed = p.accuracyKm, p.assumed
		if p.asn != 0 && rec.ASN == 0 { // Enterprise-style traits
			rec.ASN, rec.Org = p.asn, p.org
		}
	case RoleASN:
		rec.ASN, rec.Org = p.asn, p.org
	}
	rec.Anonymous = rec.Anonymous || p.anonymous
	rec.VPN = rec.VPN || p.vpn
	rec.Tor = rec.Tor || p.tor
	rec.Hosting = rec.Hosting || p.hosting
	rec.Proxy = rec.Proxy || p.proxy
	rec.ResidentialProxy = rec.ResidentialProxy || p.residential
	rec.Mobile = rec.Mobile || p.mobile
	return true
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// setPoint records a point when both coordinates are present and sane, and
// assumes an accuracy radius when the database published none.
func (p *part) setPoint(lat, lon float64, a *assumed) {
	if math.IsNaN(lat) || math.IsNaN(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return
	}
	p.lat, p.lon, p.located = lat, lon, true
	if p.accuracyKm <= 0 {
		p.assumed = true
		if p.city != "" {
			p.accuracyKm = a.cityKm
		} else {
			p.accuracyKm = a.countryKm
		}
	}
}
