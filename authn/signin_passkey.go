package authn

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"

	"github.com/riskauth/riskauth/authn/passkey"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// Reasons of refused passkey assertions (details "reason").
const (
	// reasonPasskeyInvalid: the assertion did not verify (signature,
	// origin, RP id, challenge, user verification) or named no passkey.
	reasonPasskeyInvalid = "passkey_invalid"
	// reasonPasskeyCloned: the assertion's counter went backwards.
	reasonPasskeyCloned = "passkey_cloned"
)

// BeginPasskeySignInRequest starts a passkey sign-in. Without FlowID it
// is passwordless: any passkey of this relying party, the account named
// by the assertion (Conditional: offered in the username field's
// autofill). With FlowID it is the second factor of that flow, which
// must offer MethodPasskey: only the flow's account's passkeys are
// allowed.
type BeginPasskeySignInRequest struct {
	FlowID      string
	Conditional bool
	Client      Client
}

// BeginPasskeySignIn returns the options for navigator.credentials.get.
// A passwordless ceremony tells nothing about any account; a step-up one
// is only reachable after the flow's first factor passed.
func (s *Passkeys) BeginPasskeySignIn(ctx context.Context, r BeginPasskeySignInRequest) (c *PasskeyCeremony, err error) {
	defer func() { s.metrics.result("passkey_begin", err) }()
	now := s.clock.Now()
	m := passkey.MediationModal
	if r.Conditional {
		m = passkey.MediationConditional
	}
	if r.FlowID == "" {
		opts, st, err := s.cer.BeginLogin(nil, m, now)
		if err != nil {
			return nil, err
		}
		return s.begin(ctx, PasskeySignIn, "", "", opts, st)
	}
	fl, err := s.signin.flowByHandle(ctx, r.FlowID)
	if err != nil {
		return nil, err
	}
	u, err := s.signin.secondFactorUser(ctx, fl, MethodPasskey)
	if err != nil {
		return nil, err
	}
	return s.beginFor(ctx, PasskeyStepUp, u, fl.ID, "this method is not offered now")
}

// FinishPasskeySignIn verifies the browser's assertion for the ceremony
// of r.Handle (single use: a replayed answer finds it spent). A
// passwordless sign-in is then judged by the risk engine like any other
// (authn.factor "passkey", passkey.*): a block refuses it, and anything
// else signs in at AAL2, since a passkey with user verification is a
// multi-factor authenticator that satisfies a step-up by itself. As a
// second factor it completes its flow at AAL2. A counter that went
// backwards is recorded on the passkey and alerted (passkey_cloned).
func (s *Passkeys) FinishPasskeySignIn(ctx context.Context, r FinishPasskeyRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("passkey", err) }()
	ch, ok, err := s.take(ctx, r.Handle, PasskeySignIn)
	if err != nil {
		return nil, err
	}
	if !ok && ch.Kind == PasskeyStepUp {
		return s.finishStepUp(ctx, ch, r)
	}
	if !ok {
		return nil, errFlowExpired()
	}
	var found *User
	as, err := s.cer.FinishLogin(passkey.State{Data: ch.Data, ExpiresAt: ch.ExpiresAt}, r.Response, s.clock.Now(),
		func(id, handle []byte) (passkey.User, error) {
			u, p, err := s.credentialOwner(ctx, id, handle)
			if err != nil {
				return passkey.User{}, err
			}
			found = u
			return s.ceremonyUser(u, []Passkey{p}), nil
		})
	if err != nil {
		return nil, s.refused(ctx, found, r.Client, err)
	}
	u := found
	if u.Disabled {
		return nil, s.refused(ctx, u, r.Client, nil)
	}
	if u.EmailVerifiedAt.IsZero() {
		// A passkey-only registration (RegisterWithPasskey) before its
		// address is proven: whoever registered may not own the inbox,
		// so, as with a password, the passkey alone does not sign in.
		// Only the passkey's holder learns it, after a valid assertion.
		return nil, errUnverified()
	}
	regressed := s.used(ctx, u, as, r.Client)
	ev := s.event(engine.KindLogin, u, "", r.Client)
	ev.Factor = engine.FactorPasskey
	ev.Passkey = &engine.PasskeyEvidence{UserVerified: as.UserVerified, BackupEligible: as.Credential.BackupEligible,
		Synced: as.Credential.BackupState, SignCountRegressed: regressed}
	d, err := s.evaluateLogin(ctx, ev)
	if err != nil {
		return nil, err
	}
	st := step{user: u, identifier: u.Email, client: r.Client, factor: FactorPasskey, device: d.Keys.Device,
		evaluationID: d.EvaluationID, newDevice: newDevice(d), aal: AAL2, outcome: engine.OutcomeSuccess}
	if d.Action == risk.StepUp {
		// The step-up the engine asks for is the passkey's own user
		// verification: report it as passed, so the device is trusted.
		st.outcome = engine.OutcomeStepUpPassed
	}
	return s.signin.complete(ctx, st)
}

