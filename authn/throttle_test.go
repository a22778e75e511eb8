package authn_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
)

// TestOnePasswordThrottle: every check of a signed-in user's current
// password (re-authentication, password change, authenticator removal)
// counts towards one per-source delay, so a stolen session cannot guess
// the password at full speed through whichever route is not throttled.
// N wrong passwords through one route delay the right one through any
// route: answered as wrong, after one dummy argon2id, and the password
// works again once the delay has passed.
func TestOnePasswordThrottle(t *testing.T) {
	t.Parallel()
	type check func(f *fixture, token, pw string) error
	reauth := func(f *fixture, token, pw string) error {
		_, err := f.svc.Reauthenticate(context.Background(), authn.ReauthRequest{SessionToken: token, Password: pw, Client: home})
		return err
	}
	change := func(f *fixture, token, pw string) error {
		return f.svc.ChangePassword(context.Background(), authn.ChangePasswordRequest{SessionToken: token,
			CurrentPassword: pw, NewPassword: "a fresh passphrase for this test", Client: home})
	}
	routes := map[string]check{"reauthenticate": reauth, "change password": change}
	// The refusals each route answers: a wrong password and a delayed
	// check look alike.
	refusal := map[string]authn.Code{"reauthenticate": authn.CodeLoginFailed, "change password": authn.CodeInvalidPassword}
	tests := []struct{ guess, then string }{
		{"change password", "change password"},
		{"change password", "reauthenticate"},
		{"reauthenticate", "change password"},
		{"reauthenticate", "reauthenticate"},
	}
	for _, tc := range tests {
		t.Run(tc.guess+" then "+tc.then, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fixtureOpts{cfg: func(c *authn.Config) {
				// The account-wide threshold out of the way: this is about
				// the per-source delay alone.
				c.Lockout.AccountStepUpAfter = 1000
			}})
			f.register(t, "owen@example.com")
			sess := f.login(t, "owen@example.com", home).Session
			for range 5 {
				f.clock.Advance(time.Second)
				requireCode(t, routes[tc.guess](f, sess.Token, "not the password at all"), refusal[tc.guess])
			}
			h := f.hashes(t)
			requireCode(t, routes[tc.then](f, sess.Token, goodPassword), refusal[tc.then])
			assert.Equal(t, uint64(1), f.hashes(t)-h, "delayed: one dummy argon2id, the password unchecked")

			f.clock.Advance(time.Minute)
			require.NoError(t, routes[tc.then](f, sess.Token, goodPassword), "after the delay the password is checked again")
		})
	}
}
