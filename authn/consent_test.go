package authn_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
)

// consentFixture declares terms (required, version 1) and marketing
// (optional).
func consentFixture(t *testing.T) *fixture {
	return newFixture(t, fixtureOpts{cfg: func(c *authn.Config) {
		c.Account.Purposes = []authn.PurposeSpec{
			{Name: "terms", Required: true, Versions: []authn.PurposeVersion{{Version: 1, URL: "https://example.com/terms/1"}}},
			{Name: "marketing", Versions: []authn.PurposeVersion{{Version: 1, Text: "Offers by mail"}}},
		}
		c.Account.Preferences = authn.PreferenceSpec{Channels: []string{"email"}, Topics: []string{"news"}, Languages: []string{"en"}}
	}})
}

// registerConsenting registers email accepting terms at version v.
func (f *fixture) registerConsenting(t *testing.T, svc *service, email string, v int) {
	t.Helper()
	f.register1(t, svc, email, v, home)
}

// registerConsentingFrom registers email from c, accepting terms v1.
func (f *fixture) registerConsentingFrom(t *testing.T, email string, c authn.Client) {
	t.Helper()
	f.register1(t, f.svc, email, 1, c)
}

func (f *fixture) register1(t *testing.T, svc *service, email string, v int, c authn.Client) {
	t.Helper()
	res, err := svc.Register(t.Context(), authn.RegisterRequest{Email: email, Password: goodPassword, Client: c,
		Consents: []authn.ConsentChoice{{Purpose: "terms", Version: v}}})
	require.NoError(t, err)
	_, err = svc.VerifyEmail(t.Context(), authn.VerifyEmailRequest{Token: f.lastToken(t, email, mail.KindVerifyEmail),
		Binding: res.Binding, Client: c})
	require.NoError(t, err)
}

// TestRegistrationConsents: a registration must accept every required
// purpose at its current version (checked before anything else, so a
// taken address answers alike); the grants enter the ledger, with an
// event each; a taken address records nothing.
func TestRegistrationConsents(t *testing.T) {
	t.Parallel()
	f := consentFixture(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name     string
		consents []authn.ConsentChoice
		field    string
	}{
		{"none", nil, "consents"},
		{"optional only", []authn.ConsentChoice{{Purpose: "marketing", Version: 1}}, "consents"},
		{"outdated", []authn.ConsentChoice{{Purpose: "terms", Version: 2}}, "consents[0].version"},
		{"unknown", []authn.ConsentChoice{{Purpose: "terms", Version: 1}, {Purpose: "cookies", Version: 1}}, "consents[1].purpose"},
	} {
		_, err := f.svc.Register(ctx, authn.RegisterRequest{Email: "reg-consent@example.com", Password: goodPassword, Client: home,
			Consents: tc.consents})
		requireCode(t, err, authn.CodeInvalidRequest)
		var ae *authn.Error
		require.ErrorAs(t, err, &ae)
		require.Len(t, ae.Fields, 1, tc.name)
		assert.Equal(t, tc.field, ae.Fields[0].Field, tc.name)
	}
	assert.Empty(t, f.mails(t, "reg-consent@example.com", ""), "refused before anything")

	f.registerConsenting(t, f.svc, "reg-consent@example.com", 1)
	u, err := f.store.UserByEmail(ctx, "reg-consent@example.com")
	require.NoError(t, err)
	h, err := f.store.ConsentHistory(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, h, 1)
	assert.Equal(t, authn.ConsentSourceRegistration, h[0].Source)
	assert.Equal(t, "198.51.100.10", h[0].IP)
	assert.Equal(t, 1, f.events.count(secevent.ConsentGranted, u.ID))

	// Again for the taken address: the same answer, nothing recorded.
	_, err = f.svc.Register(ctx, authn.RegisterRequest{Email: "reg-consent@example.com", Password: goodPassword, Client: home,
		Consents: []authn.ConsentChoice{{Purpose: "terms", Version: 1}, {Purpose: "marketing", Version: 1}}})
	require.NoError(t, err)
	h, err = f.store.ConsentHistory(ctx, u.ID)
	require.NoError(t, err)
	assert.Len(t, h, 1)
	assert.Equal(t, 1, f.events.count(secevent.ConsentGranted, ""))
}

