package authn

import (
	"context"
	"errors"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/authn/seal"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/authn/totp"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// RegisterRequest creates an account.
type RegisterRequest struct {
	Email    string
	Password string
	Client   Client
}

// RegisterResult is identical for a new and an already registered address.
type RegisterResult struct {
	// VerificationSent is always true: the address receives either a
	// verification link or an "you already have an account" mail.
	VerificationSent bool
}

// Register creates an account and mails a verification link. An address
// that already has an account gets the same answer at the same cost (the
// password is hashed either way) and its owner an account_exists mail, so
// registration cannot be used to find out who has an account.
func (s *Service) Register(ctx context.Context, r RegisterRequest) (res *RegisterResult, err error) {
	defer func() { s.metrics.result("register", err) }()
	email, err := NormalizeEmail(r.Email)
	if err != nil {
		return nil, err
	}
	ev := s.event(engine.KindRegistration, nil, email, r.Client)
	ev.Password = r.Password
	d, err := s.evaluate(ctx, ev)
	if err != nil {
		return nil, err
	}
	if d.Action == risk.Block {
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		return nil, newErr(CodeRequestRefused, "the request was refused")
	}
	if err := s.policy.Check(ctx, r.Password, password.PolicyInput{Email: email}); err != nil {
		return nil, policyErr(err)
	}
	phc, err := s.hasher.Hash(ctx, r.Password)
	if err != nil {
		return nil, hashErr(err)
	}
	now := s.clock.Now()
	u := User{ID: newID(), Email: email, PasswordHash: phc, PasswordChangedAt: now, CreatedAt: now, UpdatedAt: now}
	err = s.users.CreateUser(ctx, u)
	switch {
	case errors.Is(err, ErrEmailTaken):
		s.send(mail.KindAccountExists, func() (mail.Message, error) { return s.render.AccountExists(email) })
	case err != nil:
		return nil, err
	default:
		tok, err := token.New()
		if err != nil {
			return nil, err
		}
		if err := s.tokens.IssueToken(ctx, OneTimeToken{ID: newID(), Kind: TokenEmailVerification, Hash: tokenHash(tok),
			UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.VerificationTTL)}); err != nil {
			return nil, err
		}
		s.send(mail.KindVerifyEmail, func() (mail.Message, error) {
			return s.render.VerifyEmail(email, mail.LinkData{Token: tok, ExpiresIn: s.cfg.VerificationTTL})
		})
	}
	return &RegisterResult{VerificationSent: true}, nil
}

// VerifyEmailRequest redeems a verification link.
type VerifyEmailRequest struct {
	Token string
}

