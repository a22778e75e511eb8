package risk

import (
	"encoding/json"
)

// Features is everything a rule can read about one event. Each namespace is
// filled by one signal; the `expr` tag is the name rules use, the `doc` tag is
// the catalogue entry (see Fields). Namespaces whose signal failed or was late
// have Available == false and zero values otherwise, so a rule can tell "no
// data" apart from "nothing suspicious".
type Features struct {
	Event    EventFeatures    `expr:"event" json:"event"`
	User     UserFeatures     `expr:"user" json:"user"`
	Device   DeviceFeatures   `expr:"device" json:"device"`
	Geo      GeoFeatures      `expr:"geo" json:"geo"`
	Breached BreachedFeatures `expr:"breached" json:"breached"`
	Velocity VelocityFeatures `expr:"velocity" json:"velocity"`
	// Familiarity is the familiarity score of the login (engine/familiarity).
	Familiarity FamiliarityFeatures `expr:"familiarity" json:"familiarity"`
	// Authn and Passkey describe the authenticator of a sign-in step, as
	// authn reports it (empty for risk API events that do not say).
	Authn   AuthnFeatures   `expr:"authn" json:"authn"`
	Passkey PasskeyFeatures `expr:"passkey" json:"passkey"`
	// Attr holds the caller's free-form attributes, as strings.
	Attr map[string]string `expr:"attr" json:"attr,omitempty"`
}

// EventFeatures describe the event itself.
type EventFeatures struct {
	Kind       string `expr:"kind" json:"kind" doc:"event kind: login, registration, password_reset, mfa or a custom name" example:"\"login\""`
	IP         string `expr:"ip" json:"ip,omitempty" doc:"client IP address in canonical form, empty when unknown" example:"\"203.0.113.7\""`
	HasUser    bool   `expr:"has_user" json:"has_user" doc:"the event names a user id or identifier" example:"true"`
	HourUTC    int    `expr:"hour_utc" json:"hour_utc" doc:"hour of day of the event, UTC (0-23)" example:"3"`
	Headless   bool   `expr:"headless" json:"headless" doc:"the user agent is a headless browser, an HTTP library or a known automation tool" example:"false"`
	EmptyAgent bool   `expr:"empty_user_agent" json:"empty_user_agent" doc:"no user agent was sent" example:"false"`
	// JA4 is the TLS client fingerprint the edge reported (issue 24):
	// rules match automation stacks against an analyst's list file with
	// in_list, and compare the stack with the user agent's claim.
	JA4         string `expr:"ja4" json:"ja4,omitempty" doc:"TLS client fingerprint (JA4) reported by the edge that terminated TLS, empty when not sent" example:"\"t13d1516h2_8daaf6152771_d8a2da3f94cd\""`
	JA4Stack    string `expr:"ja4_stack" json:"ja4_stack,omitempty" doc:"browser TLS stack the JA4 belongs to: chromium, firefox or safari; empty when unknown" example:"\"chromium\""`
	JA4Mismatch bool   `expr:"ja4_mismatch" json:"ja4_mismatch" doc:"the JA4's TLS stack is not the one the user agent's browser uses (an anti-detect browser or a script copying a user agent); false when either is unknown" example:"false"`
}

// UserFeatures come from the user's risk profile: what earlier successful
// sign-ins looked like.
type UserFeatures struct {
	Available        bool    `expr:"available" json:"available" doc:"the profile store answered in time" example:"true"`
	Known            bool    `expr:"known" json:"known" doc:"the user has at least one recorded successful sign-in" example:"true"`
	Logins           int     `expr:"logins" json:"logins" doc:"successful sign-ins recorded for the user" example:"42"`
	DaysSinceLogin   float64 `expr:"days_since_last_login" json:"days_since_last_login" doc:"days since the last successful sign-in, -1 when there was none" example:"1.5"`
	Countries        int     `expr:"countries" json:"countries" doc:"distinct countries of the user's successful sign-ins (bounded history)" example:"2"`
	Devices          int     `expr:"devices" json:"devices" doc:"known devices of the user (bounded history)" example:"3"`
	TrustedDevices   int     `expr:"trusted_devices" json:"trusted_devices" doc:"devices trusted after a passed step-up" example:"1"`
	LastIP           string  `expr:"last_ip" json:"last_ip,omitempty" doc:"client IP of the last successful sign-in" example:"\"198.51.100.23\""`
	SameIPAsLast     bool    `expr:"same_ip_as_last" json:"same_ip_as_last" doc:"this event comes from the IP of the last successful sign-in" example:"false"`
	SameSubnetAsLast bool    `expr:"same_subnet_as_last" json:"same_subnet_as_last" doc:"this event comes from the /24 (IPv4) or /64 (IPv6) of the last successful sign-in" example:"true"`
}

