package ocsf

import (
	"math"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// OCSF 1.3 identifiers used here. Class and activity ids are from the
// class definitions at https://schema.ocsf.io/1.3.0/classes/authentication,
// /classes/account_change and /classes/detection_finding (ocsf-schema
// events/iam/authentication.json, account_change.json,
// events/findings/detection_finding.json and finding.json).
const (
	categoryIAM      = 3
	categoryFindings = 2

	classAccountChange    = 3001
	classAuthentication   = 3002
	classDetectionFinding = 2004

	activityLogon = 1  // Authentication: "A new logon session was requested."
	activityOther = 99 // every class: the producer names it in activity_name

	activityCreate = 1 // Finding: "A finding was created."

	statusFailure = 2
	statusOther   = 99

	findingStatusNew = 1

	// Security Control profile action_id: what the control did.
	actionAllowed = 1
	actionDenied  = 2
	actionOther   = 99 // step-up: a challenge, which 1.3 has no id for

	severityInformational = 1

	analyticRule = 1 // analytic.type_id 1 Rule

	// Observable type_id values (dictionary types).
	observableIP        = 2  // ip_t
	observableUserName  = 4  // username_t
	observableEmail     = 5  // email_t
	observableResource  = 10 // resource_uid_t: user and device ids
	observableUserAgent = 16 // user_agent_t
)

var severityNames = [...]string{0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}

// severity maps a decision to an OCSF severity_id. The alert severity an
// analyst wrote on the matched rules wins (rules.Severity values are OCSF
// ids already); without one, the decision sets it: a block is High (it is
// an alert whether or not a rule says so), a step-up Low, a passwordless
// sign-in Informational. Authentication and Finding share this mapping so
// that one evaluation never shows two severities.
func severity(d *engine.Decision) int {
	if d.Alert >= risk.SeverityLow && d.Alert <= risk.SeverityCritical {
		return int(d.Alert)
	}
	switch d.Action {
	case risk.Block:
		return int(risk.SeverityHigh)
	case risk.StepUp:
		return int(risk.SeverityLow)
	}
	return severityInformational
}

func (w *writer) severity(id int) {
	if id < 0 || id >= len(severityNames) {
		id = 0
	}
	w.intField("severity_id", int64(id))
	w.strField("severity", severityNames[id])
}

// header writes the class/activity/type block every OCSF event starts with.
func (w *writer) header(category int, categoryName string, class int, className string, activity int, activityName string) {
	w.intField("category_uid", int64(category))
	w.strField("category_name", categoryName)
	w.intField("class_uid", int64(class))
	w.strField("class_name", className)
	w.intField("activity_id", int64(activity))
	w.strField("activity_name", activityName)
	w.intField("type_uid", int64(class*100+activity))
	w.strField("type_name", className+": "+activityName)
}

func (e *Encoder) metadata(w *writer, id, correlation string, profiles ...string) {
	w.obj("metadata")
	w.strField("uid", id)
	w.optStr("correlation_uid", correlation)
	w.strField("version", SchemaVersion)
	w.obj("product")
	w.strField("name", Product)
	w.strField("vendor_name", Product)
	w.optStr("version", e.meta.Version)
	w.close()
	if len(profiles) > 0 {
		w.arr("profiles")
		for _, p := range profiles {
			w.str(p)
		}
		w.closeArr()
	}
	w.intField("logged_time", e.meta.Clock.Now().UnixMilli())
	w.close()
}

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

func (w *writer) user(userID, name, email string) {
	w.obj("user")
	w.optStr("uid", userID)
	w.optStr("name", name)
	w.optStr("email_addr", email)
	w.close()
}

// srcEndpoint writes the client: its address and, when the geo signal
// located it, the place and network. Private and unlocated addresses get
// no location rather than a zero one.
func (w *writer) srcEndpoint(ip string, g *risk.GeoFeatures) {
	if ip == "" && (g == nil || (g.Country == "" && g.ASN == 0)) {
		return
	}
	w.obj("src_endpoint")
	w.optStr("ip", ip)
	if g != nil {
		located := g.Latitude != 0 || g.Longitude != 0
		if g.Country != "" || g.City != "" || located {
			w.obj("location")
			w.optStr("country", g.Country)
			w.optStr("city", g.City)
			if located {
				w.floatField("lat", g.Latitude)
				w.floatField("long", g.Longitude)
				// GeoJSON order, which Elastic's geo_point also reads.
				w.arr("coordinates")
				w.float(g.Longitude)
				w.float(g.Latitude)
				w.closeArr()
			}
			w.close()
		}
		if g.ASN != 0 {
			w.obj("autonomous_system")
			w.intField("number", int64(g.ASN))
			w.optStr("name", g.Org)
			w.close()
		}
	}
	w.close()
}

// device writes the client device. OCSF requires device.type_id; the
// engine does not classify devices for rules, so it is 0 Unknown.
func (w *writer) device(k, id string) {
	if id == "" {
		return
	}
	w.obj(k)
	w.strField("uid", id)
	w.intField("type_id", 0)
	w.strField("type", "Unknown")
	w.close()
}

func (w *writer) httpRequest(userAgent string) {
	if userAgent == "" {
		return
	}
	w.obj("http_request")
	w.strField("user_agent", userAgent)
	w.close()
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

// Authentication status. A pre-auth risk decision is not the result of the
// authentication: when the engine answers passwordless or step_up the
// credentials have not been checked yet, so claiming Success (1) would make
// SIEM "successful logon" analytics count sign-ins that later fail. Those
// decisions are therefore status_id 99 Other with status "Pending"; a
// block ends the attempt whatever the credentials, so it is 2 Failure.
// status_detail always carries the decision name, machine-readable.
func (w *writer) decisionStatus(a risk.Action) {
	if a == risk.Block {
		w.intField("status_id", statusFailure)
		w.strField("status", "Failure")
	} else {
		w.intField("status_id", statusOther)
		w.strField("status", "Pending")
	}
	w.strField("status_detail", a.String())
	// Security Control profile: what the control did with the request.
	switch a {
	case risk.Passwordless:
		w.intField("action_id", actionAllowed)
		w.strField("action", "Allowed")
	case risk.Block:
		w.intField("action_id", actionDenied)
		w.strField("action", "Denied")
	default:
		w.intField("action_id", actionOther)
		w.strField("action", "Challenge")
	}
}

// authActivity is the Authentication activity of an event kind: Logon
// for a sign-in, else Other named after the kind. The Finding's
// related_events type_uid points at the same one.
func authActivity(kind string) (id int, name string) {
	if kind == engine.KindLogin {
		return activityLogon, "Logon"
	}
	if kind == "" {
		return activityOther, "Other"
	}
	return activityOther, kind
}

func (e *Encoder) authentication(w *writer, d *engine.Decision, id string) {
	v := e.view(d)
	w.open()
	activity, activityName := authActivity(v.kind)
	w.header(categoryIAM, "Identity & Access Management", classAuthentication, "Authentication", activity, activityName)
	w.intField("time", v.at.UnixMilli())
	w.severity(severity(d))
	w.decisionStatus(d.Action)
	w.strField("message", decisionMessage(d))
	w.user(v.userID, v.identifier, "")
	w.srcEndpoint(v.ip, v.geo)
	w.httpRequest(v.userAgent)
	w.boolField("is_mfa", d.Action == risk.StepUp)
	w.boolField("is_remote", true)
	w.device("device", v.deviceID)
	w.obj("service")
	w.strField("name", e.meta.Service)
	w.close()
	e.metadata(w, id, d.EvaluationID, "security_control")
	e.extension(w, &v, true)
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

// findingTitle is the most decisive rule's description (reasons are
// ordered most decisive first).
func findingTitle(d *engine.Decision) string {
	if len(d.Reasons) > 0 {
		if r := d.Reasons[0]; r.Description != "" {
			return r.Description
		} else if r.Rule != "" {
			return r.Rule
		}
	}
	if d.Floored {
		return "sign-in " + d.Action.String() + ": risk signals unavailable"
	}
	return "riskauth decision " + d.Action.String()
}

func (w *writer) analytic(k, uid, name, desc, version string) {
	w.key(k)
	w.analyticBody(uid, name, desc, version)
}

func (w *writer) analyticBody(uid, name, desc, version string) {
	w.open()
	w.strField("uid", uid)
	w.strField("name", name)
	w.optStr("desc", desc)
	w.intField("type_id", analyticRule)
	w.strField("type", "Rule")
	w.optStr("version", version)
	w.close()
}

// evidence writes the finding's evidences and observables: who, from
// where, with what. Observable names point into evidences[0].
func (w *writer) evidence(userID, userName, email, ip string, g *risk.GeoFeatures, deviceID, userAgent string) {
	w.arr("evidences")
	w.open()
	w.user(userID, userName, email)
	w.srcEndpoint(ip, g)
	w.device("device", deviceID)
	w.httpRequest(userAgent)
	w.close()
	w.closeArr()

	w.arr("observables")
	obs := func(name string, typeID int64, typ, value string) {
		if value == "" {
			return
		}
		w.open()
		w.strField("name", name)
		w.intField("type_id", typeID)
		w.strField("type", typ)
		w.strField("value", value)
		w.close()
	}
	obs("evidences[0].user.uid", observableResource, "Resource UID", userID)
	obs("evidences[0].user.name", observableUserName, "User Name", userName)
	obs("evidences[0].user.email_addr", observableEmail, "Email Address", email)
	obs("evidences[0].src_endpoint.ip", observableIP, "IP Address", ip)
	obs("evidences[0].device.uid", observableResource, "Resource UID", deviceID)
	obs("evidences[0].http_request.user_agent", observableUserAgent, "HTTP User-Agent", userAgent)
	w.closeArr()
}

func (e *Encoder) finding(w *writer, d *engine.Decision, id string, agg *Aggregate) {
	v := e.view(d)
	w.open()
	w.header(categoryFindings, "Findings", classDetectionFinding, "Detection Finding", activityCreate, "Create")
	w.intField("time", v.at.UnixMilli())
	w.severity(severity(d))
	w.intField("status_id", findingStatusNew)
	w.strField("status", "New")
	w.boolField("is_alert", true)
	title := findingTitle(d)
	w.strField("message", title)
	w.intField("risk_score", int64(math.Round(d.Score)))
	if agg != nil {
		w.intField("count", int64(agg.Count))
		w.intField("start_time", agg.Start.UnixMilli())
		w.intField("end_time", agg.End.UnixMilli())
	}

	w.obj("finding_info")
	// One finding per evaluation: a re-sent message keeps its finding uid
	// even if a producer were to assign it a new message id.
	uid := d.EvaluationID
	if uid == "" {
		uid = id
	}
	w.strField("uid", uid)
	w.strField("title", title)
	w.strField("desc", decisionMessage(d))
	w.intField("created_time", v.at.UnixMilli())
	if len(d.Reasons) > 0 {
		r := d.Reasons[0]
		w.analytic("analytic", r.Rule, r.Rule, r.Description, d.RuleSetVersion)
		if len(d.Reasons) > 1 {
			w.arr("related_analytics")
			for _, r := range d.Reasons[1:] {
				w.analyticBody(r.Rule, r.Rule, r.Description, d.RuleSetVersion)
			}
			w.closeArr()
		}
		w.arr("types")
		for _, r := range d.Reasons {
			w.str(r.Rule)
		}
		w.closeArr()
	}
	if d.EvaluationID != "" {
		w.arr("related_events")
		w.open()
		w.strField("uid", d.EvaluationID)
		activity, _ := authActivity(v.kind)
		w.intField("type_uid", int64(classAuthentication*100+activity))
		w.close()
		w.closeArr()
	}
	w.close()

	w.evidence(v.userID, v.identifier, "", v.ip, v.geo, v.deviceID, v.userAgent)
	w.device("device", v.deviceID)
	e.metadata(w, id, d.EvaluationID)
	e.extension(w, &v, false)
	w.close()
}
