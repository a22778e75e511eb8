package authn_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegister(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()

	f.calls.Reset()
	newRes, err := f.svc.Register(ctx, authn.RegisterRequest{Email: " Alice@Example.com ", Password: goodPassword, Client: home})
	require.NoError(t, err)
	newCalls := f.calls.Calls()
	before := f.hashes(t)
	f.calls.Reset()
	dupRes, err := f.svc.Register(ctx, authn.RegisterRequest{Email: "alice@example.com", Password: "another long passphrase", Client: home})
	require.NoError(t, err)
	assert.Equal(t, newRes.VerificationSent, dupRes.VerificationSent, "an existing address gets the same answer")
	assert.Len(t, dupRes.Binding, len(newRes.Binding), "a binding alike")
	assert.Equal(t, newRes.BindingExpiresAt, dupRes.BindingExpiresAt)
	assert.Equal(t, uint64(1), f.hashes(t)-before, "and the same hashing cost")
	assert.Equal(t, newCalls, f.calls.Calls(), "and the same store calls")
	assert.Len(t, f.mails(t, "alice@example.com", mail.KindVerifyEmail), 1)
	assert.Len(t, f.mails(t, "alice@example.com", mail.KindAccountExists), 1, "the owner is told")

	t.Run("policy rejections", func(t *testing.T) {
		for _, tc := range []struct {
			name, email, pw string
			code            authn.Code
		}{
			{"too short", "p1@example.com", "short pass", authn.CodePasswordTooShort},
			{"too long", "p2@example.com", string(make([]rune, 300)), authn.CodePasswordInvalidChars},
			{"too long printable", "p2@example.com", fmt.Sprintf("%0300d", 7), authn.CodePasswordTooLong},
			{"breached", "p3@example.com", breachedPassword, authn.CodePasswordBreached},
			{"equals email", "longlocalpart-xyz@example.com", "longlocalpart-xyz@example.com", authn.CodePasswordContext},
			{"contains the service name", "p4@example.com", "Riskauth Test Riskauth", authn.CodePasswordContext},
			{"local part plus a character", "p5-longlocal@example.com", "p5-longlocal@example.com!", authn.CodePasswordContext},
			{"repetitive", "p6@example.com", "123456789012345", authn.CodePasswordRepetitive},
			{"bad email", "not an email", goodPassword, authn.CodeInvalidEmail},
		} {
			t.Run(tc.name, func(t *testing.T) {
				// Each from its own network and device: the default rules
				// block registration bursts from one source.
				c := client(fmt.Sprintf("198.51.100.%d", 100+len(tc.name)+len(tc.email)), "reg-"+tc.name)
				_, err := f.svc.Register(ctx, authn.RegisterRequest{Email: tc.email, Password: tc.pw, Client: c})
				if tc.code == "" {
					require.NoError(t, err)
					return
				}
				requireCode(t, err, tc.code)
			})
		}
	})

	t.Run("verification link is single use", func(t *testing.T) {
		tok := f.lastToken(t, "alice@example.com", mail.KindVerifyEmail)
		_, err := f.svc.VerifyEmail(ctx, authn.VerifyEmailRequest{Token: tok, Binding: newRes.Binding})
		require.NoError(t, err)
		u, err := f.store.UserByEmail(ctx, "alice@example.com")
		require.NoError(t, err)
		assert.False(t, u.EmailVerifiedAt.IsZero())
		_, err = f.svc.VerifyEmail(ctx, authn.VerifyEmailRequest{Token: tok})
		requireCode(t, err, authn.CodeInvalidToken)
	})
}

