package authn_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/passkey"
	"github.com/riskauth/riskauth/authn/passkey/passkeytest"
	"github.com/riskauth/riskauth/authn/secevent"
)

const pkOrigin = "https://auth.example.com"

func passkeyFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixture(t, fixtureOpts{cfg: func(c *authn.Config) {
		c.Passkeys = passkey.Config{RPID: "example.com", RPName: "Example", Origins: []string{pkOrigin}}
	}})
}

// withPasskey registers email, signs in with the password and registers
// a passkey of a on that fresh session, which it returns.
func withPasskey(t *testing.T, f *fixture, email string, a *passkeytest.Authenticator) *authn.IssuedSession {
	t.Helper()
	return withPasskeyFrom(t, f, email, a, home)
}

// withPasskeyFrom is withPasskey from client c.
func withPasskeyFrom(t *testing.T, f *fixture, email string, a *passkeytest.Authenticator, c authn.Client) *authn.IssuedSession {
	t.Helper()
	ctx := context.Background()
	f.register(t, email)
	res := f.login(t, email, c)
	require.Equal(t, authn.LoginAuthenticated, res.Status)
	pk := f.svc.Services.Passkeys
	l, err := pk.ListPasskeys(ctx, res.Session.Token)
	require.NoError(t, err)
	require.Empty(t, l.Passkeys)
	require.True(t, l.Offer, "offered once to a verified account without passkeys")
	cer, err := pk.BeginPasskeyRegistration(ctx, res.Session.Token)
	require.NoError(t, err)
	resp, err := a.Create(cer.Options)
	require.NoError(t, err)
	info, err := pk.FinishPasskeyRegistration(ctx, authn.FinishPasskeyRequest{SessionToken: res.Session.Token, Handle: cer.Handle,
		Response: resp, Name: "Laptop", Client: c})
	require.NoError(t, err)
	require.Equal(t, "Laptop", info.Name)
	return res.Session
}

// signInWith runs a passwordless passkey sign-in with a.
func signInWith(t *testing.T, f *fixture, a *passkeytest.Authenticator, c authn.Client) (*authn.LoginResult, error) {
	t.Helper()
	ctx := context.Background()
	pk := f.svc.Services.Passkeys
	cer, err := pk.BeginPasskeySignIn(ctx, authn.BeginPasskeySignInRequest{Conditional: true, Client: c})
	require.NoError(t, err)
	resp, err := a.Get(cer.Options)
	require.NoError(t, err)
	return pk.FinishPasskeySignIn(ctx, authn.FinishPasskeyRequest{Handle: cer.Handle, Response: resp, Client: c})
}

func TestPasskeysOff(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	assert.Nil(t, f.svc.Services.Passkeys, "no relying party configured")
}

func TestPasskeyRegisterAndSignIn(t *testing.T) {
	t.Parallel()
	f := passkeyFixture(t)
	ctx := context.Background()
	a := passkeytest.New(pkOrigin)
	a.Synced = true
	s := withPasskey(t, f, "pia@example.com", a)
	pk := f.svc.Services.Passkeys

	l, err := pk.ListPasskeys(ctx, s.Token)
	require.NoError(t, err)
	require.Len(t, l.Passkeys, 1)
	assert.False(t, l.Offer, "the offer is made once")
	assert.True(t, l.Passkeys[0].Synced)
	assert.Equal(t, 1, f.events.count(secevent.MFAEnrolled, ""))
	require.NotEmpty(t, f.mails(t, "pia@example.com", mail.KindMFAChanged))

	res, err := signInWith(t, f, a, home)
	require.NoError(t, err)
	require.Equal(t, authn.LoginAuthenticated, res.Status)
	assert.Equal(t, authn.AAL2, res.Session.AAL, "a passkey with user verification is multi-factor")
	l, err = pk.ListPasskeys(ctx, res.Session.Token)
	require.NoError(t, err)
	assert.Equal(t, f.clock.Now(), l.Passkeys[0].LastUsedAt)

	// A second instance finishes a ceremony the first began: the state
	// is in the store.
	other := f.instance(t)
	cer, err := pk.BeginPasskeySignIn(ctx, authn.BeginPasskeySignInRequest{Client: home})
	require.NoError(t, err)
	resp, err := a.Get(cer.Options)
	require.NoError(t, err)
	res, err = other.Services.Passkeys.FinishPasskeySignIn(ctx, authn.FinishPasskeyRequest{Handle: cer.Handle, Response: resp, Client: home})
	require.NoError(t, err)
	assert.Equal(t, authn.LoginAuthenticated, res.Status)

	// The same answer again: the ceremony is spent.
	_, err = other.Services.Passkeys.FinishPasskeySignIn(ctx, authn.FinishPasskeyRequest{Handle: cer.Handle, Response: resp, Client: home})
	requireCode(t, err, authn.CodeFlowExpired)
}

