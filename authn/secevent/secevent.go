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

// The types authn emits.
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
)

// IsFinding reports whether events of type t are something for the SOC to
// triage (a lockout, a failed step-up, a new device) rather than the
// record of an account change. The alert tree sends findings as
// Detection Findings and changes as Account Changes.
func (t Type) IsFinding() bool {
	switch t {
	case Lockout, StepUpFailed, NewDevice:
		return true
	}
	return false
}

// Event is an account security event that is not a risk decision.
type Event struct {
	Type      Type
	UserID    string
	Email     string
	IP        netip.Addr
	UserAgent string
	SessionID string
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
