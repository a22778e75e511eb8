package authn_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
)

// TestMagicLinkBoundToRequester: a magic link signs in only the client
// that asked for it (the browser with the flow's binding cookie, or an
// app with the flow's handle). Opened anywhere else it signs nobody in:
// it describes the waiting sign-in (device, address, place, time), and
// the owner approves it there, which lets the asking client go on, or
// denies it, which ends it.
func TestMagicLinkBoundToRequester(t *testing.T) {
	t.Parallel()
	const email = "yara@example.com"
	laptop := client("198.51.100.10", "home-laptop-cookie-0001")
	phone := client("192.0.2.44", "phone-mail-app")
	type flow struct {
		id, binding, link string
	}
	start := func(t *testing.T, f *fixture) flow {
		t.Helper()
		res, err := f.svc.StartLogin(t.Context(), authn.StartLoginRequest{Identifier: email, Client: laptop})
		require.NoError(t, err)
		require.NotEmpty(t, res.Binding)
		_, err = f.svc.RequestEmailCode(t.Context(), authn.FlowRequest{FlowID: res.FlowID, Client: laptop})
		require.NoError(t, err)
		return flow{res.FlowID, res.Binding, f.lastToken(t, email, mail.KindLoginCode)}
	}
	tests := []struct {
		name string
		run  func(t *testing.T, f *fixture, fl flow)
	}{
		{"the asking browser is signed in", func(t *testing.T, f *fixture, fl flow) {
			res, err := f.svc.ConsumeMagicLink(t.Context(), authn.MagicLinkRequest{Token: fl.link, Binding: fl.binding, Client: laptop})
			require.NoError(t, err)
			require.Equal(t, authn.LoginAuthenticated, res.Status)
		}},
		{"another flow's binding is another browser", func(t *testing.T, f *fixture, fl flow) {
			other, err := f.svc.StartLogin(t.Context(), authn.StartLoginRequest{Identifier: email, Client: phone})
			require.NoError(t, err)
			res, err := f.svc.ConsumeMagicLink(t.Context(), authn.MagicLinkRequest{Token: fl.link, Binding: other.Binding, Client: phone})
			require.NoError(t, err)
			assert.Equal(t, authn.LoginApprovalRequired, res.Status)
		}},
		{"elsewhere: nobody signed in, approved there, the asking browser goes on", func(t *testing.T, f *fixture, fl flow) {
			res, err := f.svc.ConsumeMagicLink(t.Context(), authn.MagicLinkRequest{Token: fl.link, Client: phone})
			require.NoError(t, err)
			require.Equal(t, authn.LoginApprovalRequired, res.Status, "the phone is not signed in")
			require.Nil(t, res.Session)
			a := res.Approval
			require.NotNil(t, a)
			assert.Equal(t, browserUA, a.UserAgent)
			assert.Equal(t, "198.51.100.10", a.IP, "the asking device's address")
			assert.Equal(t, f.clock.Now(), a.RequestedAt)
			assert.True(t, a.ExpiresAt.After(f.clock.Now()))

			waiting, err := f.svc.PollLogin(t.Context(), authn.FlowRequest{FlowID: fl.id, Client: laptop})
			require.NoError(t, err)
			assert.Equal(t, authn.LoginCodeSent, waiting.Status, "still waiting")

			ok, err := f.svc.ApproveMagicLink(t.Context(), authn.MagicLinkRequest{Token: fl.link, Client: phone})
			require.NoError(t, err)
			assert.Equal(t, authn.LoginApproved, ok.Status)
			assert.Nil(t, ok.Session, "approving signs in nobody here")

			done, err := f.svc.PollLogin(t.Context(), authn.FlowRequest{FlowID: fl.id, Client: laptop})
			require.NoError(t, err)
			require.Equal(t, authn.LoginAuthenticated, done.Status, "the asking browser goes on")
			list, err := f.store.ListSessions(t.Context(), done.Session.UserID, f.clock.Now())
			require.NoError(t, err)
			var ips []string
			for _, s := range list {
				ips = append(ips, s.IP)
			}
			assert.NotContains(t, ips, "192.0.2.44", "no session for the phone")

			_, err = f.svc.ApproveMagicLink(t.Context(), authn.MagicLinkRequest{Token: fl.link, Client: phone})
			requireCode(t, err, authn.CodeInvalidToken) // single use
			_, err = f.svc.PollLogin(t.Context(), authn.FlowRequest{FlowID: fl.id, Client: laptop})
			requireCode(t, err, authn.CodeFlowExpired)
		}},
		{"elsewhere: denied", func(t *testing.T, f *fixture, fl flow) {
			require.NoError(t, f.svc.DenyMagicLink(t.Context(), authn.MagicLinkRequest{Token: fl.link, Client: phone}))
			_, err := f.svc.PollLogin(t.Context(), authn.FlowRequest{FlowID: fl.id, Client: laptop})
			requireCode(t, err, authn.CodeLoginFailed)
			_, err = f.svc.ConsumeMagicLink(t.Context(), authn.MagicLinkRequest{Token: fl.link, Binding: fl.binding, Client: laptop})
			requireCode(t, err, authn.CodeInvalidToken)
		}},
		{"an app presenting its flow is signed in", func(t *testing.T, f *fixture, fl flow) {
			res, err := f.svc.ConsumeMagicLink(t.Context(), authn.MagicLinkRequest{Token: fl.link, FlowID: fl.id, Client: laptop})
			require.NoError(t, err)
			assert.Equal(t, authn.LoginAuthenticated, res.Status)
		}},
		{"expired links and unknown flows", func(t *testing.T, f *fixture, fl flow) {
			_, err := f.svc.PollLogin(context.Background(), authn.FlowRequest{FlowID: "not-a-flow", Client: laptop})
			requireCode(t, err, authn.CodeFlowExpired)
			f.clock.Advance(20 * time.Minute)
			_, err = f.svc.ApproveMagicLink(t.Context(), authn.MagicLinkRequest{Token: fl.link, Client: phone})
			requireCode(t, err, authn.CodeInvalidToken) // expired
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fixtureOpts{})
			f.register(t, email)
			f.login(t, email, laptop)
			tc.run(t, f, start(t, f))
		})
	}
}
