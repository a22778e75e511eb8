package geo

import (
	"math"
	"time"
)

// earthRadiusKm is the mean Earth radius (IUGG).
const earthRadiusKm = 6371.0088

// minElapsed floors the time between two sign-ins when computing a speed,
// so that two sign-ins in the same second give a large but finite speed.
const minElapsed = time.Minute

// HaversineKm is the great-circle distance between two points, in km.
func HaversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	s1, s2 := math.Sin(dLat/2), math.Sin(dLon/2)
	h := s1*s1 + math.Cos(lat1*rad)*math.Cos(lat2*rad)*s2*s2
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(math.Min(1, h)))
}

// policy is the compiled travel configuration.
type policy struct {
	maxSpeedKmh, minDistanceKm, coarseRadiusKm, countryRadiusKm, cityAccuracyKm float64
	unreliable                                                                  map[int]struct{}
}

func newPolicy(c *Config) policy {
	p := policy{
		maxSpeedKmh:     c.MaxSpeedKmh,
		minDistanceKm:   c.MinDistanceKm,
		coarseRadiusKm:  c.CoarseRadiusKm,
		countryRadiusKm: c.CountryRadiusKm,
		cityAccuracyKm:  c.FlatCityAccuracyKm,
		unreliable:      map[int]struct{}{},
	}
	if !c.NoDefaultUnreliableASNs {
		for _, a := range DefaultUnreliableASNs {
			p.unreliable[a] = struct{}{}
		}
	}
	for _, a := range c.UnreliableASNs {
		p.unreliable[a] = struct{}{}
	}
	return p
}

func (p *policy) unreliableASN(asn int) bool {
	_, ok := p.unreliable[asn]
	return asn != 0 && ok
}

// spot is one end of a hop.
type spot struct {
	country, city string
	lat, lon      float64
	accuracyKm    float64
	located       bool
	// unreliable: the network's location is not the user's (anonymiser,
	// satellite, mobile carrier, configured ASN).
	unreliable bool
}

// hop is the assessment of the move from the last successful sign-in.
type hop struct {
	distanceKm float64 // centre to centre, -1 when either end has no point
	speedKmh   float64 // uncertainty-adjusted, 0 when not judged
	impossible bool
}

// uncertainty returns the radius within which the user may have been, and
// whether the location is coarse (country-level).
func (p *policy) uncertainty(s *spot) (float64, bool) {
	acc := s.accuracyKm
	if s.city != "" && acc > 0 && acc < p.coarseRadiusKm {
		return acc, false
	}
	if s.city != "" && acc <= 0 {
		return p.cityAccuracyKm, false
	}
	// Country-level: the point is the country's representative point, and
	// the user may be anywhere in the country.
	r := math.Max(acc, p.countryRadiusKm)
	if ext, ok := countryExtentKm[s.country]; ok {
		r = math.Max(r, ext)
	}
	return r, true
}

// assess judges the hop from last to cur, elapsed apart.
//
// The distance between the two points is reduced by both uncertainty radii
// (never below zero): the result is a lower bound of how far the user must
// have moved when each radius bounds where they were. The implied speed is
// that lower bound over the elapsed time (at least a minute). The hop is
// impossible when that speed exceeds MaxSpeedKmh, except that:
//   - hops whose centres are closer than MinDistanceKm are never judged;
//   - an unreliable end (anonymising network, satellite, mobile carrier,
//     configured ASN) is never judged: its point is not the user's;
//   - when either end is coarse (no city, or a radius of CoarseRadiusKm or
//     more) the radius becomes the country's extent and the hop is judged
//     only between two different known countries.
func (p *policy) assess(cur, last *spot, elapsed time.Duration) hop {
	if !cur.located || !last.located {
		return hop{distanceKm: -1}
	}
	h := hop{distanceKm: HaversineKm(last.lat, last.lon, cur.lat, cur.lon)}
	if cur.unreliable || last.unreliable || h.distanceKm < p.minDistanceKm {
		return h
	}
	rc, coarseCur := p.uncertainty(cur)
	rl, coarseLast := p.uncertainty(last)
	effective := math.Max(0, h.distanceKm-rc-rl)
	if elapsed < 0 {
		elapsed = -elapsed
	}
	h.speedKmh = effective / max(elapsed, minElapsed).Hours()
	if (coarseCur || coarseLast) && (cur.country == "" || last.country == "" || cur.country == last.country) {
		return h
	}
	h.impossible = h.speedKmh > p.maxSpeedKmh
	return h
}

// countryExtentKm bounds, for countries larger or more scattered than
// DefaultCountryRadiusKm, the distance from a country-level record's point
// (the geographic centre, the capital or the largest city) to any part of
// the country's territory, including remote islands under the same ISO code
// (Hawaii and the Aleutians for US, Easter Island for CL, the Canaries for
// ES, the Azores for PT, Prince Edward Islands for ZA, Macquarie Island for
// AU). The values were computed from the centroid, capital and common
// database point of each country to its extreme points, plus 10% rounded up
// to 100 km: they are deliberately generous, since a larger radius only
// makes a country-level hop less likely to be flagged.
var countryExtentKm = map[string]float64{
	"US": 9900, "RU": 7700, "CA": 5000, "KI": 4700, "ID": 4300, "AU": 4300,
	"BR": 4200, "CL": 4200, "CN": 3900, "IN": 3400, "ZA": 2900, "AR": 2700,
	"MX": 2600, "FM": 2600, "GL": 2500, "PT": 2300, "JP": 2300, "DZ": 2300,
	"ES": 2200, "MZ": 2200, "KZ": 2100, "LY": 2100, "CD": 2100, "MY": 2100,
	"NE": 2100, "PF": 2000, "EC": 1900, "IR": 1800, "ML": 1800, "MR": 1800,
	"AO": 1800, "NO": 1700, "MN": 1700, "CO": 1700, "NZ": 1700, "TR": 1700,
	"PK": 1700, "PE": 1600, "MM": 1600, "VN": 1600, "SA": 1500, "SD": 1500,
	"TD": 1500, "SO": 1500, "PG": 1500, "BO": 1400, "ET": 1400, "TH": 1400,
	"UZ": 1400, "EG": 1300, "VE": 1300, "PH": 1300, "CM": 1300, "YE": 1300,
	"SJ": 1300, "SE": 1300, "FI": 1300, "NA": 1200, "GB": 1200, "FR": 1200,
	"UM": 13400,
}
