package geo

import "net/netip"

// Record is what the configured databases know about one address. Both
// schemas (GeoIP2 and the flat @ip-location-db one) fill the same fields;
// what a database does not carry stays zero.
type Record struct {
	// IP is the address that was looked up, normalised (see Normalize).
	IP netip.Addr `json:"ip"`
	// Range is the special-purpose range of IP; when it is not RangePublic
	// nothing was looked up and every other field is zero.
	Range Range `json:"range,omitempty"`

	Country     string `json:"country,omitempty"`     // ISO 3166-1 alpha-2
	Subdivision string `json:"subdivision,omitempty"` // first-level subdivision name (English)
	City        string `json:"city,omitempty"`        // English name
	TimeZone    string `json:"time_zone,omitempty"`   // IANA time zone
	// Latitude and Longitude are meaningful only when Located is set.
	Latitude  float64 `json:"lat,omitempty"`
	Longitude float64 `json:"lon,omitempty"`
	Located   bool    `json:"located"`
	// AccuracyKm is the radius around the point that likely contains the
	// address; AccuracyAssumed tells that the database published none
	// (flat schema) and the configured default was used.
	AccuracyKm      float64 `json:"accuracy_km,omitempty"`
	AccuracyAssumed bool    `json:"accuracy_assumed,omitempty"`

	ASN int    `json:"asn,omitempty"`
	Org string `json:"org,omitempty"`

	Anonymous        bool `json:"anonymous,omitempty"` // the database's own is_anonymous flag
	VPN              bool `json:"vpn,omitempty"`
	Tor              bool `json:"tor,omitempty"`
	Hosting          bool `json:"hosting,omitempty"`
	Proxy            bool `json:"proxy,omitempty"`
	ResidentialProxy bool `json:"residential_proxy,omitempty"`
	// Mobile reports a cellular network (from an ISP or Enterprise database).
	Mobile bool `json:"mobile,omitempty"`
}

// Private reports whether the address is in a special-purpose range.
func (r *Record) Private() bool { return r.Range != RangePublic }

// AnyAnonymous reports whether any anonymising flag is set: VPN, Tor exit,
// hosting provider, public or residential proxy, or the database's own
// anonymous flag.
func (r *Record) AnyAnonymous() bool {
	return r.Anonymous || r.VPN || r.Tor || r.Hosting || r.Proxy || r.ResidentialProxy
}
