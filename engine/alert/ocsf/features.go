package ocsf

import (
	"github.com/riskauth/riskauth/rules"
)

// features writes f exactly as json.Marshal(f) would (TestFeaturesJSON
// holds the two together, field by field, including every field a future
// change adds to rules.Features), without reflection and without the map
// VelocityFeatures.MarshalJSON builds: the snapshot is most of an
// Authentication message and this is the encoder's hot path.
func (w *writer) features(f *rules.Features) {
	w.open()

	w.obj("event")
	e := &f.Event
	w.strField("kind", e.Kind)
	w.optStr("ip", e.IP)
	w.boolField("has_user", e.HasUser)
	w.intField("hour_utc", int64(e.HourUTC))
	w.boolField("headless", e.Headless)
	w.boolField("empty_user_agent", e.EmptyAgent)
	w.close()

	w.obj("user")
	u := &f.User
	w.boolField("available", u.Available)
	w.boolField("known", u.Known)
	w.intField("logins", int64(u.Logins))
	w.floatField("days_since_last_login", u.DaysSinceLogin)
	w.intField("countries", int64(u.Countries))
	w.intField("devices", int64(u.Devices))
	w.intField("trusted_devices", int64(u.TrustedDevices))
	w.optStr("last_ip", u.LastIP)
	w.boolField("same_ip_as_last", u.SameIPAsLast)
	w.boolField("same_subnet_as_last", u.SameSubnetAsLast)
	w.close()

	w.obj("device")
	d := &f.Device
	w.boolField("present", d.Present)
	w.optStr("id", d.ID)
	w.boolField("has_cookie", d.HasCookie)
	w.boolField("known_for_user", d.Known)
	w.boolField("trusted", d.Trusted)
	w.floatField("age_days", d.AgeDays)
	w.intField("users", int64(d.Users))
	w.close()

	w.obj("geo")
	g := &f.Geo
	w.boolField("available", g.Available)
	w.boolField("private", g.Private)
	w.optStr("country", g.Country)
	w.optStr("city", g.City)
	w.optFloat("lat", g.Latitude)
	w.optFloat("lon", g.Longitude)
	w.optFloat("accuracy_km", g.AccuracyKm)
	if g.ASN != 0 {
		w.intField("asn", int64(g.ASN))
	}
	w.optStr("org", g.Org)
	w.boolField("anonymous", g.Anonymous)
	w.boolField("vpn", g.VPN)
	w.boolField("tor", g.Tor)
	w.boolField("hosting", g.Hosting)
	w.boolField("proxy", g.Proxy)
	w.boolField("residential_proxy", g.ResidentialProxy)
	w.boolField("new_country", g.NewCountry)
	w.boolField("new_asn", g.NewASN)
	w.optStr("last_country", g.LastCountry)
	w.optStr("last_city", g.LastCity)
	w.optFloat("last_accuracy_km", g.LastAccuracyKm)
	w.floatField("elapsed_hours", g.ElapsedHours)
	w.floatField("distance_km", g.DistanceKm)
	w.floatField("travel_kmh", g.TravelKmh)
	w.boolField("impossible_travel", g.ImpossibleTravel)
	w.close()

	w.obj("breached")
	b := &f.Breached
	w.boolField("available", b.Available)
	w.boolField("checked", b.Checked)
	w.boolField("password", b.Password)
	w.intField("count", int64(b.Count))
	w.close()

	w.key("velocity")
	w.velocity(&f.Velocity)

	if len(f.Attr) > 0 {
		w.key("attr")
		w.stringMap(f.Attr)
	}
	w.close()
}

func (w *writer) optFloat(k string, v float64) {
	if v != 0 {
		w.floatField(k, v)
	}
}

// velocity writes the counters by name in sorted key order ("available"
// among them), as json.Marshal of VelocityFeatures' map does. Counter
// catalogues are small, so an insertion sort of indices on the stack beats
// sorting strings on the heap.
func (w *writer) velocity(v *rules.VelocityFeatures) {
	names := v.Names()
	n := min(len(names), len(v.Values))
	var stack [64]int
	idx := stack[:0]
	for i := range n {
		idx = append(idx, i)
		for j := len(idx) - 1; j > 0 && names[idx[j]] < names[idx[j-1]]; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	w.open()
	wrote := false
	for _, i := range idx {
		if !wrote && names[i] > "available" {
			w.boolField("available", v.Available)
			wrote = true
		}
		w.intField(names[i], int64(v.Values[i]))
	}
	if !wrote {
		w.boolField("available", v.Available)
	}
	w.close()
}
