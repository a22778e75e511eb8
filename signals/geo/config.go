package geo

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults for the zero fields of Config.
const (
	// DefaultPollInterval is how often Run checks the database files.
	DefaultPollInterval = time.Minute
	// DefaultMaxSpeedKmh: a long-haul airliner cruises at 850-950 km/h
	// ground speed; 1000 leaves a margin for tail winds.
	DefaultMaxSpeedKmh = 1000
	// DefaultMinDistanceKm: hops shorter than this are never impossible
	// travel. GeoIP places a subscriber at the ISP's point of presence or
	// the mobile carrier's gateway, which is commonly a few hundred
	// kilometres from the user even when the published radius is small.
	DefaultMinDistanceKm = 300
	// DefaultCoarseRadiusKm: a location whose accuracy radius is at least
	// this is country-level, not a city.
	DefaultCoarseRadiusKm = 500
	// DefaultCountryRadiusKm is the least uncertainty radius of a coarse
	// (country-level) location; large countries get more (countryExtentKm).
	DefaultCountryRadiusKm = 1000
	// DefaultCacheEntries is the number of decoded records cached per
	// database (about 150 bytes each: 10 MB for a city database).
	DefaultCacheEntries = 1 << 16
	// DefaultFlatCityAccuracyKm is the accuracy radius assumed for a
	// city-level record from a flat-schema database, which publishes none.
	// GeoLite2 city-level radii are mostly 5-100 km; 100 errs on the side of
	// fewer alerts.
	DefaultFlatCityAccuracyKm = 100
)

// DefaultUnreliableASNs are networks whose addresses say nothing about
// where the user is: satellite internet egresses at ground stations up to
// thousands of kilometres from the dish, and in-flight wifi moves at
// airliner speed. Config.UnreliableASNs adds to them (corporate egress,
// your mobile carriers, regional providers). Names as registered in the
// @ip-location-db/asn data of 2026-06.
var DefaultUnreliableASNs = []int{
	14593, // Space Exploration Technologies Corporation (Starlink)
	7155,  // ViaSat, Inc.
	16491, // ViaSat, Inc.
	6621,  // Hughes Network Systems, LLC (HughesNet)
	31515, // Inmarsat Global Limited
	22351, // Intelsat Global Service Corporation
	64294, // Panasonic Avionics Corporation (in-flight)
	11167, // Gogo Business Aviation LLC (in-flight)
}

