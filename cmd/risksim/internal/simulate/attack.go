package simulate

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/riskauth/riskauth/engine"
)

// Model names an attacker model.
type Model string

// The account-takeover models of Wiefling et al. (each has the victim's
// correct password) and the two waves of failed guesses.
const (
	// Naive: a random place anywhere and a random user agent.
	Naive Model = "naive"
	// VPN: an address in the victim's country, a random user agent.
	VPN Model = "vpn"
	// Targeted: the victim's country and the victim's browser, OS and
	// device type (at the current release: the exact string matches only
	// when the victim is up to date).
	Targeted Model = "targeted"
	// VeryTargeted: the victim's city and ASN and the victim's exact user
	// agent string.
	VeryTargeted Model = "very_targeted"
	// Stuffing: leaked username/password pairs from another site, tried
	// fast from a few addresses; almost all fail.
	Stuffing Model = "credential_stuffing"
	// Spraying: one common password against many accounts, slowly, from a
	// few addresses.
	Spraying Model = "password_spraying"
)

// ATOModels are the account-takeover models, in report order.
var ATOModels = []Model{Naive, VPN, Targeted, VeryTargeted}

// TakeoverModels are every account-takeover model, in report order: the
// four of Wiefling et al., then ReplayModels, then ActiveModels.
func TakeoverModels() []Model {
	return append(append(append([]Model(nil), ATOModels...), ReplayModels...), ActiveModels...)
}

// WaveModels are the guessing waves, in report order.
var WaveModels = []Model{Stuffing, Spraying}

// commonPasswords are among the most common passwords of real breach
// corpora (all in the embedded breached-password corpus, checked by a
// test): what sprayers try and what a careless user picks.
var commonPasswords = []string{"123456", "password", "123456789", "qwerty", "password1", "iloveyou", "111111", "abc123", "sunshine", "princess"}

// takeover builds an account-takeover attempt of model m on victim v at t.
// The attacker always presents a device of its own (a fresh cookie): the
// device cookie is the one thing the password does not give away.
func (p *population) takeover(rng *rand.Rand, m Model, v *user, t time.Time) login {
	a := p.atlas
	var n int
	var ua string
	var fam int
	randomUA := func() {
		fam = rng.IntN(len(p.families))
		f := &p.families[fam]
		ua = f.UA(f.Version(t) - rng.IntN(3))
	}
	vd := v.mainDevice()
	switch m {
	case Naive:
		n = a.Any(rng)
		randomUA()
	case VPN:
		ns := a.InCountry(v.country)
		n = ns[rng.IntN(len(ns))]
		randomUA()
	case Targeted:
		ns := a.InCountry(v.country)
		n = ns[rng.IntN(len(ns))]
		fam = vd.fam
		f := &p.families[fam]
		ua = f.UA(f.Version(t))
	case VeryTargeted:
		hn := a.Net(v.home)
		n = v.home
		var same []int
		for _, i := range a.InCity(hn.Country, hn.City) {
			if a.Net(i).ASN == hn.ASN {
				same = append(same, i)
			}
		}
		if len(same) > 0 {
			n = same[rng.IntN(len(same))]
		}
		fam = vd.fam
		ua = p.userAgent(vd, t)
	default:
		panic(fmt.Sprintf("simulate: %q is not an account-takeover model", m))
	}
	d := p.newDevice(rng, fam, t)
	return login{ev: engine.Event{Kind: engine.KindLogin, UserID: v.id, IP: a.Net(n).Addr(rng), UserAgent: ua,
		Device: p.descriptor(d), JA4: p.families[fam].JA4, Password: v.password, Attributes: v.attrs, Time: t}}
}

// wave is one stuffing or spraying campaign: its addresses, client and
// password choice, planned at start.
type wave struct {
	model    Model
	addrs    []netip.Addr // the attacker's addresses
	ua       string       // "" rotates random user agents
	password string       // spraying: the one password tried
}

// waveAttempt builds attempt k of a wave at t from address index ai.
func (p *population) waveAttempt(rng *rand.Rand, w *wave, ai int, t time.Time) login {
	// A guessing tool speaks TLS with its own library, whatever user
	// agent it claims.
	ev := engine.Event{Kind: engine.KindLogin, IP: w.addrs[ai], UserAgent: w.ua, JA4: ja4Script, Time: t}
	if ev.UserAgent == "" {
		f := &p.families[rng.IntN(len(p.families))]
		ev.UserAgent = f.UA(f.Version(t))
	}
	existing := 0.4
	if w.model == Spraying {
		existing = 0.9
	}
	if rng.Float64() < existing {
		u := p.users[rng.IntN(len(p.users))]
		ev.UserID, ev.Attributes = u.id, u.attrs
	} else {
		ev.Identifier = fmt.Sprintf("%s@example.%s", cookieID(rng)[:10], []string{"com", "net", "org"}[rng.IntN(3)])
	}
	switch {
	case w.model == Spraying:
		ev.Password = w.password
	case rng.Float64() < 0.3:
		ev.Password = commonPasswords[rng.IntN(len(commonPasswords))]
	default:
		ev.Password = "leaked-" + cookieID(rng)[:12]
	}
	return login{ev: ev}
}

// newWave plans a wave: a few addresses anywhere, and the client the
// attacker's tool pretends to be.
func (p *population) newWave(rng *rand.Rand, m Model, t time.Time) *wave {
	w := &wave{model: m}
	n := 1 + rng.IntN(3)
	if m == Spraying {
		n = 1 + rng.IntN(2)
		w.password = commonPasswords[rng.IntN(len(commonPasswords))]
	}
	for range n {
		w.addrs = append(w.addrs, p.atlas.Net(p.atlas.Any(rng)).Addr(rng))
	}
	chrome := &p.families[0]
	switch x := rng.Float64(); {
	case m == Spraying || x < 0.5:
		w.ua = chrome.UA(chrome.Version(t)) // a spoofed current Chrome, no device data
	case x < 0.75:
		w.ua = "" // rotating user agents
	default:
		w.ua = "python-requests/2.32.3"
	}
	return w
}
