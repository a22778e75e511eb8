// Package fixturegen builds the geo test fixtures from their readable
// source (testdata/geo/fixtures.yaml): small MaxMind DB files in the GeoIP2
// City, ASN, Anonymous-IP and ISP schemas and in the flat @ip-location-db
// schema, written with github.com/maxmind/mmdbwriter. The mkfixtures command
// writes them out; the geo tests rebuild them to check that the committed
// files match their source.
package fixturegen

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"go.yaml.in/yaml/v3"
)

// Load reads and strictly decodes a fixture source file.
func Load(path string) (*Source, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var src Source
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&src); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &src, nil
}

// BuildFile loads a source file and builds its databases, by file name.
func BuildFile(path string) (map[string][]byte, error) {
	src, err := Load(path)
	if err != nil {
		return nil, err
	}
	files, err := Build(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return files, nil
}

// Source is the fixture source file.
type Source struct {
	BuildEpoch int64   `yaml:"build_epoch"`
	Places     []Place `yaml:"places"`
}

// Place is one located network group.
type Place struct {
	Name        string       `yaml:"name"`
	Networks    []string     `yaml:"networks"`
	Continent   string       `yaml:"continent"`
	Country     string       `yaml:"country"`
	CountryName string       `yaml:"country_name"`
	Subdivision *Subdivision `yaml:"subdivision"`
	City        string       `yaml:"city"`
	Location    *Location    `yaml:"location"`
	ASN         uint32       `yaml:"asn"`
	Org         string       `yaml:"org"`
	Anonymous   []string     `yaml:"anonymous"`
	Mobile      *Mobile      `yaml:"mobile"`
}

// Subdivision is the first-level subdivision.
type Subdivision struct {
	ISO  string `yaml:"iso"`
	Name string `yaml:"name"`
}

// Location is a point with its accuracy radius.
type Location struct {
	Lat        float64 `yaml:"lat"`
	Lon        float64 `yaml:"lon"`
	AccuracyKm uint16  `yaml:"accuracy_km"`
	TimeZone   string  `yaml:"time_zone"`
}

// Mobile holds the mobile country and network codes of a carrier.
type Mobile struct {
	MCC string `yaml:"mcc"`
	MNC string `yaml:"mnc"`
}

var anonymousKeys = map[string]string{
	"vpn":               "is_anonymous_vpn",
	"tor":               "is_tor_exit_node",
	"hosting":           "is_hosting_provider",
	"public_proxy":      "is_public_proxy",
	"residential_proxy": "is_residential_proxy",
}

// Build returns the fixture files by name.
func Build(src *Source) (map[string][]byte, error) {
	if src.BuildEpoch == 0 {
		return nil, errors.New("build_epoch is required (reproducible output)")
	}
	type db struct {
		file string
		tree *mmdbwriter.Tree
	}
	mk := func(file, dbType string) (db, error) {
		t, err := mmdbwriter.New(mmdbwriter.Options{
			BuildEpoch:              src.BuildEpoch,
			DatabaseType:            dbType,
			Description:             map[string]string{"en": "riskauth geo test fixture (documentation ranges only): " + dbType},
			Languages:               []string{"en"},
			IncludeReservedNetworks: true, // documentation ranges are reserved
			RecordSize:              24,
		})
		return db{file, t}, err
	}
	var dbs [6]db
	var err error
	for i, spec := range [][2]string{
		{"city.mmdb", "GeoIP2-City"},
		{"asn.mmdb", "GeoLite2-ASN"},
		{"anonymous-ip.mmdb", "GeoIP2-Anonymous-IP"},
		{"isp.mmdb", "GeoIP2-ISP"},
		{"flat-city.mmdb", "city ipvAll"},
		{"flat-asn.mmdb", "asn ipvAll"},
	} {
		if dbs[i], err = mk(spec[0], spec[1]); err != nil {
			return nil, err
		}
	}
	city, asn, anon, isp, flatCity, flatASN := dbs[0].tree, dbs[1].tree, dbs[2].tree, dbs[3].tree, dbs[4].tree, dbs[5].tree

	seen := map[string]bool{}
	for _, p := range src.Places {
		if p.Name == "" || seen[p.Name] {
			return nil, fmt.Errorf("place %q: empty or duplicate name", p.Name)
		}
		seen[p.Name] = true
		if len(p.Networks) == 0 || p.Country == "" {
			return nil, fmt.Errorf("place %q: networks and country are required", p.Name)
		}
		cityRec, flatRec := cityRecords(&p)
		var anonRec mmdbtype.Map
		if len(p.Anonymous) > 0 {
			anonRec = mmdbtype.Map{"is_anonymous": mmdbtype.Bool(true)}
			for _, a := range p.Anonymous {
				k, ok := anonymousKeys[a]
				if !ok {
					return nil, fmt.Errorf("place %q: unknown anonymous kind %q", p.Name, a)
				}
				anonRec[mmdbtype.String(k)] = mmdbtype.Bool(true)
			}
		}
		for _, n := range p.Networks {
			pfx, err := netip.ParsePrefix(n)
			if err != nil {
				return nil, fmt.Errorf("place %q: %w", p.Name, err)
			}
			if !documentation(pfx) {
				return nil, fmt.Errorf("place %q: %s is not documentation space", p.Name, pfx)
			}
			ipnet := &net.IPNet{IP: pfx.Addr().AsSlice(), Mask: net.CIDRMask(pfx.Bits(), pfx.Addr().BitLen())}
			ins := func(t *mmdbwriter.Tree, v mmdbtype.DataType) error {
				if err := t.Insert(ipnet, v); err != nil {
					return fmt.Errorf("place %q: %s: %w", p.Name, pfx, err)
				}
				return nil
			}
			if err := errors.Join(ins(city, cityRec), ins(flatCity, flatRec)); err != nil {
				return nil, err
			}
			if p.ASN != 0 {
				asnRec := mmdbtype.Map{
					"autonomous_system_number":       mmdbtype.Uint32(p.ASN),
					"autonomous_system_organization": mmdbtype.String(p.Org),
				}
				if err := errors.Join(ins(asn, asnRec), ins(flatASN, asnRec)); err != nil {
					return nil, err
				}
				if p.Mobile != nil {
					ispRec := mmdbtype.Map{
						"autonomous_system_number":       mmdbtype.Uint32(p.ASN),
						"autonomous_system_organization": mmdbtype.String(p.Org),
						"isp":                            mmdbtype.String(p.Org),
						"organization":                   mmdbtype.String(p.Org),
						"mobile_country_code":            mmdbtype.String(p.Mobile.MCC),
						"mobile_network_code":            mmdbtype.String(p.Mobile.MNC),
					}
					if err := ins(isp, ispRec); err != nil {
						return nil, err
					}
				}
			}
			if anonRec != nil {
				if err := ins(anon, anonRec); err != nil {
					return nil, err
				}
			}
		}
	}
	out := make(map[string][]byte, len(dbs))
	for _, d := range dbs {
		var buf bytes.Buffer
		if _, err := d.tree.WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("%s: %w", d.file, err)
		}
		out[d.file] = buf.Bytes()
	}
	return out, nil
}

