package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/riskauth/riskauth/engine"
)

// Population parameters. They are the model, not tuning knobs: each is a
// plain statement about how people sign in, documented in docs/detection.md.
const (
	// Login frequency: each user's rate is log-normal (heavy tail: a few
	// users sign in several times a day, most a few times a month).
	rateSigma = 1.3
	// Shares of users with each trait.
	shareWork     = 0.55 // a work network on weekdays
	shareCarrier  = 0.70 // signs in over a mobile carrier at times
	shareVPN      = 0.06 // routes some sign-ins through a commercial VPN
	shareTraveler = 0.25 // takes trips
	shareDesktop  = 0.80
	sharePhone    = 0.75
	shareBreached = 0.03 // uses a password from the breach corpus
	shareTypo     = 0.03 // a sign-in preceded by a mistyped password
	// Rates of change.
	homeIPLifetime  = 45 * 24 * time.Hour  // residential address reassigned
	deviceLifetime  = 400 * 24 * time.Hour // a new phone or laptop
	cookieLifetime  = 180 * 24 * time.Hour // cookies cleared: the device looks new
	tripEvery       = 60 * 24 * time.Hour  // mean gap between a traveller's trips
	upgradeLagMax   = 21 * 24 * time.Hour  // how long after a release a browser updates
	planeSpeedKmh   = 800
	vpnLoginShare   = 0.3 // of a VPN user's sign-ins
	domesticTripPct = 0.5
)

// countryWeights is the home-country mix of the simulated service: a
// global consumer service's rough shares. Countries the atlas lacks are
// dropped; with none left every atlas country weighs the same.
var countryWeights = []struct {
	cc string
	w  float64
}{
	{"US", 25}, {"DE", 10}, {"GB", 9}, {"FR", 7}, {"BR", 6}, {"IN", 6}, {"JP", 5}, {"CA", 4},
	{"IT", 4}, {"ES", 4}, {"AU", 3}, {"NL", 3}, {"PL", 3}, {"MX", 3}, {"SE", 2}, {"CH", 2},
	{"KR", 2}, {"TR", 2}, {"ZA", 1}, {"SG", 1},
}

// device is one browser on one machine of a user.
type device struct {
	fam    int // index in Families()
	lag    time.Duration
	cookie string
	screen [2]int
	used   time.Time // last use, for replacement and cookie clearing
	logins int
}

// trip is a journey away from home.
type trip struct {
	start, end time.Time
	dest       int           // net index
	flight     time.Duration // door to door, each way, at airliner speed
	hotel      netip.Addr
}

// user is one simulated account holder.
type user struct {
	id       string
	password string
	rate     float64
	country  string
	home     int // net index
	homeIP   netip.Addr
	homeTill time.Time
	work     int // -1 without
	workIP   netip.Addr
	carrier  int   // ASN, 0 without
	mobile   []int // the carrier's networks near home
	vpn      int   // favourite VPN exit, -1 for non-VPN users
	desktop  *device
	phone    *device
	trips    []trip
	// domain is the user's email domain, attrs the event attributes
	// that carry it (shared, read-only).
	domain string
	attrs  map[string]string

	// State while running.
	logins  int // successful sign-ins so far
	n10     int // logins with at least 10 logins of history
	c10     int // ... that were stepped up or blocked
	f10     int // ... that the familiarity model would challenge
	blocked bool
}

// population is every user and the tools to act as them.
type population struct {
	atlas    *Atlas
	families []Family
	desktops []int // indices of desktop families
	phones   []int
	users    []*user
	cum      []float64 // cumulative rates, for drawing who signs in
	period   time.Duration
	start    time.Time
	// replayJA4 is Config.ReplayJA4: the TLS stack of the replaying
	// browser.
	replayJA4 string
	// flatDay is Config.FlatDay: no time-of-day cycle.
	flatDay bool
}

