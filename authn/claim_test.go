package authn_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/token"
)

const (
	victim         = "victim@example.com"
	attackerChosen = "attacker chosen passphrase"
)

var attackerBox = client("203.0.113.50", "attacker-laptop")

// planted gives the unverified account what earlier code let an attacker
// create before verification: a signed-in session, an active
// authenticator app and recovery codes. It returns the session token.
func (f *fixture) planted(t *testing.T, email string) string {
	t.Helper()
	ctx := context.Background()
	u, err := f.store.UserByEmail(ctx, email)
	require.NoError(t, err)
	require.True(t, u.EmailVerifiedAt.IsZero())
	tok, err := token.New()
	require.NoError(t, err)
	now := f.clock.Now()
	require.NoError(t, f.store.CreateSession(ctx, authn.Session{ID: "planted-session", TokenHash: sha256Sum(tok), UserID: u.ID,
		CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(24 * time.Hour), AAL: authn.AAL1}))
	require.NoError(t, f.store.BeginTOTP(ctx, authn.TOTPFactor{ID: "planted-app", UserID: u.ID, SealedSecret: []byte("sealed"), CreatedAt: now}))
	require.NoError(t, f.store.ConfirmTOTP(ctx, u.ID, "planted-app", 1, now))
	require.NoError(t, f.store.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{sha256Sum("code-1"), sha256Sum("code-2")}, now))
	_, err = f.svc.Authenticate(ctx, tok)
	require.NoError(t, err, "the planted session works before the claim")
	return tok
}

// requireNothingLeft: no password, no app, no recovery code and no
// session but the ones in keep (ids) survive on the account.
func (f *fixture) requireNothingLeft(t *testing.T, email, sessionToken string, keep ...string) {
	t.Helper()
	ctx := context.Background()
	u, err := f.store.UserByEmail(ctx, email)
	require.NoError(t, err)
	_, err = f.svc.Authenticate(ctx, sessionToken)
	requireCode(t, err, authn.CodeSessionInvalid)
	_, err = f.store.ActiveTOTP(ctx, u.ID)
	require.ErrorIs(t, err, authn.ErrNotFound, "the app is gone")
	n, err := f.store.CountRecoveryCodes(ctx, u.ID)
	require.NoError(t, err)
	assert.Zero(t, n, "the recovery codes are gone")
	list, err := f.store.ListSessions(ctx, u.ID, f.clock.Now())
	require.NoError(t, err)
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	assert.ElementsMatch(t, keep, ids, "the sessions left")
	_, err = f.svc.Login(ctx, authn.LoginRequest{Identifier: email, Password: attackerChosen, Client: attackerBox})
	requireCode(t, err, authn.CodeLoginFailed)
}

