package authn_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/internal/config"
)

// TestConfiguredTimeouts: flow settings in riskauthd's YAML reach the
// service. A one-hour AAL1 idle timeout ends a session after an idle
// hour on the virtual clock, where the default (7 days) would not.
func TestConfiguredTimeouts(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "riskauth.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
authn:
  code_ttl: 5m
  sessions: { aal1_idle: 1h, aal1_absolute: 3h }
  lockout: { account_step_up_after: 3 }
`), 0o644))
	cfg, err := config.Load(path, func(string) string { return "" })
	require.NoError(t, err)
	flows := cfg.Authn.Flows()
	assert.Equal(t, 5*time.Minute, flows.CodeTTL)
	assert.Equal(t, 3, flows.Lockout.AccountStepUpAfter)
	assert.Equal(t, authn.DefaultConfig().Sessions.AAL2Idle, flows.Sessions.AAL2Idle, "unset keys keep authn's defaults")

	f := newFixture(t, fixtureOpts{cfg: func(c *authn.Config) {
		name := c.ServiceName
		*c = flows
		c.ServiceName = name
	}})
	ctx := t.Context()
	f.register(t, "ivan@example.com")
	s := f.login(t, "ivan@example.com", home).Session
	assert.Equal(t, f.clock.Now().Add(time.Hour), s.IdleExpiresAt)
	assert.Equal(t, f.clock.Now().Add(3*time.Hour), s.AbsoluteExpiresAt)

	f.clock.Advance(50 * time.Minute)
	_, err = f.svc.Authenticate(ctx, s.Token)
	require.NoError(t, err, "activity slides the idle deadline")
	f.clock.Advance(61 * time.Minute)
	_, err = f.svc.Authenticate(ctx, s.Token)
	requireCode(t, err, authn.CodeSessionInvalid)
}

// failingRehash is the real store, except that storing an upgraded hash
// fails.
type failingRehash struct{ authn.UserStore }

func (failingRehash) ReplacePasswordHash(context.Context, string, string, string, time.Time) error {
	return errors.New("disk full")
}

// racingRehash is the real store, where the user changes the password
// between the sign-in's check and its hash upgrade.
type racingRehash struct {
	authn.UserStore
	changed string
}

func (r racingRehash) ReplacePasswordHash(ctx context.Context, userID, old, hash string, at time.Time) error {
	if err := r.SetPassword(ctx, userID, r.changed, at); err != nil {
		return err
	}
	return r.UserStore.ReplacePasswordHash(ctx, userID, old, hash, at)
}

// weakUser stores an account whose hash was made with parameters weaker
// than the fixture's and returns it.
func weakUser(t *testing.T, f *fixture, email string) authn.User {
	t.Helper()
	weak, err := password.NewHasher(password.HasherConfig{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, Concurrency: 1})
	require.NoError(t, err)
	phc, err := weak.Hash(t.Context(), goodPassword)
	require.NoError(t, err)
	at := f.clock.Now().Add(-24 * time.Hour)
	u := authn.User{ID: "user-" + email, Email: email, PasswordHash: phc, EmailVerifiedAt: at, PasswordChangedAt: at, CreatedAt: at, UpdatedAt: at}
	require.NoError(t, f.store.CreateUser(t.Context(), u))
	return u
}

// TestRehashOnSignIn: a correct password whose stored hash has weaker
// argon2id parameters is re-hashed with the current ones; a failure to
// store it does not block the sign-in.
func TestRehashOnSignIn(t *testing.T) {
	t.Parallel()
	strong := password.Params{Memory: 128, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	current, err := password.NewHasher(password.HasherConfig{Params: strong, Concurrency: 1})
	require.NoError(t, err)

	t.Run("upgraded", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, fixtureOpts{params: strong})
		ctx := t.Context()
		old := weakUser(t, f, "judy@example.com")
		require.True(t, current.NeedsRehash(old.PasswordHash))

		_, err := f.svc.Login(ctx, authn.LoginRequest{Identifier: "judy@example.com", Password: "not the password!", Client: home})
		requireCode(t, err, authn.CodeLoginFailed)
		u, err := f.store.UserByID(ctx, old.ID)
		require.NoError(t, err)
		assert.Equal(t, old.PasswordHash, u.PasswordHash, "a wrong password changes nothing")

		res := f.login(t, "judy@example.com", home)
		assert.Equal(t, authn.LoginAuthenticated, res.Status)
		u, err = f.store.UserByID(ctx, old.ID)
		require.NoError(t, err)
		assert.NotEqual(t, old.PasswordHash, u.PasswordHash)
		assert.False(t, current.NeedsRehash(u.PasswordHash), "stored with the current parameters")
		assert.True(t, u.PasswordChangedAt.Equal(old.PasswordChangedAt), "the password itself did not change")
		assert.Empty(t, f.mails(t, "judy@example.com", mail.KindPasswordChanged), "no password-changed notice")

		upgraded := u.PasswordHash
		res = f.login(t, "judy@example.com", home)
		assert.Equal(t, authn.LoginAuthenticated, res.Status, "the new hash verifies")
		u, err = f.store.UserByID(ctx, old.ID)
		require.NoError(t, err)
		assert.Equal(t, upgraded, u.PasswordHash, "no further rehash")
	})
	t.Run("store failure does not block", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, fixtureOpts{params: strong, users: func(s authn.UserStore) authn.UserStore { return failingRehash{s} }})
		old := weakUser(t, f, "kim@example.com")
		res := f.login(t, "kim@example.com", home)
		assert.Equal(t, authn.LoginAuthenticated, res.Status)
		u, err := f.store.UserByID(t.Context(), old.ID)
		require.NoError(t, err)
		assert.Equal(t, old.PasswordHash, u.PasswordHash)
	})
	t.Run("a password changed meanwhile is kept", func(t *testing.T) {
		t.Parallel()
		const changed = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$Y2hhbmdlZGNoYW5nZWRjaGFuZ2VkY2hhbmdlZGNoYW4"
		f := newFixture(t, fixtureOpts{params: strong, users: func(s authn.UserStore) authn.UserStore { return racingRehash{s, changed} }})
		old := weakUser(t, f, "lee@example.com")
		res := f.login(t, "lee@example.com", home)
		assert.Equal(t, authn.LoginAuthenticated, res.Status)
		u, err := f.store.UserByID(t.Context(), old.ID)
		require.NoError(t, err)
		assert.Equal(t, changed, u.PasswordHash, "the upgrade must not overwrite the new password")
	})
}

// TestRegenerateRecoveryCodes: a fresh AAL2 session replaces every code;
// the old ones stop working, the new ones work once.
func TestRegenerateRecoveryCodes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	const email = "leo@example.com"
	f.register(t, email)

	plain := f.login(t, email, home).Session
	_, err := f.svc.RegenerateRecoveryCodes(ctx, authn.RegenerateRecoveryCodesRequest{SessionToken: plain.Token, Client: home})
	requireCode(t, err, authn.CodeNotFound) // no app, no recovery codes

	secret, oldCodes := f.enrolTOTP(t, plain)
	uid := plain.UserID
	_, err = f.svc.RegenerateRecoveryCodes(ctx, authn.RegenerateRecoveryCodesRequest{SessionToken: plain.Token, Client: home})
	requireCode(t, err, authn.CodeReauthenticationRequired) // AAL1 while the account has an app

	f.clock.Advance(30 * time.Second) // the enrolment burnt the current step
	up, err := f.svc.Reauthenticate(ctx, authn.ReauthRequest{SessionToken: plain.Token, Password: goodPassword,
		TOTPCode: totpCode(t, secret, f.clock.Now()), Client: home})
	require.NoError(t, err)
	require.Equal(t, authn.AAL2, up.AAL)
	mailsBefore := len(f.mails(t, email, mail.KindMFAChanged))
	eventsBefore := f.events.count(secevent.MFARecoveryRenewed, uid)
	enrolledBefore := f.events.count(secevent.MFAEnrolled, uid)

	rc, err := f.svc.RegenerateRecoveryCodes(ctx, authn.RegenerateRecoveryCodesRequest{SessionToken: up.Token, Client: home})
	require.NoError(t, err)
	require.Len(t, rc.Codes, 10)
	assert.NotContains(t, rc.Codes, oldCodes[0])
	assert.Len(t, f.mails(t, email, mail.KindMFAChanged), mailsBefore+1)
	assert.Equal(t, eventsBefore+1, f.events.count(secevent.MFARecoveryRenewed, uid))
	assert.Equal(t, enrolledBefore, f.events.count(secevent.MFAEnrolled, uid), "a renewal is not a new enrolment")

	second := func(code string) error {
		f.clock.Advance(time.Second)
		res := f.login(t, email, home)
		require.Equal(t, authn.LoginSecondFactor, res.Status)
		_, err := f.svc.SubmitRecoveryCode(ctx, authn.CodeRequest{FlowID: res.FlowID, Code: code, Client: home})
		return err
	}
	requireCode(t, second(oldCodes[1]), authn.CodeInvalidCode)
	require.NoError(t, second(rc.Codes[0]))
	requireCode(t, second(rc.Codes[0]), authn.CodeInvalidCode)

	f.clock.Advance(11 * time.Minute)
	// The renewal rotated the session; the new token is as old as the
	// proof behind it.
	_, err = f.svc.RegenerateRecoveryCodes(ctx, authn.RegenerateRecoveryCodesRequest{SessionToken: rc.Session.Token, Client: home})
	requireCode(t, err, authn.CodeReauthenticationRequired) // no longer fresh
}

// TestNewDeviceNotification: a user who signed in before and signs in
// from a device the engine does not know gets new_device_signin mail and
// the SOC a new_device event; the first sign-in and a known device do not.
func TestNewDeviceNotification(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	const email = "mia@example.com"
	f.register(t, email)
	res := f.login(t, email, home)
	uid := res.Session.UserID
	f.clock.Advance(time.Hour)
	f.login(t, email, home)
	assert.Empty(t, f.mails(t, email, mail.KindNewDeviceSignIn), "first sign-in and a known device: no notice")
	assert.Zero(t, f.events.count(secevent.NewDevice, uid))

	f.clock.Advance(time.Hour)
	// Same network, another browser: new to the engine.
	phone := client("198.51.100.10", "new-phone-cookie-0002")
	res, err := f.svc.Login(ctx, authn.LoginRequest{Identifier: email, Password: goodPassword, Client: phone})
	require.NoError(t, err)
	if res.Status == authn.LoginSecondFactor {
		// The rules may step a new device up; the notice follows the
		// completed sign-in either way.
		assert.Empty(t, f.mails(t, email, mail.KindNewDeviceSignIn), "not before the sign-in completes")
		_, err = f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: res.FlowID, Client: phone})
		require.NoError(t, err)
		res, err = f.svc.SubmitEmailCode(ctx, authn.CodeRequest{FlowID: res.FlowID, Code: f.lastCode(t, email), Client: phone})
		require.NoError(t, err)
	}
	require.Equal(t, authn.LoginAuthenticated, res.Status)
	assert.Len(t, f.mails(t, email, mail.KindNewDeviceSignIn), 1)
	assert.Equal(t, 1, f.events.count(secevent.NewDevice, uid))

	f.clock.Advance(time.Hour)
	f.login(t, email, phone)
	assert.Len(t, f.mails(t, email, mail.KindNewDeviceSignIn), 1, "the device is known now")
	assert.Equal(t, 1, f.events.count(secevent.NewDevice, uid))
}