// DeviceFeatures describe the device the event comes from.
type DeviceFeatures struct {
	Present   bool    `expr:"present" json:"present" doc:"the client sent a device descriptor or a user agent" example:"true"`
	ID        string  `expr:"id" json:"id,omitempty" doc:"stable device id derived from the descriptor" example:"\"d_f954ed0fc6fa8040583772abe1c526ca\""`
	HasCookie bool    `expr:"has_cookie" json:"has_cookie" doc:"the descriptor carried a client-held device cookie id" example:"true"`
	Known     bool    `expr:"known_for_user" json:"known_for_user" doc:"the user signed in successfully from this device before" example:"true"`
	Trusted   bool    `expr:"trusted" json:"trusted" doc:"the device passed a step-up for this user" example:"false"`
	AgeDays   float64 `expr:"age_days" json:"age_days" doc:"days since the device was first seen for the user, -1 when unknown" example:"120"`
	Users     int     `expr:"users" json:"users" doc:"distinct users seen on this device (all time, bounded)" example:"1"`
	// The *_changed fields compare a known device's traits with those its
	// last successful sign-in for this user recorded: a replayed device
	// cookie must copy them all to pass for the device (issue 24).
	PlatformChanged  bool `expr:"platform_changed" json:"platform_changed" doc:"a known device id arrives with another platform than recorded for it" example:"false"`
	TimezoneChanged  bool `expr:"timezone_changed" json:"timezone_changed" doc:"a known device id arrives with another time zone than recorded for it" example:"false"`
	LanguagesChanged bool `expr:"languages_changed" json:"languages_changed" doc:"a known device id arrives with another language list than recorded for it" example:"false"`
	ScreenChanged    bool `expr:"screen_changed" json:"screen_changed" doc:"a known device id arrives with another screen size than recorded for it" example:"false"`
	TraitsChanged    int  `expr:"traits_changed" json:"traits_changed" doc:"how many of platform, time zone, languages and screen changed on a known device id (0-4)" example:"0"`
	JA4Changed       bool `expr:"ja4_changed" json:"ja4_changed" doc:"a known device id arrives with a JA4 none of its recorded sign-ins had (it keeps its last 4)" example:"false"`
}

