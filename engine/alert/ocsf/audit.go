package ocsf

import (
	"github.com/riskauth/riskauth/authn/secevent"
)

// authEvent renders an audit-trail sign-in or sign-out step as OCSF
// Authentication (class 3002): activity Logon (or Logoff), status
// Success, Failure, or Other "Pending" for a requested second factor (or
// approval of a magic link opened elsewhere), with
// the failure's reason in status_detail. The message says who (user, or
// the identifier typed when it matched no account), from where (source
// IP, user agent, device), which app (the caller's attributes), what and
// the outcome; never a credential. Unlike a decision's Authentication it
// carries no feature snapshot: it records what happened, not why the
// engine decided. Schema: docs/schemas/auth-event.schema.json.
func (e *Encoder) authEvent(w *writer, ev *secevent.Event, id string) {
	t := securityTypes[ev.Type]
	w.open()
	w.header(categoryIAM, "Identity & Access Management", classAuthentication, "Authentication", t.activity, t.activityName)
	e.securityCommon(w, ev, t)
	w.intField("status_id", int64(t.status))
	switch t.status {
	case statusSuccess:
		w.strField("status", "Success")
	case statusFailure:
		w.strField("status", "Failure")
	default:
		w.strField("status", "Pending")
	}
	w.optStr("status_detail", ev.Details["reason"])
	if ev.UserID != "" || ev.Email != "" {
		w.user(ev.UserID, ev.Email, ev.Email)
	} else {
		w.user("", ev.Identifier, "")
	}
	w.srcEndpoint(ipString(ev), nil)
	w.httpRequest(ev.UserAgent)
	w.boolField("is_mfa", isMFA(ev))
	w.boolField("is_remote", true)
	if d := ev.Details["device_id"]; d != "" {
		w.device("device", d)
	}
	w.obj("service")
	w.strField("name", e.meta.Service)
	w.close()
	if ev.SessionID != "" {
		w.obj("actor")
		w.obj("session")
		w.strField("uid", ev.SessionID)
		w.close()
		w.close()
	}
	e.metadata(w, id, ev.Details["evaluation_id"])
	w.obj("unmapped")
	w.obj("riskauth")
	w.strField("event_type", string(ev.Type))
	w.optStr("session_id", ev.SessionID)
	if len(ev.Details) > 0 {
		w.key("details")
		w.stringMap(ev.Details)
	}
	if len(ev.Attributes) > 0 {
		w.key("attributes")
		w.stringMap(ev.Attributes)
	}
	w.optStr("host", e.meta.Host)
	w.close()
	w.close()
	w.close()
}

// isMFA: the step is a second factor, or the session it issued is AAL2.
func isMFA(ev *secevent.Event) bool {
	switch ev.Type {
	case secevent.StepUpRequested, secevent.StepUpPassed, secevent.SecondFactorFailed:
		return true
	}
	return ev.Details["aal"] == "2"
}