func newPopulation(rng *rand.Rand, a *Atlas, n int, start time.Time, period time.Duration) *population {
	p := &population{atlas: a, families: Families(), start: start, period: period}
	for i, f := range p.families {
		if f.Mobile() {
			p.phones = append(p.phones, i)
		} else {
			p.desktops = append(p.desktops, i)
		}
	}
	var ccs []string
	var ws []float64
	for _, c := range countryWeights {
		if len(a.InCountry(c.cc)) > 0 {
			ccs, ws = append(ccs, c.cc), append(ws, c.w)
		}
	}
	if len(ccs) == 0 {
		ccs = a.Countries()
		ws = make([]float64, len(ccs))
		for i := range ws {
			ws[i] = 1
		}
	}
	total := 0.0
	for i := range n {
		u := p.newUser(rng, i, ccs, ws)
		p.users = append(p.users, u)
		total += u.rate
		p.cum = append(p.cum, total)
	}
	return p
}

func pickWeighted(rng *rand.Rand, ws []float64) int {
	sum := 0.0
	for _, w := range ws {
		sum += w
	}
	x := rng.Float64() * sum
	for i, w := range ws {
		if x < w {
			return i
		}
		x -= w
	}
	return len(ws) - 1
}

func (p *population) pickFamily(rng *rand.Rand, idx []int) int {
	ws := make([]float64, len(idx))
	for i, f := range idx {
		ws[i] = p.families[f].Share
	}
	return idx[pickWeighted(rng, ws)]
}

func (p *population) newDevice(rng *rand.Rand, fam int, at time.Time) *device {
	f := &p.families[fam]
	return &device{fam: fam, lag: time.Duration(rng.Int64N(int64(upgradeLagMax))), cookie: cookieID(rng),
		screen: f.Screens[rng.IntN(len(f.Screens))], used: at}
}

// cookieID is a random 24-character device cookie, as a collector sets.
func cookieID(rng *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 24)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

