package authn_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
)

// helpdesk is the administrator of these tests.
var helpdesk = authn.Actor{Name: "helpdesk-1", Reason: "ticket 4711: customer called",
	Client: authn.Client{IP: netip.MustParseAddr("10.1.2.3"), UserAgent: "riskctl/1"}}

// lastFor is the newest event of type t for userID.
func (e *events) lastFor(t secevent.Type, userID string) *secevent.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := len(e.all) - 1; i >= 0; i-- {
		if ev := e.all[i]; ev.Type == t && ev.UserID == userID {
			return ev
		}
	}
	return nil
}

// requireAudited checks the event of an admin action: who, why, which.
func requireAudited(t *testing.T, ev *secevent.Event, action authn.AdminAction) {
	t.Helper()
	require.NotNil(t, ev, "event of %s", action)
	assert.Equal(t, helpdesk.Name, ev.Details["admin"])
	assert.Equal(t, helpdesk.Reason, ev.Details["reason"])
	assert.Equal(t, string(action), ev.Details["action"])
	assert.Equal(t, helpdesk.Client.IP, ev.IP)
	assert.False(t, ev.Time.IsZero())
}

func TestAdminNeedsReasonAndAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	f.register(t, "rita@example.com")
	uid := f.userID(t, "rita@example.com")
	admin := f.svc.Services.Admin
	for _, a := range authn.AdminActions() {
		t.Run(string(a), func(t *testing.T) {
			for _, reason := range []string{"", "   ", "line\nbreak", strings.Repeat("x", authn.MaxReasonLen+1), "bad \xff utf-8"} {
				by := helpdesk
				by.Reason = reason
				_, err := admin.Act(t.Context(), a, uid, by)
				requireCode(t, err, authn.CodeInvalidRequest)
			}
			_, err := admin.Act(t.Context(), a, "0190a0b0-0000-7000-8000-000000000000", helpdesk)
			requireCode(t, err, authn.CodeNotFound)
		})
	}
	_, err := admin.Act(t.Context(), "promote", uid, helpdesk)
	requireCode(t, err, authn.CodeInvalidRequest)
	u, err := f.store.UserByID(t.Context(), uid)
	require.NoError(t, err)
	assert.False(t, u.Disabled, "refused actions change nothing")
}

func TestAdminDisableEnable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	const email = "dora@example.com"
	f.register(t, email)
	uid := f.userID(t, email)
	s1 := f.login(t, email, home).Session
	require.NotNil(t, s1)
	admin := f.svc.Services.Admin

	res, err := admin.Act(ctx, authn.ActionDisable, uid, helpdesk)
	require.NoError(t, err)
	assert.True(t, res.Changed)
	assert.Equal(t, 1, res.SessionsRevoked)
	requireAudited(t, f.events.lastFor(secevent.UserDisabled, uid), authn.ActionDisable)
	_, err = f.svc.Authenticate(ctx, s1.Token)
	requireCode(t, err, authn.CodeSessionInvalid)
	_, err = f.svc.Login(ctx, authn.LoginRequest{Identifier: email, Password: goodPassword, Client: home})
	requireCode(t, err, authn.CodeLoginFailed)

	again, err := admin.Act(ctx, authn.ActionDisable, uid, helpdesk)
	require.NoError(t, err)
	assert.False(t, again.Changed, "already disabled")
	assert.Equal(t, 2, f.events.count(secevent.UserDisabled, uid), "audited either way")
	assert.Equal(t, "false", f.events.lastFor(secevent.UserDisabled, uid).Details["changed"])

	res, err = admin.Act(ctx, authn.ActionEnable, uid, helpdesk)
	require.NoError(t, err)
	assert.True(t, res.Changed)
	requireAudited(t, f.events.lastFor(secevent.UserEnabled, uid), authn.ActionEnable)
	assert.NotNil(t, f.login(t, email, home).Session, "signs in again")
}

