package authn

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/riskauth/riskauth/authn/passkey"
	"github.com/riskauth/riskauth/authn/secevent"
)

// PasskeySignup is the kind of the ceremony that gives a passkey-only
// account (RegisterWithPasskey) its passkey.
const PasskeySignup = "signup"

// PasskeyRegistration is what RegisterWithPasskey answers, alike for a
// new and a taken address: the registration's binding, as Register's,
// and the ceremony that creates the account's passkey.
type PasskeyRegistration struct {
	RegisterResult
	Ceremony *PasskeyCeremony
}

// RegisterWithPasskey creates an account without a password, to live on
// a passkey (Kratos' passkey registration method): the account is
// created, its consents recorded, the verification link (or, for a taken
// address, the account_exists notice) mailed exactly as Register does,
// and a passkey registration ceremony is begun, bound server-side to the
// new account, single use and as short-lived as every ceremony
// (FinishPasskeySignup). A taken address gets a ceremony too, for a user
// handle bound to nobody, so the answer, its shape and its cost say
// nothing. r.Password is ignored. Until the passkey is registered the
// account has no credential: the verification link opened elsewhere
// hands out a password token, as it does for any account.
func (s *Passkeys) RegisterWithPasskey(ctx context.Context, r RegisterRequest) (pr *PasskeyRegistration, err error) {
	defer func() { s.metrics.result("register_passkey", err) }()
	res, u, err := (&Registration{core: s.core}).register(ctx, r, true)
	if err != nil {
		return nil, err
	}
	owner, holder := "", newID()
	if u != nil {
		owner, holder = u.ID, u.ID
	}
	email, _ := NormalizeEmail(r.Email) // valid: register checked it
	pu := passkey.User{Handle: s.userHandle(holder), Name: email}
	opts, st, err := s.cer.BeginRegistration(pu, s.clock.Now())
	if err != nil {
		return nil, err
	}
	// FlowID keeps the id the handle was made of, so that the answer of a
	// taken address is verified like any other.
	c, err := s.begin(ctx, PasskeySignup, owner, holder, opts, st)
	if err != nil {
		return nil, err
	}
	return &PasskeyRegistration{RegisterResult: *res, Ceremony: c}, nil
}

// FinishPasskeySignup verifies the passkey created for the ceremony of
// r.Handle (from RegisterWithPasskey; single use) and stores it on the
// new account, audited as an enrolment (mfa_enrolled, factor passkey).
// For a taken address the answer is verified the same way and then
// dropped, and the answer is the same: nil. A response that does not
// verify is invalid_request, an unknown, spent or expired handle
// not_found, for either. No session is issued: the account signs in with
// its passkey once its address is verified.
func (s *Passkeys) FinishPasskeySignup(ctx context.Context, r FinishPasskeyRequest) (err error) {
	defer func() { s.metrics.result("register_passkey_finish", err) }()
	name, err := passkeyName(r.Name, s.clock.Now())
	if err != nil {
		return err
	}
	ch, ok, err := s.take(ctx, r.Handle, PasskeySignup)
	if err != nil {
		return err
	}
	if !ok || ch.FlowID == "" {
		return newErr(CodeNotFound, "no such passkey registration; start again")
	}
	var u *User
	pu := passkey.User{Handle: s.userHandle(ch.FlowID)}
	if ch.UserID != "" {
		got, err := s.users.UserByID(ctx, ch.UserID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err == nil {
			u, pu.Name = &got, got.Email
		}
	}
	now := s.clock.Now()
	cred, err := s.cer.FinishRegistration(pu, passkey.State{Data: ch.Data, ExpiresAt: ch.ExpiresAt}, r.Response, now)
	if err != nil {
		if errors.Is(err, passkey.ErrInvalid) || errors.Is(err, passkey.ErrExpired) {
			s.log.Info("passkey signup refused", "user_id", ch.UserID, "err", err)
			return &Error{Code: CodeInvalidRequest, Message: "the passkey could not be verified; try again", Err: err}
		}
		return err
	}
	if u == nil {
		return nil // a taken address (or an account erased meanwhile): dropped
	}
	p := Passkey{ID: cred.ID, UserID: u.ID, Name: name, PublicKey: cred.PublicKey, AAGUID: cred.AAGUID, SignCount: cred.SignCount,
		Transports: cred.Transports, BackupEligible: cred.BackupEligible, BackupState: cred.BackupState,
		AttestationFormat: cred.AttestationFormat, CreatedAt: now}
	if err := s.store.AddPasskey(ctx, p); err != nil {
		if errors.Is(err, ErrConflict) {
			return newErr(CodeInvalidRequest, "this passkey is registered already")
		}
		return err
	}
	if err := s.store.SetPasskeyOffered(ctx, u.ID, now); err != nil {
		s.log.Warn("passkey offer not recorded", "user_id", u.ID, "err", err)
	}
	s.emit(secevent.MFAEnrolled, u, r.Client, "", map[string]string{"factor": string(FactorPasskey),
		"credential": base64.RawURLEncoding.EncodeToString(p.ID), "synced": fmt.Sprint(p.BackupState), "source": "registration"})
	return nil
}
