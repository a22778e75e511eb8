package familiarity

import (
	"net/netip"
	"strconv"
	"strings"
)

// Feature names one of the values of a login the model compares. The order
// matters: features of one group are listed from the most specific level to
// the least specific one, which is the hierarchy the smoothing walks (see
// the package doc).
type Feature uint8

// The features, grouped as the model groups them: the network group (IP →
// ASN → city → country), the device group (riskauth's device id alone) and
// the client group (user agent → browser → OS → device type).
const (
	FeatureIP Feature = iota
	FeatureASN
	FeatureCity
	FeatureCountry
	FeatureDeviceID
	FeatureUserAgent
	FeatureBrowser
	FeatureOS
	FeatureDeviceType

	// NumFeatures is the number of features; arrays indexed by Feature
	// have this length.
	NumFeatures = 9
)

// featureNames are the stable names used in evidence and rule fields.
var featureNames = [NumFeatures]string{
	"ip", "asn", "city", "country", "device_id", "user_agent", "browser", "os", "device_type",
}

// String returns the feature's stable name ("ip", "asn", "city", "country",
// "device_id", "user_agent", "browser", "os", "device_type"), the one used
// in the decision's evidence.
func (f Feature) String() string {
	if int(f) < NumFeatures {
		return featureNames[f]
	}
	return "feature(" + strconv.Itoa(int(f)) + ")"
}

// group is a run of features [first, end) forming one hierarchy: the model
// mixes the levels of a group with weights (Wiefling et al.) and multiplies
// the groups (Freeman et al.'s independence assumption).
type group struct {
	name       string
	first, end Feature
}

// groups are the model's feature groups: Wiefling et al.'s IP and
// user-agent hierarchies (city added to the first) and riskauth's device id
// as a factor of its own. Keeping an IP's derived values in one group,
// rather than as four independent factors, avoids counting one change (a
// new network) four times; the device id is separate because it is the one
// value an attacker with the password does not get with it (see the package
// doc for the measurement behind this choice).
var groups = [...]group{
	{"network", FeatureIP, FeatureDeviceID},
	{"device", FeatureDeviceID, FeatureUserAgent},
	{"client", FeatureUserAgent, NumFeatures},
}

// Features are the normalised values of one login that the model compares.
// Empty strings are values like any other ("unknown"): a client that hides
// its user agent does not escape the comparison, it is compared as "".
// The short JSON names keep the engine's pending evaluation (which carries
// the features from the evaluation to the outcome that observes them)
// small in Redis.
type Features struct {
	// IP is the client address in canonical form; IPv6 addresses are
	// reduced to their /64 prefix ("2001:db8:1:2::/64") because privacy
	// extensions give a device a new /128 every day.
	IP string `json:"ip,omitempty"`
	// ASN is "AS" followed by the autonomous system number, "" if unknown.
	ASN string `json:"asn,omitempty"`
	// City is "CC/City" (qualified by country: there are many
	// Springfields), "" if unknown.
	City string `json:"city,omitempty"`
	// Country is the ISO 3166-1 alpha-2 code in upper case, "" if unknown.
	Country string `json:"cc,omitempty"`
	// DeviceID is riskauth's device id (signals/device), "" if none.
	DeviceID string `json:"dev,omitempty"`
	// UserAgent is the User-Agent header, trimmed and cut to
	// MaxUserAgentLen bytes.
	UserAgent string `json:"ua,omitempty"`
	// Browser is the browser name and major version, e.g. "Chrome 131".
	Browser string `json:"br,omitempty"`
	// OS is the OS name and version, e.g. "Windows 10.0", "iOS 17",
	// "Android 14", "macOS 10.15"; name only when the UA carries no version.
	OS string `json:"os,omitempty"`
	// DeviceType is desktop, mobile, tablet, tv, bot or "".
	DeviceType string `json:"dt,omitempty"`
}

// Value returns the value of feature f ("" for an unknown f).
func (x *Features) Value(f Feature) string {
	switch f {
	case FeatureIP:
		return x.IP
	case FeatureASN:
		return x.ASN
	case FeatureCity:
		return x.City
	case FeatureCountry:
		return x.Country
	case FeatureDeviceID:
		return x.DeviceID
	case FeatureUserAgent:
		return x.UserAgent
	case FeatureBrowser:
		return x.Browser
	case FeatureOS:
		return x.OS
	case FeatureDeviceType:
		return x.DeviceType
	}
	return ""
}

// MaxUserAgentLen is how many bytes of a user agent are kept and parsed, as
// in signals/device, so that cost is bounded whatever a client sends.
const MaxUserAgentLen = 512

// Input is what the engine knows about a login before the model looks at
// it: the raw request values and what signals/geo and signals/device made
// of them.
type Input struct {
	IP        string // client address as received
	ASN       uint32 // autonomous system number, 0 if unknown
	Country   string // ISO 3166-1 alpha-2 code
	City      string // city name from the geo database
	UserAgent string // User-Agent header
	DeviceID  string // device id from signals/device
}

// LabelFunc labels a user agent: the browser and OS with their release
// ("Chrome 131", "Windows 10.0") and the device type ("desktop"), "" where
// unknown. signals/device/ualabel's Cache.ReleaseLabels is the one riskauth
// uses: the device identifier has just parsed the same user agent into that
// cache, so labelling is a lookup.
type LabelFunc func(ua string) (browser, os, deviceType string)

// Extractor turns an Input into Features. It is immutable after
// NewExtractor and safe for concurrent use.
type Extractor struct {
	label LabelFunc
}

// NewExtractor returns an Extractor that labels user agents with label;
// with a nil label the browser, OS and device type features stay empty
// (the engine refuses that: engine.Deps.UserAgentLabels).
func NewExtractor(label LabelFunc) *Extractor {
	return &Extractor{label: label}
}

// Extract normalises in into Features. It never fails: unusable values
// become "".
func (e *Extractor) Extract(in Input) Features {
	x := Features{
		IP:       normaliseIP(in.IP),
		Country:  strings.ToUpper(strings.TrimSpace(in.Country)),
		DeviceID: strings.TrimSpace(in.DeviceID),
	}
	if in.ASN != 0 {
		x.ASN = "AS" + strconv.FormatUint(uint64(in.ASN), 10)
	}
	if city := strings.TrimSpace(in.City); city != "" {
		x.City = x.Country + "/" + city
	}
	ua := strings.TrimSpace(in.UserAgent)
	if len(ua) > MaxUserAgentLen {
		ua = ua[:MaxUserAgentLen]
	}
	x.UserAgent = ua
	if ua == "" {
		return x
	}
	if e.label != nil {
		x.Browser, x.OS, x.DeviceType = e.label(ua)
	}
	return x
}

// normaliseIP returns the canonical form of s, the /64 prefix for IPv6, or
// "" when s is not an address.
func normaliseIP(s string) string {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		return ""
	}
	if a.Is4() {
		// ParseAddr accepts only the dotted-quad form without leading
		// zeros for IPv4, which is what String writes: s is canonical.
		return s
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ""
	}
	return p.String()
}