func (p *population) newUser(rng *rand.Rand, i int, ccs []string, ws []float64) *user {
	a := p.atlas
	u := &user{id: fmt.Sprintf("u%06d", i), rate: math.Exp(rateSigma * rng.NormFloat64()), work: -1, vpn: -1}
	u.password = "pw-" + cookieID(rng)
	if rng.Float64() < shareBreached {
		u.password = commonPasswords[rng.IntN(len(commonPasswords))]
	}
	u.country = ccs[pickWeighted(rng, ws)]
	nets := a.InCountry(u.country)
	u.home = nets[rng.IntN(len(nets))]
	u.homeIP = a.Net(u.home).Addr(rng)
	u.homeTill = p.start.Add(time.Duration(rng.ExpFloat64() * float64(homeIPLifetime)))
	if rng.Float64() < shareWork {
		// Work is in the same city, or the nearest place with networks:
		// people commute tens of kilometres, not across the country.
		hn := a.Net(u.home)
		if same := a.InCity(hn.Country, hn.City); len(same) > 1 {
			u.work = same[rng.IntN(len(same))]
		} else {
			ns := a.near(rng, hn, nets, 4)
			u.work = ns[rng.IntN(len(ns))]
		}
		u.workIP = a.Net(u.work).Addr(rng)
	}
	if cs := a.carriers[u.country]; len(cs) > 0 && rng.Float64() < shareCarrier {
		u.carrier = cs[rng.IntN(len(cs))]
		// The carrier's gateways in the user's region: GeoIP places a
		// mobile address at its gateway, which is near, not anywhere in
		// the country.
		u.mobile = a.near(rng, a.Net(u.home), a.OfASN(u.country, u.carrier), 4)
	}
	if len(a.vpnAddrs) > 0 && rng.Float64() < shareVPN {
		u.vpn = rng.IntN(len(a.vpnAddrs))
	}
	hasDesk := rng.Float64() < shareDesktop
	hasPhone := rng.Float64() < sharePhone
	if !hasDesk && !hasPhone {
		hasPhone = true
	}
	if hasDesk {
		u.desktop = p.newDevice(rng, p.pickFamily(rng, p.desktops), p.start)
	}
	if hasPhone {
		u.phone = p.newDevice(rng, p.pickFamily(rng, p.phones), p.start)
	}
	if rng.Float64() < shareTraveler {
		t := p.start
		for {
			t = t.Add(time.Duration(rng.ExpFloat64() * float64(tripEvery)))
			if t.After(p.start.Add(p.period)) {
				break
			}
			tr := trip{start: t, end: t.Add(time.Duration(2+rng.IntN(9)) * 24 * time.Hour)}
			if rng.Float64() < domesticTripPct {
				tr.dest = nets[rng.IntN(len(nets))]
			} else {
				c := ccs[pickWeighted(rng, ws)]
				if c == u.country && len(ccs) > 1 {
					c = ccs[(indexOf(ccs, c)+1)%len(ccs)]
				}
				dn := a.InCountry(c)
				tr.dest = dn[rng.IntN(len(dn))]
			}
			tr.hotel = a.Net(tr.dest).Addr(rng)
			u.trips = append(u.trips, tr)
			t = tr.end
		}
	}
	return u
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

// pickUser draws who signs in next, proportionally to the users' rates.
func (p *population) pickUser(rng *rand.Rand) int {
	x := rng.Float64() * p.cum[len(p.cum)-1]
	lo, hi := 0, len(p.cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if p.cum[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

func (u *user) tripAt(t time.Time) *trip {
	for i := range u.trips {
		if !t.Before(u.trips[i].start) && t.Before(u.trips[i].end) {
			return &u.trips[i]
		}
	}
	return nil
}

// Context names where a legitimate sign-in comes from, for the report.
type Context string

// The places a legitimate sign-in can come from.
const (
	CtxHome    Context = "home"
	CtxWork    Context = "work"
	CtxMobile  Context = "mobile"
	CtxVPN     Context = "vpn"
	CtxHotel   Context = "travel"
	CtxRoaming Context = "roaming"
)

// login is one attempt the runner evaluates.
type login struct {
	ev  engine.Event
	ctx Context
	dev *device // the legitimate user's device
}

// device returns the device the user signs in with, replacing it (new
// machine) or its cookie (cleared) when enough time has passed since its
// last use.
func (p *population) use(rng *rand.Rand, u *user, phone bool, at time.Time) *device {
	dp := &u.desktop
	if (phone && u.phone != nil) || u.desktop == nil {
		dp = &u.phone
	}
	d := *dp
	gap := at.Sub(d.used)
	switch {
	case rng.Float64() < 1-math.Exp(-float64(gap)/float64(deviceLifetime)):
		idx := p.desktops
		if p.families[d.fam].Mobile() {
			idx = p.phones
		}
		fam := d.fam
		if rng.Float64() < 0.3 {
			fam = p.pickFamily(rng, idx)
		}
		d = p.newDevice(rng, fam, at)
		*dp = d
	case rng.Float64() < 1-math.Exp(-float64(gap)/float64(cookieLifetime)):
		d.cookie = cookieID(rng)
	}
	d.used = at
	return d
}

// userAgent is the device's UA at t: its family at the version it has
// updated to (a release reaches the device after its lag).
func (p *population) userAgent(d *device, t time.Time) string {
	f := &p.families[d.fam]
	return f.UA(f.Version(t.Add(-d.lag)))
}

func (p *population) descriptor(d *device) *engine.DeviceDescriptor {
	f := &p.families[d.fam]
	return &engine.DeviceDescriptor{CookieID: d.cookie, Platform: f.Platform, ScreenWidth: d.screen[0], ScreenHeight: d.screen[1]}
}

// descriptorOf is the description of u's device d, with the time zone and
// languages of u's home country (a traveller's browser keeps its settings).
func (p *population) descriptorOf(u *user, d *device) *engine.DeviceDescriptor {
	x := p.descriptor(d)
	l := localeOf(u.country)
	x.Timezone, x.Languages = l.tz, l.langs
	return x
}

// legit builds a legitimate sign-in of u at t; force, when not empty,
// fixes the context (the departure and arrival sign-ins of a trip).
func (p *population) legit(rng *rand.Rand, u *user, t time.Time, force Context) login {
	a := p.atlas
	tr := u.tripAt(t)
	ctx := force
	if ctx == "" {
		switch {
		case u.vpn >= 0 && rng.Float64() < vpnLoginShare:
			ctx = CtxVPN
		case tr != nil:
			ctx = CtxHotel
			if u.carrier != 0 && rng.Float64() < 0.5 {
				ctx = CtxRoaming
			}
		default:
			wd := p.atWork(u, t)
			ws := []float64{0.6, 0, 0}
			if u.work >= 0 && wd {
				ws[1] = 0.35
			}
			if u.carrier != 0 {
				ws[2] = 0.2
			}
			ctx = []Context{CtxHome, CtxWork, CtxMobile}[pickWeighted(rng, ws)]
		}
	}
	if ctx == CtxRoaming && u.carrier == 0 {
		ctx = CtxHotel
	}
	if ctx == CtxHotel && tr == nil {
		ctx = CtxHome
	}
	var ip netip.Addr
	phone := false
	switch ctx {
	case CtxHome:
		if !t.Before(u.homeTill) {
			// The ISP assigns a new address, now and then from another of
			// its networks in the same city.
			if rng.Float64() < 0.3 {
				hn := a.Net(u.home)
				var same []int
				for _, i := range a.InCity(hn.Country, hn.City) {
					if a.Net(i).ASN == hn.ASN {
						same = append(same, i)
					}
				}
				if len(same) > 0 {
					u.home = same[rng.IntN(len(same))]
				}
			}
			u.homeIP = a.Net(u.home).Addr(rng)
			u.homeTill = t.Add(time.Duration(rng.ExpFloat64() * float64(homeIPLifetime)))
		}
		ip, phone = u.homeIP, rng.Float64() < 0.4
	case CtxWork:
		ip = u.workIP
	case CtxMobile, CtxRoaming:
		// CGNAT: a new address of the carrier on every session; roaming
		// data is routed home, so the address is in the home country
		// while the user is abroad.
		ip, phone = a.Net(u.mobile[rng.IntN(len(u.mobile))]).Addr(rng), true
	case CtxHotel:
		ip, phone = tr.hotel, rng.Float64() < 0.5
	case CtxVPN:
		ip = a.vpnAddrs[u.vpn]
		if rng.Float64() < 0.3 {
			ip = a.vpnAddrs[rng.IntN(len(a.vpnAddrs))]
		}
	}
	d := p.use(rng, u, phone, t)
	d.logins++
	return login{ctx: ctx, dev: d, ev: engine.Event{Kind: engine.KindLogin, UserID: u.id, IP: ip, UserAgent: p.userAgent(d, t),
		Device: p.descriptorOf(u, d), JA4: p.families[d.fam].JA4, Password: u.password, Attributes: u.attrs, Time: t}}
}

// atWork reports whether t is a time u may sign in from work: a weekday,
// and with the time-of-day cycle within workHours of u's local time.
func (p *population) atWork(u *user, t time.Time) bool {
	if p.flatDay {
		return t.Weekday() != time.Saturday && t.Weekday() != time.Sunday
	}
	l := t.Add(p.offsetAt(u, t))
	return l.Weekday() != time.Saturday && l.Weekday() != time.Sunday && l.Hour() >= workHours[0] && l.Hour() < workHours[1]
}

// mainDevice is the device an attacker who studied the victim imitates:
// the one the victim used most.
func (u *user) mainDevice() *device {
	switch {
	case u.desktop == nil:
		return u.phone
	case u.phone == nil:
		return u.desktop
	case u.phone.logins > u.desktop.logins:
		return u.phone
	}
	return u.desktop
}
