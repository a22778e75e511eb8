package authn

import (
	"context"
	"time"
)

// Passkey is a registered WebAuthn credential of an account (a passkey).
// Only its public key is stored: there is no secret to seal.
type Passkey struct {
	// ID is the credential id the authenticator chose (up to 1023
	// bytes); unique across all accounts.
	ID     []byte
	UserID string
	// Name is the user's name for it ("Laptop"), shown in the account.
	Name      string
	PublicKey []byte
	// AAGUID names the authenticator model; zero for most synced ones.
	AAGUID []byte
	// SignCount is the highest signature counter seen (0 for
	// authenticators that keep none). It only ever goes up.
	SignCount uint32
	// Transports are the authenticator's transports ("internal",
	// "hybrid", "usb"), hints for the next ceremony.
	Transports []string
	// BackupEligible is fixed at registration (a syncable passkey);
	// BackupState is the last assertion's (synced now).
	BackupEligible bool
	BackupState    bool
	// AttestationFormat is the attestation statement's format.
	AttestationFormat string
	CreatedAt         time.Time
	// LastUsedAt is zero until the first sign-in with it.
	LastUsedAt time.Time
	// CloneWarnings counts the assertions whose counter went backwards
	// (the SOC was alerted each time).
	CloneWarnings int
}

// PasskeyUse is what one verified assertion changes on its passkey.
type PasskeyUse struct {
	// SignCount replaces the stored counter only when it is higher.
	SignCount   uint32
	BackupState bool
	// Regressed: the counter went backwards; CloneWarnings goes up.
	Regressed bool
	At        time.Time
}

// PasskeyStore keeps the accounts' passkeys.
type PasskeyStore interface {
	// AddPasskey stores p; ErrConflict when its credential id is
	// registered already (to this account or another).
	AddPasskey(ctx context.Context, p Passkey) error
	// Passkeys returns the account's passkeys, oldest first.
	Passkeys(ctx context.Context, userID string) ([]Passkey, error)
	// PasskeyByID returns the passkey with credential id id; ErrNotFound
	// when none.
	PasskeyByID(ctx context.Context, id []byte) (Passkey, error)
	// UsePasskey records a verified assertion of passkey id atomically:
	// the counter is raised, never lowered (of two concurrent uses the
	// higher counter stays). ErrNotFound when the passkey is gone.
	UsePasskey(ctx context.Context, id []byte, u PasskeyUse) error
}

// PasskeyEditor is the account's management of its passkeys, and the
// one-time offer to create one.
type PasskeyEditor interface {
	// RenamePasskey names the user's passkey id; ErrNotFound when the
	// user has no such passkey.
	RenamePasskey(ctx context.Context, userID string, id []byte, name string) error
	// DeletePasskey removes the user's passkey id; ErrNotFound when the
	// user has no such passkey.
	DeletePasskey(ctx context.Context, userID string, id []byte) error
	// PasskeyOffered reports whether the account was offered to create a
	// passkey already (the offer after sign-in is made once).
	PasskeyOffered(ctx context.Context, userID string) (bool, error)
	// SetPasskeyOffered records that the offer was made (idempotent: the
	// first time is kept).
	SetPasskeyOffered(ctx context.Context, userID string, at time.Time) error
}

// Kinds of passkey ceremonies (PasskeyChallenge.Kind).
const (
	PasskeyRegister = "register"
	PasskeySignIn   = "sign_in"
	PasskeyStepUp   = "step_up"
)

// PasskeyChallenge is the server-side state of a passkey ceremony
// between its two requests: single use and short-lived, in the store so
// that the second request may reach another instance.
type PasskeyChallenge struct {
	// ID is a keyed hash of the handle the client holds; the handle
	// itself is never stored.
	ID string
	// Kind is PasskeyRegister, PasskeySignIn or PasskeyStepUp.
	Kind string
	// UserID is the account of a registration or a step-up ("" for a
	// passwordless sign-in, whose account the assertion names).
	UserID string
	// FlowID is the login flow a step-up belongs to.
	FlowID string
	// Data is the ceremony's state (passkey.State.Data).
	Data      []byte
	ExpiresAt time.Time
}

// PasskeyChallengeStore keeps ceremony states until their answer.
type PasskeyChallengeStore interface {
	// SaveChallenge stores c; ErrConflict when its id exists.
	SaveChallenge(ctx context.Context, c PasskeyChallenge) error
	// TakeChallenge returns challenge id and deletes it, atomically: of
	// concurrent takers exactly one gets it. ErrNotFound when it is
	// unknown, taken already, or expired at now.
	TakeChallenge(ctx context.Context, id string, now time.Time) (PasskeyChallenge, error)
}

// PasskeyBackend is every passkey store the services need; one
// *store.SQLite or *store.Postgres is all three.
type PasskeyBackend interface {
	PasskeyStore
	PasskeyEditor
	PasskeyChallengeStore
}
