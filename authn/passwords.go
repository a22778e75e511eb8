package authn

import (
	"context"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/authn/secevent"
)

// checkPassword verifies pw for u, spending one argon2id verification
// whatever happens: unknown users, users without a password and disabled
// users cost the same as a wrong password.
func (s *core) checkPassword(ctx context.Context, u *User, pw string) (bool, error) {
	if u == nil || u.PasswordHash == "" {
		return false, hashErr(s.hasher.VerifyDummy(ctx, pw))
	}
	ok, err := s.hasher.Verify(ctx, u.PasswordHash, pw)
	if err != nil {
		return false, hashErr(err)
	}
	return ok && !u.Disabled, nil
}

// checkNewPassword applies the policy to a new password of u: the shorter
// MFA minimum when the account has a second factor.
func (s *core) checkNewPassword(ctx context.Context, u *User, pw string) error {
	mfa, err := s.hasTOTP(ctx, u.ID)
	if err != nil {
		return err
	}
	if err := s.policy.Check(ctx, pw, password.PolicyInput{Email: u.Email, HasMFA: mfa}); err != nil {
		return policyErr(err)
	}
	return nil
}

// setPassword stores a new password that passed checkNewPassword, revokes
// every session but keep (all when empty) and sends the notification.
func (s *core) setPassword(ctx context.Context, u *User, pw, keep string, c Client) error {
	phc, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return hashErr(err)
	}
	now := s.clock.Now()
	if err := s.users.SetPassword(ctx, u.ID, phc, now); err != nil {
		return err
	}
	n, err := s.sessions.RevokeOtherSessions(ctx, u.ID, keep, now)
	if err != nil {
		return err
	}
	if n > 0 {
		s.emit(secevent.SessionsRevoked, u, c, keep, map[string]string{"reason": "password_changed"})
	}
	s.notify(mail.KindPasswordChanged, u.Email, c)
	return nil
}
