package ocsf

import (
	"math"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// decisionView gathers what both decision messages read, from the event
// when there is one and from the keys and features otherwise, so a
// hand-built or partially filled decision still renders.
type decisionView struct {
	d          *engine.Decision
	at         time.Time
	kind       string
	userID     string
	identifier string
	ip         string
	userAgent  string
	deviceID   string
	attrs      map[string]string
	geo        *risk.GeoFeatures
}

func (e *Encoder) view(d *engine.Decision) decisionView {
	v := decisionView{d: d, at: d.Time, deviceID: d.Keys.Device, ip: d.Keys.IP}
	if ev := d.Event; ev != nil {
		v.kind, v.userID, v.identifier, v.userAgent, v.attrs = ev.Kind, ev.UserID, ev.Identifier, ev.UserAgent, ev.Attributes
		if v.ip == "" && ev.IP.IsValid() {
			v.ip = ev.IP.Unmap().String()
		}
		if v.at.IsZero() {
			v.at = ev.Time
		}
	}
	if f := d.Features; f != nil {
		if v.kind == "" {
			v.kind = f.Event.Kind
		}
		if v.ip == "" {
			v.ip = f.Event.IP
		}
		if v.deviceID == "" {
			v.deviceID = f.Device.ID
		}
		if v.attrs == nil {
			v.attrs = f.Attr
		}
		v.geo = &f.Geo
	}
	if v.at.IsZero() {
		v.at = e.meta.Clock.Now()
	}
	return v
}

func (w *writer) reasons(k string, rs []engine.Reason) {
	if len(rs) == 0 {
		return
	}
	w.arr(k)
	for i := range rs {
		r := &rs[i]
		w.open()
		w.strField("rule", r.Rule)
		w.optStr("description", r.Description)
		w.floatField("score", r.Score)
		w.optStr("action", r.Action)
		w.optStr("alert", r.Alert)
		if len(r.Evidence) > 0 {
			w.arr("evidence")
			for _, ev := range r.Evidence {
				w.open()
				w.strField("field", ev.Field)
				w.key("value")
				w.any(ev.Value)
				w.close()
			}
			w.closeArr()
		}
		if len(r.Familiarity) > 0 {
			// Why the login looked unfamiliar: the familiarity score's
			// per-feature contributions, most suspicious first.
			w.arr("familiarity")
			for i := range r.Familiarity {
				c := &r.Familiarity[i]
				w.open()
				w.strField("feature", c.Feature)
				w.strField("value", c.Value)
				w.boolField("seen", c.Seen)
				w.floatField("user_weight", c.UserWeight)
				w.intField("global_count", int64(min(c.GlobalCount, math.MaxInt64)))
				w.floatField("global_prob", c.GlobalProb)
				w.floatField("user_prob", c.UserProb)
				w.floatField("contribution", c.Contribution)
				w.close()
			}
			w.closeArr()
		}
		w.close()
	}
	w.closeArr()
}

// extension writes unmapped.riskauth: everything OCSF has no attribute for
// but an analyst (and, with the features, a backtest) needs.
func (e *Encoder) extension(w *writer, v *decisionView, withFeatures bool) {
	d := v.d
	w.obj("unmapped")
	w.obj("riskauth")
	w.strField("decision", d.Action.String())
	w.floatField("score", d.Score)
	w.strField("evaluation_id", d.EvaluationID)
	w.optStr("event_kind", v.kind)
	w.optStr("identifier", v.identifier)
	w.optStr("device_id", v.deviceID)
	w.optStr("ruleset_version", d.RuleSetVersion)
	if d.Alert != risk.SeverityNone {
		w.strField("alert", d.Alert.String())
	}
	w.reasons("reasons", d.Reasons)
	w.reasons("shadow_reasons", d.Shadow)
	w.strField("shadow_decision", d.ShadowAction.String())
	if c := d.Candidate; c != nil {
		// The candidate rule set's would-be decision, for the analyst
		// comparing it with the active one; never what the user got.
		w.obj("candidate")
		w.strField("version", c.Version)
		w.strField("decision", c.Action.String())
		w.floatField("score", c.Score)
		w.reasons("reasons", c.Reasons)
		if c.Floored {
			w.boolField("floored", true)
		}
		w.close()
	}
	if d.Floored {
		w.boolField("floored", true)
	}
	if len(d.Signals) > 0 {
		w.obj("signal_status")
		for _, s := range d.Signals { // sorted by name
			w.obj(s.Name)
			w.boolField("available", s.Available)
			w.floatField("ms", s.Millis)
			w.optStr("error", s.Error)
			w.close()
		}
		w.close()
	}
	if d.Latency > 0 {
		w.floatField("latency_ms", math.Round(float64(d.Latency)/1e3)/1e3)
	}
	if len(v.attrs) > 0 {
		w.key("attributes")
		w.stringMap(v.attrs)
	}
	w.optStr("host", e.meta.Host)
	if withFeatures {
		w.key("features")
		e.features(w, d.Features)
	}
	w.close()
	w.close()
}

// decisionMessage is the one line a SOC console shows.
func decisionMessage(d *engine.Decision) string {
	msg := "riskauth decision " + d.Action.String()
	if len(d.Reasons) > 0 {
		msg += ": " + d.Reasons[0].Rule
	} else if d.Floored {
		msg += ": risk signals unavailable"
	}
	return msg
}
