package authn

import (
	"maps"
	"strconv"
	"strings"

	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine"
)

// The audit trail (issue 17, item 10; OWASP ASVS 5.0 16.3.1): every
// authentication step — a sign-in that succeeded or failed, a second
// factor requested, passed or failed, a re-authentication, a password
// confirmed wrongly, a sign-out, a session revoked — becomes an event of
// an audit-only secevent type on the SecurityEvents sink, which keeps the
// trail (DATA_DIR/audit.jsonl, or the audit topic with Kafka) next to the
// account security events it already had. Each names who (the account, or
// the address typed when it matched none), from where (source IP, user
// agent, device), which app (the caller's attributes), what (flow,
// factor) and the outcome (reason of a failure); never a password, code,
// token or flow handle. Emitting is a non-blocking hand-off, done alike
// for known and unknown identifiers, so it tells an attacker nothing.

// Flows an audit event can come from (details "flow").
const (
	flowSignIn          = "sign_in"
	flowReauthenticate  = "reauthenticate"
	flowConfirmPassword = "confirm_password"
)

// audit emits an event of an audit-only type for u (nil: identifier,
// which matched no account) and client c; sessionID is the session the
// event issued, ended or came from.
func (s *core) audit(t secevent.Type, u *User, identifier string, c Client, sessionID string, details map[string]string) {
	s.metrics.securityEvent(t)
	if s.events == nil {
		return
	}
	ev := &secevent.Event{Type: t, IP: c.IP, UserAgent: c.UserAgent, SessionID: sessionID, Time: s.clock.Now(),
		Details: details, Attributes: maps.Clone(c.Attributes)}
	if u != nil {
		ev.UserID, ev.Email = u.ID, u.Email
	} else {
		ev.Identifier = identifier
	}
	s.events.Emit(ev)
}

// auditDetails are an event's details: flow, factor (when known) and the
// failure's reason. A wrong password or code of an unknown or disabled
// account is recorded as what it was: the trail is read by the SOC, for
// whom the difference matters, not by the one who typed it.
func auditDetails(flow string, u *User, f Factor, reason string) map[string]string {
	d := map[string]string{"flow": flow}
	if f != "" {
		d["factor"] = string(f)
	}
	if reason == reasonWrongPassword || reason == reasonWrongCode || reason == reasonCodeExhausted {
		switch {
		case u == nil:
			reason = "unknown_account"
		case u.Disabled:
			reason = "account_disabled"
		}
	}
	if reason != "" {
		d["reason"] = reason
	}
	return d
}

// Reasons of failures (details "reason", OCSF status_detail).
const (
	reasonWrongPassword = "wrong_password"
	reasonWrongCode     = "wrong_code"
	reasonCodeExhausted = "code_exhausted"
	reasonReplayedCode  = "replayed_code"
	reasonRiskBlock     = "risk_block"
	reasonSourceDelay   = "source_delay"
	// reasonAccountHeld: a right password, refused because its account
	// was past the threshold of wrong ones (held; issue 17, item 2).
	reasonAccountHeld = "account_held"
	// reasonApprovalDenied: the owner denied, where a magic link was
	// opened, the sign-in waiting on it elsewhere (issue 17, item 7).
	reasonApprovalDenied = "approval_denied"
)

// Claims of an unverified account (details "claim"; claim.go): the
// inbox alone (what the registrant set is dropped), or the inbox and the
// registrant's password together (kept).
const (
	claimInbox            = "inbox"
	claimInboxAndPassword = "inbox_and_password"
)

// passwordFailure is the reason a password did not let a sign-in
// through: not checked (the source was made to wait), wrong, or right but
// past the account threshold. "" when it did.
func passwordFailure(ok, held, waited bool) string {
	switch {
	case waited:
		return reasonSourceDelay
	case !ok:
		return reasonWrongPassword
	case held:
		return reasonAccountHeld
	}
	return ""
}

// codeFailure is the reason of a wrong email code: the guess that killed
// it, or another wrong one.
func codeFailure(dead bool) string {
	if dead {
		return reasonCodeExhausted
	}
	return reasonWrongCode
}