// Config configures the geo signal. Every database is optional; with none
// at all, Open serves the embedded fixture (documentation ranges only, see
// EmbeddedFixture). Paths are MaxMind DB files; the schema of each is read
// from its metadata (database_type):
//
//   - GeoIP2/GeoLite2 (and DB-IP's compatible) City, Country and Enterprise
//     files, GeoLite2/GeoIP2 ASN and ISP files, GeoIP2 Anonymous IP;
//   - the flat schema of the @ip-location-db packages ("city ipv4",
//     "country ipvAll", "asn ipv6", ...).
//
// Within one list, the first file that has a record for an address
// answers, so a precise database can be followed by a coarse fallback
// (GeoLite2 City, then a country database). A file that covers only IPv4 or
// only IPv6 is skipped for the other family.
type Config struct {
	// City lists databases that locate an address (city or country level).
	City []string `yaml:"city" json:"city"`
	// ASN lists databases that name the network (ASN, ISP).
	ASN []string `yaml:"asn" json:"asn"`
	// AnonymousIP lists GeoIP2 Anonymous IP databases.
	AnonymousIP []string `yaml:"anonymous_ip" json:"anonymous_ip"`

	// AllowDocumentationRanges makes the documentation ranges (192.0.2.0/24,
	// 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32, 3fff::/20) ordinary
	// addresses that are looked up, instead of private ones. Off in
	// production: those ranges never route on the internet, so a request
	// claiming one is misconfigured or forged, and reporting it private
	// keeps it from being placed anywhere. The test fixtures are built on
	// them, so tests turn it on, and the embedded default (which knows
	// nothing else) always has it on.
	AllowDocumentationRanges bool `yaml:"allow_documentation_ranges" json:"allow_documentation_ranges"`

	// PollInterval is how often Run checks the files for changes
	// (modification time or size). Zero means DefaultPollInterval.
	PollInterval time.Duration `yaml:"poll_interval" json:"poll_interval"`

	// MaxSpeedKmh is the fastest plausible travel. Zero means DefaultMaxSpeedKmh.
	MaxSpeedKmh float64 `yaml:"max_speed_kmh" json:"max_speed_kmh"`
	// MinDistanceKm: shorter hops are never impossible travel. Zero means
	// DefaultMinDistanceKm; negative means no minimum.
	MinDistanceKm float64 `yaml:"min_distance_km" json:"min_distance_km"`
	// CoarseRadiusKm: a location with at least this accuracy radius (or
	// with no city) is country-level. Zero means DefaultCoarseRadiusKm.
	CoarseRadiusKm float64 `yaml:"coarse_radius_km" json:"coarse_radius_km"`
	// CountryRadiusKm is the least uncertainty radius given to a
	// country-level location. Zero means DefaultCountryRadiusKm.
	CountryRadiusKm float64 `yaml:"country_radius_km" json:"country_radius_km"`
	// FlatCityAccuracyKm is the accuracy radius assumed for city-level
	// records of flat-schema databases. Zero means DefaultFlatCityAccuracyKm.
	FlatCityAccuracyKm float64 `yaml:"flat_city_accuracy_km" json:"flat_city_accuracy_km"`

	// CacheEntries is how many decoded records each database caches (see
	// DefaultCacheEntries); zero means the default, negative disables the
	// cache.
	CacheEntries int `yaml:"cache_entries" json:"cache_entries"`

	// UnreliableASNs are networks whose location is not the user's
	// (in-flight wifi, corporate egress, mobile carriers without an ISP
	// database): never impossible travel. Added to DefaultUnreliableASNs
	// unless NoDefaultUnreliableASNs is set.
	UnreliableASNs []int `yaml:"unreliable_asns" json:"unreliable_asns"`
	// NoDefaultUnreliableASNs drops DefaultUnreliableASNs.
	NoDefaultUnreliableASNs bool `yaml:"no_default_unreliable_asns" json:"no_default_unreliable_asns"`
}

// Embedded reports whether the configuration names no database, so that
// Open serves the embedded fixture.
func (c *Config) Embedded() bool {
	return len(c.City) == 0 && len(c.ASN) == 0 && len(c.AnonymousIP) == 0
}

// withDefaults returns c with zero fields set to their defaults, or an
// error naming every invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MaxSpeedKmh == 0 {
		c.MaxSpeedKmh = DefaultMaxSpeedKmh
	}
	if c.MinDistanceKm == 0 {
		c.MinDistanceKm = DefaultMinDistanceKm
	} else if c.MinDistanceKm < 0 {
		c.MinDistanceKm = 0
	}
	if c.CoarseRadiusKm == 0 {
		c.CoarseRadiusKm = DefaultCoarseRadiusKm
	}
	if c.CountryRadiusKm == 0 {
		c.CountryRadiusKm = DefaultCountryRadiusKm
	}
	if c.CacheEntries == 0 {
		c.CacheEntries = DefaultCacheEntries
	}
	if c.FlatCityAccuracyKm == 0 {
		c.FlatCityAccuracyKm = DefaultFlatCityAccuracyKm
	}
	var errs []error
	positive := func(name string, v float64) {
		if !(v > 0) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("%s %v: want a positive number", name, v))
		}
	}
	positive("max_speed_kmh", c.MaxSpeedKmh)
	positive("coarse_radius_km", c.CoarseRadiusKm)
	positive("country_radius_km", c.CountryRadiusKm)
	positive("flat_city_accuracy_km", c.FlatCityAccuracyKm)
	if math.IsNaN(c.MinDistanceKm) || math.IsInf(c.MinDistanceKm, 0) {
		errs = append(errs, fmt.Errorf("min_distance_km %v: want a number", c.MinDistanceKm))
	}
	if c.PollInterval < 0 {
		errs = append(errs, fmt.Errorf("poll_interval %s: want a positive duration", c.PollInterval))
	}
	for _, a := range c.UnreliableASNs {
		if a <= 0 || a > math.MaxUint32 {
			errs = append(errs, fmt.Errorf("unreliable_asns: %d is not an AS number", a))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("geo: config: %w", err)
	}
	return c, nil
}