// TestPreRegistrationTakeover: an attacker registers the victim's address
// with a password of his choice and tries to sign in before the address
// is verified. He gets no session; when the owner opens the verification
// link from the mailbox in another client, the address is verified, the
// attacker's password, sessions and factors stop working, and the owner
// sets a password and signs in.
func TestPreRegistrationTakeover(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	reg, err := f.svc.Register(ctx, authn.RegisterRequest{Email: victim, Password: attackerChosen, Client: attackerBox})
	require.NoError(t, err)
	require.NotEmpty(t, reg.Binding, "the attacker's client holds the binding")

	res, err := f.svc.Login(ctx, authn.LoginRequest{Identifier: victim, Password: attackerChosen, Client: attackerBox})
	require.NoError(t, err)
	require.Equal(t, authn.LoginSecondFactor, res.Status, "no session from a password before verification")
	require.Nil(t, res.Session)
	assert.Equal(t, []authn.Method{authn.MethodEmailCode}, res.Methods)
	_, err = f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: res.FlowID, Client: attackerBox})
	require.NoError(t, err)
	_, err = f.svc.SubmitEmailCode(ctx, authn.CodeRequest{FlowID: res.FlowID, Code: "000000", Client: attackerBox})
	requireCode(t, err, authn.CodeInvalidCode) // the code went to the victim

	planted := f.planted(t, victim)
	uid := mustUser(t, f, victim).ID

	// The owner clicks the link from the mailbox, in another browser.
	owner := client("198.51.100.20", "owner-phone")
	vr, err := f.svc.VerifyEmail(ctx, authn.VerifyEmailRequest{Token: f.lastToken(t, victim, mail.KindVerifyEmail), Client: owner})
	require.NoError(t, err)
	require.NotEmpty(t, vr.PasswordToken, "the owner is asked to set a password")
	assert.False(t, mustUser(t, f, victim).EmailVerifiedAt.IsZero())
	f.requireNothingLeft(t, victim, planted)
	assert.Equal(t, 1, f.events.count(secevent.SessionsRevoked, uid))
	assert.Equal(t, 1, f.events.count(secevent.MFARemoved, uid))
	assert.Equal(t, 1, f.events.count(secevent.PasswordChanged, uid))

	// The attacker's binding proves nothing any more: the link is spent.
	_, err = f.svc.VerifyEmail(ctx, authn.VerifyEmailRequest{Token: f.lastToken(t, victim, mail.KindVerifyEmail), Binding: reg.Binding})
	requireCode(t, err, authn.CodeInvalidToken)

	const chosen = "the owner's own passphrase"
	require.NoError(t, f.svc.ResetPassword(ctx, authn.ResetPasswordRequest{Token: vr.PasswordToken, NewPassword: chosen, Client: owner}))
	requireCode(t, f.svc.ResetPassword(ctx, authn.ResetPasswordRequest{Token: vr.PasswordToken, NewPassword: "another one entirely", Client: owner}),
		authn.CodeInvalidToken) // single use
	res, err = f.svc.Login(ctx, authn.LoginRequest{Identifier: victim, Password: chosen, Client: owner})
	require.NoError(t, err)
	if res.Status == authn.LoginSecondFactor {
		_, err = f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: res.FlowID, Client: owner})
		require.NoError(t, err)
		res, err = f.svc.SubmitEmailCode(ctx, authn.CodeRequest{FlowID: res.FlowID, Code: f.lastCode(t, victim), Client: owner})
		require.NoError(t, err)
	}
	assert.Equal(t, authn.LoginAuthenticated, res.Status)
}

