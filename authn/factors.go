package authn

import (
	"context"
	"errors"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/seal"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/totp"
)

// errReplayed marks an invalid_code answer caused by a TOTP step that was
// already used.
var errReplayed = &Error{Code: CodeInvalidCode, Message: "the code is not valid", Err: ErrReplay}

func (s *core) hasTOTP(ctx context.Context, userID string) (bool, error) {
	_, err := s.totps.ActiveTOTP(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// hasSecondFactor reports whether the account has a factor beyond the
// password: an authenticator app or a passkey. It is what "has MFA"
// means where it changes what is asked (the step after a password, the
// enrolment a required action asks for); which codes a step accepts
// still depends on the app alone. The password policy's shorter MFA
// minimum still counts the app only: removing the last passkey does not
// check the password against the single-factor policy, as removing the
// app does.
func (s *core) hasSecondFactor(ctx context.Context, userID string) (bool, error) {
	mfa, err := s.hasTOTP(ctx, userID)
	if err != nil || mfa {
		return mfa, err
	}
	return s.hasPasskeys(ctx, userID)
}

// verifyTOTP checks code against the user's active factor and burns its
// time step with the store's compare-and-set, so a code is accepted once,
// also under concurrent requests on several instances.
func (s *core) verifyTOTP(ctx context.Context, u *User, code string) error {
	f, err := s.totps.ActiveTOTP(ctx, u.ID)
	if errors.Is(err, ErrNotFound) {
		return errInvalidCode()
	}
	if err != nil {
		return err
	}
	secret, err := s.sealer.Open(f.SealedSecret, seal.AssociatedData(u.ID, f.ID))
	if err != nil {
		return err
	}
	defer clear(secret)
	step, ok := totp.Validate(string(secret), code, s.clock.Now())
	if !ok {
		return errInvalidCode()
	}
	if err := s.totps.UseTOTPStep(ctx, f.ID, step); err != nil {
		if errors.Is(err, ErrReplay) {
			return errReplayed
		}
		if errors.Is(err, ErrNotFound) {
			return errInvalidCode()
		}
		return err
	}
	return nil
}

// verifyRecovery consumes a matching unused recovery code.
func (s *core) verifyRecovery(ctx context.Context, u *User, code string) error {
	h, err := s.rhash.Hash(code)
	if err != nil {
		return errInvalidCode()
	}
	err = s.recovery.ConsumeRecoveryCode(ctx, u.ID, hashHex(h), s.clock.Now())
	if errors.Is(err, ErrNotFound) {
		return errInvalidCode()
	}
	return err
}

// stepUpFailed tells the SOC every time and the user at most once per
// StepUpMailInterval and factor.
func (s *core) stepUpFailed(ctx context.Context, u *User, f Factor, c Client) {
	s.emit(secevent.StepUpFailed, u, c, "", map[string]string{"factor": string(f)})
	n, err := s.attempts.CountFailures(ctx, u.ID, f, s.clock.Now().Add(-s.cfg.StepUpMailInterval))
	if err != nil {
		s.log.Warn("failure count", "user_id", u.ID, "err", err)
		return
	}
	if n <= 1 {
		s.notify(ctx, mail.KindStepUpFailed, u.Email, c)
	}
}
