package engine

import (
	"slices"
	"strconv"
	"time"

	"github.com/riskauth/riskauth/engine/familiarity"
)

// Profile is a user's risk history: what their successful sign-ins looked
// like. It is bounded (see ProfileLimits) so that one user cannot grow it
// without end, and it holds no secret.
type Profile struct {
	Logins     int       `json:"n,omitempty"`
	FirstLogin time.Time `json:"first,omitzero"`
	// Last is the last successful sign-in; nil before the first.
	Last      *LastLogin   `json:"last,omitempty"`
	Countries []Seen       `json:"cc,omitempty"`
	ASNs      []Seen       `json:"asn,omitempty"`
	Devices   []DeviceSeen `json:"dev,omitempty"`
	// Familiarity is the user's familiarity history (engine/familiarity
	// History, binary encoded: value hashes and decayed weights, no IP or
	// user agent in clear), stored and loaded with the rest of the profile
	// so that scoring costs no extra read. Bounded by the model's Cap: 17
	// bytes empty, about 260 for a typical user, at most 35 + 108·Cap
	// (1763 bytes at the default Cap of 16), a third more as base64 in
	// JSON. Empty before the first observed sign-in.
	Familiarity []byte `json:"fam,omitempty"`
}

// LastLogin is the time and place of a successful sign-in.
type LastLogin struct {
	At     time.Time `json:"at"`
	Subnet string    `json:"sn,omitempty"`
	Place
}

// Seen is a value the user was seen with, with a count and the last time.
type Seen struct {
	Value string    `json:"v"`
	Count int       `json:"c"`
	Last  time.Time `json:"t"`
}

// DeviceSeen is a device the user signed in from.
type DeviceSeen struct {
	ID      string    `json:"id"`
	First   time.Time `json:"f"`
	Last    time.Time `json:"l"`
	Trusted bool      `json:"tr,omitempty"`
	// Forgotten is set when the owner withdrew the device's trust
	// (Engine.ForgetDevice): it reads as unknown and untrusted, and a
	// sign-in from it is at least a step-up, until a step-up from it
	// passes.
	Forgotten bool `json:"fg,omitempty"`
	// Traits are the device's platform, time zone, languages and screen
	// as its last successful sign-in reported them, JA4s its usual TLS
	// fingerprints (at most maxDeviceJA4s, most recent last): what a
	// replayed device cookie is compared with.
	Traits DeviceTraits `json:"x,omitzero"`
	JA4s   []uint32     `json:"j,omitempty"`
	// ASNs are the networks the device signed in from for this user (at
	// most maxDeviceASNs, most recent last) and Where the place of its
	// latest successful sign-in (without the address): a replayed device
	// cookie arrives from the thief's network, and a device in use in two
	// places at once is two devices (geo.device_new_asn,
	// geo.device_impossible_travel). Empty in profiles written before
	// they were kept: then neither is judged.
	ASNs  []int  `json:"as,omitempty"`
	Where *Place `json:"w,omitempty"`
}

// ProfileLimits bound a profile's lists; the least recently seen entry goes first.
type ProfileLimits struct {
	Countries, ASNs, Devices int
	// Familiarity is the model that adds a successful sign-in to the
	// profile's familiarity history (its Config.Cap bounds the history).
	// It must be the engine's model (Deps.Familiarity), so that histories
	// decay as the engine scores them. nil leaves the history as it is.
	Familiarity *familiarity.Model
}

// DefaultProfileLimits keep a profile under about 4 KiB encoded, plus the
// familiarity history (at most about 2.4 KiB as JSON base64 with the
// default model). They set no familiarity model: the state stores fill in
// the default one.
var DefaultProfileLimits = ProfileLimits{Countries: 16, ASNs: 32, Devices: 16}

// Device returns the profile's entry for a device id, or nil.
func (p *Profile) Device(id string) *DeviceSeen {
	if id == "" {
		return nil
	}
	for i := range p.Devices {
		if p.Devices[i].ID == id {
			return &p.Devices[i]
		}
	}
	return nil
}

// HasCountry reports whether the user signed in from this country before.
func (p *Profile) HasCountry(cc string) bool { return hasSeen(p.Countries, cc) }

