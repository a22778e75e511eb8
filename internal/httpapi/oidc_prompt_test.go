package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/riskauth/riskauth/authn/oidc"
)

// TestOIDCPromptAndSingleSignOn: a browser with a live riskauth session
// is not asked again (single sign-on), unless prompt=login or max_age
// says the sign-in is too old, or acr_values asks for more than the
// session has; prompt=none without a session goes back to the client with
// login_required.
func TestOIDCPromptAndSingleSignOn(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t)
	const email = "margaret@example.com"
	e.browser().register(email)
	r := e.rp(rpConfidential, rpSecret, rpRedirect, "email")
	ua := e.userAgent()
	authURL := func(opts ...oauth2.AuthCodeOption) string {
		_, ch := pkce()
		return r.conf.AuthCodeURL("st", append(opts, ch)...)
	}
	param := oauth2.SetAuthURLParam
	back := ua.authorize(authURL(), email)
	require.NotEmpty(t, back.Query().Get("code"))
	e.auth.track(back.Query().Get("code"))

	// Returned to the client without a form: the session answers.
	sso := func(name string, opts ...oauth2.AuthCodeOption) {
		t.Helper()
		p := ua.get(authURL(opts...))
		require.Equal(t, http.StatusFound, p.status, "%s: %s", name, p.body)
		require.True(t, strings.HasPrefix(p.location, rpRedirect+"?"), "%s: %s", name, p.location)
		u, err := url.Parse(p.location)
		require.NoError(t, err)
		assert.NotEmpty(t, e.auth.track(u.Query().Get("code")), name)
		assert.Empty(t, u.Query().Get("error"), name)
	}
	sso("no prompt")
	sso("prompt=none", param("prompt", "none"))
	sso("max_age in range", param("max_age", "3600"))

	// The form again.
	form := func(name string, opts ...oauth2.AuthCodeOption) {
		t.Helper()
		p := ua.get(authURL(opts...))
		require.Equal(t, http.StatusOK, p.status, "%s: %s", name, p.body)
		assert.Equal(t, oidc.DefaultLoginPath, p.url.Path, name)
		assert.Contains(t, p.body, `data-state="password"`, name)
	}
	form("prompt=login", param("prompt", "login"))
	form("max_age=0", param("max_age", "0"))
	form("AAL2 asked, AAL1 session", param("acr_values", oidc.ACRAAL2))

	// prompt=none without a session: login_required, to the client.
	p := e.userAgent().get(authURL(param("prompt", "none")))
	require.Equal(t, http.StatusFound, p.status, p.body)
	u, err := url.Parse(p.location)
	require.NoError(t, err)
	assert.Equal(t, "login_required", u.Query().Get("error"))
	assert.Equal(t, "st", u.Query().Get("state"))
	assert.Empty(t, u.Query().Get("code"))
}
