package ocsf

import (
	"fmt"

	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// SecurityKey returns the Kafka message key for a security event, by the
// same rule as Key: user id, else normalised email, else IP.
func SecurityKey(ev *secevent.Event) string {
	if ev == nil {
		return ""
	}
	if k := engine.UserKey(ev.UserID, ev.Email); k != "" {
		return k
	}
	if ev.IP.IsValid() {
		return ev.IP.Unmap().String()
	}
	return ""
}

// Security appends to dst the event with uid id: OCSF Account Change
// (class 3001) for factor, password and session changes, Detection Finding
// (2004) for lockouts, failed step-ups and new devices, Authentication
// (3002) for the audit trail's sign-in and sign-out steps (audit.go).
// On error dst is returned unchanged.
func (e *Encoder) Security(dst []byte, ev *secevent.Event, id string) ([]byte, error) {
	if ev == nil {
		return dst, ErrNilInput
	}
	if id == "" {
		return dst, ErrNoID
	}
	if _, ok := securityTypes[ev.Type]; !ok {
		return dst, fmt.Errorf("%w %q", ErrUnknownEventType, ev.Type)
	}
	w := writer{b: dst}
	switch {
	case ev.Type.IsAuthentication():
		e.authEvent(&w, ev, id)
	case ev.Type.IsFinding():
		e.securityFinding(&w, ev, id)
	default:
		e.accountChange(&w, ev, id)
	}
	return w.b, nil
}

// securityType is how one secevent.Type renders.
type securityType struct {
	// activity is the Account Change or Authentication activity_id
	// (Finding types use Create).
	activity     int
	activityName string
	// status is the Authentication status_id of the audit types (Account
	// Changes are always Success, findings New).
	status int
	// severity is the default when the event carries none.
	severity risk.Severity
	title    string
}

// Account Change activity ids are OCSF 1.3's (class 3001,
// https://schema.ocsf.io/1.3.0/classes/account_change): 3 Password Change,
// 4 Password Reset, 10 MFA Factor Enable, 11 MFA Factor Disable. Revoking
// every session of an account has no activity of its own there, so it is
// 99 Other with activity_name naming it, as OCSF asks for Other.
//
// The finding types default to Medium for a lockout and a failed step-up
// (someone holding the password failed the second factor, or hammered the
// account) and Low for a new device (usually the owner's new phone).
var securityTypes = map[secevent.Type]securityType{
	secevent.PasswordChanged:    {activity: 3, activityName: "Password Change", title: "password changed"},
	secevent.PasswordReset:      {activity: 4, activityName: "Password Reset", title: "password reset"},
	secevent.MFAEnrolled:        {activity: 10, activityName: "MFA Factor Enable", title: "second factor enrolled"},
	secevent.MFARecoveryRenewed: {activity: 10, activityName: "MFA Factor Enable", title: "recovery codes regenerated"},
	secevent.MFARemoved:         {activity: 11, activityName: "MFA Factor Disable", title: "second factor removed"},
	secevent.SessionsRevoked:    {activity: activityOther, activityName: "Sessions Revoked", title: "all sessions revoked"},

	// Self-service changes (authn/secevent/privacy.go): Account Change 99
	// Other, named in activity_name. A disowned sign-in is Medium: the
	// owner says someone else got in.
	secevent.ProfileUpdated:   {activity: activityOther, activityName: "Profile Update", title: "profile updated"},
	secevent.DeviceRenamed:    {activity: activityOther, activityName: "Device Rename", title: "device renamed"},
	secevent.DeviceForgotten:  {activity: activityOther, activityName: "Device Forget", title: "device forgotten: no longer trusted"},
	secevent.ActivityDisowned: {activity: activityOther, activityName: "Activity Disowned", severity: risk.SeverityMedium, title: "the owner reported a sign-in as not theirs"},
	// The privacy rights (authn/secevent/rights.go): Account Change 99
	// Other, named.
	secevent.DataExportRequested: {activity: activityOther, activityName: "Data Export Requested", title: "data export requested"},
	secevent.DataExported:        {activity: activityOther, activityName: "Data Exported", title: "data export downloaded"},
	secevent.DeletionRequested:   {activity: activityOther, activityName: "Deletion Requested", severity: risk.SeverityLow, title: "account erasure requested"},
	secevent.DeletionCancelled:   {activity: activityOther, activityName: "Deletion Cancelled", title: "account erasure cancelled"},
	// Consents and preferences (authn/secevent/consent.go), 99 Other.
	secevent.ConsentGranted:     {activity: activityOther, activityName: "Consent Granted", title: "consent granted"},
	secevent.ConsentWithdrawn:   {activity: activityOther, activityName: "Consent Withdrawn", title: "consent withdrawn"},
	secevent.PreferencesUpdated: {activity: activityOther, activityName: "Preferences Update", title: "communication preferences updated"},
	secevent.EmailChangeRequested: {activity: activityOther, activityName: "Email Change Requested", severity: risk.SeverityLow,
		title: "an email address change was requested"},
	// OpenID Connect consents (secevent/oidc.go).
	secevent.OIDCConsentGranted:    {activity: activityOther, activityName: "App Consent Granted", title: "an application was granted access"},
	secevent.OIDCConsentRevoked:    {activity: activityOther, activityName: "App Consent Revoked", title: "an application's access was revoked"},
	secevent.OIDCBackchannelLogout: {activity: activityOther, activityName: "App Logout", title: "an application was told that a session ended"},
	// The client registry's changes (an administrator's, no account).
	secevent.OIDCClientCreated:       {activity: activityOther, activityName: "App Registered", severity: risk.SeverityLow, title: "an application was registered"},
	secevent.OIDCClientUpdated:       {activity: activityOther, activityName: "App Updated", severity: risk.SeverityLow, title: "an application's registration was changed"},
	secevent.OIDCClientDeleted:       {activity: activityOther, activityName: "App Deleted", severity: risk.SeverityLow, title: "an application was deleted: its tokens and consents were revoked"},
	secevent.OIDCClientSecretRotated: {activity: activityOther, activityName: "App Secret Rotated", severity: risk.SeverityLow, title: "an application was given a new secret"},
	// Upstream identities (secevent/upstream.go): Low, since a link is
	// a new way into the account.
	secevent.IdentityLinked:   {activity: activityOther, activityName: "Identity Linked", severity: risk.SeverityLow, title: "an upstream identity was linked"},
	secevent.IdentityUnlinked: {activity: activityOther, activityName: "Identity Unlinked", title: "an upstream identity was unlinked"},
	// The account lifecycle (secevent/lifecycle.go), Account Change's own
	// activities where OCSF 1.3 has one: 1 Create, 2 Enable, 5 Disable,
	// 6 Delete, 12 Unlock; the rest 99 Other, named.
	secevent.UserCreated:       {activity: 1, activityName: "Create", title: "account created"},
	secevent.UserEnabled:       {activity: 2, activityName: "Enable", title: "account enabled"},
	secevent.UserDisabled:      {activity: 5, activityName: "Disable", severity: risk.SeverityLow, title: "account disabled"},
	secevent.UserDeleted:       {activity: 6, activityName: "Delete", severity: risk.SeverityLow, title: "account deleted"},
	secevent.UserUnlocked:      {activity: 12, activityName: "Unlock", title: "account unlocked"},
	secevent.MFAReset:          {activity: 11, activityName: "MFA Factor Disable", severity: risk.SeverityMedium, title: "every second factor removed by an administrator"},
	secevent.UserVerified:      {activity: activityOther, activityName: "Email Verified", title: "email address verified"},
	secevent.UserUpdated:       {activity: activityOther, activityName: "Account Updated", title: "account updated"},
	secevent.VerificationSent:  {activity: activityOther, activityName: "Verification Sent", title: "verification link sent by an administrator"},
	secevent.PasswordResetSent: {activity: activityOther, activityName: "Password Reset Sent", title: "password reset link sent by an administrator"},

	secevent.Lockout:      {activity: activityCreate, activityName: "Create", severity: risk.SeverityMedium, title: "account locked out after repeated failures"},
	secevent.StepUpFailed: {activity: activityCreate, activityName: "Create", severity: risk.SeverityMedium, title: "second-factor challenge failed"},
	secevent.NewDevice:    {activity: activityCreate, activityName: "Create", severity: risk.SeverityLow, title: "sign-in from a new device"},
	// A cloned passkey is High: someone holds a copy of a key that was
	// meant never to leave its authenticator.
	secevent.PasskeyCloned:  {activity: activityCreate, activityName: "Create", severity: risk.SeverityHigh, title: "passkey signature counter went backwards: cloned authenticator suspected"},
	secevent.PasskeyRenamed: {activity: activityOther, activityName: "Passkey Rename", title: "passkey renamed"},
	// A reused OpenID Connect refresh token: a stolen grant, likely.
	secevent.OIDCRefreshReuse: {activity: activityCreate, activityName: "Create", severity: risk.SeverityMedium, title: "a refresh token was reused: its grant was revoked"},
	secevent.SessionHijackSuspected: {activity: activityCreate, activityName: "Create", severity: risk.SeverityHigh,
		title: "session used from another network or TLS stack: re-authentication required or session revoked"},

	// The audit trail's types (audit.go). Failures are Low, the rest
	// Informational: the SOC's alerts come from the types above.
	secevent.LoginSucceeded:     {activity: activityLogon, activityName: "Logon", status: statusSuccess, title: "sign-in succeeded"},
	secevent.LoginFailed:        {activity: activityLogon, activityName: "Logon", status: statusFailure, severity: risk.SeverityLow, title: "sign-in failed"},
	secevent.StepUpRequested:    {activity: activityLogon, activityName: "Logon", status: statusOther, title: "second factor requested"},
	secevent.StepUpPassed:       {activity: activityLogon, activityName: "Logon", status: statusSuccess, title: "second factor passed"},
	secevent.SecondFactorFailed: {activity: activityLogon, activityName: "Logon", status: statusFailure, severity: risk.SeverityLow, title: "second factor failed"},
	secevent.Logout:             {activity: activityLogoff, activityName: "Logoff", status: statusSuccess, title: "signed out"},
	secevent.SessionRevoked:     {activity: activityOther, activityName: "Session Revoked", title: "session revoked"},
	secevent.ApprovalRequested:  {activity: activityLogon, activityName: "Logon", status: statusOther, title: "magic link opened elsewhere: approval requested"},
	secevent.ApprovalGranted:    {activity: activityLogon, activityName: "Logon", status: statusSuccess, title: "sign-in approved from the magic link"},
}

func (e *Encoder) securityCommon(w *writer, ev *secevent.Event, t securityType) (title string) {
	at := ev.Time
	if at.IsZero() {
		at = e.meta.Clock.Now()
	}
	w.intField("time", at.UnixMilli())
	sev := int(t.severity)
	if ev.Severity != risk.SeverityNone {
		sev = int(ev.Severity)
	}
	if sev == 0 {
		sev = severityInformational
	}
	w.severity(sev)
	title = ev.Message
	if title == "" {
		title = t.title
	}
	w.strField("message", title)
	return title
}

func (e *Encoder) securityExtension(w *writer, ev *secevent.Event) {
	w.obj("unmapped")
	w.obj("riskauth")
	w.strField("event_type", string(ev.Type))
	w.optStr("session_id", ev.SessionID)
	if len(ev.Details) > 0 {
		w.key("details")
		w.stringMap(ev.Details)
	}
	w.optStr("host", e.meta.Host)
	w.close()
	w.close()
}

func ipString(ev *secevent.Event) string {
	if !ev.IP.IsValid() {
		return ""
	}
	return ev.IP.Unmap().String()
}

// accountChange renders class 3001. The change has happened when authn
// emits it, so status is Success.
func (e *Encoder) accountChange(w *writer, ev *secevent.Event, id string) {
	t := securityTypes[ev.Type]
	w.open()
	w.header(categoryIAM, "Identity & Access Management", classAccountChange, "Account Change", t.activity, t.activityName)
	e.securityCommon(w, ev, t)
	w.intField("status_id", 1)
	w.strField("status", "Success")
	w.user(ev.UserID, ev.Email, ev.Email)
	w.srcEndpoint(ipString(ev), nil)
	w.httpRequest(ev.UserAgent)
	if ev.SessionID != "" {
		// The session the change was made from, when there was one.
		w.obj("actor")
		w.obj("session")
		w.strField("uid", ev.SessionID)
		w.close()
		w.close()
	}
	e.metadata(w, id, ev.Details["evaluation_id"])
	e.securityExtension(w, ev)
	w.close()
}

// securityFinding renders lockouts, failed step-ups and new devices as
// class 2004: they are things a SOC triages, not account changes.
func (e *Encoder) securityFinding(w *writer, ev *secevent.Event, id string) {
	t := securityTypes[ev.Type]
	w.open()
	w.header(categoryFindings, "Findings", classDetectionFinding, "Detection Finding", activityCreate, "Create")
	title := e.securityCommon(w, ev, t)
	w.intField("status_id", findingStatusNew)
	w.strField("status", "New")
	w.boolField("is_alert", true)
	w.obj("finding_info")
	w.strField("uid", id)
	w.strField("title", title)
	w.analytic("analytic", "riskauth:"+string(ev.Type), string(ev.Type), t.title, "")
	w.arr("types")
	w.str(string(ev.Type))
	w.closeArr()
	if eid := ev.Details["evaluation_id"]; eid != "" {
		w.arr("related_events")
		w.open()
		w.strField("uid", eid)
		w.close()
		w.closeArr()
	}
	w.close()
	ip := ipString(ev)
	deviceID := ev.Details["device_id"]
	w.evidence(ev.UserID, ev.Email, ev.Email, ip, nil, deviceID, ev.UserAgent)
	w.device("device", deviceID)
	e.metadata(w, id, ev.Details["evaluation_id"])
	e.securityExtension(w, ev)
	w.close()
}
