package engine

import (
	"slices"
	"strings"

	"github.com/riskauth/riskauth/engine/risk"
)

// DeviceTraits are short digests of what a client said about its device
// besides the cookie: the platform, time zone, language list and screen
// from the device descriptor, and the TLS client fingerprint (JA4) from
// the edge. A device cookie is a bearer token that infostealers sell; the
// traits are what a replayed cookie must also copy to look like the
// device it was stolen from. They are kept per device of a user's profile
// (DeviceSeen) and compared with the next sign-in on that device id
// (device.*_changed). Digests, not values: the profile needs equality
// only, and four bytes each keep it small. 0 means "not sent".
type DeviceTraits struct {
	Platform  uint32 `json:"p,omitempty"`
	Timezone  uint32 `json:"tz,omitempty"`
	Languages uint32 `json:"l,omitempty"`
	Screen    uint32 `json:"s,omitempty"`
	JA4       uint32 `json:"j,omitempty"`
}

// IsZero reports whether no trait was sent.
func (t DeviceTraits) IsZero() bool { return t == DeviceTraits{} }

// maxDeviceJA4s bounds the TLS fingerprints remembered per device: a
// browser's JA4 changes with some releases, and a device seen through two
// edges (IPv4 and IPv6, a corporate proxy) may show two.
const maxDeviceJA4s = 4

// FNV-1a, 32 bits. The digests fold ASCII case and skip leading and
// trailing spaces as they hash, without allocating: this runs on every
// evaluation that carries a device description.
const (
	fnvOffset = uint32(2166136261)
	fnvPrime  = uint32(16777619)
)

// fnvFold adds s to h, trimmed of spaces and with ASCII upper case folded.
func fnvFold(h uint32, s string) uint32 {
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h ^= uint32(c)
		h *= fnvPrime
	}
	return h
}

// fnvUint adds v to h, four bytes little-endian.
func fnvUint(h uint32, v uint32) uint32 {
	for range 4 {
		h ^= v & 0xff
		h *= fnvPrime
		v >>= 8
	}
	return h
}

// digest ends a hash: never 0, which means "absent".
func digest(h uint32) uint32 {
	if h == 0 {
		return 1
	}
	return h
}

// foldDigest digests one string trait, 0 when it is empty.
func foldDigest(s string) uint32 {
	if strings.TrimSpace(s) == "" {
		return 0
	}
	return digest(fnvFold(fnvOffset, s))
}

// traitsOf digests an event's device traits. Values are normalised so that
// harmless differences (case, spaces, a rotated phone's swapped screen
// sides) do not read as a change.
func traitsOf(ev *Event) DeviceTraits {
	t := DeviceTraits{JA4: foldDigest(ev.JA4)}
	d := ev.Device
	if d == nil {
		return t
	}
	t.Platform = foldDigest(d.Platform)
	t.Timezone = foldDigest(d.Timezone)
	if len(d.Languages) > 0 {
		h := fnvOffset
		for i, l := range d.Languages {
			if i > 0 {
				h = fnvFold(h, ",")
			}
			h = fnvFold(h, l)
		}
		t.Languages = digest(h)
	}
	if w, h := d.ScreenWidth, d.ScreenHeight; w > 0 && h > 0 {
		t.Screen = digest(fnvUint(fnvUint(fnvOffset, uint32(max(w, h))), uint32(min(w, h))))
	}
	return t
}

// observeTraits records a successful sign-in's traits on the device: the
// latest value of each descriptor trait that was sent, and the JA4 among
// the device's usual ones (most recent last, the oldest dropped).
func (d *DeviceSeen) observeTraits(t DeviceTraits) {
	set := func(dst *uint32, v uint32) {
		if v != 0 {
			*dst = v
		}
	}
	set(&d.Traits.Platform, t.Platform)
	set(&d.Traits.Timezone, t.Timezone)
	set(&d.Traits.Languages, t.Languages)
	set(&d.Traits.Screen, t.Screen)
	if t.JA4 == 0 {
		return
	}
	if i := slices.Index(d.JA4s, t.JA4); i >= 0 {
		d.JA4s = slices.Delete(d.JA4s, i, i+1)
	}
	d.JA4s = append(d.JA4s, t.JA4)
	if len(d.JA4s) > maxDeviceJA4s {
		d.JA4s = slices.Delete(d.JA4s, 0, len(d.JA4s)-maxDeviceJA4s)
	}
}

// maxDeviceASNs bounds the networks remembered per device: home, work,
// a carrier, a few trips or VPN exits.
const maxDeviceASNs = 8

