package authn

import (
	"context"
	"errors"

	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine"
)

// Account is the security settings of a signed-in user: the password
// change, the authenticator app and the recovery codes, and
// Reauthenticate, the fresh proof those changes demand (requireFresh).
// They belong together because each needs the session, the current
// credentials and the same re-authentication rule; plain session use and
// self-service (Sessions) needs none of that.
type Account struct{ *core }

// ChangePasswordRequest changes the password of a signed-in user.
type ChangePasswordRequest struct {
	SessionToken    string
	CurrentPassword string
	NewPassword     string
	Client          Client
}

// ChangePassword needs the current password, applies the policy (the
// shorter MFA minimum when the account has a second factor), signs out
// every other session and notifies the user.
func (s *Account) ChangePassword(ctx context.Context, r ChangePasswordRequest) (err error) {
	defer func() { s.metrics.result("change_password", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return err
	}
	if err := s.confirmPassword(ctx, sess, u, r.CurrentPassword, r.Client); err != nil {
		return err
	}
	if err := s.checkNewPassword(ctx, u, r.NewPassword); err != nil {
		return err
	}
	if err := s.setPassword(ctx, u, r.NewPassword, sess.ID, r.Client); err != nil {
		return err
	}
	s.emit(secevent.PasswordChanged, u, r.Client, sess.ID, nil)
	return nil
}

// confirmPassword checks the current password of a signed-in user before
// a security change, through the same throttles as Reauthenticate and
// sign-in (checkThrottled). Past the account threshold no password is
// accepted here: the owner resets it by mail, or signs in afresh.
func (s *Account) confirmPassword(ctx context.Context, sess Session, u *User, pw string, c Client) error {
	ok, held, err := s.checkThrottled(ctx, u, pw, c, sessionDevice(sess, ""))
	if err != nil {
		return err
	}
	if !ok || held {
		return newErr(CodeInvalidPassword, "the current password is not correct")
	}
	return nil
}

// ReauthRequest proves the user again for a signed-in session: the
// password, and a second factor when the account has one.
type ReauthRequest struct {
	SessionToken string
	Password     string
	// TOTPCode or RecoveryCode, required when the account has TOTP.
	TOTPCode     string
	RecoveryCode string
	Client       Client
}

// Reauthenticate is step-up for a live session: it checks the factors,
// then replaces the session with a new one (new token, AAL2 when a second
// factor passed) and revokes the old, so the elevated session never
// shares a token with the weaker one. Security changes need a session
// this fresh (Config.ReauthWindow).
func (s *Account) Reauthenticate(ctx context.Context, r ReauthRequest) (is *IssuedSession, err error) {
	defer func() { s.metrics.result("reauthenticate", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return nil, err
	}
	ev := s.event(engine.KindLogin, u, "", r.Client)
	ev.Password = r.Password
	d, err := s.evaluateLogin(ctx, ev)
	if err != nil {
		return nil, err
	}
	// A stolen session must not become a password oracle: the same silent
	// delay per source, the same account threshold and the same step-up
	// alert as a sign-in, shared with every other check of the current
	// password.
	dev := sessionDevice(sess, d.Keys.Device)
	ok, held, err := s.checkThrottled(ctx, u, r.Password, r.Client, dev)
	if err != nil {
		return nil, err
	}
	fail := func() (*IssuedSession, error) {
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		return nil, errLoginFailed()
	}
	if !ok && !held {
		return fail()
	}
	mfa, err := s.hasTOTP(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if held && !mfa {
		// Past the threshold a password alone proves nothing: the answer
		// of a wrong one, right or wrong.
		return fail()
	}
	aal, o := AAL1, engine.OutcomeSuccess
	if mfa {
		var factor Factor
		var ferr error
		switch {
		case r.TOTPCode != "":
			factor, ferr = FactorTOTP, s.verifyTOTP(ctx, u, r.TOTPCode)
		case r.RecoveryCode != "":
			factor, ferr = FactorRecovery, s.verifyRecovery(ctx, u, r.RecoveryCode)
		case held:
			return fail()
		default:
			return nil, newErr(CodeInvalidCode, "a code from the authenticator app or a recovery code is required")
		}
		if ferr != nil && CodeOf(ferr) != CodeInvalidCode {
			return nil, ferr
		}
		if ferr != nil {
			s.recordAttempt(ctx, u, attempt{factor: factor, success: false, client: r.Client, device: dev})
		}
		switch {
		case held && (ferr != nil || !ok):
			// Held: the code is checked whatever the password, and a
			// wrong password and a wrong code answer alike, with no
			// step-up alert that would tell the guesser the password
			// was right.
			return fail()
		case ferr != nil:
			s.outcome(ctx, d.EvaluationID, engine.OutcomeStepUpFailed)
			s.stepUpFailed(ctx, u, factor, r.Client)
			return nil, ferr
		}
		s.recordAttempt(ctx, u, attempt{factor: factor, success: true, client: r.Client, device: dev})
		aal, o = AAL2, engine.OutcomeStepUpPassed
	}
	s.outcome(ctx, d.EvaluationID, o)
	is, err = s.issueSession(ctx, u, aal, r.Client, d.Keys.Device)
	if err != nil {
		return nil, err
	}
	if err := s.sessions.RevokeSession(ctx, u.ID, sess.ID, s.clock.Now()); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return is, nil
}

// requireFresh enforces re-authentication for security changes: the
// session must have been issued within ReauthWindow, at AAL2 when the
// account has a second factor. It reports whether the account has one.
func (s *Account) requireFresh(ctx context.Context, sess Session) (mfa bool, err error) {
	if s.clock.Now().Sub(sess.CreatedAt) > s.cfg.ReauthWindow {
		return false, newErr(CodeReauthenticationRequired, "confirm it is you first")
	}
	mfa, err = s.hasTOTP(ctx, sess.UserID)
	if err != nil {
		return false, err
	}
	if mfa && sess.AAL < AAL2 {
		return true, newErr(CodeReauthenticationRequired, "confirm it is you with your second factor first")
	}
	return mfa, nil
}
