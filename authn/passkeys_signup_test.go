package authn_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/passkey/passkeytest"
)

// signupWithPasskey registers email without a password and gives it a
// passkey of a, verified in the registering client (binding kept).
func signupWithPasskey(t *testing.T, f *fixture, email string, a *passkeytest.Authenticator) {
	t.Helper()
	ctx := context.Background()
	pk := f.svc.Services.Passkeys
	pr, err := pk.RegisterWithPasskey(ctx, authn.RegisterRequest{Email: email, Client: home})
	require.NoError(t, err)
	require.True(t, pr.VerificationSent)
	resp, err := a.Create(pr.Ceremony.Options)
	require.NoError(t, err)
	require.NoError(t, pk.FinishPasskeySignup(ctx, authn.FinishPasskeyRequest{Handle: pr.Ceremony.Handle, Response: resp, Client: home}))
	_, err = signInWith(t, f, a, home)
	assert.Equal(t, authn.CodeEmailUnverified, authn.CodeOf(err), "no sign-in before the address is proven")
	vr, err := f.svc.VerifyEmail(ctx, authn.VerifyEmailRequest{Token: f.lastToken(t, email, mail.KindVerifyEmail),
		Binding: pr.Binding, Client: home})
	require.NoError(t, err)
	require.Empty(t, vr.PasswordToken)
}

// TestPasskeyOnlyAccount: an account registered with a passkey and no
// password signs in with it at AAL2, refuses any password like a wrong
// one, sets its first password by reset or by a fresh AAL2 session, and
// keeps its last passkey while it has no password.
func TestPasskeyOnlyAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := passkeyFixture(t)
	pk := f.svc.Services.Passkeys
	a := passkeytest.New(pkOrigin)
	signupWithPasskey(t, f, "ona@example.com", a)
	uid := f.userID(t, "ona@example.com")
	u, err := f.store.UserByID(ctx, uid)
	require.NoError(t, err)
	assert.Empty(t, u.PasswordHash)

	res, err := signInWith(t, f, a, home)
	require.NoError(t, err)
	require.Equal(t, authn.LoginAuthenticated, res.Status)
	assert.Equal(t, authn.AAL2, res.Session.AAL)

	t.Run("password sign-in is the generic refusal at the same cost", func(t *testing.T) {
		for _, email := range []string{"ona@example.com", "nobody-here@example.com"} {
			before := f.hashes(t)
			_, err := f.svc.Login(ctx, authn.LoginRequest{Identifier: email, Password: goodPassword, Client: home})
			assert.Equal(t, authn.CodeLoginFailed, authn.CodeOf(err), email)
			assert.Equal(t, before+1, f.hashes(t), "one argon2id for %s", email)
		}
	})
	t.Run("the last passkey stays", func(t *testing.T) {
		l, err := pk.ListPasskeys(ctx, res.Session.Token)
		require.NoError(t, err)
		require.Len(t, l.Passkeys, 1)
		_, err = pk.RemovePasskey(ctx, authn.RemovePasskeyRequest{SessionToken: res.Session.Token, ID: l.Passkeys[0].ID, Client: home})
		require.Error(t, err)
		assert.Equal(t, authn.CodeInvalidRequest, authn.CodeOf(err), "the account would have no way to sign in")
	})
	t.Run("a stale session re-authenticates with the passkey", func(t *testing.T) {
		f.clock.Advance(15 * time.Minute) // past the default 10-minute window, within the AAL2 idle half hour
		err := f.svc.ChangePassword(ctx, authn.ChangePasswordRequest{SessionToken: res.Session.Token, NewPassword: "a first passphrase 42", Client: home})
		require.Equal(t, authn.CodeReauthenticationRequired, authn.CodeOf(err))
		cer, err := pk.BeginPasskeyReauth(ctx, res.Session.Token)
		require.NoError(t, err)
		resp, err := a.Get(cer.Options)
		require.NoError(t, err)
		fresh, err := pk.FinishPasskeyReauth(ctx, authn.FinishPasskeyRequest{SessionToken: res.Session.Token, Handle: cer.Handle, Response: resp, Client: home})
		require.NoError(t, err)
		// Setting the first password: no current one to give.
		require.NoError(t, f.svc.ChangePassword(ctx, authn.ChangePasswordRequest{SessionToken: fresh.Token, NewPassword: "a first passphrase 42", Client: home}))
		got, err := f.svc.Login(ctx, authn.LoginRequest{Identifier: "ona@example.com", Password: "a first passphrase 42", Client: home})
		require.NoError(t, err)
		assert.Equal(t, authn.LoginSecondFactor, got.Status, "a passkey account's password is never alone")
	})
}