func TestLoginPasswordless(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	f.register(t, "bob@example.com")

	t.Run("correct password", func(t *testing.T) {
		res := f.login(t, "bob@example.com", home)
		require.Equal(t, authn.LoginAuthenticated, res.Status)
		assert.Equal(t, authn.AAL1, res.Session.AAL)
		info, err := f.svc.Authenticate(ctx, res.Session.Token)
		require.NoError(t, err)
		assert.Equal(t, res.Session.UserID, info.UserID)
	})
	t.Run("unknown user and wrong password look alike", func(t *testing.T) {
		h0 := f.hashes(t)
		_, errWrong := f.svc.Login(ctx, authn.LoginRequest{Identifier: "bob@example.com", Password: "wrong wrong wrong", Client: home})
		h1 := f.hashes(t)
		_, errUnknown := f.svc.Login(ctx, authn.LoginRequest{Identifier: "nobody@example.com", Password: "wrong wrong wrong", Client: stranger})
		h2 := f.hashes(t)
		requireCode(t, errWrong, authn.CodeLoginFailed)
		assert.Equal(t, errWrong.Error(), errUnknown.Error())
		assert.Equal(t, uint64(1), h1-h0)
		assert.Equal(t, uint64(1), h2-h1)
	})
	t.Run("identifier first: same methods for unknown", func(t *testing.T) {
		known, err := f.svc.StartLogin(ctx, authn.StartLoginRequest{Identifier: "bob@example.com", Client: home})
		require.NoError(t, err)
		unknown, err := f.svc.StartLogin(ctx, authn.StartLoginRequest{Identifier: "ghost@example.com", Client: stranger})
		require.NoError(t, err)
		assert.Equal(t, known.Methods, unknown.Methods)
		assert.Equal(t, known.Status, unknown.Status)
		_, err = f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: unknown.FlowID, Client: stranger})
		require.NoError(t, err)
		assert.Empty(t, f.mails(t, "ghost@example.com", ""), "nothing is sent for unknown identifiers")
		_, err = f.svc.SubmitEmailCode(ctx, authn.CodeRequest{FlowID: unknown.FlowID, Code: "123456", Client: stranger})
		requireCode(t, err, authn.CodeInvalidCode)

		res, err := f.svc.SubmitPassword(ctx, authn.PasswordRequest{FlowID: known.FlowID, Password: goodPassword, Client: home})
		require.NoError(t, err)
		assert.Equal(t, authn.LoginAuthenticated, res.Status)
		_, err = f.svc.SubmitPassword(ctx, authn.PasswordRequest{FlowID: known.FlowID, Password: goodPassword, Client: home})
		requireCode(t, err, authn.CodeFlowExpired)
	})
}

func TestLoginBlockedCostsNoHash(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	attacker := client("203.0.113.7", "stuffing-tool")
	for i := range 20 {
		_, err := f.svc.Login(ctx, authn.LoginRequest{Identifier: fmt.Sprintf("victim%d@example.com", i), Password: "guess guess guess", Client: attacker})
		requireCode(t, err, authn.CodeLoginFailed)
		f.clock.Advance(3 * time.Second)
	}
	before := f.hashes(t)
	for i := 20; i < 30; i++ {
		_, err := f.svc.Login(ctx, authn.LoginRequest{Identifier: fmt.Sprintf("victim%d@example.com", i), Password: "guess guess guess", Client: attacker})
		requireCode(t, err, authn.CodeLoginFailed)
	}
	assert.Equal(t, before, f.hashes(t), "blocked attempts hash nothing")
}

// stranger probes identifiers from elsewhere (one device trying many
// accounts is itself a risk signal).
var stranger = client("198.51.100.77", "stranger-device")

// stepUpClient is a headless client: the default rules step it up.
var stepUpClient = authn.Client{IP: home.IP, UserAgent: "python-requests/2.31"}

func TestStepUpTOTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	f.register(t, "carol@example.com")
	res := f.login(t, "carol@example.com", home)
	secret, recovery := f.enrolTOTP(t, res.Session)
	uid := res.Session.UserID
	assert.Equal(t, 1, f.events.count(secevent.MFAEnrolled, uid))
	assert.Len(t, f.mails(t, "carol@example.com", mail.KindMFAChanged), 1)
	f.clock.Advance(time.Minute)

	t.Run("code then AAL2 session, replay refused", func(t *testing.T) {
		res := f.login(t, "carol@example.com", stepUpClient)
		require.Equal(t, authn.LoginSecondFactor, res.Status)
		assert.Equal(t, []authn.Method{authn.MethodTOTP, authn.MethodRecoveryCode}, res.Methods)
		code := totpCode(t, secret, f.clock.Now())
		done, err := f.svc.SubmitTOTP(ctx, authn.CodeRequest{FlowID: res.FlowID, Code: code, Client: stepUpClient})
		require.NoError(t, err)
		assert.Equal(t, authn.AAL2, done.Session.AAL)

		again := f.login(t, "carol@example.com", stepUpClient)
		_, err = f.svc.SubmitTOTP(ctx, authn.CodeRequest{FlowID: again.FlowID, Code: code, Client: stepUpClient})
		requireCode(t, err, authn.CodeInvalidCode)
	})
	t.Run("16 concurrent submissions, one session", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		res := f.login(t, "carol@example.com", stepUpClient)
		code := totpCode(t, secret, f.clock.Now())
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 16 {
			wg.Go(func() {
				r, err := f.svc.SubmitTOTP(ctx, authn.CodeRequest{FlowID: res.FlowID, Code: code, Client: stepUpClient})
				if err == nil && r.Session != nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		assert.Equal(t, 1, wins)
	})
	t.Run("wrong code notifies once, recovery code single use", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		res := f.login(t, "carol@example.com", stepUpClient)
		_, err := f.svc.SubmitTOTP(ctx, authn.CodeRequest{FlowID: res.FlowID, Code: "000000", Client: stepUpClient})
		requireCode(t, err, authn.CodeInvalidCode)
		_, err = f.svc.SubmitTOTP(ctx, authn.CodeRequest{FlowID: res.FlowID, Code: "000001", Client: stepUpClient})
		requireCode(t, err, authn.CodeInvalidCode)
		assert.GreaterOrEqual(t, f.events.count(secevent.StepUpFailed, uid), 2)
		assert.Len(t, f.mails(t, "carol@example.com", mail.KindStepUpFailed), 1, "the mail is rate-limited")

		done, err := f.svc.SubmitRecoveryCode(ctx, authn.CodeRequest{FlowID: res.FlowID, Code: recovery[0], Client: stepUpClient})
		require.NoError(t, err)
		assert.Equal(t, authn.AAL2, done.Session.AAL)
		res = f.login(t, "carol@example.com", stepUpClient)
		_, err = f.svc.SubmitRecoveryCode(ctx, authn.CodeRequest{FlowID: res.FlowID, Code: recovery[0], Client: stepUpClient})
		requireCode(t, err, authn.CodeInvalidCode)
	})
	t.Run("password reset keeps MFA and signs out", func(t *testing.T) {
		require.NoError(t, f.svc.RequestPasswordReset(ctx, authn.PasswordResetRequest{Email: "carol@example.com", Client: home}))
		require.NoError(t, f.svc.RequestPasswordReset(ctx, authn.PasswordResetRequest{Email: "nobody@example.com", Client: home}),
			"same answer for unknown addresses")
		tok := f.lastToken(t, "carol@example.com", mail.KindPasswordReset)
		requireCode(t, f.svc.ResetPassword(ctx, authn.ResetPasswordRequest{Token: tok, NewPassword: "short", Client: home}),
			authn.CodePasswordTooShort)
		require.NoError(t, f.svc.ResetPassword(ctx, authn.ResetPasswordRequest{Token: tok, NewPassword: "a brand new passphrase", Client: home}),
			"a policy rejection leaves the link usable")
		requireCode(t, f.svc.ResetPassword(ctx, authn.ResetPasswordRequest{Token: tok, NewPassword: "another new passphrase", Client: home}),
			authn.CodeInvalidToken)
		assert.Equal(t, 1, f.events.count(secevent.PasswordReset, uid))
		assert.NotEmpty(t, f.mails(t, "carol@example.com", mail.KindPasswordChanged))
		sessions, err := f.store.ListSessions(ctx, uid, f.clock.Now())
		require.NoError(t, err)
		assert.Empty(t, sessions, "every session ended; no automatic sign-in")

		res, err := f.svc.Login(ctx, authn.LoginRequest{Identifier: "carol@example.com", Password: "a brand new passphrase", Client: home})
		require.NoError(t, err)
		assert.Equal(t, authn.LoginSecondFactor, res.Status, "MFA still required")
	})
}

