package authn

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
)

// The actions of Admin.Act, one function each. Each leaves res saying
// what it did and emits its event last, once the change is stored.

// disable bars u from signing in and ends its sessions (SetDisabled
// leaves that to its caller).
func (s *Admin) disable(ctx context.Context, u *User, by Actor, res *ActionResult) error {
	now := s.clock.Now()
	if !u.Disabled {
		if err := s.users.SetDisabled(ctx, u.ID, true, now); err != nil {
			return err
		}
		res.Changed = true
	}
	n, err := s.sessions.RevokeOtherSessions(ctx, u.ID, "", now)
	if err != nil {
		return err
	}
	res.SessionsRevoked = n
	s.emitAdmin(secevent.UserDisabled, u, by, res, "sessions_revoked", strconv.Itoa(n))
	return nil
}

func (s *Admin) enable(ctx context.Context, u *User, by Actor, res *ActionResult) error {
	if u.Disabled {
		if err := s.users.SetDisabled(ctx, u.ID, false, s.clock.Now()); err != nil {
			return err
		}
		res.Changed = true
	}
	s.emitAdmin(secevent.UserEnabled, u, by, res)
	return nil
}

// unlock clears what slows or holds the account's sign-ins: the count of
// wrong passwords behind the account threshold (held flows), and the
// failed attempts behind the per-source and second-factor delays, within
// the longest window that counts them. The audit trail keeps every one of
// those failures; only the throttle's working copy goes.
func (s *Admin) unlock(ctx context.Context, u *User, by Actor, res *ActionResult) error {
	n, err := s.guesses(ctx, u.Email)
	if err != nil {
		return err
	}
	if n > 0 {
		if err := s.counters.ClearEvents(ctx, s.guessKey(u.Email)); err != nil {
			return err
		}
	}
	window := max(s.cfg.Lockout.SourceWindow, s.cfg.Lockout.OTPWindow)
	cleared, err := s.dir.DeleteFailedAttempts(ctx, u.ID, s.clock.Now().Add(-window))
	if err != nil {
		return err
	}
	res.FailuresCleared = cleared
	res.Changed = n > 0 || cleared > 0
	s.emitAdmin(secevent.UserUnlocked, u, by, res, "wrong_passwords", strconv.Itoa(n), "failures_cleared", strconv.FormatInt(cleared, 10))
	return nil
}