func TestPasskeyRefusals(t *testing.T) {
	t.Parallel()
	f := passkeyFixture(t)
	ctx := context.Background()
	a := passkeytest.New(pkOrigin)
	withPasskey(t, f, "rae@example.com", a)
	pk := f.svc.Services.Passkeys

	t.Run("expired", func(t *testing.T) {
		cer, err := pk.BeginPasskeySignIn(ctx, authn.BeginPasskeySignInRequest{Client: home})
		require.NoError(t, err)
		resp, err := a.Get(cer.Options)
		require.NoError(t, err)
		f.clock.Advance(passkey.DefaultChallengeTTL)
		_, err = pk.FinishPasskeySignIn(ctx, authn.FinishPasskeyRequest{Handle: cer.Handle, Response: resp, Client: home})
		requireCode(t, err, authn.CodeFlowExpired)
	})
	t.Run("another origin", func(t *testing.T) {
		phish := a.Clone()
		phish.Origin = "https://auth.example.com.evil.test"
		_, err := signInWith(t, f, phish, home)
		requireCode(t, err, authn.CodeLoginFailed)
	})
	t.Run("answer to another ceremony", func(t *testing.T) {
		old, err := pk.BeginPasskeySignIn(ctx, authn.BeginPasskeySignInRequest{Client: home})
		require.NoError(t, err)
		resp, err := a.Get(old.Options)
		require.NoError(t, err)
		cer, err := pk.BeginPasskeySignIn(ctx, authn.BeginPasskeySignInRequest{Client: home})
		require.NoError(t, err)
		_, err = pk.FinishPasskeySignIn(ctx, authn.FinishPasskeyRequest{Handle: cer.Handle, Response: resp, Client: home})
		requireCode(t, err, authn.CodeLoginFailed)
	})
	t.Run("unknown passkey", func(t *testing.T) {
		stranger := passkeytest.New(pkOrigin)
		// A passkey of this RP the store never registered.
		_, err := stranger.Create([]byte(`{"publicKey":{"challenge":"AAAAAAAAAAAAAAAAAAAAAA","rp":{"id":"example.com"},"user":{"id":"AAAA"}}}`))
		require.NoError(t, err)
		_, err = signInWith(t, f, stranger, home)
		requireCode(t, err, authn.CodeLoginFailed)
	})
	assert.GreaterOrEqual(t, f.events.count(secevent.LoginFailed, ""), 3)
}

// TestPasskeyClone: a counter that goes backwards is alerted, recorded
// and blocked by the default rule passkey-cloned.
func TestPasskeyClone(t *testing.T) {
	t.Parallel()
	f := passkeyFixture(t)
	a := passkeytest.New(pkOrigin)
	withPasskey(t, f, "cy@example.com", a)
	_, err := signInWith(t, f, a, home)
	require.NoError(t, err)
	a.SetCounter(0)
	_, err = signInWith(t, f, a, home)
	requireCode(t, err, authn.CodeLoginFailed)
	assert.Equal(t, 1, f.events.count(secevent.PasskeyCloned, ""))
	assert.True(t, secevent.PasskeyCloned.IsFinding(), "an alert for the SOC")
	// The support view shows it (a password sign-in of an account with
	// a passkey would need the passkey as its second factor).
	v, err := f.svc.Services.Admin.ViewUser(context.Background(), f.userID(t, "cy@example.com"))
	require.NoError(t, err)
	assert.Equal(t, 1, v.Passkeys[0].CloneWarnings)
}