// wrongFactor is the reason of a wrong factor f.
func wrongFactor(f Factor) string {
	if f == FactorPassword {
		return reasonWrongPassword
	}
	return reasonWrongCode
}

// auditStep records a step of a sign-in flow: t with the step's factor,
// evaluation and device, reason naming a failure ("" otherwise).
func (s *core) auditStep(t secevent.Type, st step, reason string) {
	d := stepDetails(st, reason)
	if st.device != "" {
		d["device_id"] = st.device
	}
	s.audit(t, st.user, st.identifier, st.client, "", d)
}

// stepDetails are the details of an event of the sign-in step st: flow,
// factor, reason, evaluation, and the marks of a held flow and of a
// claim of an unverified account.
func stepDetails(st step, reason string) map[string]string {
	d := auditDetails(flowSignIn, st.user, st.factor, reason)
	if st.evaluationID != "" {
		d["evaluation_id"] = st.evaluationID
	}
	if st.held {
		d["held"] = "true"
	}
	if st.claim != "" {
		d["claim"] = st.claim
	}
	return d
}

// auditSecondFactor records that st asks for one of methods next.
func (s *core) auditSecondFactor(st step, methods []Method) {
	d := stepDetails(st, "")
	d["methods"] = strings.Join(strs(methods), ",")
	s.audit(secevent.StepUpRequested, st.user, st.identifier, st.client, "", d)
}

// auditHeld records a password presented past the account threshold
// (st.held): one login_failed event whatever the password, since the
// sign-in is refused until the mailed code passes (methods), with the
// reason saying what the password was (passwordFailure). The type, which
// the security-event metric counts, is the same for a right password and
// a wrong one.
func (s *core) auditHeld(st step, reason string, methods []Method) {
	d := stepDetails(st, reason)
	d["methods"] = strings.Join(strs(methods), ",")
	if st.device != "" {
		d["device_id"] = st.device
	}
	s.audit(secevent.LoginFailed, st.user, st.identifier, st.client, "", d)
}

// auditSignedIn records the session a sign-in (flow) ended in.
func (s *core) auditSignedIn(flow string, u *User, c Client, f Factor, is *IssuedSession, evaluationID, device string) {
	d := auditDetails(flow, u, f, "")
	s.auditSession(d, u, c, is, evaluationID, device)
}

// auditStepSignedIn records the session the sign-in step st ended in.
func (s *core) auditStepSignedIn(st step, is *IssuedSession, device string) {
	s.auditSession(stepDetails(st, ""), st.user, st.client, is, st.evaluationID, device)
}

func (s *core) auditSession(d map[string]string, u *User, c Client, is *IssuedSession, evaluationID, device string) {
	d["aal"] = strconv.Itoa(int(is.AAL))
	if evaluationID != "" {
		d["evaluation_id"] = evaluationID
	}
	if device != "" {
		d["device_id"] = device
	}
	s.audit(secevent.LoginSucceeded, u, "", c, is.ID, d)
}

// auditFailed records a failure of flow outside a sign-in flow (a
// re-authentication, a password confirmation), from session sessionID;
// held marks a check made past the account threshold.
func (s *core) auditFailed(t secevent.Type, flow string, u *User, c Client, sessionID string, f Factor, reason string, held bool) {
	d := auditDetails(flow, u, f, reason)
	if held {
		d["held"] = "true"
	}
	s.audit(t, u, "", c, sessionID, d)
}

// auditBlocked records a sign-in the risk engine refused before any
// factor was checked, from the evaluated event.
func (s *core) auditBlocked(ev engine.Event, evaluationID string) {
	var u *User
	if ev.UserID != "" {
		u = &User{ID: ev.UserID}
	}
	d := auditDetails("", u, "", reasonRiskBlock)
	delete(d, "flow") // sign-in or re-authentication: the engine event does not say
	d["evaluation_id"] = evaluationID
	s.audit(secevent.LoginFailed, u, ev.Identifier, Client{IP: ev.IP, UserAgent: ev.UserAgent, Attributes: ev.Attributes}, "", d)
}