// TestUnverifiedAccounts: the other ways an unverified address is proven,
// and what an unverified account may not do.
func TestUnverifiedAccounts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, f *fixture, reg *authn.RegisterResult)
	}{
		{"verified in the registering client: the password stays", func(t *testing.T, f *fixture, reg *authn.RegisterResult) {
			vr, err := f.svc.VerifyEmail(t.Context(), authn.VerifyEmailRequest{Token: f.lastToken(t, victim, mail.KindVerifyEmail),
				Binding: reg.Binding, Client: attackerBox})
			require.NoError(t, err)
			assert.Empty(t, vr.PasswordToken)
			res, err := f.svc.Login(t.Context(), authn.LoginRequest{Identifier: victim, Password: attackerChosen, Client: attackerBox})
			require.NoError(t, err)
			assert.Equal(t, authn.LoginAuthenticated, res.Status)
		}},
		{"a binding of another registration does not count", func(t *testing.T, f *fixture, _ *authn.RegisterResult) {
			other, err := f.svc.Register(t.Context(), authn.RegisterRequest{Email: "someone@example.com", Password: goodPassword, Client: home})
			require.NoError(t, err)
			planted := f.planted(t, victim)
			vr, err := f.svc.VerifyEmail(t.Context(), authn.VerifyEmailRequest{Token: f.lastToken(t, victim, mail.KindVerifyEmail),
				Binding: other.Binding, Client: home})
			require.NoError(t, err)
			assert.NotEmpty(t, vr.PasswordToken)
			f.requireNothingLeft(t, victim, planted)
		}},
		{"the password and the mailed code: verified, the password stays", func(t *testing.T, f *fixture, _ *authn.RegisterResult) {
			res, err := f.svc.Login(t.Context(), authn.LoginRequest{Identifier: victim, Password: attackerChosen, Client: home})
			require.NoError(t, err)
			require.Equal(t, authn.LoginSecondFactor, res.Status)
			_, err = f.svc.RequestEmailCode(t.Context(), authn.FlowRequest{FlowID: res.FlowID, Client: home})
			require.NoError(t, err)
			res, err = f.svc.SubmitEmailCode(t.Context(), authn.CodeRequest{FlowID: res.FlowID, Code: f.lastCode(t, victim), Client: home})
			require.NoError(t, err)
			assert.Equal(t, authn.LoginAuthenticated, res.Status)
			assert.False(t, mustUser(t, f, victim).EmailVerifiedAt.IsZero())
			f.clock.Advance(time.Minute)
			res, err = f.svc.Login(t.Context(), authn.LoginRequest{Identifier: victim, Password: attackerChosen, Client: home})
			require.NoError(t, err)
			assert.Equal(t, authn.LoginAuthenticated, res.Status, "verified: the password alone works now")
		}},
		{"an email code as first factor claims it", func(t *testing.T, f *fixture, _ *authn.RegisterResult) {
			planted := f.planted(t, victim)
			owner := client("198.51.100.20", "owner-phone")
			start, err := f.svc.StartLogin(t.Context(), authn.StartLoginRequest{Identifier: victim, Client: owner})
			require.NoError(t, err)
			_, err = f.svc.RequestEmailCode(t.Context(), authn.FlowRequest{FlowID: start.FlowID, Client: owner})
			require.NoError(t, err)
			res, err := f.svc.SubmitEmailCode(t.Context(), authn.CodeRequest{FlowID: start.FlowID, Code: f.lastCode(t, victim), Client: owner})
			require.NoError(t, err)
			require.Equal(t, authn.LoginAuthenticated, res.Status)
			assert.False(t, mustUser(t, f, victim).EmailVerifiedAt.IsZero())
			ownerSession := res.Session.Token
			f.requireNothingLeft(t, victim, planted, res.Session.ID)
			_, err = f.svc.Authenticate(t.Context(), ownerSession)
			require.NoError(t, err, "the owner's new session is not dropped")
		}},
		{"a password reset claims it", func(t *testing.T, f *fixture, _ *authn.RegisterResult) {
			planted := f.planted(t, victim)
			require.NoError(t, f.svc.RequestPasswordReset(t.Context(), authn.PasswordResetRequest{Email: victim, Client: home}))
			require.NoError(t, f.svc.ResetPassword(t.Context(), authn.ResetPasswordRequest{Token: f.lastToken(t, victim, mail.KindPasswordReset),
				NewPassword: "the owner's own passphrase", Client: home}))
			f.requireNothingLeft(t, victim, planted)
			assert.False(t, mustUser(t, f, victim).EmailVerifiedAt.IsZero())
		}},
		{"no second factor before verification", func(t *testing.T, f *fixture, _ *authn.RegisterResult) {
			planted := f.planted(t, victim)
			_, err := f.svc.BeginTOTP(t.Context(), planted)
			requireCode(t, err, authn.CodeEmailUnverified)
			_, err = f.svc.RegenerateRecoveryCodes(t.Context(), authn.RegenerateRecoveryCodesRequest{SessionToken: planted, Client: attackerBox})
			requireCode(t, err, authn.CodeEmailUnverified)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fixtureOpts{})
			reg, err := f.svc.Register(t.Context(), authn.RegisterRequest{Email: victim, Password: attackerChosen, Client: attackerBox})
			require.NoError(t, err)
			tc.run(t, f, reg)
		})
	}
}

func mustUser(t *testing.T, f *fixture, email string) authn.User {
	t.Helper()
	u, err := f.store.UserByEmail(context.Background(), email)
	require.NoError(t, err)
	return u
}

func sha256Sum(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}