func TestStepUpEmailCode(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	f.register(t, "dave@example.com")
	res := f.login(t, "dave@example.com", stepUpClient)
	require.Equal(t, authn.LoginSecondFactor, res.Status)
	require.Equal(t, []authn.Method{authn.MethodEmailCode}, res.Methods)
	_, err := f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: res.FlowID, Client: stepUpClient})
	require.NoError(t, err)
	done, err := f.svc.SubmitEmailCode(ctx, authn.CodeRequest{FlowID: res.FlowID, Code: f.lastCode(t, "dave@example.com"), Client: stepUpClient})
	require.NoError(t, err)
	assert.Equal(t, authn.AAL1, done.Session.AAL, "email is not an AAL2 authenticator")
}

func TestEmailCodeAndMagicLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	f.register(t, "erin@example.com")
	f.login(t, "erin@example.com", home) // a known user and device from now on

	start := func(t *testing.T) string {
		res, err := f.svc.StartLogin(ctx, authn.StartLoginRequest{Identifier: "erin@example.com", Client: home})
		require.NoError(t, err)
		_, err = f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: res.FlowID, Client: home})
		require.NoError(t, err)
		return res.FlowID
	}
	t.Run("wrong codes are limited", func(t *testing.T) {
		flow := start(t)
		for range 4 {
			_, err := f.svc.SubmitEmailCode(ctx, authn.CodeRequest{FlowID: flow, Code: "999999", Client: home})
			requireCode(t, err, authn.CodeInvalidCode)
		}
		_, err := f.svc.SubmitEmailCode(ctx, authn.CodeRequest{FlowID: flow, Code: "999998", Client: home})
		requireCode(t, err, authn.CodeTooManyAttempts)
		_, err = f.svc.SubmitEmailCode(ctx, authn.CodeRequest{FlowID: flow, Code: f.lastCode(t, "erin@example.com"), Client: home})
		requireCode(t, err, authn.CodeInvalidCode) // the code is dead
	})
	t.Run("a new code invalidates the old; resend is throttled", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		flow := start(t)
		old := f.lastCode(t, "erin@example.com")
		_, err := f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: flow, Client: home})
		requireCode(t, err, authn.CodeRateLimited)
		f.clock.Advance(31 * time.Second)
		_, err = f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: flow, Client: home})
		require.NoError(t, err)
		fresh := f.lastCode(t, "erin@example.com")
		if old != fresh {
			_, err = f.svc.SubmitEmailCode(ctx, authn.CodeRequest{FlowID: flow, Code: old, Client: home})
			requireCode(t, err, authn.CodeInvalidCode)
		}
		res, err := f.svc.SubmitEmailCode(ctx, authn.CodeRequest{FlowID: flow, Code: fresh, Client: home})
		require.NoError(t, err)
		assert.Equal(t, authn.LoginAuthenticated, res.Status)
	})
	t.Run("magic link single use", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		flow := start(t)
		link := f.lastToken(t, "erin@example.com", mail.KindLoginCode)
		// Opened by the client that asked for it (an app presenting its
		// flow): signed in there (magic_link_test.go has the rest).
		res, err := f.svc.ConsumeMagicLink(ctx, authn.MagicLinkRequest{Token: link, FlowID: flow, Client: home})
		require.NoError(t, err)
		assert.Equal(t, authn.LoginAuthenticated, res.Status)
		_, err = f.svc.ConsumeMagicLink(ctx, authn.MagicLinkRequest{Token: link, Client: home})
		requireCode(t, err, authn.CodeInvalidToken)
	})
	t.Run("per-account send limit is silent", func(t *testing.T) {
		f.clock.Advance(time.Hour)
		before := len(f.mails(t, "erin@example.com", mail.KindLoginCode))
		for range 7 {
			start(t)
		}
		assert.Equal(t, before+5, len(f.mails(t, "erin@example.com", mail.KindLoginCode)))
	})
}

