package simulate

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/riskauth/riskauth/engine"
)

// The attacker models of issue 24: account takeover that does not present
// a device of its own. Infostealer logs sell the victim's password together
// with the browser's cookies (the device cookie and the session), replayed
// in an anti-detect browser that copies the user agent and the device
// description. Each model has the victim's correct password.
const (
	// CookieReplayCity replays the victim's device (cookie, exact user
	// agent, device description) from a residential proxy in the victim's
	// city on another ISP (another ASN than the victim's home network).
	CookieReplayCity Model = "cookie_replay_city"
	// CookieReplayAbroad replays the victim's device from a VPN exit or a
	// hosting network in another country.
	CookieReplayAbroad Model = "cookie_replay_abroad"
	// SameNetwork is an attacker on the victim's own network (a shared
	// flat, the same carrier NAT): the victim's current home address, a
	// device of the attacker's own (a fresh cookie, a browser of its own).
	SameNetwork Model = "same_network"
	// SessionTheft uses a stolen session or refresh token from a new
	// network: an event of kind session_use (not a sign-in) with the
	// victim's device cookie and exact user agent, from an address
	// anywhere (half in the victim's country).
	SessionTheft Model = "session_theft"
)

// The replays of an active device (issue 24, device-level checks): the
// infostealer ran on the machine the victim is using, and the thief
// replays its cookie while the victim keeps signing in from it. Each
// attempt targets a device that signed in successfully within the last
// activeWindow, so the device has a fresh place and network the replay can
// be compared with.
const (
	// CookieReplayActiveCity replays the device of a sign-in less than
	// activeWindow old from the victim's city on another ISP.
	CookieReplayActiveCity Model = "cookie_replay_active_city"
	// CookieReplayActiveAbroad replays it from another country.
	CookieReplayActiveAbroad Model = "cookie_replay_active_abroad"
)

// ActiveModels are the active-device replays, in report order after
// ReplayModels. They draw from a random stream of their own (Sim.crng),
// so the other models and the population replay as before.
var ActiveModels = []Model{CookieReplayActiveCity, CookieReplayActiveAbroad}

// activeWindow is how recently the replayed device must have signed in.
const activeWindow = 6 * time.Hour

// JA4 variants of the replaying browser (Config.ReplayJA4).
const (
	// ReplayJA4Chromium: the anti-detect browser's own TLS stack, Chromium's
	// whatever user agent it copies (the default).
	ReplayJA4Chromium = "chromium"
	// ReplayJA4Copied: the best anti-detect stacks also imitate the TLS
	// stack of the browser they copy, so the replay's JA4 is the device's.
	ReplayJA4Copied = "copied"
)

// ReplayModels are the issue-24 models, in report order after ATOModels'
// first four. They are scheduled and built with a random stream of their
// own (Sim.arng), so that adding them leaves the schedule and the draws of
// the legitimate population and of the first four models unchanged.
var ReplayModels = []Model{CookieReplayCity, CookieReplayAbroad, SameNetwork, SessionTheft}

// KindSessionUse is the event kind of a session or refresh-token use.
const KindSessionUse = "session_use"

// antiDetectJA4 is the TLS fingerprint an anti-detect browser presents: the
// ones sold for account takeover are Chromium builds, so their JA4 is
// Chromium's whatever user agent they copy.
const antiDetectJA4 = ja4Chromium

// replay builds an attempt of one of ReplayModels on victim v at t.
func (p *population) replay(rng *rand.Rand, m Model, v *user, t time.Time) login {
	return p.replayDevice(rng, m, v, v.mainDevice(), t)
}

// replayDevice builds an attempt of one of ReplayModels or ActiveModels
// on victim v's device vd at t.
func (p *population) replayDevice(rng *rand.Rand, m Model, v *user, vd *device, t time.Time) login {
	a := p.atlas
	ja4 := antiDetectJA4
	if p.replayJA4 == ReplayJA4Copied {
		ja4 = p.families[vd.fam].JA4
	}
	ev := engine.Event{Kind: engine.KindLogin, UserID: v.id, UserAgent: p.userAgent(vd, t), Device: p.descriptorOf(v, vd),
		JA4: ja4, Password: v.password, Attributes: v.attrs, Time: t}
	switch m {
	case CookieReplayCity, CookieReplayActiveCity:
		ev.IP = a.Net(p.otherISP(rng, v)).Addr(rng)
	case CookieReplayAbroad, CookieReplayActiveAbroad:
		ev.IP = a.Net(p.abroad(rng, v)).Addr(rng)
	case SameNetwork:
		// The attacker's own phone or laptop on the victim's network.
		fam := rng.IntN(len(p.families))
		f := &p.families[fam]
		d := p.newDevice(rng, fam, t)
		ev.IP, ev.UserAgent, ev.Device, ev.JA4 = v.homeIP, f.UA(f.Version(t)-rng.IntN(2)), p.descriptorOf(v, d), f.JA4
	case SessionTheft:
		n := a.Any(rng)
		if rng.IntN(2) == 0 {
			ns := a.InCountry(v.country)
			n = ns[rng.IntN(len(ns))]
		}
		ev.Kind, ev.Password, ev.IP = KindSessionUse, "", a.Net(n).Addr(rng)
	default:
		panic(fmt.Sprintf("simulate: %q is not a replay model", m))
	}
	return login{ev: ev}
}

// otherISP is a network in the victim's home city whose ASN is not the
// home network's; without one, the nearest such networks in the country.
func (p *population) otherISP(rng *rand.Rand, v *user) int {
	a := p.atlas
	hn := a.Net(v.home)
	var other []int
	for _, i := range a.InCity(hn.Country, hn.City) {
		if a.Net(i).ASN != hn.ASN {
			other = append(other, i)
		}
	}
	if len(other) == 0 {
		for _, i := range a.InCountry(hn.Country) {
			if a.Net(i).ASN != hn.ASN {
				other = append(other, i)
			}
		}
		other = a.near(rng, hn, other, 4)
	}
	if len(other) == 0 {
		return v.home
	}
	return other[rng.IntN(len(other))]
}

// abroad is a VPN exit (half the time) or an ordinary network (a hosting
// provider: the free data flags neither) in a country that is not the
// victim's.
func (p *population) abroad(rng *rand.Rand, v *user) int {
	a := p.atlas
	for range 64 {
		var n int
		if rng.IntN(2) == 0 && len(a.vpn) > 0 {
			n = a.vpn[rng.IntN(len(a.vpn))]
		} else {
			n = a.Any(rng)
		}
		if a.Net(n).Country != v.country {
			return n
		}
	}
	return a.Any(rng)
}