// TestPasskeyOnlyReset: the reset link adds a password to a passkey-only
// account.
func TestPasskeyOnlyReset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := passkeyFixture(t)
	a := passkeytest.New(pkOrigin)
	signupWithPasskey(t, f, "rhea@example.com", a)
	require.NoError(t, f.svc.RequestPasswordReset(ctx, authn.PasswordResetRequest{Email: "rhea@example.com", Client: home}))
	require.NoError(t, f.svc.ResetPassword(ctx, authn.ResetPasswordRequest{Token: f.lastToken(t, "rhea@example.com", mail.KindPasswordReset),
		NewPassword: "a reset passphrase 77", Client: home}))
	u, err := f.store.UserByID(ctx, f.userID(t, "rhea@example.com"))
	require.NoError(t, err)
	assert.NotEmpty(t, u.PasswordHash)
	res, err := signInWith(t, f, a, home)
	require.NoError(t, err)
	assert.Equal(t, authn.LoginAuthenticated, res.Status, "the passkey stays")
}

// TestPasskeySignupNoEnumeration: a taken address answers a passkey
// registration alike (a ceremony, a binding, a verified answer), its
// owner is told, and the passkey created for it is dropped; the
// verification link opened elsewhere drops a squatter's passkey.
func TestPasskeySignupNoEnumeration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := passkeyFixture(t)
	pk := f.svc.Services.Passkeys
	f.register(t, "taken@example.com")
	before := len(f.mails(t, "taken@example.com", mail.KindAccountExists))
	squat := passkeytest.New(pkOrigin)
	pr, err := pk.RegisterWithPasskey(ctx, authn.RegisterRequest{Email: "taken@example.com", Client: home})
	require.NoError(t, err)
	require.NotEmpty(t, pr.Binding)
	resp, err := squat.Create(pr.Ceremony.Options)
	require.NoError(t, err)
	require.NoError(t, pk.FinishPasskeySignup(ctx, authn.FinishPasskeyRequest{Handle: pr.Ceremony.Handle, Response: resp, Client: home}))
	assert.Len(t, f.mails(t, "taken@example.com", mail.KindAccountExists), before+1)
	_, err = signInWith(t, f, squat, home)
	assert.Equal(t, authn.CodeLoginFailed, authn.CodeOf(err), "the passkey of a taken address was dropped")
	err = pk.FinishPasskeySignup(ctx, authn.FinishPasskeyRequest{Handle: pr.Ceremony.Handle, Response: resp, Client: home})
	assert.Equal(t, authn.CodeNotFound, authn.CodeOf(err), "single use")

	// A squatter's passkey on a new address goes when the owner proves
	// the inbox from elsewhere.
	pr, err = pk.RegisterWithPasskey(ctx, authn.RegisterRequest{Email: "victim@example.com", Client: home})
	require.NoError(t, err)
	resp, err = squat.Create(pr.Ceremony.Options)
	require.NoError(t, err)
	require.NoError(t, pk.FinishPasskeySignup(ctx, authn.FinishPasskeyRequest{Handle: pr.Ceremony.Handle, Response: resp, Client: home}))
	vr, err := f.svc.VerifyEmail(ctx, authn.VerifyEmailRequest{Token: f.lastToken(t, "victim@example.com", mail.KindVerifyEmail), Client: home})
	require.NoError(t, err)
	assert.NotEmpty(t, vr.PasswordToken)
	ps, err := f.store.Passkeys(ctx, f.userID(t, "victim@example.com"))
	require.NoError(t, err)
	assert.Empty(t, ps, "the registrant's passkey did not survive the owner's claim")
}
