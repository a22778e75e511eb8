package ocsf

import (
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

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
