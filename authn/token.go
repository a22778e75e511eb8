package authn

import (
	"context"
	"time"
)

// TokenKind says what a one-time token is for; a token is only ever
// accepted for its own kind.
type TokenKind string

// Token kinds the flows issue.
const (
	TokenEmailVerification TokenKind = "email_verification" // link in the registration email
	TokenPasswordReset     TokenKind = "password_reset"     // link in the reset email
	TokenMagicLink         TokenKind = "magic_link"         // passwordless sign-in link
	TokenEmailCode         TokenKind = "email_code"         // short code typed into a login flow
	TokenUpstreamState     TokenKind = "upstream_state"     // state of a sign-in at an upstream provider, used once
	// TokenRegistrationBinding is the secret the registering client keeps
	// (a cookie, or the app's registration_secret) and shows with the
	// verification link, proving the link was opened where the account
	// was registered.
	TokenRegistrationBinding TokenKind = "registration_binding"
)

// OneTimeToken is a single-use secret sent by email: a high-entropy link
// token or a short code bound to a login flow. Only its hash is stored.
type OneTimeToken struct {
	ID   string
	Kind TokenKind
	// Hash of the token or code, computed by the caller. Link tokens are
	// looked up by it; codes are looked up by FlowID and compared.
	Hash   []byte
	UserID string
	// FlowID binds a code to the login flow that requested it (empty for
	// links), so a code only works in the browser that asked for it.
	FlowID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	// Attempts counts wrong guesses of a code; at MaxAttempts the code is
	// invalidated. MaxAttempts 0 means unlimited (links, where guessing is
	// hopeless anyway).
	Attempts    int
	MaxAttempts int
	// UsedAt is zero until consumed.
	UsedAt time.Time
}

// TokenStore issues and redeems one-time tokens.
type TokenStore interface {
	// IssueToken stores t and, in the same transaction, invalidates every
	// earlier unused token of the same kind for the same user (and for the
	// same flow, when t has one): a new one invalidates the old.
	IssueToken(ctx context.Context, t OneTimeToken) error
	// ConsumeToken redeems a link token: atomically marks the live token of
	// that kind and hash used at now and returns it. Of concurrent
	// consumers exactly one succeeds; the others, and unknown, expired,
	// used or superseded tokens, get ErrTokenInvalid.
	ConsumeToken(ctx context.Context, kind TokenKind, hash []byte, now time.Time) (OneTimeToken, error)
	// VerifyCode checks a short code typed into flowID. The right hash
	// consumes the code and returns it. A wrong one counts an attempt
	// atomically and returns ErrTokenInvalid, or ErrTooManyAttempts (the
	// code is then dead) when that attempt reaches MaxAttempts. No live code
	// for the flow: ErrTokenInvalid.
	VerifyCode(ctx context.Context, kind TokenKind, flowID string, hash []byte, now time.Time) (OneTimeToken, error)
	// LiveToken returns the live (unused, unexpired, not superseded) link
	// token of that kind and hash without consuming it, so a flow can check
	// everything else (the new password's policy) before it spends the
	// token; unknown or dead tokens get ErrTokenInvalid.
	LiveToken(ctx context.Context, kind TokenKind, hash []byte, now time.Time) (OneTimeToken, error)
	// CountTokensSince counts tokens of kind issued to userID at or after
	// since (used or not). The flows limit their mails with the cap of
	// EventCounter instead (samework.go); this serves operations and
	// tests.
	CountTokensSince(ctx context.Context, userID string, kind TokenKind, since time.Time) (int, error)
}