// observePlace records a successful sign-in's network on the device (most
// recent last, the oldest dropped) and, when it is the device's latest
// sign-in, its place, without the address (the profile keeps the last
// address once, for the user).
func (d *DeviceSeen) observePlace(pl Place, latest bool) {
	if pl.ASN != 0 {
		if i := slices.Index(d.ASNs, pl.ASN); i >= 0 {
			d.ASNs = slices.Delete(d.ASNs, i, i+1)
		}
		d.ASNs = append(d.ASNs, pl.ASN)
		if len(d.ASNs) > maxDeviceASNs {
			d.ASNs = slices.Delete(d.ASNs, 0, len(d.ASNs)-maxDeviceASNs)
		}
	}
	if !latest {
		return
	}
	// Where goes with d.Last: a latest sign-in the geo signal could not
	// place leaves the device's place unknown, not an older one.
	d.Where = nil
	if pl.Country != "" || pl.ASN != 0 {
		w := pl
		w.IP = ""
		d.Where = &w
	}
}

// traitsFeatures compares the event's traits with those recorded for the
// device in the user's profile. A trait counts as changed only when both
// the recorded and the current value were sent.
func traitsFeatures(f *risk.DeviceFeatures, d *DeviceSeen, t DeviceTraits) {
	changed := func(was, now uint32) bool { return was != 0 && now != 0 && was != now }
	f.PlatformChanged = changed(d.Traits.Platform, t.Platform)
	f.TimezoneChanged = changed(d.Traits.Timezone, t.Timezone)
	f.LanguagesChanged = changed(d.Traits.Languages, t.Languages)
	f.ScreenChanged = changed(d.Traits.Screen, t.Screen)
	for _, c := range []bool{f.PlatformChanged, f.TimezoneChanged, f.LanguagesChanged, f.ScreenChanged} {
		if c {
			f.TraitsChanged++
		}
	}
	f.JA4Changed = t.JA4 != 0 && len(d.JA4s) > 0 && !slices.Contains(d.JA4s, t.JA4)
}

// TLS stacks a JA4 or a user agent can name.
const (
	stackChromium = "chromium"
	stackFirefox  = "firefox"
	stackSafari   = "safari"
)

// ja4Stacks maps the first two parts of a JA4 (protocol, version, SNI,
// counts, ALPN; the sorted cipher list's hash) to the browser TLS stack
// that sends them. The third part (extensions and signature algorithms)
// moves with releases, so it is not matched. The cipher hashes are those
// published for current Chromium, Firefox and Safari (JA4 databases, TLS
// impersonation libraries); an unknown JA4 has no stack, and then no
// mismatch is reported.
var ja4Stacks = map[string]string{
	"8daaf6152771": stackChromium,
	"5b57614c22b0": stackFirefox,
	"a09f3c656075": stackSafari,
}

// ja4Stack returns the TLS stack a JA4 belongs to, or "".
func ja4Stack(ja4 string) string {
	// t13d1516h2_8daaf6152771_d8a2da3f94cd: the cipher hash is the 12
	// hex digits after the first underscore.
	i := strings.IndexByte(ja4, '_')
	if i < 0 || len(ja4) < i+13 {
		return ""
	}
	// JA4 hashes are lower-case hex; an upper-case one is not a JA4 the
	// table knows (a lookup by the substring does not allocate).
	return ja4Stacks[ja4[i+1:i+13]]
}

// uaStack returns the TLS stack a user agent's browser and OS imply: on
// iOS every browser is WebKit with Apple's TLS; elsewhere Chrome, Edge,
// Opera, Brave and Samsung Internet are Chromium. "" when unknown.
func uaStack(browser, os string) string {
	if os == "iOS" || os == "iPadOS" {
		return stackSafari
	}
	for _, p := range [...]struct{ prefix, stack string }{
		{"Opera Mini", ""}, // rendered on Opera's servers: no browser TLS stack of its own
		{"Firefox", stackFirefox}, {"Safari", stackSafari}, {"Mobile Safari", stackSafari},
		{"Chrome", stackChromium}, {"Edge", stackChromium}, {"Opera", stackChromium},
		{"Brave", stackChromium}, {"Samsung", stackChromium}, {"Chromium", stackChromium},
	} {
		if strings.HasPrefix(browser, p.prefix) {
			return p.stack
		}
	}
	return ""
}

// ja4Features fills the event's TLS fingerprint fields.
func ja4Features(f *risk.EventFeatures, ja4 string, dev DeviceInfo) {
	f.JA4 = strings.TrimSpace(ja4)
	if f.JA4 == "" {
		return
	}
	f.JA4Stack = ja4Stack(f.JA4)
	ua := uaStack(dev.Browser, dev.OS)
	f.JA4Mismatch = f.JA4Stack != "" && ua != "" && f.JA4Stack != ua
}
