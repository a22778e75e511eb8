package authn

import (
	"context"
	"time"
)

// Profile is what a user says about themselves, beside the account's
// security data (User): names, language, time zone and the operator's
// custom attributes (AccountConfig.Attributes). Empty strings are unset.
type Profile struct {
	UserID      string
	DisplayName string
	GivenName   string
	FamilyName  string
	// Locale is a BCP 47 language tag ("de-CH"), canonicalised.
	Locale string
	// TimeZone is an IANA zone name ("Europe/Zurich").
	TimeZone string
	// Attributes are the custom attributes by name, each of its declared
	// type: string, int64, float64 or bool. Never nil once read from a
	// store.
	Attributes map[string]any
	// Version counts the writes: 0 for a user who never saved a profile.
	// It is the HTTP layer's ETag, so two tabs cannot overwrite each
	// other's change silently (PutProfile refuses a stale version).
	Version   int64
	UpdatedAt time.Time
}

// ProfileStore keeps profiles, one per user, deleted with the user.
type ProfileStore interface {
	// Profile returns the user's profile; a user who never saved one gets
	// the zero profile with UserID set and Version 0 (not ErrNotFound,
	// which the store does not check).
	Profile(ctx context.Context, userID string) (Profile, error)
	// PutProfile stores p as version expect+1 if the stored version is
	// still expect (0: none stored yet), else ErrConflict. p.Version is
	// ignored.
	PutProfile(ctx context.Context, p Profile, expect int64) error
}