func TestLockoutWithoutDoS(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	f.register(t, "frank@example.com")
	res := f.login(t, "frank@example.com", home)
	uid := res.Session.UserID
	// The attacker shares the owner's network (no new-network score), so
	// the engine steps up rather than blocks and authn's own throttling is
	// what is seen.
	attacker := client("198.51.100.66", "attacker-device")

	for range 5 {
		f.clock.Advance(time.Second)
		_, err := f.svc.Login(ctx, authn.LoginRequest{Identifier: "frank@example.com", Password: "not the password!", Client: attacker})
		requireCode(t, err, authn.CodeLoginFailed)
	}
	assert.Equal(t, 1, f.events.count(secevent.Lockout, uid))

	t.Run("attacker source is slowed down silently", func(t *testing.T) {
		// Past the account threshold a wrong password is answered with a
		// held flow: so is the right one while the source waits, unchecked.
		h := f.hashes(t)
		res, err := f.svc.Login(ctx, authn.LoginRequest{Identifier: "frank@example.com", Password: goodPassword, Client: attacker})
		require.NoError(t, err)
		assert.Equal(t, authn.LoginSecondFactor, res.Status, "the answer of a wrong password")
		assert.Equal(t, uint64(1), f.hashes(t)-h, "same cost as a wrong password")
		mails := len(f.mails(t, "frank@example.com", mail.KindLoginCode))
		_, err = f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: res.FlowID, Client: attacker})
		require.NoError(t, err)
		assert.Equal(t, mails, len(f.mails(t, "frank@example.com", mail.KindLoginCode)), "unchecked: no code is mailed")
		f.clock.Advance(2 * time.Second)
		res, err = f.svc.Login(ctx, authn.LoginRequest{Identifier: "frank@example.com", Password: goodPassword, Client: attacker})
		require.NoError(t, err, "after the delay the password is checked again")
		assert.Equal(t, authn.LoginSecondFactor, res.Status, "but the account now needs a second factor")
	})
	t.Run("owner is not locked out", func(t *testing.T) {
		res := f.login(t, "frank@example.com", home)
		require.Equal(t, authn.LoginSecondFactor, res.Status)
		_, err := f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: res.FlowID, Client: home})
		require.NoError(t, err)
		done, err := f.svc.SubmitEmailCode(ctx, authn.CodeRequest{FlowID: res.FlowID, Code: f.lastCode(t, "frank@example.com"), Client: home})
		require.NoError(t, err)
		assert.Equal(t, authn.LoginAuthenticated, done.Status)
	})
}

// TestReauthenticateThrottled: re-authentication on a stolen session is
// no password oracle; it is throttled and alerted like a sign-in.
func TestReauthenticateThrottled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	f.register(t, "hugo@example.com")
	sess := f.login(t, "hugo@example.com", home).Session
	uid := sess.UserID

	for range 5 {
		f.clock.Advance(time.Second)
		_, err := f.svc.Reauthenticate(ctx, authn.ReauthRequest{SessionToken: sess.Token, Password: "not the password!", Client: home})
		requireCode(t, err, authn.CodeLoginFailed)
	}
	assert.Equal(t, 1, f.events.count(secevent.Lockout, uid), "crossing the step-up threshold is reported once")

	h := f.hashes(t)
	_, err := f.svc.Reauthenticate(ctx, authn.ReauthRequest{SessionToken: sess.Token, Password: goodPassword, Client: home})
	requireCode(t, err, authn.CodeLoginFailed)
	assert.Equal(t, uint64(1), f.hashes(t)-h, "while delayed: the cost of a wrong password, the password unchecked")

	// After the delay the password is checked again, but five wrong ones
	// put the account past its threshold: a password alone proves nothing
	// on a session either, right or wrong (the answer and the work are a
	// wrong one's). The owner signs in afresh with the mailed code, or
	// resets the password by mail.
	f.clock.Advance(time.Minute)
	h = f.hashes(t)
	_, err = f.svc.Reauthenticate(ctx, authn.ReauthRequest{SessionToken: sess.Token, Password: goodPassword, Client: home})
	requireCode(t, err, authn.CodeLoginFailed)
	assert.Equal(t, uint64(1), f.hashes(t)-h)

	f.clock.Advance(authn.DefaultConfig().Lockout.AccountWindow)
	_, err = f.svc.Reauthenticate(ctx, authn.ReauthRequest{SessionToken: sess.Token, Password: goodPassword, Client: home})
	require.NoError(t, err, "once the wrong passwords aged out, the password works again")
}

