package secevent

// The types of the privacy rights (issue 19): the export of a user's data
// and the erasure of the account. Account changes like the self-service
// ones (privacy.go): the alerts topic as OCSF Account Change records and
// the audit trail. The erasure itself is UserDeleted (lifecycle.go),
// followed on the alerts and audit topics by a tombstone: a record keyed
// by the user id with no value (docs/privacy.md).
const (
	// DataExportRequested: the user asked for their data; a single-use
	// download link was mailed (details expires_in).
	DataExportRequested Type = "data_export_requested"
	// DataExported: the export was downloaded with the link.
	DataExported Type = "data_exported"
	// DeletionRequested: the user asked for their account to be erased
	// (details due: when, RFC 3339).
	DeletionRequested Type = "deletion_requested"
	// DeletionCancelled: the request was withdrawn (details by: sign_in
	// or request).
	DeletionCancelled Type = "deletion_cancelled"
)
