package secevent

// Account lifecycle types (issue 20): what happened to an account as a
// whole — created, verified, disabled, enabled, unlocked, deleted — and the
// administrators' actions on it. They go to the alerts topic, keyed by
// user, for the business's other systems (CRM, support, marketing) and
// the SOC alike, and to the audit trail like every type.
//
// An administrator's action carries who and why in its Details: "admin"
// (the admin key's name), "reason" (the free text the administrator gave,
// required) and "action" (the admin API's name for it). An event without
// "admin" was the user's own doing or the system's (an import).
const (
	// UserCreated: an account was created by registration or an import
	// (details "source": registration, import).
	UserCreated Type = "user_created"
	// UserVerified: the address was proven, or marked verified by an
	// administrator.
	UserVerified Type = "user_verified"
	// UserUpdated: fields of the account changed (details "fields", a
	// comma-separated list of names).
	UserUpdated Type = "user_updated"
	// UserDisabled: the account can no longer sign in; its sessions were
	// revoked.
	UserDisabled Type = "user_disabled"
	// UserEnabled: a disabled account can sign in again.
	UserEnabled Type = "user_enabled"
	// UserUnlocked: the counters behind the progressive delays and the
	// account threshold were cleared.
	UserUnlocked Type = "user_unlocked"
	// UserDeleted: the account is gone. The event is its tombstone: it
	// carries the id (and the Kafka key), never the address.
	UserDeleted Type = "user_deleted"
	// MFAReset: an administrator removed every second factor (the owner
	// lost them); the owner enrols again after the next sign-in.
	MFAReset Type = "mfa_reset"
	// VerificationSent: an administrator had a new verification link
	// mailed.
	VerificationSent Type = "verification_sent"
	// PasswordResetSent: an administrator had a password reset link
	// mailed.
	PasswordResetSent Type = "password_reset_sent"
)

// IsLifecycle reports whether t is an account lifecycle type.
func (t Type) IsLifecycle() bool {
	switch t {
	case UserCreated, UserVerified, UserUpdated, UserDisabled, UserEnabled, UserUnlocked, UserDeleted, MFAReset,
		VerificationSent, PasswordResetSent:
		return true
	}
	return false
}
