package authn

import (
	"context"
	"time"
)

// AAL is the authenticator assurance level reached when a session was
// issued (NIST SP 800-63B): 1 for one factor, 2 when a second factor was
// passed. Sensitive operations demand AAL2 or a fresh step-up.
type AAL int

// Assurance levels a session can carry.
const (
	AAL1 AAL = 1
	AAL2 AAL = 2
)

// Session is a signed-in browser or app. The store keeps both deadlines so
// that idle and absolute timeouts are enforced by the lookup itself and
// hold across instances.
type Session struct {
	ID string
	// TokenHash is SHA-256 of the opaque session token (hashed by the
	// caller): a database leak does not hand out live sessions.
	TokenHash  []byte
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// IdleExpiresAt moves forward on activity (TouchSession), never past
	// AbsoluteExpiresAt.
	IdleExpiresAt     time.Time
	AbsoluteExpiresAt time.Time
	AAL               AAL
	DeviceID          string
	IP                string
	UserAgent         string
	// RevokedAt is zero for a live session.
	RevokedAt time.Time
}

// SessionStore is the per-request hot path: issue at sign-in, resolve the
// cookie, slide the idle deadline, sign out.
type SessionStore interface {
	// CreateSession inserts s; ErrConflict when the id or token hash exists.
	CreateSession(ctx context.Context, s Session) error
	// SessionByTokenHash returns the session only while it is live at now:
	// not revoked, now before both deadlines. Otherwise ErrNotFound.
	SessionByTokenHash(ctx context.Context, tokenHash []byte, now time.Time) (Session, error)
	// TouchSession records activity: LastSeenAt = now and the idle deadline
	// moves to idleExpiresAt (capped at the absolute one). A session that is
	// no longer live at now is not revived: ErrNotFound.
	TouchSession(ctx context.Context, id string, now, idleExpiresAt time.Time) error
	// RevokeSession signs out one session of userID (sign-out, or "sign out
	// that device" in self-service); a session of another user is
	// ErrNotFound, as is one already revoked.
	RevokeSession(ctx context.Context, userID, id string, at time.Time) error
}

// SessionManager is self-service ("your devices") and what password change
// and reset use to end every other session.
type SessionManager interface {
	// ListSessions returns the user's live sessions at now, most recently
	// seen first.
	ListSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// RevokeOtherSessions revokes all the user's live sessions except
	// exceptID (empty revokes all) and returns how many it revoked.
	RevokeOtherSessions(ctx context.Context, userID, exceptID string, at time.Time) (int, error)
}

// Sweeper is periodic housekeeping, run by one background job; lookups are
// correct without it (they check deadlines), it only bounds table growth.
type Sweeper interface {
	// DeleteExpired deletes sessions, one-time tokens, login flows, their
	// clients and counted events that are expired at now (sessions also when revoked,
	// tokens also when used or superseded) and returns how many rows went. Tokens issued within
	// keep of now are kept even when dead, so per-account request throttling
	// (CountTokensSince) still sees them.
	DeleteExpired(ctx context.Context, now time.Time, keep time.Duration) (int64, error)
	// DeleteAttemptsBefore drops sign-in history older than before
	// (retention), returning how many rows went.
	DeleteAttemptsBefore(ctx context.Context, before time.Time) (int64, error)
}