func TestSessions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	f.register(t, "grace@example.com")
	laptop := f.login(t, "grace@example.com", home).Session
	phone := f.login(t, "grace@example.com", home).Session

	t.Run("list and revoke", func(t *testing.T) {
		list, err := f.svc.ListSessions(ctx, laptop.Token)
		require.NoError(t, err)
		require.Len(t, list, 2)
		require.NoError(t, f.svc.RevokeSession(ctx, laptop.Token, phone.ID))
		_, err = f.svc.Authenticate(ctx, phone.Token)
		requireCode(t, err, authn.CodeSessionInvalid)
		requireCode(t, f.svc.RevokeSession(ctx, laptop.Token, "no-such-id"), authn.CodeNotFound)
	})
	t.Run("idle and absolute expiry", func(t *testing.T) {
		s := f.login(t, "grace@example.com", home).Session
		f.clock.Advance(6 * 24 * time.Hour)
		_, err := f.svc.Authenticate(ctx, s.Token)
		require.NoError(t, err, "activity slides the idle deadline")
		f.clock.Advance(6 * 24 * time.Hour)
		_, err = f.svc.Authenticate(ctx, s.Token)
		require.NoError(t, err)
		f.clock.Advance(8 * 24 * time.Hour)
		_, err = f.svc.Authenticate(ctx, s.Token)
		requireCode(t, err, authn.CodeSessionInvalid)

		s = f.login(t, "grace@example.com", home).Session
		for range 4 {
			f.clock.Advance(6 * 24 * time.Hour)
			_, err = f.svc.Authenticate(ctx, s.Token)
			require.NoError(t, err)
		}
		f.clock.Advance(6 * 24 * time.Hour)
		_, err = f.svc.Authenticate(ctx, s.Token)
		requireCode(t, err, authn.CodeSessionInvalid) // 30 days absolute
	})
	t.Run("step-up rotates the token", func(t *testing.T) {
		s := f.login(t, "grace@example.com", home).Session
		up, err := f.svc.Reauthenticate(ctx, authn.ReauthRequest{SessionToken: s.Token, Password: goodPassword, Client: home})
		require.NoError(t, err)
		assert.NotEqual(t, s.Token, up.Token)
		_, err = f.svc.Authenticate(ctx, s.Token)
		requireCode(t, err, authn.CodeSessionInvalid)
		_, err = f.svc.Authenticate(ctx, up.Token)
		require.NoError(t, err)
	})
	t.Run("password change revokes the others", func(t *testing.T) {
		a := f.login(t, "grace@example.com", home).Session
		b := f.login(t, "grace@example.com", home).Session
		requireCode(t, f.svc.ChangePassword(ctx, authn.ChangePasswordRequest{SessionToken: a.Token, CurrentPassword: "wrong wrong wrong",
			NewPassword: "a different passphrase", Client: home}), authn.CodeInvalidPassword)
		require.NoError(t, f.svc.ChangePassword(ctx, authn.ChangePasswordRequest{SessionToken: a.Token, CurrentPassword: goodPassword,
			NewPassword: "a different passphrase", Client: home}))
		_, err := f.svc.Authenticate(ctx, b.Token)
		requireCode(t, err, authn.CodeSessionInvalid)
		_, err = f.svc.Authenticate(ctx, a.Token)
		require.NoError(t, err)
		assert.NotEmpty(t, f.mails(t, "grace@example.com", mail.KindPasswordChanged))
		assert.Equal(t, 1, f.events.count(secevent.PasswordChanged, a.UserID))
		require.NoError(t, f.svc.Logout(ctx, a.Token))
		_, err = f.svc.Authenticate(ctx, a.Token)
		requireCode(t, err, authn.CodeSessionInvalid)
	})
}

// TestDefaultArgon2 runs one sign-in at the production argon2id cost, so
// the flows are known to work at the parameters they ship with.
func TestDefaultArgon2(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{params: password.DefaultParams()})
	f.register(t, "heidi@example.com")
	res := f.login(t, "heidi@example.com", home)
	assert.Equal(t, authn.LoginAuthenticated, res.Status)
}