func TestAdminUnlock(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	const email = "ulla@example.com"
	f.register(t, email)
	uid := f.userID(t, email)
	f.login(t, email, home)
	admin := f.svc.Services.Admin
	threshold := authn.DefaultConfig().Lockout.AccountStepUpAfter
	for i := range threshold + 1 {
		f.clock.Advance(3 * time.Second)
		f.guess(t, email, fmt.Sprintf("wrong guess number %d", i), rotating(i))
	}
	v, err := admin.ViewUser(ctx, uid)
	require.NoError(t, err)
	assert.True(t, v.Held, "past the threshold")
	assert.GreaterOrEqual(t, v.WrongPasswords, threshold)
	held := f.login(t, email, home)
	require.Equal(t, authn.LoginSecondFactor, held.Status, "held: the right password asks for a code")

	res, err := admin.Act(ctx, authn.ActionUnlock, uid, helpdesk)
	require.NoError(t, err)
	assert.True(t, res.Changed)
	assert.Positive(t, res.FailuresCleared)
	ev := f.events.lastFor(secevent.UserUnlocked, uid)
	requireAudited(t, ev, authn.ActionUnlock)
	assert.Equal(t, fmt.Sprint(res.FailuresCleared), ev.Details["failures_cleared"])

	v, err = admin.ViewUser(ctx, uid)
	require.NoError(t, err)
	assert.False(t, v.Held)
	assert.Zero(t, v.WrongPasswords)
	// The right password is no longer held: whatever the risk engine
	// makes of the recent failures (its own counters are not the
	// lockout's), the sign-in is not a held flow any more.
	heldBefore := f.heldLogins(uid)
	require.Positive(t, heldBefore)
	f.login(t, email, home)
	assert.Equal(t, heldBefore, f.heldLogins(uid))

	res, err = admin.Act(ctx, authn.ActionUnlock, uid, helpdesk)
	require.NoError(t, err)
	assert.False(t, res.Changed, "nothing left to clear")
}

// heldLogins counts the sign-ins of userID refused as held.
func (f *fixture) heldLogins(userID string) int {
	f.events.mu.Lock()
	defer f.events.mu.Unlock()
	n := 0
	for _, ev := range f.events.all {
		if ev.Type == secevent.LoginFailed && ev.UserID == userID && ev.Details["held"] == "true" {
			n++
		}
	}
	return n
}

func TestAdminResetMFA(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	const email = "mila@example.com"
	f.register(t, email)
	uid := f.userID(t, email)
	s := f.login(t, email, home).Session
	f.enrolTOTP(t, s)
	admin := f.svc.Services.Admin
	v, err := admin.ViewUser(ctx, uid)
	require.NoError(t, err)
	require.NotNil(t, v.TOTP)
	assert.False(t, v.TOTP.ConfirmedAt.IsZero())
	assert.Equal(t, 10, v.RecoveryCodes)
	before := len(f.mails(t, email, mail.KindMFAChanged))

	res, err := admin.Act(ctx, authn.ActionResetMFA, uid, helpdesk)
	require.NoError(t, err)
	assert.Equal(t, 2, res.FactorsRemoved, "the app and the recovery codes")
	assert.True(t, res.MailSent)
	requireAudited(t, f.events.lastFor(secevent.MFAReset, uid), authn.ActionResetMFA)
	ms := f.mails(t, email, mail.KindMFAChanged)
	require.Len(t, ms, before+1, "the owner is told")
	assert.NotContains(t, ms[len(ms)-1].Text, "10.1.2.3", "the administrator's address stays out of the mail")

	v, err = admin.ViewUser(ctx, uid)
	require.NoError(t, err)
	assert.Nil(t, v.TOTP)
	assert.Zero(t, v.RecoveryCodes)
	assert.True(t, res.EnrolmentRequired)
	// The next sign-in no longer offers the lost app: the password is not
	// enough to enrol a new one, the inbox is proven first.
	f.clock.Advance(time.Minute)
	res2 := f.login(t, email, home)
	require.Equal(t, authn.LoginSecondFactor, res2.Status)
	assert.Equal(t, []authn.Method{authn.MethodEmailCode}, res2.Methods)
	_, err = f.svc.RequestEmailCode(ctx, authn.FlowRequest{FlowID: res2.FlowID, Client: home})
	require.NoError(t, err)
	res3, err := f.svc.SubmitEmailCode(ctx, authn.CodeRequest{FlowID: res2.FlowID, Code: f.lastCode(t, email), Client: home})
	require.NoError(t, err)
	require.Equal(t, authn.LoginMFAEnrolmentRequired, res3.Status, "no session before the new app")
	require.Nil(t, res3.Session)

	_, err = f.svc.ConfirmLoginTOTP(ctx, authn.ConfirmLoginTOTPRequest{FlowID: res3.FlowID, FactorID: "x", Code: "000000", Client: home})
	requireCode(t, err, authn.CodeNotFound)
	en, err := f.svc.BeginLoginTOTP(ctx, res3.FlowID)
	require.NoError(t, err)
	_, err = f.svc.ConfirmLoginTOTP(ctx, authn.ConfirmLoginTOTPRequest{FlowID: res3.FlowID, FactorID: en.FactorID, Code: "000000", Client: home})
	require.Error(t, err, "a wrong code")
	done, err := f.svc.ConfirmLoginTOTP(ctx, authn.ConfirmLoginTOTPRequest{FlowID: res3.FlowID, FactorID: en.FactorID,
		Code: totpCode(t, en.Secret, f.clock.Now()), Client: home})
	require.NoError(t, err)
	require.Equal(t, authn.LoginAuthenticated, done.Status)
	assert.Equal(t, authn.AAL2, done.Session.AAL, "inbox and app proven")
	assert.Len(t, done.RecoveryCodes, 10)
	assert.NotNil(t, f.events.lastFor(secevent.MFAEnrolled, uid))
	_, err = f.svc.BeginLoginTOTP(ctx, res3.FlowID)
	require.Error(t, err, "the flow is spent")

	// Enrolled: the sign-in after asks for the new app, as before the reset.
	f.clock.Advance(time.Minute)
	res4 := f.login(t, email, home)
	require.Equal(t, authn.LoginSecondFactor, res4.Status)
	assert.Contains(t, res4.Methods, authn.MethodTOTP)
}

