package engine

import (
	"strings"
	"time"

	"github.com/riskauth/riskauth/engine/risk"
)

func (e *Engine) eventFeatures(f *risk.Features, ev *Event, dev DeviceInfo, keys Keys) {
	f.Event.Kind = ev.Kind
	f.Event.IP = keys.IP
	f.Event.HasUser = keys.User != ""
	f.Event.HourUTC = ev.Time.UTC().Hour()
	f.Event.Headless = dev.Headless
	f.Event.EmptyAgent = strings.TrimSpace(ev.UserAgent) == ""
	f.Device.Present = ev.Device != nil || ev.UserAgent != ""
	f.Device.ID = dev.ID
	f.Device.HasCookie = dev.HasCookie
	ja4Features(&f.Event, ev.JA4, dev)
	f.Authn.Factor = ev.Factor
	if p := ev.Passkey; p != nil && ev.Factor == FactorPasskey {
		f.Authn.PhishingResistant = true
		f.Passkey = risk.PasskeyFeatures{Used: true, UserVerified: p.UserVerified, BackupEligible: p.BackupEligible,
			Synced: p.Synced, SignCountRegressed: p.SignCountRegressed}
	}
	if len(ev.Attributes) > 0 {
		f.Attr = ev.Attributes
	}
}

// stateFeatures turns the velocity and profile snapshot into features.
func (e *Engine) stateFeatures(f *risk.Features, s *Snapshot, keys Keys, traits DeviceTraits, at time.Time) {
	f.Velocity.Available = true
	copy(f.Velocity.Values, s.Counters)
	f.User.Available = true
	if e.deviceUsers >= 0 {
		f.Device.Users = s.Counters[e.deviceUsers]
	}
	p := &s.Profile
	f.User.Logins = p.Logins
	f.User.Known = p.Logins > 0
	f.User.Countries = len(p.Countries)
	f.User.Devices = len(p.Devices)
	for _, d := range p.Devices {
		if d.Trusted {
			f.User.TrustedDevices++
		}
	}
	if p.Last != nil {
		f.User.DaysSinceLogin = at.Sub(p.Last.At).Hours() / 24
		f.User.LastIP = p.Last.IP
		f.User.SameIPAsLast = keys.IP != "" && keys.IP == p.Last.IP
		f.User.SameSubnetAsLast = keys.Subnet != "" && keys.Subnet == p.Last.Subnet
	}
	if d := p.Device(keys.Device); d != nil && !d.Forgotten {
		f.Device.Known = true
		f.Device.Trusted = d.Trusted
		f.Device.AgeDays = at.Sub(d.First).Hours() / 24
		traitsFeatures(&f.Device, d, traits)
	}
}
