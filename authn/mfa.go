package authn

import (
	"context"
	"time"
)

// TOTPFactor is an authenticator-app secret. A user has at most one pending
// (unconfirmed) and at most one active (confirmed) factor.
type TOTPFactor struct {
	ID     string
	UserID string
	// SealedSecret is the shared secret encrypted by the caller; the store
	// never sees it in the clear.
	SealedSecret []byte
	CreatedAt    time.Time
	// ConfirmedAt is zero while the enrolment is pending.
	ConfirmedAt time.Time
	// LastUsedStep is the last accepted time step (unix time / period);
	// only later steps are accepted, which stops replay of a seen code.
	LastUsedStep int64
}

// TOTPEnroller is what the enrolment flow needs: store a pending secret,
// show it again, and activate it once the user proves the app has it.
type TOTPEnroller interface {
	// BeginTOTP stores f as the user's pending factor, replacing any earlier
	// pending one (an abandoned enrolment must not be confirmable later).
	BeginTOTP(ctx context.Context, f TOTPFactor) error
	// PendingTOTP returns the pending factor; ErrNotFound when none.
	PendingTOTP(ctx context.Context, userID string) (TOTPFactor, error)
	// ConfirmTOTP activates the pending factor factorID in one transaction:
	// any previously active factor is deleted (replacing is delete + new),
	// and step, the step of the code that proved possession, becomes
	// LastUsedStep so that code cannot be replayed at sign-in. ErrNotFound
	// when factorID is not the user's pending factor.
	ConfirmTOTP(ctx context.Context, userID, factorID string, step int64, at time.Time) error
}

// TOTPVerifier is what step-up needs at sign-in.
type TOTPVerifier interface {
	// ActiveTOTP returns the confirmed factor; ErrNotFound when none, in
	// which case TOTP is not offered.
	ActiveTOTP(ctx context.Context, userID string) (TOTPFactor, error)
	// UseTOTPStep atomically accepts step only if it is later than
	// LastUsedStep (compare-and-set in the database), so a code is never
	// accepted twice, also under concurrent requests on several instances.
	// ErrReplay when the step was already used or is older; ErrNotFound when
	// the factor is not active. Call it after the code verified.
	UseTOTPStep(ctx context.Context, factorID string, step int64) error
}

// TOTPRemover is for self-service removal and account recovery.
type TOTPRemover interface {
	// DeleteTOTP removes the user's factor (pending or active); ErrNotFound
	// when the user has no such factor.
	DeleteTOTP(ctx context.Context, userID, factorID string) error
}

// TOTPStore is the whole TOTP lifecycle.
type TOTPStore interface {
	TOTPEnroller
	TOTPVerifier
	TOTPRemover
}

// RecoveryCodeStore keeps single-use recovery codes, the fallback second
// factor. Hashes must be deterministic (for example HMAC-SHA-256 of the
// normalised high-entropy code) because the store looks them up by equality.
type RecoveryCodeStore interface {
	// ReplaceRecoveryCodes deletes all the user's codes and stores hashes as
	// the new set, in one transaction (showing new codes voids the old).
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, at time.Time) error
	// ConsumeRecoveryCode marks a matching unused code used, atomically:
	// of concurrent consumers of one code exactly one succeeds. ErrNotFound
	// when no unused code matches.
	ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time) error
	// CountRecoveryCodes returns how many unused codes remain, so the UI can
	// warn when the user runs low.
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
}
