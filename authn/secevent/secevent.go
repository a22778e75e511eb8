package secevent

import (
	"net/netip"
	"time"

	"github.com/riskauth/riskauth/engine/risk"
)

// Type names what happened to an account. The values are stable: they
// are the SOC's event_type, the finding's analytic and the label of
// riskauth_authn_security_events_total.
type Type string

// The types authn emits that the SOC triages or needs to know of: they go
// to the alerts topic, and to the audit trail like every type.
const (
	MFAEnrolled Type = "mfa_enrolled"
	// MFARecoveryRenewed is a fresh set of recovery codes replacing the
	// old ones: an MFA factor enabled for OCSF, but its own type so that a
	// SOC rule on new enrolments does not fire on a renewal.
	MFARecoveryRenewed Type = "mfa_recovery_renewed"
	MFARemoved         Type = "mfa_removed"
	PasswordChanged    Type = "password_changed"
	PasswordReset      Type = "password_reset"
	Lockout            Type = "lockout"
	StepUpFailed       Type = "step_up_failed"
	NewDevice          Type = "new_device"
	SessionsRevoked    Type = "sessions_revoked"
	// PasskeyCloned: a passkey signed with a counter that went backwards:
	// two copies of its private key may exist (a cloned authenticator).
	// Details credential (the passkey's id, base64url) and sign_count.
	PasskeyCloned Type = "passkey_cloned"
	// PasskeyRenamed: the user renamed one of their passkeys (details
	// credential). Enrolment and removal are MFAEnrolled and MFARemoved
	// with details factor "passkey".
	PasskeyRenamed Type = "passkey_renamed"
	// SessionHijackSuspected: a session was used from another network or
	// TLS fingerprint and the risk rules asked for re-authentication
	// (details action reauthenticate) or ended it (action revoke);
	// details evaluation_id, session.
	SessionHijackSuspected Type = "session_hijack_suspected"
)

// The audit-only types: routine authentication steps, recorded so that
// every sign-in, failure, step-up and sign-out can be traced afterwards
// (OWASP ASVS 5.0 16.3.1), but too many and too ordinary for the SOC's
// alerts topic. They go to the audit trail only (AuditOnly).
const (
	// LoginSucceeded: a sign-in (or a re-authentication, details flow)
	// ended in a session; SessionID is the new session.
	LoginSucceeded Type = "login_succeeded"
	// LoginFailed: a sign-in was refused before a session (details
	// reason: wrong_password, wrong_code, code_exhausted, replayed_code,
	// risk_block, source_delay, unknown_account, account_disabled,
	// account_held, approval_denied). A password presented past the
	// account threshold is one, right or wrong (details held, and the
	// reason says which).
	LoginFailed Type = "login_failed"
	// StepUpRequested: the first factor passed and a second one is
	// required (details methods).
	StepUpRequested Type = "step_up_requested"
	// StepUpPassed: the second factor passed.
	StepUpPassed Type = "step_up_passed"
	// SecondFactorFailed: a wrong second factor, every time (StepUpFailed
	// is the SOC's finding, raised only after a correct password).
	SecondFactorFailed Type = "second_factor_failed"
	// Logout: the user ended the session SessionID.
	Logout Type = "logout"
	// SessionRevoked: the user ended one of their other sessions
	// (details session), from SessionID.
	SessionRevoked Type = "session_revoked"
	// ApprovalRequested: a magic link was opened away from the client
	// that asked for it, and the sign-in waiting there was shown for
	// approval (IP and UserAgent are the opener's).
	ApprovalRequested Type = "approval_requested"
	// ApprovalGranted: the owner approved, where the magic link was
	// opened, the sign-in waiting on it; the client that asked goes on
	// (its session is a login_succeeded of its own).
	ApprovalGranted Type = "approval_granted"
)

// AuditOnly reports whether events of type t go to the audit trail only,
// not to the alerts topic.
func (t Type) AuditOnly() bool {
	switch t {
	case LoginSucceeded, LoginFailed, StepUpRequested, StepUpPassed, SecondFactorFailed, Logout, SessionRevoked,
		ApprovalRequested, ApprovalGranted:
		return true
	}
	return false
}

// IsAuthentication reports whether events of type t record a step of
// signing in or out (OCSF Authentication) rather than a change to the
// account.
func (t Type) IsAuthentication() bool {
	return t.AuditOnly() && t != SessionRevoked
}

// IsFinding reports whether events of type t are something for the SOC to
// triage (a lockout, a failed step-up, a new device) rather than the
// record of an account change. The alert tree sends findings as
// Detection Findings and changes as Account Changes.
func (t Type) IsFinding() bool {
	switch t {
	case Lockout, StepUpFailed, NewDevice, PasskeyCloned, SessionHijackSuspected:
		return true
	}
	return false
}

// Event is an account security event that is not a risk decision. It
// never holds a password, code or token: only who, from where, what and
// the outcome.
type Event struct {
	Type   Type
	UserID string
	Email  string
	// Identifier is what was typed when it matched no account (UserID
	// and Email empty): a normalised email address, never free text.
	Identifier string
	IP         netip.Addr
	UserAgent  string
	SessionID  string
	// Attributes are the caller's free-form attributes of the request
	// (which app, which plan), for the audit types; nil otherwise.
	Attributes map[string]string
	// Time is when it happened; the encoder's clock fills it when zero.
	Time time.Time
	// Severity overrides the per-type default (see docs/alerts.md).
	Severity risk.Severity
	// Message is the human-readable line; a per-type default when empty.
	Message string
	// Details are free-form strings (factor type, device id, ...); the
	// key "evaluation_id" also becomes metadata.correlation_uid.
	Details map[string]string
}
