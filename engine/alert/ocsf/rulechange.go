package ocsf

import (
	"fmt"
	"time"

	"github.com/riskauth/riskauth/engine/risk"
)

// Entity Management (OCSF 1.3 class 3004,
// https://schema.ocsf.io/1.3.0/classes/entity_management) reports "a
// create, read, update, and delete operation on a managed entity" by a
// user at a management console or a managed client: exactly what a rule
// set promote, rollback or candidate change is. API Activity (6003) was the
// alternative; it describes the API call rather than what it changed, and
// a hot reload from disk is no API call at all. The rule set is the
// managed entity, its version before and after go in entity and
// entity_result.
const (
	classEntityManagement = 3004

	activityEntityCreate = 1
	activityEntityUpdate = 3
	activityEntityDelete = 4
)

// RuleChange is one audited change of the active or candidate rule set,
// as the alert tree receives it. It has exactly the fields of
// rules.Change, so the wiring that hooks a rule source's audit to the
// sink converts with ocsf.RuleChange(c); it is declared here so that the
// alert tree does not import the rule compiler for one record. A field
// added to rules.Change stops that conversion from compiling, which is
// the reminder to render it here too.
type RuleChange struct {
	// Action is one of the rules.Action* values (promote, rollback,
	// reload, candidate_set, candidate_clear, candidate_reload).
	Action string
	// Actor is who made it: an admin key's name, or the file watcher.
	Actor string
	At    time.Time
	// OldVersion and NewVersion are the versions before and after; empty
	// means none (no candidate).
	OldVersion, NewVersion string
	// Candidate reports a change of the candidate rather than the active set.
	Candidate bool
}

// RuleChangeKey is the Kafka message key of every rule-change event: one
// key, so they stay in order on one partition.
const RuleChangeKey = "riskauth-rules"

// RuleChange appends to dst the audited rule-set change c as an OCSF
// Entity Management event (class 3004) with uid id. Changes of the active
// set are Low severity (they change decisions), candidate changes
// Informational. On error dst is returned unchanged.
func (e *Encoder) RuleChange(dst []byte, c *RuleChange, id string) ([]byte, error) {
	if c == nil {
		return dst, ErrNilInput
	}
	if id == "" {
		return dst, ErrNoID
	}
	activity, name := activityEntityUpdate, "Update"
	switch {
	case c.OldVersion == "":
		activity, name = activityEntityCreate, "Create"
	case c.NewVersion == "":
		activity, name = activityEntityDelete, "Delete"
	}
	entity := "active"
	sev := int(risk.SeverityLow)
	if c.Candidate {
		entity, sev = "candidate", severityInformational
	}
	at := c.At
	if at.IsZero() {
		at = e.meta.Clock.Now()
	}
	w := writer{b: dst}
	w.open()
	w.header(categoryIAM, "Identity & Access Management", classEntityManagement, "Entity Management", activity, name)
	w.intField("time", at.UnixMilli())
	w.severity(sev)
	w.strField("message", fmt.Sprintf("%s rule set %s by %s: %s -> %s", entity, c.Action, c.Actor, orNone(c.OldVersion), orNone(c.NewVersion)))
	w.intField("status_id", 1)
	w.strField("status", "Success")
	w.obj("actor")
	w.obj("user")
	w.strField("name", c.Actor)
	w.close()
	w.close()
	ruleSet := func(k, version string) {
		w.obj(k)
		w.strField("type", "Rule Set")
		w.strField("name", entity)
		w.optStr("version", version)
		w.close()
	}
	ruleSet("entity", c.OldVersion)
	if c.NewVersion != "" {
		ruleSet("entity_result", c.NewVersion)
	}
	e.metadata(&w, id, "")
	w.obj("unmapped")
	w.obj("riskauth")
	w.strField("event_type", "rules_"+c.Action)
	w.strField("action", c.Action)
	w.strField("actor", c.Actor)
	w.boolField("candidate", c.Candidate)
	w.optStr("old_version", c.OldVersion)
	w.optStr("new_version", c.NewVersion)
	w.optStr("host", e.meta.Host)
	w.close()
	w.close()
	w.close()
	return w.b, nil
}

func orNone(v string) string {
	if v == "" {
		return "none"
	}
	return v
}