// TestConsentRequiredAtSignIn: once a new version of a required purpose
// is published, every sign-in path that passes its factors answers
// consent_required (no session, the outcome still owed) until the
// version is accepted on the flow; accepting continues the sign-in with
// the assurance level its factors earned. The flow completes once.
func TestConsentRequiredAtSignIn(t *testing.T) {
	t.Parallel()
	f := consentFixture(t)
	ctx := t.Context()
	const email, mfaEmail = "consent-signin@example.com", "consent-mfa@example.com"
	// Each account on its own device: several on one device step up.
	work := client("198.51.100.20", "work-laptop-cookie-0002")
	f.registerConsenting(t, f.svc, email, 1)
	require.Equal(t, authn.LoginAuthenticated, f.login(t, email, home).Status)
	f.registerConsentingFrom(t, mfaEmail, work)
	res := f.login(t, mfaEmail, work)
	require.Equal(t, authn.LoginAuthenticated, res.Status)
	secret, _ := f.enrolTOTP(t, res.Session)

	// Version 2 of the terms is published: a new instance with it.
	f.cfg.Account.Purposes[0].Versions = append(f.cfg.Account.Purposes[0].Versions,
		authn.PurposeVersion{Version: 2, URL: "https://example.com/terms/2"})
	svc := f.instance(t)

	res, err := svc.Login(ctx, authn.LoginRequest{Identifier: email, Password: goodPassword, Client: home})
	require.NoError(t, err)
	require.Equal(t, authn.LoginConsentRequired, res.Status)
	assert.Nil(t, res.Session)
	require.NotEmpty(t, res.FlowID)
	require.Len(t, res.Consents, 1)
	assert.Equal(t, "terms", res.Consents[0].Purpose.Name)
	assert.Equal(t, 2, res.Consents[0].Current.Version)
	assert.True(t, res.Consents[0].Outdated)

	_, err = svc.AcceptConsents(ctx, authn.AcceptConsentsRequest{FlowID: res.FlowID, Client: home,
		Consents: []authn.ConsentChoice{{Purpose: "marketing", Version: 1}}})
	requireCode(t, err, authn.CodeInvalidRequest)
	_, err = svc.AcceptConsents(ctx, authn.AcceptConsentsRequest{FlowID: res.FlowID, Client: home,
		Consents: []authn.ConsentChoice{{Purpose: "terms", Version: 1}}})
	requireCode(t, err, authn.CodeInvalidRequest)
	_, err = svc.SubmitPassword(ctx, authn.PasswordRequest{FlowID: res.FlowID, Password: goodPassword, Client: home})
	require.Error(t, err, "the flow waits for consents, nothing else")

	// Concurrent accepts of one flow: one session.
	const n = 8
	results := make(chan *authn.LoginResult, n)
	for range n {
		go func() {
			r, err := svc.AcceptConsents(ctx, authn.AcceptConsentsRequest{FlowID: res.FlowID, Client: home,
				Consents: []authn.ConsentChoice{{Purpose: "terms", Version: 2}, {Purpose: "marketing", Version: 1}}})
			if err != nil {
				assert.Equal(t, authn.CodeFlowExpired, authn.CodeOf(err), "%v", err)
			}
			results <- r
		}()
	}
	won := 0
	for range n {
		if r := <-results; r != nil {
			require.Equal(t, authn.LoginAuthenticated, r.Status)
			assert.Equal(t, authn.AAL1, r.Session.AAL)
			won++
		}
	}
	assert.Equal(t, 1, won)
	u, err := f.store.UserByEmail(ctx, email)
	require.NoError(t, err)
	h, err := f.store.ConsentHistory(ctx, u.ID)
	require.NoError(t, err)
	last := h[len(h)-1]
	assert.Equal(t, authn.ConsentSourceSignIn, last.Source)
	assert.GreaterOrEqual(t, f.events.count(secevent.ConsentGranted, u.ID), 3, "registration, then terms v2 and marketing")

	res, err = svc.Login(ctx, authn.LoginRequest{Identifier: email, Password: goodPassword, Client: home})
	require.NoError(t, err)
	assert.Equal(t, authn.LoginAuthenticated, res.Status, "accepted: no more questions")

	t.Run("after a second factor", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		res, err := svc.StartLogin(ctx, authn.StartLoginRequest{Identifier: mfaEmail, Client: work})
		require.NoError(t, err)
		res, err = svc.SubmitPassword(ctx, authn.PasswordRequest{FlowID: res.FlowID, Password: goodPassword, Client: work})
		require.NoError(t, err)
		require.Equal(t, authn.LoginSecondFactor, res.Status)
		res, err = svc.SubmitTOTP(ctx, authn.CodeRequest{FlowID: res.FlowID, Code: totpCode(t, secret, f.clock.Now()), Client: work})
		require.NoError(t, err)
		require.Equal(t, authn.LoginConsentRequired, res.Status)
		res, err = svc.AcceptConsents(ctx, authn.AcceptConsentsRequest{FlowID: res.FlowID, Client: work,
			Consents: []authn.ConsentChoice{{Purpose: "terms", Version: 2}}})
		require.NoError(t, err)
		require.Equal(t, authn.LoginAuthenticated, res.Status)
		assert.Equal(t, authn.AAL2, res.Session.AAL, "the factors' assurance carries over the consent step")
	})
}

