package authn

import (
	"context"
	"errors"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/authn/seal"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/totp"
)

// TOTPEnrollment is shown once to the user: the QR code for the app and
// the secret for manual entry.
type TOTPEnrollment struct {
	FactorID string
	URI      string
	QRPNG    []byte
	Secret   string
}

// BeginTOTP starts enrolling an authenticator app. It needs a verified
// address (CodeEmailUnverified: a factor enrolled by whoever registered
// an address must not outlive the owner's claim) and a fresh session
// (an AAL2 one when it replaces an existing app). The secret
// is sealed before it is stored; the factor is inactive until
// ConfirmTOTP.
func (s *Account) BeginTOTP(ctx context.Context, sessionToken string) (e *TOTPEnrollment, err error) {
	defer func() { s.metrics.result("totp_begin", err) }()
	sess, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	if err := requireVerified(u); err != nil {
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

// RecoveryCodes are shown once; only their hashes are stored. The change
// that made them also rotated the acting session and ended the others.
type RecoveryCodes struct {
	Codes []string
	SessionRotation
}

// ConfirmTOTP activates the pending factor with its first valid code
// (that code's step is burnt), replaces any previous app, issues a fresh
// set of recovery codes, ends every other session and rotates the acting
// one (a session opened before the account had this factor does not
// outlive the change), and notifies the user and the SOC.
func (s *Account) ConfirmTOTP(ctx context.Context, r ConfirmTOTPRequest) (rc *RecoveryCodes, err error) {
	defer func() { s.metrics.result("totp_confirm", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return nil, err
	}
	if err := requireVerified(u); err != nil {
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
	rot, err := s.rotateAndRevoke(ctx, sess, u, r.Client, "mfa_enrolled")
	if err != nil {
		return nil, err
	}
	s.emit(secevent.MFAEnrolled, u, r.Client, rot.Session.ID, map[string]string{"factor": "totp"})
	s.notifyMFA(ctx, u.Email, mail.MFAChangeData{Change: mail.MFAAdded, Factor: "authenticator app", SignedOut: rot.SessionsRevoked}, r.Client)
	return &RecoveryCodes{Codes: codes, SessionRotation: *rot}, nil
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
// backed it), ends every other session and rotates the acting one, and
// notifies the user and the SOC.
func (s *Account) RemoveTOTP(ctx context.Context, r RemoveTOTPRequest) (rot *SessionRotation, err error) {
	defer func() { s.metrics.result("totp_remove", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return nil, err
	}
	if _, err := s.requireFresh(ctx, sess); err != nil {
		return nil, err
	}
	if err := s.confirmPassword(ctx, sess, u, r.Password, r.Client); err != nil {
		return nil, err
	}
	if err := s.policy.Check(ctx, r.Password, password.PolicyInput{Email: u.Email}); err != nil {
		if e, ok := policyErr(err).(*Error); ok {
			e.Message = "set a stronger password before removing the second factor: " + e.Message
			return nil, e
		}
		return nil, err
	}
	f, err := s.totps.ActiveTOTP(ctx, u.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, newErr(CodeNotFound, "no authenticator app is set up")
	}
	if err != nil {
		return nil, err
	}
	if err := s.totps.DeleteTOTP(ctx, u.ID, f.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if err := s.recovery.ReplaceRecoveryCodes(ctx, u.ID, nil, s.clock.Now()); err != nil {
		return nil, err
	}
	if rot, err = s.rotateAndRevoke(ctx, sess, u, r.Client, "mfa_removed"); err != nil {
		return nil, err
	}
	s.emit(secevent.MFARemoved, u, r.Client, rot.Session.ID, map[string]string{"factor": "totp"})
	s.notifyMFA(ctx, u.Email, mail.MFAChangeData{Change: mail.MFARemoved, Factor: "authenticator app", SignedOut: rot.SessionsRevoked}, r.Client)
	return rot, nil
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
// stop working at once, every other session ends and the acting one is
// rotated; the user and the SOC are told.
func (s *Account) RegenerateRecoveryCodes(ctx context.Context, r RegenerateRecoveryCodesRequest) (rc *RecoveryCodes, err error) {
	defer func() { s.metrics.result("recovery_codes_regenerate", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return nil, err
	}
	if err := requireVerified(u); err != nil {
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
	rot, err := s.rotateAndRevoke(ctx, sess, u, r.Client, "mfa_recovery_renewed")
	if err != nil {
		return nil, err
	}
	s.emit(secevent.MFARecoveryRenewed, u, r.Client, rot.Session.ID, map[string]string{"factor": "recovery_codes", "change": string(mail.MFARecoveryRenewed)})
	s.notifyMFA(ctx, u.Email, mail.MFAChangeData{Change: mail.MFARecoveryRenewed, Factor: "recovery codes", SignedOut: rot.SessionsRevoked}, r.Client)
	return &RecoveryCodes{Codes: codes, SessionRotation: *rot}, nil
}

// newRecoveryCodes generates a fresh set of recovery codes and the hashes
// the store keeps of them.
func (s *core) newRecoveryCodes() (codes []string, hashes [][]byte, err error) {
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
