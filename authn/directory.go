package authn

import (
	"context"
	"time"
)

// UserStatus filters accounts by state in administrators' searches.
type UserStatus string

// The statuses a search can ask for; "" is any.
const (
	// StatusActive: enabled and verified.
	StatusActive UserStatus = "active"
	// StatusUnverified: enabled, address not proven yet.
	StatusUnverified UserStatus = "unverified"
	// StatusDisabled: disabled by an administrator, verified or not.
	StatusDisabled UserStatus = "disabled"
)

// UserQuery selects accounts for administrators (issue 20). Every field is
// optional and they combine with AND. Results come in creation order
// (CreatedAt, then ID), so that a page boundary is a stable key.
type UserQuery struct {
	// ID matches one account exactly.
	ID string
	// EmailPrefix matches addresses starting with it, case-insensitively
	// (a whole address finds that account, and longer ones).
	EmailPrefix string
	// CreatedFrom and CreatedBefore bound the creation time: at or after
	// CreatedFrom, before CreatedBefore (zero: unbounded).
	CreatedFrom, CreatedBefore time.Time
	Status                     UserStatus
	// Attribute and AttributeValue match accounts whose profile holds
	// that custom attribute with exactly that value (of the attribute's
	// declared type: string, int64, float64 or bool). Admin.SearchUsers
	// takes the value as text and converts it.
	Attribute      string
	AttributeValue any
	// AfterCreated and AfterID are the last account of the previous page
	// (both zero: the first page): results start strictly after it.
	AfterCreated time.Time
	AfterID      string
	// Limit is the most accounts returned (at least 1).
	Limit int
}

// UserDirectory is what the user administration needs of the store beyond
// the sign-in interfaces: search, the hard delete, forgetting the
// failures behind the progressive delays, and the bulk import.
type UserDirectory interface {
	// ListUsers returns the accounts matching q, in (CreatedAt, ID) order,
	// at most q.Limit.
	ListUsers(ctx context.Context, q UserQuery) ([]User, error)
	// DeleteUser removes the account and everything keyed to it
	// (factors, recovery codes, sessions, tokens, flows, attempts);
	// ErrNotFound for an unknown id.
	DeleteUser(ctx context.Context, userID string) error
	// DeleteFailedAttempts removes the user's failed attempts at or after
	// since and returns how many went: the failures that drive the
	// per-source and second-factor delays (FailureCounter). Successes stay.
	DeleteFailedAttempts(ctx context.Context, userID string, since time.Time) (int64, error)
	// UserImporter creates migrated accounts in bulk (import.go).
	UserImporter
}
