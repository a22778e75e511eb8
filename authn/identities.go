package authn

import (
	"context"
	"time"
)

// LinkedIdentity is an account at an upstream identity provider linked
// to a riskauth account (signin_upstream.go): that provider's sign-in
// signs in to the account.
type LinkedIdentity struct {
	// ID is riskauth's id of the link (what DELETE
	// /v1/account/identities/{id} names).
	ID     string
	UserID string
	// Provider is the configured provider's name; Issuer and Subject
	// are the pair that identifies the upstream account for ever.
	Provider string
	Issuer   string
	Subject  string
	// Email is the address the provider gave when the link was made (a
	// record for the owner, never used to sign in).
	Email      string
	LinkedAt   time.Time
	LastUsedAt time.Time
}

// IdentityStore keeps linked identities.
type IdentityStore interface {
	// LinkIdentity inserts li; ErrConflict when (Issuer, Subject) is
	// linked already, ErrNotFound when the user is gone.
	LinkIdentity(ctx context.Context, li LinkedIdentity) error
	// IdentityBySubject returns the link of (issuer, subject);
	// ErrNotFound when there is none.
	IdentityBySubject(ctx context.Context, issuer, subject string) (LinkedIdentity, error)
	// Identities lists the user's links, oldest first.
	Identities(ctx context.Context, userID string) ([]LinkedIdentity, error)
	// UnlinkIdentity deletes the user's link id; ErrNotFound when the
	// user has no such link.
	UnlinkIdentity(ctx context.Context, userID, id string) error
	// TouchIdentity sets the link's LastUsedAt.
	TouchIdentity(ctx context.Context, id string, at time.Time) error
}

// PendingLink is an upstream identity waiting for its owner to prove the
// existing account with the same verified address: the sign-in flow
// FlowID, once it completes for UserID, links it.
type PendingLink struct {
	FlowID    string
	UserID    string
	Provider  string
	Issuer    string
	Subject   string
	Email     string
	ExpiresAt time.Time
}

// PendingLinkStore keeps pending links for as long as their flows live.
type PendingLinkStore interface {
	// SavePendingLink stores pl, replacing the flow's earlier one, and
	// purges the pending links expired at now.
	SavePendingLink(ctx context.Context, pl PendingLink, now time.Time) error
	// TakePendingLink deletes and returns the flow's pending link while
	// now is before its ExpiresAt; ErrNotFound otherwise. Single use.
	TakePendingLink(ctx context.Context, flowID string, now time.Time) (PendingLink, error)
}

// IdentityBackend is what upstream sign-in stores: the links and the
// links waiting for a proof. One *store.SQLite or *store.Postgres
// implements both.
type IdentityBackend interface {
	IdentityStore
	PendingLinkStore
}
