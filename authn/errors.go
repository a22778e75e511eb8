package authn

import "errors"

// Sentinel errors returned (wrapped) by the stores. Flows test them with
// errors.Is and map them to one generic answer where the difference must not
// leak to the client (an unknown email and a wrong password look alike).
var (
	// ErrNotFound: no such record, or the record exists but is no longer
	// usable (an expired flow, a revoked or expired session), which callers
	// must treat the same way.
	ErrNotFound = errors.New("authn: not found")

	// ErrEmailTaken: another account already uses this email address
	// (compared case-insensitively by the database, so it holds across
	// concurrent registrations).
	ErrEmailTaken = errors.New("authn: email already registered")

	// ErrConflict: a compare-and-set lost, for example a login flow moved
	// on since the caller read it, or a record with the same id exists.
	ErrConflict = errors.New("authn: conflict")

	// ErrReplay: a TOTP time step at or before the last accepted one; a
	// code is never accepted twice, also under concurrent requests.
	ErrReplay = errors.New("authn: one-time code already used")

	// ErrTokenInvalid: a one-time token or code that is unknown, expired,
	// already used, superseded by a newer one, or wrong.
	ErrTokenInvalid = errors.New("authn: invalid or expired token")

	// ErrTooManyAttempts: a short code was guessed wrong too often; the code
	// is now invalid and a new one must be requested.
	ErrTooManyAttempts = errors.New("authn: too many attempts")

	// ErrSchemaTooNew: the database was migrated by a newer binary; running
	// an older binary against it could corrupt data, so the store refuses to
	// open.
	ErrSchemaTooNew = errors.New("authn: database schema is newer than this binary")
)