// resetMFA removes every second factor of an owner who lost them: the
// authenticator app (active or pending) and the recovery codes, and (with
// a RequiredActionStore) makes the owner's next sign-in enrol a new app
// before it ends, after proving the inbox by email code (mfa_required.go);
// the owner is told by mail (without the administrator's address or
// device).
func (s *Admin) resetMFA(ctx context.Context, u *User, by Actor, res *ActionResult) error {
	now := s.clock.Now()
	for _, get := range []func(context.Context, string) (TOTPFactor, error){s.totps.ActiveTOTP, s.totps.PendingTOTP} {
		f, err := get(ctx, u.ID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := s.totps.DeleteTOTP(ctx, u.ID, f.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		res.FactorsRemoved++
	}
	codes, err := s.recovery.CountRecoveryCodes(ctx, u.ID)
	if err != nil {
		return err
	}
	if codes > 0 {
		if err := s.recovery.ReplaceRecoveryCodes(ctx, u.ID, nil, now); err != nil {
			return err
		}
		res.FactorsRemoved++
	}
	res.Changed = res.FactorsRemoved > 0
	if res.Changed && s.required != nil {
		if err := s.required.AddRequiredAction(ctx, u.ID, ActionEnrolMFA, now); err != nil {
			return err
		}
		res.EnrolmentRequired = true
	}
	if res.Changed {
		res.MailSent = s.reserveMail(ctx, mail.KindMFAChanged, u.Email, true)
		rc := mail.RequestContext{When: now}
		to := u.Email
		s.queueMail(res.MailSent, mail.KindMFAChanged, func() (mail.Message, error) {
			return s.render.MFAChanged(to, mail.MFAChangeData{Change: mail.MFAAllFactorsRemoved}, rc)
		})
	}
	s.emitAdmin(secevent.MFAReset, u, by, res, "factors_removed", strconv.Itoa(res.FactorsRemoved))
	return nil
}

func (s *Admin) revokeSessions(ctx context.Context, u *User, by Actor, res *ActionResult) error {
	n, err := s.sessions.RevokeOtherSessions(ctx, u.ID, "", s.clock.Now())
	if err != nil {
		return err
	}
	res.SessionsRevoked, res.Changed = n, n > 0
	s.emitAdmin(secevent.SessionsRevoked, u, by, res, "count", strconv.Itoa(n))
	return nil
}

// resendVerification mails a new verification link. Opened in the
// owner's browser, which holds no registration secret of this account,
// it claims the account by the inbox alone (claim.go): whatever was set
// before verification goes, and the owner sets a password.
func (s *Admin) resendVerification(ctx context.Context, u *User, by Actor, res *ActionResult) error {
	if !u.EmailVerifiedAt.IsZero() {
		return errAlreadyVerified
	}
	send := s.reserveMail(ctx, mail.KindVerifyEmail, u.Email, true)
	tok, err := s.issueLink(ctx, TokenEmailVerification, owner(send, u.ID), s.cfg.VerificationTTL)
	if err != nil {
		return err
	}
	email, ttl := u.Email, s.cfg.VerificationTTL
	s.queueMail(send, mail.KindVerifyEmail, func() (mail.Message, error) {
		return s.render.VerifyEmail(email, mail.LinkData{Token: tok, ExpiresIn: ttl})
	})
	res.Changed, res.MailSent = send, send
	s.emitAdmin(secevent.VerificationSent, u, by, res)
	return nil
}

func (s *Admin) markVerified(ctx context.Context, u *User, by Actor, res *ActionResult) error {
	if u.EmailVerifiedAt.IsZero() {
		if err := s.users.MarkEmailVerified(ctx, u.ID, s.clock.Now()); err != nil {
			return err
		}
		res.Changed = true
	}
	s.emitAdmin(secevent.UserVerified, u, by, res)
	return nil
}

// sendPasswordReset mails the owner a password reset link, as if they had
// asked for one.
func (s *Admin) sendPasswordReset(ctx context.Context, u *User, by Actor, res *ActionResult) error {
	send := s.reserveMail(ctx, mail.KindPasswordReset, u.Email, true)
	tok, err := s.issueLink(ctx, TokenPasswordReset, owner(send, u.ID), s.cfg.ResetTTL)
	if err != nil {
		return err
	}
	email, ttl, rc := u.Email, s.cfg.ResetTTL, mail.RequestContext{When: s.clock.Now()}
	s.queueMail(send, mail.KindPasswordReset, func() (mail.Message, error) {
		return s.render.PasswordReset(email, mail.LinkData{Token: tok, ExpiresIn: ttl}, rc)
	})
	res.Changed, res.MailSent = send, send
	s.emitAdmin(secevent.PasswordResetSent, u, by, res)
	return nil
}

// deleteUser erases the account at once, by the erasure path of the
// privacy rights (erasure.go) when it is on: the engine's state of the
// user, the consent ledger, every row of the account store, then the
// user_deleted event (with the administrator and the reason) and the
// tombstone. Without it, the account store's cascade alone (the
// engine's state is then left to its expiry). The event carries the id,
// never the address.
func (s *Admin) deleteUser(ctx context.Context, u *User, by Actor, res *ActionResult) error {
	announce := func() { s.emitAdmin(secevent.UserDeleted, &User{ID: u.ID}, by, res) }
	if s.priv.Store != nil {
		res.Changed = true
		_, err := s.erase(ctx, u, time.Time{}, InitiatorAdmin, announce)
		if s.erasures != nil {
			s.erasures.WithLabelValues(InitiatorAdmin, resultLabel(err)).Inc()
		}
		if errors.Is(err, ErrNotFound) {
			return errNoSuchUser
		}
		return err
	}
	if err := s.dir.DeleteUser(ctx, u.ID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return errNoSuchUser
		}
		return err
	}
	res.Changed = true
	announce()
	return nil
}
