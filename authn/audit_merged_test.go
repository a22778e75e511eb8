package authn_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
)

// mark is where the events collected so far end.
func (e *events) mark() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.all)
}

// since returns the events emitted after mark m.
func (e *events) since(m int) []*secevent.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*secevent.Event(nil), e.all[m:]...)
}

// types lists the types of evs, in order.
func types(evs []*secevent.Event) []secevent.Type {
	out := make([]secevent.Type, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

// only returns the events of evs of type t.
func only(evs []*secevent.Event, t secevent.Type) []*secevent.Event {
	var out []*secevent.Event
	for _, ev := range evs {
		if ev.Type == t {
			out = append(out, ev)
		}
	}
	return out
}

// TestAuditMergedFlows: the audit trail of issue 17 item 10 covers the
// flows items 1, 2, 5 and 7 added (held flows past the account
// threshold, magic links approved or denied where they were opened,
// claims of unverified accounts, the revocations of a factor change),
// with the source address and user agent of each step, and without
// telling a held right password from a held wrong one by the type of
// event (which the security-event metric counts).
func TestAuditMergedFlows(t *testing.T) {
	t.Parallel()
	t.Run("held flows", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, fixtureOpts{})
		ctx := t.Context()
		const email = "hal@example.com"
		f.register(t, email)
		threshold := authn.DefaultConfig().Lockout.AccountStepUpAfter
		for i := range threshold {
			f.clock.Advance(3 * time.Second)
			requireCode(t, f.guess(t, email, fmt.Sprintf("wrong guess number %d", i), rotating(i)).err, authn.CodeLoginFailed)
		}
		m := f.events.mark()
		wrong := f.guess(t, email, "yet another wrong guess", rotating(100))
		mw := f.events.mark()
		right := f.guess(t, email, goodPassword, rotating(101))
		require.NoError(t, wrong.err)
		require.NoError(t, right.err)
		evw, evr := f.events.since(m)[:mw-m], f.events.since(mw)
		require.Equal(t, types(evw), types(evr), "one type of event for a right and a wrong password")
		for _, c := range []struct {
			evs    []*secevent.Event
			reason string
			ip     string
		}{{evw, "wrong_password", "198.18.0.101"}, {evr, "account_held", "198.18.0.102"}} {
			fails := only(c.evs, secevent.LoginFailed)
			require.Len(t, fails, 1)
			ev := fails[0]
			assert.Equal(t, c.reason, ev.Details["reason"])
			assert.Equal(t, "true", ev.Details["held"])
			assert.Equal(t, "email_code", ev.Details["methods"])
			assert.Equal(t, f.userID(t, email), ev.UserID)
			assert.Equal(t, c.ip, ev.IP.String())
			assert.Equal(t, browserUA, ev.UserAgent)
		}

		// The held flow of the right password: the mailed code passes.
		_, err := f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: right.res.FlowID, Client: rotating(101)})
		require.NoError(t, err)
		m = f.events.mark()
		done, err := f.svc.SubmitEmailCode(ctx, authn.CodeRequest{FlowID: right.res.FlowID, Code: f.lastCode(t, email), Client: rotating(101)})
		require.NoError(t, err)
		require.Equal(t, authn.LoginAuthenticated, done.Status)
		evs := f.events.since(m)
		require.Len(t, only(evs, secevent.StepUpPassed), 1)
		assert.Equal(t, "true", only(evs, secevent.StepUpPassed)[0].Details["held"])
		require.Len(t, only(evs, secevent.LoginSucceeded), 1)
		assert.Equal(t, done.Session.ID, only(evs, secevent.LoginSucceeded)[0].SessionID)

		// The held flow of the wrong password: its code always fails.
		_, err = f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: wrong.res.FlowID, Client: rotating(100)})
		require.NoError(t, err)
		m = f.events.mark()
		_, err = f.svc.SubmitEmailCode(ctx, authn.CodeRequest{FlowID: wrong.res.FlowID, Code: "000000", Client: rotating(100)})
		requireCode(t, err, authn.CodeInvalidCode)
		fails := only(f.events.since(m), secevent.SecondFactorFailed)
		require.Len(t, fails, 1)
		assert.Equal(t, "true", fails[0].Details["held"])
		assert.Equal(t, "wrong_code", fails[0].Details["reason"])
	})

	t.Run("magic link approved and denied elsewhere", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, fixtureOpts{})
		ctx := t.Context()
		const email = "mags@example.com"
		f.register(t, email)
		laptop := client("198.51.100.10", "home-laptop-cookie-0001")
		phone := client("192.0.2.44", "phone-mail-app")
		start := func() (string, string) {
			res, err := f.svc.StartLogin(ctx, authn.StartLoginRequest{Identifier: email, Client: laptop})
			require.NoError(t, err)
			_, err = f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: res.FlowID, Client: laptop})
			require.NoError(t, err)
			return res.FlowID, f.lastToken(t, email, mail.KindLoginCode)
		}
		requester := func(t *testing.T, ev *secevent.Event) {
			t.Helper()
			assert.Equal(t, "192.0.2.44", ev.IP.String(), "the opener's address")
			assert.Equal(t, "198.51.100.10", ev.Details["requester_ip"], "the asking client's")
			assert.Equal(t, browserUA, ev.Details["requester_user_agent"])
			assert.Equal(t, "magic_link", ev.Details["factor"])
			assert.Equal(t, f.userID(t, email), ev.UserID)
		}

		flow, link := start()
		m := f.events.mark()
		res, err := f.svc.ConsumeMagicLink(ctx, authn.MagicLinkRequest{Token: link, Client: phone})
		require.NoError(t, err)
		require.Equal(t, authn.LoginApprovalRequired, res.Status)
		_, err = f.svc.ApproveMagicLink(ctx, authn.MagicLinkRequest{Token: link, Client: phone})
		require.NoError(t, err)
		evs := f.events.since(m)
		require.Len(t, only(evs, secevent.ApprovalRequested), 1)
		requester(t, only(evs, secevent.ApprovalRequested)[0])
		require.Len(t, only(evs, secevent.ApprovalGranted), 1)
		requester(t, only(evs, secevent.ApprovalGranted)[0])
		m = f.events.mark()
		done, err := f.svc.PollLogin(ctx, authn.FlowRequest{FlowID: flow, Client: laptop})
		require.NoError(t, err)
		require.Equal(t, authn.LoginAuthenticated, done.Status)
		ok := only(f.events.since(m), secevent.LoginSucceeded)
		require.Len(t, ok, 1)
		assert.Equal(t, "198.51.100.10", ok[0].IP.String(), "the asking client is signed in")

		f.clock.Advance(time.Minute)
		_, link = start()
		m = f.events.mark()
		require.NoError(t, f.svc.DenyMagicLink(ctx, authn.MagicLinkRequest{Token: link, Client: phone}))
		fails := only(f.events.since(m), secevent.LoginFailed)
		require.Len(t, fails, 1)
		assert.Equal(t, "approval_denied", fails[0].Details["reason"])
		requester(t, fails[0])
	})

	t.Run("claims of an unverified account", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, fixtureOpts{})
		ctx := t.Context()
		_, err := f.svc.Register(ctx, authn.RegisterRequest{Email: victim, Password: attackerChosen, Client: attackerBox})
		require.NoError(t, err)
		planted := f.planted(t, victim)
		uid := mustUser(t, f, victim).ID

		// The owner signs in with an email code: the inbox alone.
		owner := client("198.51.100.20", "owner-phone")
		res, err := f.svc.StartLogin(ctx, authn.StartLoginRequest{Identifier: victim, Client: owner})
		require.NoError(t, err)
		_, err = f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: res.FlowID, Client: owner})
		require.NoError(t, err)
		m := f.events.mark()
		claimed, err := f.svc.SubmitEmailCode(ctx, authn.CodeRequest{FlowID: res.FlowID, Code: f.lastCode(t, victim), Client: owner})
		require.NoError(t, err)
		evs := f.events.since(m)
		var keep []string
		if claimed.Session != nil {
			keep = append(keep, claimed.Session.ID)
		}
		f.requireNothingLeft(t, victim, planted, keep...)
		var step *secevent.Event
		for _, ev := range evs {
			if ev.Type == secevent.LoginSucceeded || ev.Type == secevent.StepUpRequested {
				step = ev
			}
		}
		require.NotNil(t, step, "the claiming step is audited: %v", types(evs))
		assert.Equal(t, "inbox", step.Details["claim"])
		assert.Equal(t, "198.51.100.20", step.IP.String())
		for _, typ := range []secevent.Type{secevent.SessionsRevoked, secevent.MFARemoved, secevent.PasswordChanged} {
			got := only(evs, typ)
			require.Len(t, got, 1, "%s: %v", typ, types(evs))
			assert.Equal(t, "pre_verification", got[0].Details["reason"])
			assert.Equal(t, uid, got[0].UserID)
		}
	})

	t.Run("a factor change's revocations", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, fixtureOpts{})
		const email = "fay@example.com"
		f.register(t, email)
		acting := f.login(t, email, home).Session
		f.clock.Advance(30 * time.Second)
		require.NotNil(t, f.login(t, email, home).Session, "another session")
		m := f.events.mark()
		f.enrolTOTP(t, acting) // acting is now the rotated session
		revoked := only(f.events.since(m), secevent.SessionsRevoked)
		require.Len(t, revoked, 1)
		assert.Equal(t, "mfa_enrolled", revoked[0].Details["reason"])
		assert.Equal(t, "1", revoked[0].Details["count"])
		assert.Equal(t, acting.ID, revoked[0].SessionID, "from the acting session, as it goes on")
		assert.Equal(t, home.IP, revoked[0].IP)
		assert.Equal(t, browserUA, revoked[0].UserAgent)
	})
}