// GeoFeatures locate the client IP.
type GeoFeatures struct {
	Available        bool    `expr:"available" json:"available" doc:"the geo signal answered" example:"true"`
	Private          bool    `expr:"private" json:"private" doc:"the IP is private, loopback, link-local, CGNAT or documentation space: no location" example:"false"`
	Country          string  `expr:"country" json:"country,omitempty" doc:"ISO 3166-1 alpha-2 country code" example:"\"GB\""`
	City             string  `expr:"city" json:"city,omitempty" doc:"city name (English)" example:"\"London\""`
	Latitude         float64 `expr:"lat" json:"lat,omitempty" doc:"latitude" example:"51.5072"`
	Longitude        float64 `expr:"lon" json:"lon,omitempty" doc:"longitude" example:"-0.1276"`
	AccuracyKm       float64 `expr:"accuracy_km" json:"accuracy_km,omitempty" doc:"accuracy radius of the location in km" example:"10"`
	ASN              int     `expr:"asn" json:"asn,omitempty" doc:"autonomous system number" example:"64496"`
	Org              string  `expr:"org" json:"org,omitempty" doc:"autonomous system organisation" example:"\"Example Broadband UK\""`
	Anonymous        bool    `expr:"anonymous" json:"anonymous" doc:"any anonymising network: VPN, Tor, public or residential proxy, hosting" example:"false"`
	VPN              bool    `expr:"vpn" json:"vpn" doc:"known VPN exit" example:"false"`
	Tor              bool    `expr:"tor" json:"tor" doc:"Tor exit node" example:"false"`
	Hosting          bool    `expr:"hosting" json:"hosting" doc:"hosting or cloud provider network" example:"false"`
	Proxy            bool    `expr:"proxy" json:"proxy" doc:"public proxy" example:"false"`
	ResidentialProxy bool    `expr:"residential_proxy" json:"residential_proxy" doc:"residential proxy network" example:"false"`
	NewCountry       bool    `expr:"new_country" json:"new_country" doc:"the user never signed in successfully from this country before" example:"true"`
	NewASN           bool    `expr:"new_asn" json:"new_asn" doc:"the user never signed in successfully from this network before" example:"true"`
	LastCountry      string  `expr:"last_country" json:"last_country,omitempty" doc:"country of the user's last successful sign-in" example:"\"FR\""`
	LastCity         string  `expr:"last_city" json:"last_city,omitempty" doc:"city of the user's last successful sign-in" example:"\"Paris\""`
	LastAccuracyKm   float64 `expr:"last_accuracy_km" json:"last_accuracy_km,omitempty" doc:"accuracy radius of the last sign-in's location in km" example:"20"`
	ElapsedHours     float64 `expr:"elapsed_hours" json:"elapsed_hours" doc:"hours since the user's last successful sign-in, -1 when none" example:"2.5"`
	DistanceKm       float64 `expr:"distance_km" json:"distance_km" doc:"distance from the last successful sign-in in km, -1 when unknown" example:"344"`
	TravelKmh        float64 `expr:"travel_kmh" json:"travel_kmh" doc:"speed implied by the uncertainty-adjusted distance (distance minus both accuracy radii) and the time since the last successful sign-in; 0 when not judged" example:"120"`
	ImpossibleTravel bool    `expr:"impossible_travel" json:"impossible_travel" doc:"unreachable since the last successful sign-in, allowing for location uncertainty" example:"false"`
	// The device_* fields compare with the history of the device the
	// event comes from (for this user) rather than the user's: a replayed
	// device cookie arrives from the thief's network and place while the
	// device itself is elsewhere (issue 24).
	DeviceNewASN           bool    `expr:"device_new_asn" json:"device_new_asn" doc:"a known device arrives from a network (ASN) none of its recorded sign-ins for this user came from (it keeps its last 8); false for a new device or one with no network recorded" example:"false"`
	DeviceElapsedHours     float64 `expr:"device_elapsed_hours" json:"device_elapsed_hours" doc:"hours since the device's last successful sign-in for this user, -1 when it has none" example:"0.5"`
	DeviceDistanceKm       float64 `expr:"device_distance_km" json:"device_distance_km" doc:"distance from the place of the device's last successful sign-in for this user in km, -1 when unknown" example:"1450"`
	DeviceImpossibleTravel bool    `expr:"device_impossible_travel" json:"device_impossible_travel" doc:"the device could not have reached this place since its last successful sign-in, allowing for location uncertainty (as impossible_travel, per device)" example:"false"`
}

// BreachedFeatures tell whether the presented password is in a breach corpus.
type BreachedFeatures struct {
	Available bool `expr:"available" json:"available" doc:"the breached-password checker answered" example:"true"`
	Checked   bool `expr:"checked" json:"checked" doc:"a password was presented and checked" example:"true"`
	Password  bool `expr:"password" json:"password" doc:"the password is in the breach corpus" example:"false"`
	Count     int  `expr:"count" json:"count" doc:"how often the password was seen in breaches, 0 when unknown" example:"0"`
}