func TestAdminRevokeSessions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	const email = "rolf@example.com"
	f.register(t, email)
	uid := f.userID(t, email)
	a, b := f.login(t, email, home).Session, f.login(t, email, home).Session
	v, err := f.svc.Services.Admin.ViewUser(ctx, uid)
	require.NoError(t, err)
	require.Len(t, v.Sessions, 2)
	res, err := f.svc.Services.Admin.Act(ctx, authn.ActionRevokeSessions, uid, helpdesk)
	require.NoError(t, err)
	assert.Equal(t, 2, res.SessionsRevoked)
	requireAudited(t, f.events.lastFor(secevent.SessionsRevoked, uid), authn.ActionRevokeSessions)
	for _, s := range []*authn.IssuedSession{a, b} {
		_, err := f.svc.Authenticate(ctx, s.Token)
		requireCode(t, err, authn.CodeSessionInvalid)
	}
}

func TestAdminVerificationAndReset(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	admin := f.svc.Services.Admin
	const email = "vito@example.com"
	_, err := f.svc.Register(ctx, authn.RegisterRequest{Email: email, Password: goodPassword, Client: home})
	require.NoError(t, err)
	uid := f.userID(t, email)
	first := f.lastToken(t, email, mail.KindVerifyEmail)

	res, err := admin.Act(ctx, authn.ActionResendVerification, uid, helpdesk)
	require.NoError(t, err)
	assert.True(t, res.MailSent)
	requireAudited(t, f.events.lastFor(secevent.VerificationSent, uid), authn.ActionResendVerification)
	ms := f.mails(t, email, mail.KindVerifyEmail)
	require.Len(t, ms, 2)
	resent := ""
	for _, m := range ms {
		if tok := tokenRe.FindStringSubmatch(m.Text)[1]; tok != first {
			resent = tok
		}
	}
	// The resent link works and replaced the first (opened without the
	// registration secret: the inbox claims the account, which gets a
	// password token).
	_, err = f.svc.VerifyEmail(ctx, authn.VerifyEmailRequest{Token: first, Client: home})
	requireCode(t, err, authn.CodeInvalidToken)
	vr, err := f.svc.VerifyEmail(ctx, authn.VerifyEmailRequest{Token: resent, Client: home})
	require.NoError(t, err)
	assert.NotEmpty(t, vr.PasswordToken)
	_, err = admin.Act(ctx, authn.ActionResendVerification, uid, helpdesk)
	requireCode(t, err, authn.CodeAlreadyVerified)

	res, err = admin.Act(ctx, authn.ActionPasswordReset, uid, helpdesk)
	require.NoError(t, err)
	assert.True(t, res.MailSent)
	requireAudited(t, f.events.lastFor(secevent.PasswordResetSent, uid), authn.ActionPasswordReset)
	require.NoError(t, f.svc.ResetPassword(ctx, authn.ResetPasswordRequest{Token: f.lastToken(t, email, mail.KindPasswordReset),
		NewPassword: "another long passphrase here", Client: home}))

	// Mark verified, on an account registered and never verified.
	const other = "otto@example.com"
	_, err = f.svc.Register(ctx, authn.RegisterRequest{Email: other, Password: goodPassword, Client: home})
	require.NoError(t, err)
	oid := f.userID(t, other)
	res, err = admin.Act(ctx, authn.ActionMarkVerified, oid, helpdesk)
	require.NoError(t, err)
	assert.True(t, res.Changed)
	requireAudited(t, f.events.lastFor(secevent.UserVerified, oid), authn.ActionMarkVerified)
	u, err := f.store.UserByID(ctx, oid)
	require.NoError(t, err)
	assert.Equal(t, f.clock.Now(), u.EmailVerifiedAt)
	res, err = admin.Act(ctx, authn.ActionMarkVerified, oid, helpdesk)
	require.NoError(t, err)
	assert.False(t, res.Changed)
}

