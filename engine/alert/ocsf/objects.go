package ocsf

import (
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

	activityLogon  = 1  // Authentication: "A new logon session was requested."
	activityLogoff = 2  // Authentication: "A logon session was terminated."
	activityOther  = 99 // every class: the producer names it in activity_name

	activityCreate = 1 // Finding: "A finding was created."

	statusSuccess = 1
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
