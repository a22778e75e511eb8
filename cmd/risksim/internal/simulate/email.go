package simulate

import (
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/riskauth/riskauth/engine"
)

// Email domains (issue 24, item 4: the domain/ASN counter). Every user has
// an email address; the simulator keeps only its domain, which reaches the
// engine as the email_domain attribute on every event that names the user,
// as authn adds it from the account (engine.AttrEmailDomain).
const (
	// shareWorkEmail is the share of users with a workplace who signed up
	// with their work address. Pew (2008) found 58% of employed US
	// adults with a work address, and most with a personal one too; a
	// consumer service gets the personal one far more often. A quarter of
	// the 55% with a workplace is 13.75% of all users (an assumption: no
	// published measurement of the share was found; docs/detection.md).
	shareWorkEmail = 0.25
	// metroKm is how far from home a corporate user's employer may be
	// (a commute within the metro area).
	metroKm = 50
	// newEmployerWeight is the weight of a new employer against the users
	// of the employers already drawn nearby (see assignEmail). It stands
	// for the service's reach: 2 gives about half of the corporate users
	// two or more colleagues in the service, what Zipf firm sizes give a
	// service used by about 1% of a city's workers (docs/detection.md).
	newEmployerWeight = 2.0
)

// freeMail are the consumer mailbox domains by home country, with rough
// weights (every one is in engine/freemail.txt, checked by a test); other
// countries use the default row. The engine never keys a free-mail domain,
// so the mix only makes the attribute look real.
var freeMail = map[string][]struct {
	d string
	w float64
}{
	"":   {{"gmail.com", 60}, {"outlook.com", 12}, {"yahoo.com", 12}, {"hotmail.com", 8}, {"icloud.com", 8}},
	"US": {{"gmail.com", 55}, {"yahoo.com", 18}, {"outlook.com", 10}, {"icloud.com", 8}, {"hotmail.com", 5}, {"aol.com", 4}},
	"DE": {{"gmail.com", 30}, {"gmx.de", 25}, {"web.de", 25}, {"t-online.de", 10}, {"outlook.com", 10}},
	"GB": {{"gmail.com", 50}, {"hotmail.co.uk", 20}, {"yahoo.co.uk", 10}, {"outlook.com", 10}, {"icloud.com", 10}},
	"FR": {{"gmail.com", 45}, {"orange.fr", 20}, {"free.fr", 10}, {"laposte.net", 10}, {"hotmail.fr", 15}},
	"JP": {{"gmail.com", 45}, {"yahoo.co.jp", 45}, {"icloud.com", 10}},
	"KR": {{"naver.com", 60}, {"gmail.com", 40}},
}

// company is an employer whose staff sign up with its domain: they work
// at its office, one network and one outgoing address.
type company struct {
	domain string
	office int // net index
	addr   netip.Addr
	staff  int
}

// emailStats describe the email domains given out, for the report.
type emailStats struct {
	corporate, companies, withColleagues, largest int
}

// assignEmail gives every user an email domain, drawing from rng alone
// (Sim.drng: every other stream is left as it was). A user with a
// workplace signs up with a work address with probability shareWorkEmail.
// Employers are drawn as workers are: a worker is at a firm with a
// probability proportional to the firm's size (a Chinese restaurant
// process: an employer of the metro area, within metroKm of home, with
// probability proportional to its users so far, a new one with weight
// newEmployerWeight). Colleagues work at the office of the first of them
// (that user's own workplace) and leave through its address.
func (p *population) assignEmail(rng *rand.Rand) emailStats {
	var st emailStats
	var firms []*company
	byCountry := map[string][]*company{}
	for _, u := range p.users {
		if u.work >= 0 && rng.Float64() < shareWorkEmail {
			hn := p.atlas.Net(u.home)
			var near []*company
			ws := []float64{newEmployerWeight}
			for _, c := range byCountry[hn.Country] {
				if DistanceKm(hn, p.atlas.Net(c.office)) <= metroKm {
					near = append(near, c)
					ws = append(ws, float64(c.staff))
				}
			}
			var c *company
			if i := pickWeighted(rng, ws); i > 0 {
				c = near[i-1]
			} else {
				c = &company{domain: fmt.Sprintf("corp%05d.example", len(firms)+1), office: u.work, addr: u.workIP}
				firms = append(firms, c)
				byCountry[hn.Country] = append(byCountry[hn.Country], c)
			}
			c.staff++
			u.work, u.workIP, u.domain = c.office, c.addr, c.domain
			st.corporate++
		} else {
			mix := freeMail[u.country]
			if mix == nil {
				mix = freeMail[""]
			}
			ws := make([]float64, len(mix))
			for i, m := range mix {
				ws[i] = m.w
			}
			u.domain = mix[pickWeighted(rng, ws)].d
		}
		u.attrs = map[string]string{engine.AttrEmailDomain: u.domain}
	}
	st.companies = len(firms)
	for _, c := range firms {
		st.largest = max(st.largest, c.staff)
		if c.staff >= 3 {
			st.withColleagues += c.staff
		}
	}
	return st
}
