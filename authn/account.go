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
// every other session and notifies the user. An account without a
// password (a passkey-only one) sets its first here: there is no current
// password to prove, so the session must be fresh instead, at AAL2 as
// its passkey demands (requireFresh), and CurrentPassword is ignored.
func (s *Account) ChangePassword(ctx context.Context, r ChangePasswordRequest) (err error) {
	defer func() { s.metrics.result("change_password", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return err
	}
	if u.PasswordHash == "" {
		if _, err := s.requireFresh(ctx, sess); err != nil {
			return err
		}
	} else if err := s.confirmPassword(ctx, sess, u, r.CurrentPassword, r.Client); err != nil {
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
	pc, err := s.checkThrottled(ctx, u, pw, c, sessionDevice(sess, ""))
	if err != nil {
		return err
	}
	if !pc.ok || pc.held {
		s.auditFailed(secevent.LoginFailed, flowConfirmPassword, u, c, sess.ID, FactorPassword, pc.failure(), pc.held)
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
	pc, err := s.checkThrottled(ctx, u, r.Password, r.Client, dev)
	if err != nil {
		return nil, err
	}
	ok, held := pc.ok, pc.held
	// fail refuses with the answer of a wrong password, audited as t of
	// factor f for reason (past the threshold always login_failed, whose
	// reason says what was wrong).
	fail := func(t secevent.Type, f Factor, reason string) (*IssuedSession, error) {
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		s.auditFailed(t, flowReauthenticate, u, r.Client, sess.ID, f, reason, held)
		return nil, errLoginFailed()
	}
	if !ok && !held {
		return fail(secevent.LoginFailed, FactorPassword, pc.failure())
	}
	mfa, err := s.hasTOTP(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if held && !mfa {
		// Past the threshold a password alone proves nothing: the answer
		// of a wrong one, right or wrong.
		return fail(secevent.LoginFailed, FactorPassword, pc.failure())
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
			return fail(secevent.LoginFailed, FactorPassword, pc.failure())
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
		case held && !ok:
			// Held: the code is checked whatever the password, and a
			// wrong password and a wrong code answer alike, with no
			// step-up alert that would tell the guesser the password
			// was right. The trail tells the SOC which one it was, in
			// the reason of an event of one type.
			return fail(secevent.LoginFailed, FactorPassword, pc.failure())
		case held && ferr != nil:
			return fail(secevent.LoginFailed, factor, reasonWrongCode)
		case ferr != nil:
			s.outcome(ctx, d.EvaluationID, engine.OutcomeStepUpFailed)
			s.auditFailed(secevent.SecondFactorFailed, flowReauthenticate, u, r.Client, sess.ID, factor, reasonWrongCode, false)
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
	s.auditSignedIn(flowReauthenticate, u, r.Client, "", is, d.EvaluationID, d.Keys.Device)
	if err := s.sessions.RevokeSession(ctx, u.ID, sess.ID, s.clock.Now()); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return is, nil
}

// requireFresh enforces re-authentication for security changes: the
// session must have been issued within ReauthWindow, at AAL2 when the
// account has a second factor — an authenticator app or a passkey, so a
// password alone never changes what a passkey protects (NIST 800-63B:
// an AAL2 account is changed at AAL2). It reports whether the account
// has an authenticator app, which is what its callers branch on
// (recovery codes stand in for the app, not for a passkey).
func (s *Account) requireFresh(ctx context.Context, sess Session) (mfa bool, err error) {
	if s.clock.Now().Sub(sess.CreatedAt) > s.cfg.ReauthWindow {
		return false, newErr(CodeReauthenticationRequired, "confirm it is you first")
	}
	mfa, err = s.hasTOTP(ctx, sess.UserID)
	if err != nil {
		return false, err
	}
	second := mfa
	if !second && sess.AAL < AAL2 {
		if second, err = s.hasPasskeys(ctx, sess.UserID); err != nil {
			return false, err
		}
	}
	if second && sess.AAL < AAL2 {
		return mfa, newErr(CodeReauthenticationRequired, "confirm it is you with your second factor first")
	}
	return mfa, nil
}
