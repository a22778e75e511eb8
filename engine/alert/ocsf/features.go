package ocsf

import (
	"slices"
	"strings"

	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/internal/leaf/jsonw"
)

// features writes f exactly as json.Marshal(f) would (TestFeaturesJSON
// holds the two together, field by field, including every field a future
// change adds to rules.Features), without reflection and without the map
// VelocityFeatures.MarshalJSON builds: the snapshot is most of an
// Authentication message and this is the encoder's hot path.
func (e *Encoder) features(w *writer, f *risk.Features) {
	w.open()

	w.obj("event")
	ev := &f.Event
	w.strField("kind", ev.Kind)
	w.optStr("ip", ev.IP)
	w.boolField("has_user", ev.HasUser)
	w.intField("hour_utc", int64(ev.HourUTC))
	w.boolField("headless", ev.Headless)
	w.boolField("empty_user_agent", ev.EmptyAgent)
	w.optStr("ja4", ev.JA4)
	w.optStr("ja4_stack", ev.JA4Stack)
	w.boolField("ja4_mismatch", ev.JA4Mismatch)
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
	w.boolField("platform_changed", d.PlatformChanged)
	w.boolField("timezone_changed", d.TimezoneChanged)
	w.boolField("languages_changed", d.LanguagesChanged)
	w.boolField("screen_changed", d.ScreenChanged)
	w.intField("traits_changed", int64(d.TraitsChanged))
	w.boolField("ja4_changed", d.JA4Changed)
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
	w.boolField("device_new_asn", g.DeviceNewASN)
	w.floatField("device_elapsed_hours", g.DeviceElapsedHours)
	w.floatField("device_distance_km", g.DeviceDistanceKm)
	w.boolField("device_impossible_travel", g.DeviceImpossibleTravel)
	w.close()

	w.obj("breached")
	b := &f.Breached
	w.boolField("available", b.Available)
	w.boolField("checked", b.Checked)
	w.boolField("password", b.Password)
	w.intField("count", int64(b.Count))
	w.close()

	w.key("velocity")
	e.velocityFeatures(w, &f.Velocity)

	w.obj("familiarity")
	fm := &f.Familiarity
	w.boolField("available", fm.Available)
	w.floatField("score", fm.Score)
	w.boolField("cold_start", fm.ColdStart)
	w.floatField("logins", fm.Logins)
	w.floatField("prior", fm.Prior)
	w.optStr("top", fm.Top)
	w.intField("ip_logins", int64(fm.IPLogins))
	w.intField("asn_logins", int64(fm.ASNLogins))
	w.close()

	w.obj("authn")
	w.optStr("factor", f.Authn.Factor)
	w.boolField("phishing_resistant", f.Authn.PhishingResistant)
	w.close()

	w.obj("passkey")
	pk := &f.Passkey
	w.boolField("used", pk.Used)
	w.boolField("user_verified", pk.UserVerified)
	w.boolField("backup_eligible", pk.BackupEligible)
	w.boolField("synced", pk.Synced)
	w.boolField("sign_count_regressed", pk.SignCountRegressed)
	w.close()

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

// velocityPlan is how one counter catalogue renders: its counters in
// sorted key order (as json.Marshal of VelocityFeatures' map writes them),
// each key already quoted, and where "available" falls among them. The
// catalogue is the same slice for every decision of a rules.Schema, so the
// plan is built once, not sorted and escaped again per message.
type velocityPlan struct {
	names []string // the catalogue the plan was built for
	order []int    // indices into names, sorted by name (stable)
	keys  []string // `"name":` for order[k]
	avail int      // "available" goes before order[avail]
}

func sameSlice(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func (e *Encoder) velocityPlan(names []string) *velocityPlan {
	if p := e.velocity.Load(); p != nil && sameSlice(p.names, names) {
		return p
	}
	p := &velocityPlan{names: names, order: make([]int, len(names)), keys: make([]string, len(names))}
	for i := range p.order {
		p.order[i] = i
	}
	slices.SortStableFunc(p.order, func(a, b int) int { return strings.Compare(names[a], names[b]) })
	p.avail = len(p.order)
	for k, i := range p.order {
		p.keys[k] = string(jsonw.AppendString(nil, names[i])) + ":"
		if p.avail == len(p.order) && names[i] > "available" {
			p.avail = k
		}
	}
	e.velocity.Store(p)
	return p
}

// velocityFeatures writes the counters by name with "available" among
// them, as json.Marshal of VelocityFeatures' map does.
func (e *Encoder) velocityFeatures(w *writer, v *risk.VelocityFeatures) {
	p := e.velocityPlan(v.Names())
	w.open()
	for k, i := range p.order {
		if k == p.avail {
			w.boolField("available", v.Available)
		}
		if i < len(v.Values) {
			w.sep()
			w.b = append(w.b, p.keys[k]...)
			w.int(int64(v.Values[i]))
		}
	}
	if p.avail == len(p.order) {
		w.boolField("available", v.Available)
	}
	w.close()
}
