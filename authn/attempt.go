package authn

import (
	"context"
	"time"
)

// Factor names an authentication factor in the attempt history.
type Factor string

// Factors whose attempts are recorded.
const (
	FactorPassword  Factor = "password"
	FactorTOTP      Factor = "totp"
	FactorRecovery  Factor = "recovery"
	FactorEmailCode Factor = "email_code"
	FactorMagicLink Factor = "magic_link"
)

// Attempt is one verification of a factor for a known account. Attempts on
// unknown identifiers are not stored here (there is no account to lock);
// the risk engine's velocity counters see them.
type Attempt struct {
	// ID is assigned by the store.
	ID        int64
	UserID    string
	Factor    Factor
	Success   bool
	IP        string
	DeviceID  string
	UserAgent string
	At        time.Time
}

// AttemptRecorder is called by every flow after each factor check.
type AttemptRecorder interface {
	// RecordAttempt stores a (UserID must be set).
	RecordAttempt(ctx context.Context, a Attempt) error
}

// FailureCounter drives lockout without denial of service: counts feed
// step-up and progressive delay rather than a hard lock an attacker could
// trigger at will.
type FailureCounter interface {
	// CountFailures counts the user's failed attempts of factor (any factor
	// when empty) at or after the later of since and the last success of
	// that factor (of any factor when empty): a success resets the count.
	CountFailures(ctx context.Context, userID string, factor Factor, since time.Time) (int, error)
	// CountFailuresFrom counts the user's failures, any factor, coming from
	// ip or from deviceID (an empty one is ignored), at or after the later of
	// since and the last success from that ip or device. This is the
	// per-(account, source) counter: an attacker's source gets slowed down
	// while the owner's known device is not.
	CountFailuresFrom(ctx context.Context, userID, ip, deviceID string, since time.Time) (int, error)
}

// LoginHistory backs the user's "recent sign-in activity" page.
type LoginHistory interface {
	// RecentLogins returns the user's latest attempts, successes and
	// failures, newest first, at most limit.
	RecentLogins(ctx context.Context, userID string, limit int) ([]Attempt, error)
}

// AttemptStore is everything about attempts.
type AttemptStore interface {
	AttemptRecorder
	FailureCounter
	LoginHistory
}