// FamiliarityFeatures are the familiarity score (Freeman et al., NDSS 2016,
// as evaluated by Wiefling et al.): how much likelier the login's values
// (IP, ASN, city, country, device id, user agent, browser, OS, device
// type) are for an attacker than for this user, from the user's decayed
// login history and the global value frequencies. The per-feature
// contributions are in the evidence of any rule that reads a field of
// this namespace. See docs/familiarity.md.
type FamiliarityFeatures struct {
	Available bool    `expr:"available" json:"available" doc:"the user's familiarity history was read (false when the state store did not answer in time, the history was unreadable, or the event names no user)" example:"true"`
	Score     float64 `expr:"score" json:"score" doc:"log10 of how much likelier the login's values are for an attacker than for this user: higher is riskier, 0 without history, -3 a thousand times likelier the user" example:"-3.2"`
	ColdStart bool    `expr:"cold_start" json:"cold_start" doc:"the score is weak: fewer than 3 logins of history, or fewer than 1000 logins counted globally" example:"false"`
	Logins    float64 `expr:"logins" json:"logins" doc:"size of the user's login history, decayed (a login counts 1, halving every 90 days)" example:"12.5"`
	Prior     float64 `expr:"prior" json:"prior" doc:"the user term of the score: positive for users who sign in less often than the average user" example:"0.4"`
	Top       string  `expr:"top" json:"top,omitempty" doc:"the feature adding most to the score (ip, asn, city, country, device_id, user_agent, browser, os, device_type), empty when none adds" example:"\"device_id\""`
	// IPLogins and ASNLogins are the network's reputation from the
	// engine's own outcomes: the global counts the score already read.
	IPLogins  int `expr:"ip_logins" json:"ip_logins" doc:"successful sign-ins of all users from this address (estimated by the global counts, as the score reads them)" example:"37"`
	ASNLogins int `expr:"asn_logins" json:"asn_logins" doc:"successful sign-ins of all users from this network (ASN, estimated)" example:"120345"`
}

// AuthnFeatures name the factor a sign-in step presents, so rules can
// weigh a phishing-resistant one (a passkey) differently from a password.
type AuthnFeatures struct {
	Factor            string `expr:"factor" json:"factor,omitempty" doc:"the factor this sign-in step presents: password, passkey, email_code, magic_link, totp, recovery_code, upstream (a sign-in through an upstream identity provider, named in attr.upstream_provider); empty when the event does not say" example:"\"passkey\""`
	PhishingResistant bool   `expr:"phishing_resistant" json:"phishing_resistant" doc:"the factor is bound to the origin and cannot be phished (a passkey)" example:"true"`
}

// PasskeyFeatures describe the verified passkey assertion of a passkey
// sign-in (all false otherwise).
type PasskeyFeatures struct {
	Used               bool `expr:"used" json:"used" doc:"the sign-in step presents a verified passkey assertion" example:"true"`
	UserVerified       bool `expr:"user_verified" json:"user_verified" doc:"the authenticator verified the user (PIN or biometric): a multi-factor authenticator" example:"true"`
	BackupEligible     bool `expr:"backup_eligible" json:"backup_eligible" doc:"the passkey may be synced between devices (a multi-device passkey)" example:"true"`
	Synced             bool `expr:"synced" json:"synced" doc:"the passkey is backed up (synced by a platform or password manager), not bound to one device" example:"true"`
	SignCountRegressed bool `expr:"sign_count_regressed" json:"sign_count_regressed" doc:"the authenticator's signature counter went backwards: the key may have been cloned" example:"false"`
}

// VelocityFeatures hold the sliding-window counters declared in the
// configuration. Rules read a counter by its name (velocity.ip_failures_10m);
// the names are only known once the counter catalogue is, so the typed
// environment for them is built per Schema.
type VelocityFeatures struct {
	Available bool
	// Values are indexed like Schema.Counters.
	Values []int
	names  []string
}

// MarshalJSON renders the counters by name, as rules see them.
func (v VelocityFeatures) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(v.Values)+1)
	m["available"] = v.Available
	for i, n := range v.names {
		if i < len(v.Values) {
			m[n] = v.Values[i]
		}
	}
	return json.Marshal(m)
}

// Names returns the counter names, indexed like Values.
func (v VelocityFeatures) Names() []string { return v.names }

// SetNames names the counters, indexed like Values. names is the rule
// schema's counter catalogue, shared by every feature set built for it and
// never changed: the JSON encoders cache per slice, not per content.
func (v *VelocityFeatures) SetNames(names []string) { v.names = names }
