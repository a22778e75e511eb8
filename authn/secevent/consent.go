package secevent

// The consent and communication types (issue 19): a user granted or
// withdrew a purpose, or changed their communication preferences. They
// are account changes: OCSF Account Change records on the alerts topic,
// keyed by user, so that marketing and CRM systems follow every consent
// as it changes, and to the audit trail like every type.
const (
	// ConsentGranted: a purpose was granted (details purpose, version,
	// source: registration, sign_in or account; consent_id: the ledger
	// entry; app when the request named one).
	ConsentGranted Type = "consent_granted"
	// ConsentWithdrawn: a purpose was withdrawn (details as
	// ConsentGranted; version is the one that had been granted).
	ConsentWithdrawn Type = "consent_withdrawn"
	// PreferencesUpdated: the communication preferences changed (details
	// fields: the names changed, version: the new version).
	PreferencesUpdated Type = "preferences_updated"
)

// EmailChangeRequested: a signed-in user asked to change the account's
// address (details change_id, evaluation_id, approval_required: the
// engine asked the current address to approve; refused when the engine
// blocked it). The address itself is not in it; the change, once
// applied or undone, is a user_updated event (fields email, change_id,
// action email_change_undone for an undo).
const EmailChangeRequested Type = "email_change_requested"