// VerifyEmail marks the address proven; the link works once.
func (s *Service) VerifyEmail(ctx context.Context, r VerifyEmailRequest) (err error) {
	defer func() { s.metrics.result("verify_email", err) }()
	if !token.Valid(r.Token) {
		return errInvalidToken()
	}
	t, err := s.tokens.ConsumeToken(ctx, TokenEmailVerification, tokenHash(r.Token), s.clock.Now())
	if errors.Is(err, ErrTokenInvalid) {
		return errInvalidToken()
	}
	if err != nil {
		return err
	}
	if err := s.users.MarkEmailVerified(ctx, t.UserID, s.clock.Now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return errInvalidToken()
		}
		return err
	}
	return nil
}

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
func (s *Service) ChangePassword(ctx context.Context, r ChangePasswordRequest) (err error) {
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
// a security change; a wrong one is recorded as a failed attempt.
func (s *Service) confirmPassword(ctx context.Context, sess Session, u *User, pw string, c Client) error {
	ok, err := s.checkPassword(ctx, u, pw)
	if err != nil {
		return err
	}
	if !ok {
		s.recordAttempt(ctx, u, FactorPassword, false, c, sess.DeviceID)
		return newErr(CodeInvalidPassword, "the current password is not correct")
	}
	return nil
}

// checkNewPassword applies the policy to a new password of u: the shorter
// MFA minimum when the account has a second factor.
func (s *Service) checkNewPassword(ctx context.Context, u *User, pw string) error {
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
func (s *Service) setPassword(ctx context.Context, u *User, pw, keep string, c Client) error {
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

// PasswordResetRequest asks for a reset link.
type PasswordResetRequest struct {
	Email  string
	Client Client
}

// RequestPasswordReset mails a single-use reset link when the address has
// an account. The answer is always the same (nil, unless the address is
// malformed); a risk block or the per-account send limit silently send
// nothing.
func (s *Service) RequestPasswordReset(ctx context.Context, r PasswordResetRequest) (err error) {
	defer func() { s.metrics.result("request_reset", err) }()
	email, u, err := s.lookup(ctx, r.Email)
	if err != nil {
		return err
	}
	d, err := s.evaluate(ctx, s.event(engine.KindPasswordReset, u, email, r.Client))
	if err != nil {
		return err
	}
	if d.Action == risk.Block {
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		return nil
	}
	now := s.clock.Now()
	uid := ""
	if u != nil && !u.Disabled {
		uid = u.ID
		n, err := s.tokens.CountTokensSince(ctx, uid, TokenPasswordReset, now.Add(-s.cfg.EmailSendWindow))
		if err != nil {
			return err
		}
		if n >= s.cfg.EmailSendLimit {
			return nil
		}
	}
	tok, err := token.New()
	if err != nil {
		return err
	}
	// Unknown addresses get an unowned token that is never sent, so both
	// answers do the same database work.
	if err := s.tokens.IssueToken(ctx, OneTimeToken{ID: newID(), Kind: TokenPasswordReset, Hash: tokenHash(tok),
		UserID: uid, CreatedAt: now, ExpiresAt: now.Add(s.cfg.ResetTTL)}); err != nil {
		return err
	}
	if uid != "" {
		rc := s.requestContext(r.Client)
		s.send(mail.KindPasswordReset, func() (mail.Message, error) {
			return s.render.PasswordReset(email, mail.LinkData{Token: tok, ExpiresIn: s.cfg.ResetTTL}, rc)
		})
	}
	return nil
}

// ResetPasswordRequest sets a new password with a reset link's token.
type ResetPasswordRequest struct {
	Token       string
	NewPassword string
	Client      Client
}

// ResetPassword sets the new password, ends every session and notifies
// the user. It never signs the user in: the next sign-in goes through the
// usual flow, second factor included, so a stolen mailbox alone does not
// bypass MFA. A new password that fails the policy leaves the link usable.
func (s *Service) ResetPassword(ctx context.Context, r ResetPasswordRequest) (err error) {
	defer func() { s.metrics.result("reset_password", err) }()
	if !token.Valid(r.Token) {
		return errInvalidToken()
	}
	h := tokenHash(r.Token)
	t, err := s.tokens.LiveToken(ctx, TokenPasswordReset, h, s.clock.Now())
	if errors.Is(err, ErrTokenInvalid) || err == nil && t.UserID == "" {
		return errInvalidToken()
	}
	if err != nil {
		return err
	}
	u, err := s.users.UserByID(ctx, t.UserID)
	if errors.Is(err, ErrNotFound) {
		return errInvalidToken()
	}
	if err != nil {
		return err
	}
	if err := s.checkNewPassword(ctx, &u, r.NewPassword); err != nil {
		return err
	}
	// Spend the token only now, after the policy passed; of concurrent
	// resets with one link exactly one gets here.
	if _, err := s.tokens.ConsumeToken(ctx, TokenPasswordReset, h, s.clock.Now()); err != nil {
		if errors.Is(err, ErrTokenInvalid) {
			return errInvalidToken()
		}
		return err
	}
	if err := s.setPassword(ctx, &u, r.NewPassword, "", r.Client); err != nil {
		return err
	}
	if u.EmailVerifiedAt.IsZero() {
		if err := s.users.MarkEmailVerified(ctx, u.ID, s.clock.Now()); err != nil {
			return err
		}
	}
	s.emit(secevent.PasswordReset, &u, r.Client, "", nil)
	return nil
}

// TOTPEnrollment is shown once to the user: the QR code for the app and
// the secret for manual entry.
type TOTPEnrollment struct {
	FactorID string
	URI      string
	QRPNG    []byte
	Secret   string
}

// BeginTOTP starts enrolling an authenticator app. It needs a fresh
// session (and an AAL2 one when it replaces an existing app). The secret
// is sealed before it is stored; the factor is inactive until
// ConfirmTOTP.
func (s *Service) BeginTOTP(ctx context.Context, sessionToken string) (e *TOTPEnrollment, err error) {
	defer func() { s.metrics.result("totp_begin", err) }()
	sess, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	if _, err := s.requireFresh(ctx, sess); err != nil {
		return nil, err
	}
	en, err := totp.Enroll(s.cfg.ServiceName, u.Email)
	if err != nil {
		return nil, err
	}
	id := newID()
	sealed, err := s.sealer.Seal([]byte(en.Secret), seal.AssociatedData(u.ID, id))
	if err != nil {
		return nil, err
	}
	if err := s.totps.BeginTOTP(ctx, TOTPFactor{ID: id, UserID: u.ID, SealedSecret: sealed, CreatedAt: s.clock.Now()}); err != nil {
		return nil, err
	}
	return &TOTPEnrollment{FactorID: id, URI: en.URI, QRPNG: en.QRPNG, Secret: en.Secret}, nil
}

// ConfirmTOTPRequest proves the app has the secret.
type ConfirmTOTPRequest struct {
	SessionToken string
	FactorID     string
	Code         string
	Client       Client
}

// RecoveryCodes are shown once; only their hashes are stored.
type RecoveryCodes struct {
	Codes []string
}

// ConfirmTOTP activates the pending factor with its first valid code
// (that code's step is burnt), replaces any previous app, issues a fresh
// set of recovery codes, and notifies the user and the SOC.
func (s *Service) ConfirmTOTP(ctx context.Context, r ConfirmTOTPRequest) (rc *RecoveryCodes, err error) {
	defer func() { s.metrics.result("totp_confirm", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return nil, err
	}
	if _, err := s.requireFresh(ctx, sess); err != nil {
		return nil, err
	}
	f, err := s.totps.PendingTOTP(ctx, u.ID)
	if errors.Is(err, ErrNotFound) || err == nil && f.ID != r.FactorID {
		return nil, newErr(CodeNotFound, "no such enrolment; start again")
	}
	if err != nil {
		return nil, err
	}
	secret, err := s.sealer.Open(f.SealedSecret, seal.AssociatedData(u.ID, f.ID))
	if err != nil {
		return nil, err
	}
	defer clear(secret)
	step, ok := totp.Validate(string(secret), r.Code, s.clock.Now())
	if !ok {
		return nil, errInvalidCode()
	}
	codes, hashes, err := s.newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	if err := s.totps.ConfirmTOTP(ctx, u.ID, f.ID, step, s.clock.Now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, newErr(CodeNotFound, "no such enrolment; start again")
		}
		return nil, err
	}
	if err := s.recovery.ReplaceRecoveryCodes(ctx, u.ID, hashes, s.clock.Now()); err != nil {
		return nil, err
	}
	s.emit(secevent.MFAEnrolled, u, r.Client, sess.ID, map[string]string{"factor": "totp"})
	s.notifyMFA(u.Email, mail.MFAAdded, "authenticator app", r.Client)
	return &RecoveryCodes{Codes: codes}, nil
}

// RemoveTOTPRequest removes the authenticator app.
type RemoveTOTPRequest struct {
	SessionToken string
	// Password is the current password: the account falls back to the
	// password alone, which must then meet the single-factor minimum.
	Password string
	Client   Client
}

// RemoveTOTP deletes the app and the recovery codes. It needs a fresh
// AAL2 session and the current password, refuses while that password is
// shorter than the single-factor minimum (it was allowed only because MFA
// backed it), and notifies the user and the SOC.
func (s *Service) RemoveTOTP(ctx context.Context, r RemoveTOTPRequest) (err error) {
	defer func() { s.metrics.result("totp_remove", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return err
	}
	if _, err := s.requireFresh(ctx, sess); err != nil {
		return err
	}
	if err := s.confirmPassword(ctx, sess, u, r.Password, r.Client); err != nil {
		return err
	}
	if err := s.policy.Check(ctx, r.Password, password.PolicyInput{Email: u.Email}); err != nil {
		if e, ok := policyErr(err).(*Error); ok {
			e.Message = "set a stronger password before removing the second factor: " + e.Message
			return e
		}
		return err
	}
	f, err := s.totps.ActiveTOTP(ctx, u.ID)
	if errors.Is(err, ErrNotFound) {
		return newErr(CodeNotFound, "no authenticator app is set up")
	}
	if err != nil {
		return err
	}
	if err := s.totps.DeleteTOTP(ctx, u.ID, f.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if err := s.recovery.ReplaceRecoveryCodes(ctx, u.ID, nil, s.clock.Now()); err != nil {
		return err
	}
	s.emit(secevent.MFARemoved, u, r.Client, sess.ID, map[string]string{"factor": "totp"})
	s.notifyMFA(u.Email, mail.MFARemoved, "authenticator app", r.Client)
	return nil
}

// RegenerateRecoveryCodesRequest replaces the recovery codes.
type RegenerateRecoveryCodesRequest struct {
	SessionToken string
	Client       Client
}

// RegenerateRecoveryCodes replaces every recovery code of the account with
// a fresh set, returned once (only hashes are stored): for a user who used
// or lost some, or fears they were seen. Like the other security changes
// it needs a fresh AAL2 session (Reauthenticate with the second factor),
// since whoever holds the codes can pass the second factor. The old codes
// stop working at once; the user and the SOC are told.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, r RegenerateRecoveryCodesRequest) (rc *RecoveryCodes, err error) {
	defer func() { s.metrics.result("recovery_codes_regenerate", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return nil, err
	}
	// With an app, requireFresh has also demanded an AAL2 session.
	mfa, err := s.requireFresh(ctx, sess)
	if err != nil {
		return nil, err
	}
	if !mfa {
		// Recovery codes stand in for the authenticator app; without one
		// they would be a second factor of their own.
		return nil, newErr(CodeNotFound, "no authenticator app is set up")
	}
	codes, hashes, err := s.newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	if err := s.recovery.ReplaceRecoveryCodes(ctx, u.ID, hashes, s.clock.Now()); err != nil {
		return nil, err
	}
	s.emit(secevent.MFARecoveryRenewed, u, r.Client, sess.ID, map[string]string{"factor": "recovery_codes", "change": string(mail.MFARecoveryRenewed)})
	s.notifyMFA(u.Email, mail.MFARecoveryRenewed, "recovery codes", r.Client)
	return &RecoveryCodes{Codes: codes}, nil
}

// newRecoveryCodes generates a fresh set of recovery codes and the hashes
// the store keeps of them.
func (s *Service) newRecoveryCodes() (codes []string, hashes [][]byte, err error) {
	codes, err = totp.GenerateRecoveryCodes(totp.DefaultRecoveryCodes)
	if err != nil {
		return nil, nil, err
	}
	hashes = make([][]byte, len(codes))
	for i, c := range codes {
		h, err := s.rhash.Hash(c)
		if err != nil {
			return nil, nil, err
		}
		hashes[i] = hashHex(h)
	}
	return codes, hashes, nil
}
