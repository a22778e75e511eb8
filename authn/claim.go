package authn

import (
	"context"
	"errors"
	"fmt"

	"github.com/riskauth/riskauth/authn/secevent"
)

// Pre-registration takeover (docs/authn.md, "Unverified accounts"):
// anyone can register an address they do not own, choose its password
// and wait for the owner. So an address is only ever claimed with proof
// of the inbox, and what the registrant set before that proof survives
// it only when the same person evidently holds both:
//
//   - the verification link opened in the registering client (it shows
//     the registration binding) or an email code passed after the right
//     password: the inbox and the password together, so they stay;
//   - the inbox alone — the link opened elsewhere, an email code or
//     magic link as first factor, a password reset — verifies the
//     address and drops every credential, factor and session created
//     before (dropCredentials), so an attacker's password, app and
//     sessions stop working; the owner then sets a password.
//
// Until verified, an account cannot sign in with a password alone and
// cannot enrol a second factor (requireVerified).

// errUnverified refuses what only a proven address may do.
func errUnverified() *Error {
	return newErr(CodeEmailUnverified, "confirm your email address first: open the link we mailed you")
}

// requireVerified refuses a security change on an account whose address
// is not proven: a factor enrolled by whoever registered the address
// would survive the owner's claim otherwise, or lock the owner out.
func requireVerified(u *User) error {
	if u.EmailVerifiedAt.IsZero() {
		return errUnverified()
	}
	return nil
}

// dropCredentials removes what was set on the unverified account u before
// its address was proven by the inbox alone: every session, the
// authenticator app (pending and active), the recovery codes, the
// passkeys (a passkey-only registration has one before verification) and
// the password, and the count of wrong passwords for it. The SOC gets the
// usual events with reason pre_verification. The caller marks the
// address verified afterwards, so a failure here leaves it unverified
// and the claim can be made again.
func (s *core) dropCredentials(ctx context.Context, u *User, c Client) error {
	now := s.clock.Now()
	details := func(kv ...string) map[string]string {
		m := map[string]string{"reason": "pre_verification"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	n, err := s.sessions.RevokeOtherSessions(ctx, u.ID, "", now)
	if err != nil {
		return err
	}
	if n > 0 {
		s.emit(secevent.SessionsRevoked, u, c, "", details())
	}
	removed := false
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
		removed = removed || !f.ConfirmedAt.IsZero()
	}
	if err := s.recovery.ReplaceRecoveryCodes(ctx, u.ID, nil, now); err != nil {
		return err
	}
	if removed {
		s.emit(secevent.MFARemoved, u, c, "", details("factor", "totp"))
	}
	if err := s.dropPasskeys(ctx, u, c, details("factor", string(FactorPasskey))); err != nil {
		return err
	}
	if u.PasswordHash != "" {
		if err := s.users.SetPassword(ctx, u.ID, "", now); err != nil {
			return err
		}
		u.PasswordHash = ""
		s.emit(secevent.PasswordChanged, u, c, "", details("change", "removed"))
	}
	s.rightPassword(ctx, u.Email)
	return nil
}

// verify marks u's address proven.
func (s *core) verify(ctx context.Context, u *User, c Client) error {
	if !u.EmailVerifiedAt.IsZero() {
		return nil
	}
	now := s.clock.Now()
	if err := s.users.MarkEmailVerified(ctx, u.ID, now); err != nil {
		return err
	}
	u.EmailVerifiedAt = now
	s.emit(secevent.UserVerified, u, c, "", nil) // lifecycle event (issue 20), from the client that proved it
	return nil
}

// dropPasskeys removes every passkey of u, emitting mfa_removed with
// details when there was one.
func (s *core) dropPasskeys(ctx context.Context, u *User, c Client, details map[string]string) error {
	if s.passkeys == nil {
		return nil
	}
	ps, err := s.passkeys.Passkeys(ctx, u.ID)
	if err != nil || len(ps) == 0 {
		return err
	}
	ed, ok := s.passkeys.(PasskeyEditor)
	if !ok {
		return errors.New("authn: the passkey store cannot remove passkeys")
	}
	for _, p := range ps {
		if err := ed.DeletePasskey(ctx, u.ID, p.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("drop passkey: %w", err)
		}
	}
	s.emit(secevent.MFARemoved, u, c, "", details)
	return nil
}
