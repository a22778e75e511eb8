package ocsf

import (
	"math"

	"github.com/riskauth/riskauth/engine"
)

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
