package authn

import (
	"bytes"
	"context"
	"errors"

	"github.com/riskauth/riskauth/authn/passkey"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// PasskeyReauth is the kind of a re-authentication ceremony: a signed-in
// user proves it is them with one of their passkeys, instead of the
// password (and app code) of Account.Reauthenticate.
const PasskeyReauth = "reauth"

// BeginPasskeyReauth returns the options for navigator.credentials.get
// that re-authenticate the session's user: only that account's passkeys
// are allowed. CodeInvalidStep when the account has none.
func (s *Passkeys) BeginPasskeyReauth(ctx context.Context, sessionToken string) (c *PasskeyCeremony, err error) {
	defer func() { s.metrics.result("passkey_reauth_begin", err) }()
	_, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	return s.beginFor(ctx, PasskeyReauth, u, "", "the account has no passkey")
}

// FinishPasskeyReauth verifies the assertion for the ceremony of
// r.Handle (single use) against the session's account and, like
// Reauthenticate, replaces the session with a fresh one at AAL2 (a
// passkey with user verification is a multi-factor authenticator) and
// revokes the old. The engine evaluates it as a passkey sign-in; a block,
// a foreign or forged assertion, or a regressed counter is the generic
// refusal (login_failed).
func (s *Passkeys) FinishPasskeyReauth(ctx context.Context, r FinishPasskeyRequest) (is *IssuedSession, err error) {
	defer func() { s.metrics.result("passkey_reauth", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return nil, err
	}
	ch, ok, err := s.take(ctx, r.Handle, PasskeyReauth)
	if err != nil {
		return nil, err
	}
	if !ok || ch.UserID != u.ID {
		return nil, errFlowExpired()
	}
	ps, err := s.store.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	pu := s.ceremonyUser(u, ps)
	as, err := s.cer.FinishLogin(passkey.State{Data: ch.Data, ExpiresAt: ch.ExpiresAt}, r.Response, s.clock.Now(),
		func(id, handle []byte) (passkey.User, error) {
			if len(handle) > 0 && !bytes.Equal(handle, pu.Handle) {
				return passkey.User{}, passkey.ErrUnknownCredential
			}
			return pu, nil
		})
	if err != nil {
		return nil, s.refused(ctx, u, r.Client, err)
	}
	if s.used(ctx, u, as, r.Client) {
		return nil, s.refused(ctx, u, r.Client, nil)
	}
	ev := s.event(engine.KindLogin, u, "", r.Client)
	ev.Factor = engine.FactorPasskey
	ev.Passkey = &engine.PasskeyEvidence{UserVerified: as.UserVerified, BackupEligible: as.Credential.BackupEligible,
		Synced: as.Credential.BackupState}
	d, err := s.evaluateLogin(ctx, ev)
	if err != nil {
		return nil, err
	}
	if d.Action == risk.Block {
		return nil, s.refused(ctx, u, r.Client, nil)
	}
	dev := sessionDevice(sess, d.Keys.Device)
	s.recordAttempt(ctx, u, attempt{factor: FactorPasskey, success: true, client: r.Client, device: dev})
	s.outcome(ctx, d.EvaluationID, engine.OutcomeStepUpPassed)
	is, err = s.issueSession(ctx, u, AAL2, r.Client, d.Keys.Device)
	if err != nil {
		return nil, err
	}
	s.auditSignedIn(flowReauthenticate, u, r.Client, FactorPasskey, is, d.EvaluationID, d.Keys.Device)
	if err := s.sessions.RevokeSession(ctx, u.ID, sess.ID, s.clock.Now()); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return is, nil
}
