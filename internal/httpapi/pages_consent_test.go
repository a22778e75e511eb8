package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// TestRegisterPageConsents: the registration form shows every declared
// purpose with its text or link, the required ones required; a required
// one left unticked is a field error on its checkbox (nothing sent), a
// version no longer current is refused with the current one shown, and
// the ticked purposes land in the ledger with source registration.
func TestRegisterPageConsents(t *testing.T) {
	t.Parallel()
	e := newEnvAuthn(t, httpapi.Config{}, "", withConsents)
	const email = "register-consents@example.com"
	f := e.formBrowser(t)
	p := f.do(http.MethodGet, "/register", nil, nil)
	require.Equal(t, http.StatusOK, p.status, "%s", p.body)
	body := string(p.body)
	assert.Contains(t, body, `name="consent" value="terms:3" required`)
	assert.Contains(t, body, `name="consent" value="marketing_email:1">`, "an optional purpose is not required")
	assert.Contains(t, body, `href="https://example.com/privacy/2"`)
	assert.Contains(t, body, "We may mail you offers.")

	for _, tc := range []struct {
		name     string
		consents []string
		status   int
		want     []string
	}{
		{"none", nil, http.StatusUnprocessableEntity, []string{`id="consent-terms" name="consent" value="terms:3" required aria-invalid="true"`,
			`id="consent-privacy_policy-error"`, "Please agree to the required items below."}},
		{"one of two", []string{"terms:3", "marketing_email:1"}, http.StatusUnprocessableEntity, []string{
			`value="terms:3" checked required>`, `value="marketing_email:1" checked>`, `id="consent-privacy_policy-error"`}},
		{"outdated version", []string{"terms:2", "privacy_policy:2"}, http.StatusUnprocessableEntity, []string{`id="consent-terms-error"`}},
		{"unknown purpose", []string{"terms:3", "privacy_policy:2", "lottery:1"}, http.StatusUnprocessableEntity, []string{"The terms changed"}},
	} {
		v := hidden(t, p.body)
		v.Set("email", email)
		v.Set("password", userPassword)
		v["consent"] = tc.consents
		r := f.do(http.MethodPost, "/register", v, nil)
		assert.Equal(t, tc.status, r.status, "%s: %.400s", tc.name, r.body)
		for _, w := range tc.want {
			assert.Contains(t, string(r.body), w, tc.name)
		}
	}
	assert.Empty(t, e.auth.mails(t, email, ""), "nothing sent for a refused form")

	v := hidden(t, p.body)
	v.Set("email", email)
	v.Set("password", userPassword)
	v["consent"] = []string{"terms:3", "privacy_policy:2", "analytics:1"}
	r := f.do(http.MethodPost, "/register", v, nil)
	require.Equal(t, http.StatusAccepted, r.status, "%.400s", r.body)
	b := e.browser()
	b.reg = f.cookies[httpapi.RegistrationCookie] // the registering browser
	r = b.post("/v1/verify-email", map[string]any{"token": e.auth.token(t, email, mail.KindVerifyEmail)})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	b.signIn(email)
	got := map[string]bool{}
	for _, p := range b.get("/v1/account/consents").consents(t).Purposes {
		got[p.Purpose] = p.Granted
	}
	assert.Equal(t, map[string]bool{"terms": true, "privacy_policy": true, "analytics": true, "marketing_email": false}, got)
}

