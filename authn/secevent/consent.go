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