func TestAdminDelete(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	const email = "dana@example.com"
	f.register(t, email)
	uid := f.userID(t, email)
	s := f.login(t, email, home).Session
	res, err := f.svc.Services.Admin.Act(ctx, authn.ActionDelete, uid, helpdesk)
	require.NoError(t, err)
	assert.True(t, res.Changed)
	ev := f.events.lastFor(secevent.UserDeleted, uid)
	requireAudited(t, ev, authn.ActionDelete)
	assert.Empty(t, ev.Email, "the tombstone carries the id, not the address")
	_, err = f.svc.Authenticate(ctx, s.Token)
	requireCode(t, err, authn.CodeSessionInvalid)
	_, err = f.svc.Services.Admin.ViewUser(ctx, uid)
	requireCode(t, err, authn.CodeNotFound)
	_, err = f.svc.Services.Admin.Act(ctx, authn.ActionDelete, uid, helpdesk)
	requireCode(t, err, authn.CodeNotFound)
	f.register(t, email) // the address is free again
}

func TestAdminSearch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	admin := f.svc.Services.Admin
	for i := range 7 {
		f.clock.Advance(time.Minute)
		_, err := f.svc.Register(ctx, authn.RegisterRequest{Email: fmt.Sprintf("pat%d@example.com", i), Password: goodPassword, Client: rotating(i)})
		require.NoError(t, err)
	}
	var seen []string
	q := authn.UserQuery{EmailPrefix: "PAT", Limit: 3}
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		p, err := admin.SearchUsers(ctx, q)
		require.NoError(t, err)
		for _, u := range p.Users {
			seen = append(seen, u.Email)
		}
		if !p.More {
			break
		}
		last := p.Users[len(p.Users)-1]
		q.AfterCreated, q.AfterID = last.CreatedAt, last.ID
	}
	assert.Equal(t, []string{"pat0@example.com", "pat1@example.com", "pat2@example.com", "pat3@example.com",
		"pat4@example.com", "pat5@example.com", "pat6@example.com"}, seen)
	p, err := admin.SearchUsers(ctx, authn.UserQuery{Status: authn.StatusActive})
	require.NoError(t, err)
	assert.Empty(t, p.Users, "none verified")
	_, err = admin.SearchUsers(ctx, authn.UserQuery{Status: "gone"})
	requireCode(t, err, authn.CodeInvalidRequest)
}