// TestSigninPageConsentStep: a sign-in held for a required purpose's new
// version shows the consent step (its text link, the field required);
// leaving it unticked is the field error, and ticking it signs in and
// records the grant (source sign_in).
func TestSigninPageConsentStep(t *testing.T) {
	t.Parallel()
	e := newEnvAuthn(t, httpapi.Config{}, "", withConsents)
	const email = "signin-consent-page@example.com"
	e.browser().registerWith(email, allRequired)
	u, err := e.auth.store.UserByEmail(t.Context(), email)
	require.NoError(t, err)
	// Accepted at version 2 only, before version 3 was published.
	require.NoError(t, e.auth.store.AppendConsents(t.Context(), []authn.ConsentRecord{{ID: uuid.Must(uuid.NewV7()).String(),
		UserID: u.ID, Purpose: "terms", Version: 2, Action: authn.ConsentGrant, At: time.Now(), Source: authn.ConsentSourceAccount}}))

	f := e.formBrowser(t)
	p := f.do(http.MethodGet, "/login?return_to=%2Faccount%2Fprivacy", nil, nil)
	p = f.submit(p, "/login", map[string]string{"identifier": email})
	p = f.submit(p, "/login", map[string]string{"password": userPassword})
	require.Equal(t, http.StatusOK, p.status, "%s", p.body)
	body := string(p.body)
	require.Contains(t, body, `data-state="consent"`)
	assert.Contains(t, body, `value="terms:3" required`)
	assert.Contains(t, body, `href="https://example.com/terms/3"`)
	assert.NotContains(t, body, "privacy_policy:", "only what is pending")
	assert.Empty(t, f.cookies[httpapi.SessionCookie], "no session before the consent")

	r := f.submit(p, "/login", nil)
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), `id="consent-terms-error"`)
	assert.Empty(t, f.cookies[httpapi.SessionCookie])

	v := hidden(t, r.body)
	v.Set("consent", "terms:3")
	r = f.do(http.MethodPost, "/login", v, nil)
	require.Equal(t, http.StatusSeeOther, r.status, "%s", r.body)
	assert.Equal(t, "/account/privacy", r.header.Get("Location"))
	require.NotEmpty(t, f.cookies[httpapi.SessionCookie])

	b := e.browser()
	b.cookie = f.cookies[httpapi.SessionCookie]
	hist := b.get("/v1/account/consents").consents(t).History
	require.NotEmpty(t, hist)
	assert.Equal(t, "terms", hist[0].Purpose)
	assert.Equal(t, 3, hist[0].Version)
	assert.Equal(t, "sign_in", hist[0].Source)
}

// TestOIDCLoginConsentStep: the OpenID Connect login shows the same
// consent step for a sign-in held for consents; ticked, the
// authorization goes on to the client.
func TestOIDCLoginConsentStep(t *testing.T) {
	t.Parallel()
	e := newOIDCEnvWith(t, "", withConsents)
	const email = "oidc-consent-page@example.com"
	e.browser().registerWith(email, allRequired)
	u, err := e.auth.store.UserByEmail(t.Context(), email)
	require.NoError(t, err)
	require.NoError(t, e.auth.store.AppendConsents(t.Context(), []authn.ConsentRecord{{ID: uuid.Must(uuid.NewV7()).String(),
		UserID: u.ID, Purpose: "terms", Version: 2, Action: authn.ConsentGrant, At: time.Now(), Source: authn.ConsentSourceAccount}}))
	r := e.rp(rpConfidential, rpSecret, rpRedirect, "email")
	_, challenge := pkce()
	ua := e.userAgent()
	p := ua.get(r.conf.AuthCodeURL("st-c", challenge))
	require.Equal(t, http.StatusOK, p.status, "%s", p.body)
	p = ua.submit(p, map[string]string{"identifier": email, "password": userPassword})
	require.Equal(t, http.StatusOK, p.status, "%s", p.body)
	require.Contains(t, p.body, `data-state="consent"`)
	assert.Contains(t, p.body, `action="/oidc/login/consent"`)
	p = ua.submit(p, nil)
	require.Equal(t, http.StatusUnprocessableEntity, p.status, "%s", p.body)
	assert.Contains(t, p.body, `id="consent-terms-error"`)
	p = ua.submit(p, map[string]string{"consent": "terms:3"})
	require.Equal(t, http.StatusFound, p.status, "on to the client: %s", p.body)
	back, err := url.Parse(p.location)
	require.NoError(t, err)
	assert.Equal(t, "st-c", back.Query().Get("state"))
	assert.NotEmpty(t, back.Query().Get("code"))
}
