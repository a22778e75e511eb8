package authn

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/riskauth/riskauth/authn/totp"
)

// MaxPageSize is the most accounts one search page holds.
const MaxPageSize = 200

// UserPage is one page of a search.
type UserPage struct {
	Users []User
	// More is true when accounts follow the last one: ask again with
	// AfterCreated and AfterID set to the last one's CreatedAt and ID.
	More bool
}

// SearchUsers returns a page of accounts matching q (Limit 0 means 50,
// capped at MaxPageSize), in creation order.
func (s *Admin) SearchUsers(ctx context.Context, q UserQuery) (*UserPage, error) {
	switch q.Status {
	case "", StatusActive, StatusUnverified, StatusDisabled:
	default:
		return nil, newErr(CodeInvalidRequest, "status is one of active, unverified, disabled")
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, MaxPageSize)
	q.EmailPrefix = strings.TrimSpace(q.EmailPrefix)
	want := q.Limit
	q.Limit++ // one more tells whether another page follows
	us, err := s.dir.ListUsers(ctx, q)
	if err != nil {
		return nil, err
	}
	p := &UserPage{Users: us}
	if len(us) > want {
		p.Users, p.More = us[:want], true
	}
	return p, nil
}

// UserView is the single customer view of one account: what support
// needs to help its owner, and nothing secret (no hash, no secret, no
// token). What the self-service issue adds (profile, attributes,
// devices, consents) joins it when that lands.
type UserView struct {
	User User
	// PasswordScheme is the kind of the stored hash ("argon2id", or
	// "none" for a passwordless account); the hash itself never leaves.
	PasswordScheme string
	// TOTP is the authenticator app, nil when none is active; TOTPPending
	// when an enrolment was begun and not confirmed.
	TOTP        *FactorView
	TOTPPending *FactorView
	// RecoveryCodes is how many unused recovery codes remain.
	RecoveryCodes int
	// Sessions are the live sessions, most recently seen first.
	Sessions []Session
	// Recent are the latest sign-in attempts, newest first.
	Recent []Attempt
	// WrongPasswords counts the wrong passwords within the account
	// window; Held is true past the threshold (sign-in then asks for an
	// email code whatever the password). Unlock clears both.
	WrongPasswords int
	Held           bool
}

// FactorView is one second factor without its secret.
type FactorView struct {
	ID          string
	CreatedAt   time.Time
	ConfirmedAt time.Time
	LastUsedAt  time.Time
}

// recentInView is how many attempts the view shows.
const recentInView = 20

// ViewUser returns the single customer view of the account userID;
// CodeNotFound when there is none.
func (s *Admin) ViewUser(ctx context.Context, userID string) (*UserView, error) {
	u, err := s.users.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, errNoSuchUser
	}
	if err != nil {
		return nil, err
	}
	v := &UserView{User: u, PasswordScheme: passwordScheme(u.PasswordHash)}
	if v.TOTP, err = s.factorView(ctx, s.totps.ActiveTOTP, userID); err != nil {
		return nil, err
	}
	if v.TOTPPending, err = s.factorView(ctx, s.totps.PendingTOTP, userID); err != nil {
		return nil, err
	}
	if v.RecoveryCodes, err = s.recovery.CountRecoveryCodes(ctx, userID); err != nil {
		return nil, err
	}
	if v.Sessions, err = s.sessions.ListSessions(ctx, userID, s.clock.Now()); err != nil {
		return nil, err
	}
	if v.Recent, err = s.attempts.RecentLogins(ctx, userID, recentInView); err != nil {
		return nil, err
	}
	if v.WrongPasswords, err = s.guesses(ctx, u.Email); err != nil {
		return nil, err
	}
	v.Held = s.held(v.WrongPasswords)
	return v, nil
}

func (s *Admin) factorView(ctx context.Context, get func(context.Context, string) (TOTPFactor, error), userID string) (*FactorView, error) {
	f, err := get(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	fv := &FactorView{ID: f.ID, CreatedAt: f.CreatedAt, ConfirmedAt: f.ConfirmedAt}
	if f.LastUsedStep > 0 {
		fv.LastUsedAt = time.Unix(0, 0).Add(time.Duration(f.LastUsedStep) * totp.Period).UTC()
	}
	return fv, nil
}

// passwordScheme names the kind of a PHC or foreign hash string without
// revealing anything of it.
func passwordScheme(h string) string {
	switch {
	case h == "":
		return "none"
	case strings.HasPrefix(h, "$argon2id$"):
		return "argon2id"
	}
	return "other"
}
