package geo

import (
	"context"
	"slices"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// Interface guards.
var (
	_ engine.Signal       = (*Geo)(nil)
	_ engine.Unavailabler = (*Geo)(nil)
	_ engine.Result       = (*Result)(nil)
	_ engine.Placer       = (*Result)(nil)
)

// Name is the signal's namespace in rules and metrics.
func (g *Geo) Name() string { return "geo" }

// Inline reports true: a lookup is an in-process read of the databases'
// in-memory copies, well under the cost of a goroutine hand-off.
func (g *Geo) Inline() bool { return true }

// Collect looks the event's client address up in every configured
// database. It never blocks and reads no clock; the comparison with the
// user's history happens in Result.Apply. A record that cannot be decoded
// (a corrupt database) fails the collection, so the engine marks geo
// unavailable; riskauth_geo_lookup_errors_total counts it.
func (g *Geo) Collect(_ context.Context, ev *engine.Event) (engine.Result, error) {
	r := &Result{pol: &g.pol}
	if err := g.lookupInto(ev.IP, &r.Record); err != nil {
		return nil, err
	}
	return r, nil
}

// MarkUnavailable marks the geo namespace as unavailable (Collect failed or
// was late): Available is false and the "unknown" sentinels are set.
func (g *Geo) MarkUnavailable(f *risk.Features) {
	f.Geo = risk.GeoFeatures{ElapsedHours: -1, DistanceKm: -1, DeviceElapsedHours: -1, DeviceDistanceKm: -1}
}

// Result is what the geo signal found for one event.
type Result struct {
	Record
	pol *policy
}

// Unreliable reports whether the address's location is not the user's:
// an anonymising network (VPN, Tor, proxy, hosting), a mobile carrier, or
// a network listed in Config.UnreliableASNs (satellite, in-flight wifi,
// corporate egress). Such a location never counts as impossible travel.
func (r *Result) Unreliable() bool {
	return r.AnyAnonymous() || r.Mobile || r.policy().unreliableASN(r.ASN)
}

// policy returns the travel policy; a Result not made by Collect uses the
// defaults.
func (r *Result) policy() *policy {
	if r.pol != nil {
		return r.pol
	}
	return &defaultPolicy
}

var defaultPolicy = func() policy {
	c, _ := Config{}.withDefaults()
	return newPolicy(&c)
}()

// Place is where the sign-in came from, to be remembered as the user's
// last location if it succeeds. Located is set only when the databases gave
// a point that is the user's own: not for private addresses, records
// without coordinates, or unreliable networks (whose point is the exit,
// ground station or gateway), so that a later sign-in is never judged
// against a place the user was not.
func (r *Result) Place() engine.Place {
	p := engine.Place{
		Country:    r.Country,
		City:       r.City,
		AccuracyKm: r.AccuracyKm,
		ASN:        r.ASN,
	}
	if r.IP.IsValid() {
		p.IP = r.IP.String()
	}
	if r.Located && !r.Unreliable() {
		p.Lat, p.Lon, p.Located = r.Latitude, r.Longitude, true
	}
	return p
}

// Apply fills the geo features: the lookup, the comparison with the user's
// history (new country, new network) and the hop from the last successful
// sign-in (distance, elapsed time, uncertainty-adjusted speed, impossible
// travel). p may be nil or zero (no history); at is the event time.
func (r *Result) Apply(f *risk.Features, p *engine.Profile, at time.Time) {
	g := &f.Geo
	*g = risk.GeoFeatures{Available: true, ElapsedHours: -1, DistanceKm: -1, DeviceElapsedHours: -1, DeviceDistanceKm: -1}
	g.Private = r.Private()
	g.Country, g.City = r.Country, r.City
	if r.Located {
		g.Latitude, g.Longitude = r.Latitude, r.Longitude
	}
	g.AccuracyKm = r.AccuracyKm
	g.ASN, g.Org = r.ASN, r.Org
	g.VPN, g.Tor, g.Hosting, g.Proxy, g.ResidentialProxy = r.VPN, r.Tor, r.Hosting, r.Proxy, r.ResidentialProxy
	g.Anonymous = r.AnyAnonymous()
	if p == nil {
		return
	}
	if p.Logins > 0 || p.Last != nil {
		g.NewCountry = r.Country != "" && !p.HasCountry(r.Country)
		g.NewASN = r.ASN != 0 && !p.HasASN(r.ASN)
	}
	if d := p.Device(f.Device.ID); d != nil && !d.Forgotten {
		r.applyDevice(g, d, at)
	}
	last := p.Last
	if last == nil {
		return
	}
	g.LastCountry, g.LastCity, g.LastAccuracyKm = last.Country, last.City, last.AccuracyKm
	h, elapsed := r.hopFrom(&last.Place, last.At, at)
	g.ElapsedHours = elapsed.Hours()
	g.DistanceKm, g.TravelKmh, g.ImpossibleTravel = h.distanceKm, h.speedKmh, h.impossible
}

// applyDevice fills the device_* features: the event against the history
// of its device for this user (its networks, the place of its last
// successful sign-in). A device is one machine: it cannot be in two
// places at once, whichever other devices the user signed in from since.
func (r *Result) applyDevice(g *risk.GeoFeatures, d *engine.DeviceSeen, at time.Time) {
	g.DeviceNewASN = r.ASN != 0 && len(d.ASNs) > 0 && !slices.Contains(d.ASNs, r.ASN)
	if d.Where == nil {
		return
	}
	h, elapsed := r.hopFrom(d.Where, d.Last, at)
	g.DeviceElapsedHours = elapsed.Hours()
	g.DeviceDistanceKm, g.DeviceImpossibleTravel = h.distanceKm, h.impossible
}

// hopFrom judges the move from a sign-in at place prev and time then to
// this event at time at; the hop is empty (distance −1) for a private
// address.
func (r *Result) hopFrom(prev *engine.Place, then, at time.Time) (hop, time.Duration) {
	elapsed := at.Sub(then)
	if elapsed < 0 { // out-of-order replay: the hop is the same either way
		elapsed = -elapsed
	}
	if r.Private() {
		return hop{distanceKm: -1}, elapsed
	}
	cur := spot{country: r.Country, city: r.City, lat: r.Latitude, lon: r.Longitude,
		accuracyKm: r.AccuracyKm, located: r.Located, unreliable: r.Unreliable()}
	last := spot{country: prev.Country, city: prev.City, lat: prev.Lat, lon: prev.Lon,
		accuracyKm: prev.AccuracyKm, located: prev.Located, unreliable: r.policy().unreliableASN(prev.ASN)}
	return r.policy().assess(&cur, &last, elapsed), elapsed
}
