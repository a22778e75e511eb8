package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/riskauth/riskauth/authn/oidc"
	"github.com/riskauth/riskauth/authn/secevent"
)

const rpThirdParty = "partner-app"

func thirdParty() oidc.ClientConfig {
	return oidc.ClientConfig{ID: rpThirdParty, Name: "Partner Shop", SecretHash: sha256Hex(rpSecret), RedirectURIs: []string{rpRedirect},
		GrantTypes: []string{"authorization_code", "refresh_token"}}
}

// signIn fills in the login form of authURL and returns the page the
// browser lands on at riskauth (the consent page), or the redirect to
// the client.
func (b *userAgent) signIn(authURL, email string) page {
	b.e.t.Helper()
	p := b.get(authURL)
	require.Equal(b.e.t, oidc.DefaultLoginPath, p.url.Path, "the login page: %s", p.body)
	return b.submit(p, map[string]string{"identifier": email, "password": userPassword})
}

// backTo is the redirect to the client a page ends with.
func backTo(t *testing.T, p page) url.Values {
	t.Helper()
	require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, p.status, "redirected to the client: %s", p.body)
	u, err := url.Parse(p.location)
	require.NoError(t, err)
	require.Equal(t, rpRedirect, u.Scheme+"://"+u.Host+u.Path)
	return u.Query()
}

// appsOf is the user's GET /v1/account/apps with the browser's session.
func (b *userAgent) apps() []map[string]any {
	t := b.e.t
	t.Helper()
	p := b.get(b.e.url + "/v1/account/apps")
	require.Equal(t, http.StatusOK, p.status, p.body)
	var body struct {
		Apps []map[string]any `json:"apps"`
	}
	require.NoError(t, json.Unmarshal([]byte(p.body), &body))
	return body.Apps
}

// TestOIDCConsent: a third-party client's first authorization shows what
// it will receive; allowing it is remembered (the next authorization goes
// straight to the code), listed in the user's apps and revocable, which
// ends the client's refresh tokens; prompt=consent asks again; denying
// sends access_denied; prompt=none without consent is consent_required.
// A first-party client never shows the screen (TestOIDCCodeFlow).
func TestOIDCConsent(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t, thirdParty())
	const email = "consent@example.com"
	e.browser().register(email)
	r := e.rp(rpThirdParty, rpSecret, rpRedirect, "email", "offline_access")
	ua := e.userAgent()

	// prompt=none before any consent: consent_required, after signing in
	// once (the session exists, the consent does not).
	_, challenge := pkce()
	p := ua.signIn(r.conf.AuthCodeURL("st-0", challenge), email)
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Equal(t, oidc.DefaultConsentPath, p.url.Path, "the consent page follows the login step")
	assert.Contains(t, p.body, "Allow Partner Shop?")
	for _, s := range []string{"openid", "email", "offline_access"} {
		assert.Contains(t, p.body, `data-scope="`+s+`"`)
	}
	assert.Contains(t, p.body, "Your email address")
	// Another browser (no session, or another session) cannot answer it.
	stranger := e.userAgent()
	sp := stranger.get(p.url.String())
	assert.Equal(t, http.StatusForbidden, sp.status)
	assert.Contains(t, sp.body, "another sign-in")

	// Deny: back to the client with access_denied, no code.
	q := backTo(t, ua.submit(p, map[string]string{"decision": "deny"}))
	assert.Equal(t, "access_denied", q.Get("error"))
	assert.Equal(t, "st-0", q.Get("state"))
	assert.Empty(t, q.Get("code"))

	_, challenge = pkce()
	back := ua.get(r.conf.AuthCodeURL("st-n", challenge, oauth2.SetAuthURLParam("prompt", "none")))
	q = backTo(t, back)
	assert.Equal(t, "consent_required", q.Get("error"))

	// Allow: the code, and the consent is remembered.
	verifier, challenge := pkce()
	p = ua.get(r.conf.AuthCodeURL("st-1", challenge, gooidc.Nonce("n-1")))
	require.Equal(t, oidc.DefaultConsentPath, p.url.Path, "single sign-on, then the consent page: %s", p.body)
	q = backTo(t, ua.submit(p, map[string]string{"decision": "allow"}))
	code := q.Get("code")
	require.NotEmpty(t, code)
	e.auth.track(code)
	tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	e.auth.track(tok.AccessToken)
	e.auth.track(tok.RefreshToken)

	apps := ua.apps()
	require.Len(t, apps, 1)
	assert.Equal(t, rpThirdParty, apps[0]["client_id"])
	assert.Equal(t, "Partner Shop", apps[0]["name"])
	assert.ElementsMatch(t, []any{"openid", "email", "offline_access"}, apps[0]["scopes"])
	granted, err := time.Parse(time.RFC3339Nano, apps[0]["granted_at"].(string))
	require.NoError(t, err)
	assert.False(t, granted.IsZero())
	require.Len(t, e.events.of(secevent.OIDCConsentGranted), 1)
	assert.Equal(t, rpThirdParty, e.events.of(secevent.OIDCConsentGranted)[0].Details["client_id"])

	// The next authorization asking for no more: straight to the code.
	_, challenge = pkce()
	q = backTo(t, ua.get(r.conf.AuthCodeURL("st-2", challenge)))
	assert.NotEmpty(t, q.Get("code"))
	// prompt=consent: the screen again.
	_, challenge = pkce()
	p = ua.get(r.conf.AuthCodeURL("st-3", challenge, oauth2.SetAuthURLParam("prompt", "consent")))
	assert.Equal(t, oidc.DefaultConsentPath, p.url.Path)

	// Revoke: the app leaves the list and its refresh token is dead.
	req, err := http.NewRequest(http.MethodDelete, e.url+"/v1/account/apps/"+rpThirdParty, nil)
	require.NoError(t, err)
	req.Header.Set("Origin", e.url)
	dp := ua.do(req)
	require.Equal(t, http.StatusOK, dp.status, dp.body)
	assert.Empty(t, ua.apps())
	_, err = r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
	assertOAuthError(t, err, "invalid_grant")
	_, err = r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
	assert.Error(t, err, "the access token is revoked too")
	dp = ua.do(req)
	assert.Equal(t, http.StatusNotFound, dp.status, "revoked already")
	assert.Len(t, e.events.of(secevent.OIDCConsentRevoked), 1)

	// Without a session, the list is refused.
	assert.Equal(t, http.StatusUnauthorized, e.get("/v1/account/apps").status)

	// The next authorization asks again.
	_, challenge = pkce()
	p = ua.get(r.conf.AuthCodeURL("st-4", challenge))
	assert.Equal(t, oidc.DefaultConsentPath, p.url.Path)
}
