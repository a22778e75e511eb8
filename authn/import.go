package authn

import "context"

// ImportedUser is one account an import creates (issue 20): the account
// with its stored (possibly foreign) hash, the id it had in the system
// migrated from, and its authenticator app, already sealed.
type ImportedUser struct {
	User       User
	ExternalID string
	// TOTP is a confirmed factor with a sealed secret; nil for none.
	TOTP *TOTPFactor
	// Profile is the imported profile and attributes, already checked
	// against the declarations (stored as version 1); nil for none.
	Profile *Profile
	// SignIns are the past sign-ins the engine learns once the account
	// exists (not the store's: Admin.ImportUsers hands them on).
	SignIns []PastSignIn
}

// ImportStatus is what became of one imported user.
type ImportStatus string

// The statuses.
const (
	// ImportCreated: the account was created (or, in a dry run, would be).
	ImportCreated ImportStatus = "created"
	// ImportExisting: an earlier import created it; it is left as it is
	// now (its owner may have signed in and changed it since).
	ImportExisting ImportStatus = "existing"
	// ImportConflict: another account has the address (or an earlier
	// line of the same batch took it, or its external id).
	ImportConflict ImportStatus = "conflict"
)

// ImportOutcome is the status of one imported user and its account's id
// (created or existing).
type ImportOutcome struct {
	Status ImportStatus
	UserID string
}

// UserImporter creates imported accounts in bulk.
type UserImporter interface {
	// ImportUsers creates, in one transaction, every user of us not
	// imported before (by ExternalID) whose address is free, with its
	// factor, and returns one outcome per user in order. With dryRun it
	// only reports. A user is written whole or not at all; a failing
	// batch writes nothing.
	ImportUsers(ctx context.Context, us []ImportedUser, dryRun bool) ([]ImportOutcome, error)
}