// TestConsentEvents: grants, withdrawals and preference changes are
// events for the stream, with what a CRM needs (purpose, version,
// source) and never a preference value.
func TestConsentEvents(t *testing.T) {
	t.Parallel()
	f := consentFixture(t)
	ctx := t.Context()
	const email = "consent-events@example.com"
	f.registerConsenting(t, f.svc, email, 1)
	sess := f.login(t, email, home).Session
	self := f.svc.Services.SelfService

	v, err := self.GrantConsents(ctx, authn.GrantConsentsRequest{SessionToken: sess.Token, Client: home,
		Consents: []authn.ConsentChoice{{Purpose: "marketing", Version: 1}}})
	require.NoError(t, err)
	assert.True(t, v.Purposes[1].Granted)
	_, err = self.WithdrawConsent(ctx, sess.Token, "marketing", home)
	require.NoError(t, err)
	_, err = self.WithdrawConsent(ctx, sess.Token, "terms", home)
	require.NoError(t, err, "withdrawing a required purpose is allowed")

	var got []map[string]string
	for _, ev := range f.events.all {
		if ev.Type == secevent.ConsentGranted || ev.Type == secevent.ConsentWithdrawn {
			d := map[string]string{"type": string(ev.Type)}
			for k, v := range ev.Details {
				if k != "consent_id" {
					d[k] = v
				}
			}
			assert.NotEmpty(t, ev.Details["consent_id"])
			got = append(got, d)
		}
	}
	assert.Equal(t, []map[string]string{
		{"type": "consent_granted", "purpose": "terms", "version": "1", "source": "registration"},
		{"type": "consent_granted", "purpose": "marketing", "version": "1", "source": "account"},
		{"type": "consent_withdrawn", "purpose": "marketing", "version": "1", "source": "account"},
		{"type": "consent_withdrawn", "purpose": "terms", "version": "1", "source": "account"},
	}, got)

	res, err := f.svc.Login(ctx, authn.LoginRequest{Identifier: email, Password: goodPassword, Client: home})
	require.NoError(t, err)
	assert.Equal(t, authn.LoginConsentRequired, res.Status, "the withdrawn terms are asked for again")

	lang := "en"
	_, err = self.UpdatePreferences(ctx, authn.UpdatePreferencesRequest{SessionToken: sess.Token, IfMatch: 0, Client: home,
		Patch: authn.PreferencesPatch{Language: &lang, Channels: &[]string{"email"}}})
	require.NoError(t, err)
	ev := f.events.all[len(f.events.all)-1]
	assert.Equal(t, secevent.PreferencesUpdated, ev.Type)
	assert.Equal(t, map[string]string{"fields": "channels,language", "version": "1"}, ev.Details)
}

func TestPurposesValidate(t *testing.T) {
	t.Parallel()
	v1 := []authn.PurposeVersion{{Version: 1, URL: "https://example.com/t/1"}}
	for _, tt := range []struct {
		name     string
		purposes []authn.PurposeSpec
		prefs    authn.PreferenceSpec
		want     string // "" for valid
	}{
		{"valid", []authn.PurposeSpec{{Name: "terms", Required: true, Versions: v1}, {Name: "ads", Versions: []authn.PurposeVersion{{Version: 2, Text: "t"}}}},
			authn.PreferenceSpec{Channels: []string{"email"}, Languages: []string{"de-CH"}}, ""},
		{"bad name", []authn.PurposeSpec{{Name: "Terms", Versions: v1}}, authn.PreferenceSpec{}, `name "Terms"`},
		{"twice", []authn.PurposeSpec{{Name: "t", Versions: v1}, {Name: "t", Versions: v1}}, authn.PreferenceSpec{}, "declared twice"},
		{"no versions", []authn.PurposeSpec{{Name: "t"}}, authn.PreferenceSpec{}, "versions: want 1-100"},
		{"version zero", []authn.PurposeSpec{{Name: "t", Versions: []authn.PurposeVersion{{Version: 0, Text: "x"}}}}, authn.PreferenceSpec{}, "positive"},
		{"version twice", []authn.PurposeSpec{{Name: "t", Versions: append(v1, v1...)}}, authn.PreferenceSpec{}, "version 1 declared twice"},
		{"no text", []authn.PurposeSpec{{Name: "t", Versions: []authn.PurposeVersion{{Version: 1}}}}, authn.PreferenceSpec{}, "url or text is required"},
		{"bad url", []authn.PurposeSpec{{Name: "t", Versions: []authn.PurposeVersion{{Version: 1, URL: "javascript:alert(1)"}}}}, authn.PreferenceSpec{}, "absolute http(s) URL"},
		{"bad channel", nil, authn.PreferenceSpec{Channels: []string{"E-Mail"}}, `preferences.channels[0] "E-Mail"`},
		{"topic twice", nil, authn.PreferenceSpec{Topics: []string{"a", "a"}}, "listed twice"},
		{"bad language", nil, authn.PreferenceSpec{Languages: []string{"de_ch"}}, "canonical BCP 47"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := authn.AccountConfig{Purposes: tt.purposes, Preferences: tt.prefs}
			c.SetDefaults()
			err := c.Validate()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
