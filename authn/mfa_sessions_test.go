package authn_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
)

// TestFactorChangeEndsOtherSessions: enrolling an authenticator app,
// removing it and renewing the recovery codes end every other session of
// the user (ASVS 7.4.3: a session opened by whoever had the old factors
// does not survive the change). The acting session goes on under a new
// token, the old token stops working, the mail says the others were
// signed out, and the SOC gets sessions_revoked.
func TestFactorChangeEndsOtherSessions(t *testing.T) {
	t.Parallel()
	// change makes the change from the acting session (fresh, AAL2 when
	// the account has an app) and returns the session it goes on with.
	type change func(t *testing.T, f *fixture, acting *authn.IssuedSession, secret string) *authn.IssuedSession
	enrol := func(t *testing.T, f *fixture, acting *authn.IssuedSession, _ string) *authn.IssuedSession {
		en, err := f.svc.BeginTOTP(context.Background(), acting.Token)
		require.NoError(t, err)
		rc, err := f.svc.ConfirmTOTP(context.Background(), authn.ConfirmTOTPRequest{SessionToken: acting.Token, FactorID: en.FactorID,
			Code: totpCode(t, en.Secret, f.clock.Now()), Client: home})
		require.NoError(t, err)
		require.Len(t, rc.Codes, 10)
		return rc.Session
	}
	remove := func(t *testing.T, f *fixture, acting *authn.IssuedSession, _ string) *authn.IssuedSession {
		rs, err := f.svc.RemoveTOTP(context.Background(), authn.RemoveTOTPRequest{SessionToken: acting.Token, Password: goodPassword, Client: home})
		require.NoError(t, err)
		return rs.Session
	}
	renew := func(t *testing.T, f *fixture, acting *authn.IssuedSession, _ string) *authn.IssuedSession {
		rc, err := f.svc.RegenerateRecoveryCodes(context.Background(), authn.RegenerateRecoveryCodesRequest{SessionToken: acting.Token, Client: home})
		require.NoError(t, err)
		return rc.Session
	}
	tests := []struct {
		name string
		// withApp: the account has an app before the change.
		withApp bool
		do      change
		what    string
	}{
		{"enrol an authenticator app", false, enrol, "added"},
		{"remove the authenticator app", true, remove, "removed"},
		{"renew the recovery codes", true, renew, "recovery codes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fixtureOpts{})
			ctx := t.Context()
			const email = "vera@example.com"
			f.register(t, email)
			acting := f.login(t, email, home).Session
			secret := ""
			if tc.withApp {
				secret, _ = f.enrolTOTP(t, acting)
				f.clock.Advance(30 * time.Second)
				up, err := f.svc.Reauthenticate(ctx, authn.ReauthRequest{SessionToken: acting.Token, Password: goodPassword,
					TOTPCode: totpCode(t, secret, f.clock.Now()), Client: home})
				require.NoError(t, err)
				acting = up
			}
			// Two other sessions: another device, and whoever else got in.
			var others []*authn.IssuedSession
			for range 2 {
				f.clock.Advance(30 * time.Second)
				res := f.login(t, email, home)
				if res.Status == authn.LoginSecondFactor {
					var err error
					res, err = f.svc.SubmitTOTP(ctx, authn.CodeRequest{FlowID: res.FlowID, Code: totpCode(t, secret, f.clock.Now()), Client: home})
					require.NoError(t, err)
				}
				others = append(others, res.Session)
			}
			uid := acting.UserID
			revokedBefore := f.events.count(secevent.SessionsRevoked, uid)
			mailsBefore := len(f.mails(t, email, mail.KindMFAChanged))

			next := tc.do(t, f, acting, secret)

			require.NotNil(t, next, "the acting session goes on")
			assert.NotEqual(t, acting.Token, next.Token, "under a new token")
			assert.Equal(t, acting.AAL, next.AAL)
			_, err := f.svc.Authenticate(ctx, next.Token)
			require.NoError(t, err)
			_, err = f.svc.Authenticate(ctx, acting.Token)
			requireCode(t, err, authn.CodeSessionInvalid)
			for _, o := range others {
				_, err := f.svc.Authenticate(ctx, o.Token)
				requireCode(t, err, authn.CodeSessionInvalid)
			}
			assert.Equal(t, revokedBefore+1, f.events.count(secevent.SessionsRevoked, uid))
			ms := f.mails(t, email, mail.KindMFAChanged)
			require.Equal(t, mailsBefore+1, len(ms))
			text := ms[len(ms)-1].Text
			assert.Contains(t, text, tc.what)
			assert.True(t, strings.Contains(text, "signed out") && strings.Contains(text, "2 other"), "the mail says so: %s", text)
		})
	}
}