// credentialOwner finds the account of a discoverable assertion: the
// passkey by its credential id, whose account's user handle must be the
// one asserted (compared in constant time).
func (s *Passkeys) credentialOwner(ctx context.Context, id, handle []byte) (*User, Passkey, error) {
	p, err := s.store.PasskeyByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, Passkey{}, passkey.ErrUnknownCredential
	}
	if err != nil {
		return nil, Passkey{}, err
	}
	if subtle.ConstantTimeCompare(s.userHandle(p.UserID), handle) != 1 {
		return nil, Passkey{}, passkey.ErrUnknownCredential
	}
	u, err := s.users.UserByID(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, Passkey{}, passkey.ErrUnknownCredential
	}
	if err != nil {
		return nil, Passkey{}, err
	}
	return &u, p, nil
}

// refused answers an assertion that did not sign in (cause: why; nil
// for a disabled account) with the generic refusal, after the audit
// trail, the attempt and a failed evaluation, so the engine's velocity
// counters see forged and replayed assertions too.
func (s *Passkeys) refused(ctx context.Context, u *User, c Client, cause error) error {
	if cause != nil && !errors.Is(cause, passkey.ErrInvalid) && !errors.Is(cause, passkey.ErrUnknownCredential) &&
		!errors.Is(cause, passkey.ErrExpired) {
		return cause // the store failed: not the client's doing
	}
	if cause != nil {
		s.log.Info("passkey assertion refused", "err", cause)
	}
	ev := s.event(engine.KindLogin, u, "", c)
	ev.Factor = engine.FactorPasskey
	if d, err := s.evaluate(ctx, ev); err == nil {
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
	}
	s.recordAttempt(ctx, u, attempt{factor: FactorPasskey, success: false, client: c})
	d := auditDetails(flowSignIn, u, FactorPasskey, reasonPasskeyInvalid)
	s.audit(secevent.LoginFailed, u, "", c, "", d)
	return errLoginFailed()
}

// used records a verified assertion on its passkey (counter, backup
// state, last use) and, when the counter went backwards, alerts the SOC.
// It reports the regression.
func (s *Passkeys) used(ctx context.Context, u *User, as passkey.Assertion, c Client) bool {
	err := s.store.UsePasskey(ctx, as.Credential.ID, PasskeyUse{SignCount: as.Credential.SignCount, BackupState: as.Credential.BackupState,
		Regressed: as.SignCountRegressed, At: s.clock.Now()})
	if err != nil {
		s.log.Warn("passkey use not recorded", "user_id", u.ID, "err", err)
	}
	if as.SignCountRegressed {
		s.emit(secevent.PasskeyCloned, u, c, "", map[string]string{"factor": string(FactorPasskey),
			"credential": base64.RawURLEncoding.EncodeToString(as.Credential.ID), "sign_count": strconv.FormatUint(uint64(as.Credential.SignCount), 10)})
	}
	return as.SignCountRegressed
}

// finishStepUp is a passkey as the second factor of the flow the
// ceremony began for: only that account's passkeys verify, and a
// regressed counter fails the step like a wrong code (and is alerted).
func (s *Passkeys) finishStepUp(ctx context.Context, ch PasskeyChallenge, r FinishPasskeyRequest) (*LoginResult, error) {
	fl, err := s.signin.flows.FlowByID(ctx, ch.FlowID, s.clock.Now())
	if err != nil {
		return nil, flowErr(err)
	}
	if baseState(fl.State) != stateSecond || !slices.Contains(fl.Methods, string(MethodPasskey)) || fl.UserID != ch.UserID {
		return nil, errFlowExpired()
	}
	u, err := s.signin.secondFactorUser(ctx, fl, MethodPasskey)
	if err != nil {
		return nil, err
	}
	ps, err := s.store.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	st := flowStep(fl, "", u, FactorPasskey, r.Client)
	pu := s.ceremonyUser(u, ps)
	_, span := startStep(ctx, spanSecondFactor)
	as, err := s.cer.FinishLogin(passkey.State{Data: ch.Data, ExpiresAt: ch.ExpiresAt}, r.Response, s.clock.Now(),
		func(id, handle []byte) (passkey.User, error) {
			if len(handle) > 0 && !bytes.Equal(handle, pu.Handle) {
				return passkey.User{}, passkey.ErrUnknownCredential
			}
			return pu, nil
		})
	refused := errors.Is(err, passkey.ErrInvalid) || errors.Is(err, passkey.ErrUnknownCredential) || errors.Is(err, passkey.ErrExpired)
	if refused {
		endFactor(span, FactorPasskey, false, nil)
	} else {
		endFactor(span, FactorPasskey, err == nil, err)
	}
	if err != nil {
		if !refused {
			return nil, err
		}
		s.log.Info("passkey step-up refused", "user_id", u.ID, "err", err)
		return nil, s.signin.secondFactorFailed(ctx, st)
	}
	if s.used(ctx, u, as, r.Client) {
		s.auditStep(secevent.SecondFactorFailed, st, reasonPasskeyCloned)
		return nil, s.signin.secondFactorFailed(ctx, st)
	}
	return s.signin.secondFactorPassed(ctx, st)
}