func names(s string) mmdbtype.Map { return mmdbtype.Map{"en": mmdbtype.String(s)} }

func cityRecords(p *Place) (geoip2, flat mmdbtype.Map) {
	country := mmdbtype.Map{"iso_code": mmdbtype.String(p.Country)}
	if p.CountryName != "" {
		country["names"] = names(p.CountryName)
	}
	geoip2 = mmdbtype.Map{"country": country, "registered_country": country}
	flat = mmdbtype.Map{"country_code": mmdbtype.String(p.Country)}
	if p.Continent != "" {
		geoip2["continent"] = mmdbtype.Map{"code": mmdbtype.String(p.Continent)}
	}
	if s := p.Subdivision; s != nil {
		geoip2["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String(s.ISO), "names": names(s.Name)}}
		flat["state1"] = mmdbtype.String(s.Name)
	} else {
		flat["state1"] = mmdbtype.String("")
	}
	if p.City != "" {
		geoip2["city"] = mmdbtype.Map{"names": names(p.City)}
	}
	flat["city"] = mmdbtype.String(p.City)
	if l := p.Location; l != nil {
		geoip2["location"] = mmdbtype.Map{
			"latitude":        mmdbtype.Float64(l.Lat),
			"longitude":       mmdbtype.Float64(l.Lon),
			"accuracy_radius": mmdbtype.Uint16(l.AccuracyKm),
			"time_zone":       mmdbtype.String(l.TimeZone),
		}
		flat["latitude"] = mmdbtype.Float32(l.Lat)
		flat["longitude"] = mmdbtype.Float32(l.Lon)
		flat["timezone"] = mmdbtype.String(l.TimeZone)
	}
	return geoip2, flat
}

var docRanges = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("3fff::/20"),
}

func documentation(p netip.Prefix) bool {
	for _, d := range docRanges {
		if d.Contains(p.Addr()) && p.Bits() >= d.Bits() {
			return true
		}
	}
	return false
}