// HasASN reports whether the user signed in from this network before.
func (p *Profile) HasASN(asn int) bool {
	var buf [20]byte
	v := strconv.AppendInt(buf[:0], int64(asn), 10)
	for _, s := range p.ASNs {
		if s.Value == string(v) { // compared without allocating
			return true
		}
	}
	return false
}

func hasSeen(list []Seen, v string) bool {
	for _, s := range list {
		if s.Value == v {
			return true
		}
	}
	return false
}

// ApplyOutcome updates a profile for an outcome of the pending evaluation.
// Both state store backends call it inside their read-modify-write, so the
// profile means the same thing everywhere. It reports whether p changed.
func ApplyOutcome(p *Profile, pe *Pending, o Outcome, lim ProfileLimits) bool {
	switch o {
	case OutcomeSuccess, OutcomeStepUpPassed:
	default:
		return false
	}
	// A passed step-up ends the flow as a successful sign-in that also
	// vouches for the device.
	at := pe.At
	{
		p.Logins++
		if p.FirstLogin.IsZero() || at.Before(p.FirstLogin) {
			p.FirstLogin = at
		}
		if p.Last == nil || !at.Before(p.Last.At) {
			p.Last = &LastLogin{At: at, Subnet: pe.Keys.Subnet, Place: pe.Place}
		}
		// A place the geo signal could not locate reliably (a VPN or
		// hosting exit) says nothing about where the user is: its country
		// must not become familiar.
		if pe.Place.Country != "" && pe.Place.Located {
			p.Countries = bumpSeen(p.Countries, pe.Place.Country, at, lim.Countries)
		}
		if pe.Place.ASN != 0 {
			p.ASNs = bumpSeen(p.ASNs, strconv.Itoa(pe.Place.ASN), at, lim.ASNs)
		}
	}
	if pe.Familiarity != nil && lim.Familiarity != nil {
		// A missing or corrupt history starts afresh (h stays empty when
		// decoding fails), as a corrupt profile does.
		var h familiarity.History
		_ = h.UnmarshalBinary(p.Familiarity)
		pe.firstObserved = h.Logins() == 0
		lim.Familiarity.Observe(&h, *pe.Familiarity, at)
		p.Familiarity, _ = h.MarshalBinary() // never fails
	}
	if id := pe.Keys.Device; id != "" {
		d := p.Device(id)
		if d == nil {
			p.Devices = append(p.Devices, DeviceSeen{ID: id, First: at, Last: at})
			d = &p.Devices[len(p.Devices)-1]
		}
		latest := !at.Before(d.Last)
		if at.After(d.Last) {
			d.Last = at
		}
		d.observePlace(pe.Place, latest)
		if o == OutcomeStepUpPassed {
			d.Trusted, d.Forgotten = true, false
		}
		d.observeTraits(pe.Traits)
		p.Devices = evictDevices(p.Devices, lim.Devices)
	}
	return true
}

func bumpSeen(list []Seen, v string, at time.Time, limit int) []Seen {
	for i := range list {
		if list[i].Value == v {
			list[i].Count++
			if at.After(list[i].Last) {
				list[i].Last = at
			}
			return list
		}
	}
	list = append(list, Seen{Value: v, Count: 1, Last: at})
	if limit > 0 && len(list) > limit {
		oldest := 0
		for i := range list {
			if list[i].Last.Before(list[oldest].Last) {
				oldest = i
			}
		}
		list = slices.Delete(list, oldest, oldest+1)
	}
	return list
}

// evictDevices drops the least recently seen untrusted device first, then
// the least recently seen trusted one, until the list fits.
func evictDevices(list []DeviceSeen, limit int) []DeviceSeen {
	for limit > 0 && len(list) > limit {
		victim := -1
		for i := range list {
			if victim < 0 || (list[i].Trusted == list[victim].Trusted && list[i].Last.Before(list[victim].Last)) ||
				(!list[i].Trusted && list[victim].Trusted) {
				victim = i
			}
		}
		list = slices.Delete(list, victim, victim+1)
	}
	return list
}
