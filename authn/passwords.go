package authn

import (
	"context"

	"github.com/riskauth/riskauth/authn/foreignhash"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/authn/secevent"
)

// checkPassword verifies pw for u, spending one argon2id verification
// whatever happens: unknown users, users without a password and disabled
// users cost the same as a wrong password.
// It is one sign-in step, traced as such.
func (s *core) checkPassword(ctx context.Context, u *User, pw string) (bool, error) {
	sctx, span := startStep(ctx, spanPassword)
	ok, err := s.verifyPassword(sctx, u, pw)
	if span.IsRecording() {
		span.SetAttributes(attrVerified.Bool(ok))
	}
	endStep(span, err)
	return ok, err
}

func (s *core) verifyPassword(ctx context.Context, u *User, pw string) (bool, error) {
	if u == nil || u.PasswordHash == "" {
		return false, hashErr(s.hasher.VerifyDummy(ctx, pw))
	}
	if _, err := password.ParsePHC(u.PasswordHash); err != nil {
		return s.checkForeign(ctx, u, pw)
	}
	ok, err := s.hasher.Verify(ctx, u.PasswordHash, pw)
	if err != nil {
		return false, hashErr(err)
	}
	return ok && !u.Disabled, nil
}

// checkForeign verifies pw against the hash of another system a user was
// migrated with (issue 20), in one of the hasher's slots. Sign-in then
// rehashes it to argon2id (SignIn.rehash: NeedsRehash is true for any
// hash that is not ours), so each migrated user costs one foreign
// verification and one argon2id hash, once. A stored hash no verifier
// accepts (refused at import, so only a corrupt row) fails like a wrong
// password, after the dummy argon2id.
func (s *core) checkForeign(ctx context.Context, u *User, pw string) (bool, error) {
	fh, err := foreignhash.Parse(u.PasswordHash)
	if err != nil {
		s.log.Warn("stored password hash unreadable", "user_id", u.ID)
		return false, hashErr(s.hasher.VerifyDummy(ctx, pw))
	}
	var ok bool
	if err := s.hasher.Run(ctx, func() { ok = fh.Verify(pw) }); err != nil {
		return false, hashErr(err)
	}
	return ok && !u.Disabled, nil
}

// checkThrottled checks u's current password for a session-bound
// security step (re-authentication, password change, authenticator
// removal) through the throttles sign-in uses, so that whichever route
// guesses are sent to, they count alike:
//
//   - the per-source delay, keyed by the client's address and device:
//     while the source waits, pw is not checked (one dummy argon2id, the
//     answer of a wrong password);
//   - the account threshold: past it (held), the check is recorded and
//     counted as a wrong one whatever pw is, and ok must not change the
//     answer unless another factor carries it (Reauthenticate with TOTP),
//     so a stolen session is no oracle either.
//
// Below the threshold a right password clears the count of wrong ones.
// The result also says whether the source was waiting, for the audit
// trail's reason (passwordFailure).
func (s *core) checkThrottled(ctx context.Context, u *User, pw string, c Client, device string) (passwordCheck, error) {
	wait, err := s.sourceWait(ctx, u.ID, c.IP, device)
	if err != nil {
		return passwordCheck{}, err
	}
	n, err := s.guesses(ctx, u.Email)
	if err != nil {
		return passwordCheck{}, err
	}
	held := s.held(n)
	if wait > 0 {
		if err := s.hasher.VerifyDummy(ctx, pw); err != nil {
			return passwordCheck{}, hashErr(err)
		}
		return passwordCheck{held: held, waited: true}, nil
	}
	ok, err := s.checkPassword(ctx, u, pw)
	if err != nil {
		return passwordCheck{}, err
	}
	s.recordAttempt(ctx, u, attempt{factor: FactorPassword, success: ok && !held, client: c, device: device})
	switch {
	case held || !ok:
		s.wrongPassword(ctx, u.Email, n, u, c)
	default:
		s.rightPassword(ctx, u.Email)
	}
	return passwordCheck{ok: ok, held: held}, nil
}

// passwordCheck is what checkThrottled found: whether the password was
// right (ok), whether the account was past its threshold (held), and
// whether the source was made to wait, so that it was not checked.
type passwordCheck struct {
	ok, held, waited bool
}

// failure is the audit reason of a check that did not let the password
// through ("" when it did).
func (p passwordCheck) failure() string { return passwordFailure(p.ok, p.held, p.waited) }

// sessionDevice is the device a session-bound check is throttled by: the
// session's own (a stolen session keeps it whatever address it comes
// from), else the one the request presents.
func sessionDevice(sess Session, requested string) string {
	if sess.DeviceID != "" {
		return sess.DeviceID
	}
	return requested
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
	// Guesses at the old password tell nothing about the new one.
	s.rightPassword(ctx, u.Email)
	n, err := s.sessions.RevokeOtherSessions(ctx, u.ID, keep, now)
	if err != nil {
		return err
	}
	if n > 0 {
		s.emit(secevent.SessionsRevoked, u, c, keep, map[string]string{"reason": "password_changed"})
	}
	s.notify(ctx, mail.KindPasswordChanged, u.Email, c)
	return nil
}