// TestPasskeyStepUp: after a password whose sign-in needs a second
// factor, the passkey is offered first and passes it at AAL2.
func TestPasskeyStepUp(t *testing.T) {
	t.Parallel()
	f := passkeyFixture(t)
	ctx := context.Background()
	a := passkeytest.New(pkOrigin)
	withPasskey(t, f, "sue@example.com", a)
	// A new device from another network: the default rules step up.
	res := f.login(t, "sue@example.com", client("203.0.113.50", "travel-phone-cookie-01"))
	require.Equal(t, authn.LoginSecondFactor, res.Status)
	require.Equal(t, authn.MethodPasskey, res.Methods[0])
	pk := f.svc.Services.Passkeys
	cer, err := pk.BeginPasskeySignIn(ctx, authn.BeginPasskeySignInRequest{FlowID: res.FlowID, Client: home})
	require.NoError(t, err)
	assert.Contains(t, string(cer.Options), "allowCredentials")

	// Another account's passkey does not pass this flow.
	other := passkeytest.New(pkOrigin)
	withPasskeyFrom(t, f, "tom@example.com", other, client("198.51.100.77", "tom-laptop-cookie-0001"))
	resp, err := other.Get([]byte(`{"publicKey":{"challenge":"` + challengeOf(t, cer.Options) + `","rpId":"example.com"}}`))
	require.NoError(t, err)
	_, err = pk.FinishPasskeySignIn(ctx, authn.FinishPasskeyRequest{Handle: cer.Handle, Response: resp, Client: home})
	requireCode(t, err, authn.CodeInvalidCode)

	cer, err = pk.BeginPasskeySignIn(ctx, authn.BeginPasskeySignInRequest{FlowID: res.FlowID, Client: home})
	require.NoError(t, err)
	resp, err = a.Get(cer.Options)
	require.NoError(t, err)
	done, err := pk.FinishPasskeySignIn(ctx, authn.FinishPasskeyRequest{Handle: cer.Handle, Response: resp, Client: home})
	require.NoError(t, err)
	require.Equal(t, authn.LoginAuthenticated, done.Status)
	assert.Equal(t, authn.AAL2, done.Session.AAL)
}

func challengeOf(t *testing.T, opts []byte) string {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	require.NoError(t, json.Unmarshal(opts, &o))
	return o.PublicKey.Challenge
}

func TestPasskeyManage(t *testing.T) {
	t.Parallel()
	f := passkeyFixture(t)
	ctx := context.Background()
	a := passkeytest.New(pkOrigin)
	s := withPasskey(t, f, "max@example.com", a)
	pk := f.svc.Services.Passkeys
	l, err := pk.ListPasskeys(ctx, s.Token)
	require.NoError(t, err)
	id := l.Passkeys[0].ID
	require.Equal(t, base64.RawURLEncoding.EncodeToString(a.Credentials()[0].ID), id)

	require.NoError(t, pk.RenamePasskey(ctx, s.Token, id, "Work laptop", home))
	requireCode(t, pk.RenamePasskey(ctx, s.Token, id, "bad\x00name", home), authn.CodeInvalidRequest)
	requireCode(t, pk.RenamePasskey(ctx, s.Token, "AAAA", "x", home), authn.CodeNotFound)
	assert.Equal(t, 1, f.events.count(secevent.PasskeyRenamed, ""))

	// Sessions of the passkey (a password now needs it as the second
	// factor too).
	signedIn := func() *authn.IssuedSession {
		t.Helper()
		res, err := signInWith(t, f, a, home)
		require.NoError(t, err)
		return res.Session
	}
	otherSession := signedIn()
	// Removal needs a fresh session.
	f.clock.Advance(11 * time.Minute)
	_, err = pk.RemovePasskey(ctx, authn.RemovePasskeyRequest{SessionToken: otherSession.Token, ID: id, Client: home})
	requireCode(t, err, authn.CodeReauthenticationRequired)
	fresh := signedIn()
	rot, err := pk.RemovePasskey(ctx, authn.RemovePasskeyRequest{SessionToken: fresh.Token, ID: id, Client: home})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, rot.SessionsRevoked, 2, "every other session ends")
	_, err = f.svc.Authenticate(ctx, otherSession.Token)
	requireCode(t, err, authn.CodeSessionInvalid)
	assert.Equal(t, 1, f.events.count(secevent.MFARemoved, ""))
	l, err = pk.ListPasskeys(ctx, rot.Session.Token)
	require.NoError(t, err)
	assert.Empty(t, l.Passkeys)
	assert.False(t, l.Offer, "offered once already")

	// The removed passkey signs in no more.
	_, err = signInWith(t, f, a, home)
	requireCode(t, err, authn.CodeLoginFailed)
}
