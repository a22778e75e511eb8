package authn

import (
	"context"
	"time"
)

// EmailChange is one request to move an account to a new address. It
// takes effect only once the new address is proven (its link redeemed)
// and, when the engine found the request risky, once the current address
// approved it too; then the old address may undo it until UndoUntil.
type EmailChange struct {
	ID       string
	UserID   string
	OldEmail string
	NewEmail string
	// ConfirmRequired: the request was risky (step_up), so the current
	// address must approve it as well.
	ConfirmRequired bool
	// VerifiedAt is when the new address was proven, ConfirmedAt when the
	// current one approved, AppliedAt when the account moved, UndoneAt
	// when the old address took it back; zero until then.
	VerifiedAt  time.Time
	ConfirmedAt time.Time
	AppliedAt   time.Time
	UndoneAt    time.Time
	UndoUntil   time.Time
	CreatedAt   time.Time
	// ExpiresAt bounds the verification and the approval.
	ExpiresAt    time.Time
	EvaluationID string
}

// EmailChangeStep is a proof an email change waits for.
type EmailChangeStep string

// The proofs.
const (
	// EmailChangeVerified: the new address's link was redeemed.
	EmailChangeVerified EmailChangeStep = "verified"
	// EmailChangeConfirmed: the current address approved.
	EmailChangeConfirmed EmailChangeStep = "confirmed"
)

// Token kinds of the email change; each is bound (FlowID) to its change.
const (
	TokenEmailChange        TokenKind = "email_change"         // link to the new address
	TokenEmailChangeConfirm TokenKind = "email_change_confirm" // approval link to the current address
	TokenEmailChangeUndo    TokenKind = "email_change_undo"    // undo link to the old address
)

// EmailChangeStore keeps email change requests; deleted with the user.
type EmailChangeStore interface {
	// CreateEmailChange stores c; ErrNotFound for an unknown user.
	CreateEmailChange(ctx context.Context, c EmailChange) error
	// EmailChangeByID returns the change; ErrNotFound when unknown.
	EmailChangeByID(ctx context.Context, id string) (EmailChange, error)
	// MarkEmailChange records step at at, once: ErrConflict when it was
	// recorded already, ErrNotFound when the change is unknown. It
	// returns the change as it now stands.
	MarkEmailChange(ctx context.Context, id string, step EmailChangeStep, at time.Time) (EmailChange, error)
	// ApplyEmailChange moves the account to NewEmail (verified at at) in
	// one transaction, only while the change is unapplied and the account
	// still has OldEmail (else ErrConflict); ErrEmailTaken when another
	// account has the address now. undoUntil ends the undo window.
	ApplyEmailChange(ctx context.Context, id string, at, undoUntil time.Time) error
	// UndoEmailChange moves the account back to OldEmail in one
	// transaction, only while the change is applied, not undone, before
	// its UndoUntil and the account still has NewEmail (else
	// ErrConflict); ErrEmailTaken when another account took OldEmail.
	UndoEmailChange(ctx context.Context, id string, at time.Time) error
}
