package secevent

// The types of the self-service and privacy surface (issue 19): changes a
// user makes to their own profile, devices and history. They are account
// changes, not findings: they go to the alerts topic as OCSF Account
// Change records (so that CRM and marketing systems can follow a
// profile), and to the audit trail like every type. Details never hold
// the new values of personal fields, only which fields changed.
const (
	// ProfileUpdated: the user changed their profile (details fields: the
	// comma-separated names of the fields and attributes changed, version:
	// the profile's new version).
	ProfileUpdated Type = "profile_updated"
	// DeviceRenamed: the user gave one of their devices a name of their
	// own (details device).
	DeviceRenamed Type = "device_renamed"
	// DeviceForgotten: the user removed a device from their list; the
	// engine no longer trusts it, so the next sign-in from it steps up
	// (details device).
	DeviceForgotten Type = "device_forgotten"
	// ActivityDisowned: the user said an entry of their activity was not
	// them ("this wasn't me"): its sessions were revoked, its evaluation
	// reported as fraud and a password reset started (details activity,
	// evaluation_id, sessions_revoked).
	ActivityDisowned Type = "activity_disowned"
)
