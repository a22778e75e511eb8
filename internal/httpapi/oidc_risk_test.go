package httpapi_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/riskauth/riskauth/authn/oidc"
)

// oidcRiskRules block authorizations for one client and refreshes
// without a user agent for another, by the event kinds and the client_id
// attribute the provider sends.
const oidcRiskRules = `version: 1
thresholds: { step_up: 40, block: 80 }
rules:
  - id: blocked-client
    description: this client may not be authorized
    when: event.kind == "oidc_authorize" && attr.client_id == "blocked-app"
    action: block
  - id: refresh-without-user-agent
    description: refreshes of web-app from a client that sends no user agent
    when: event.kind == "token_refresh" && attr.client_id == "web-app" && event.empty_user_agent
    action: block
`

// TestOIDCRiskInTheFlow: the engine judges every authorization and every
// refresh. A blocked authorization goes back to the client as
// access_denied with no code; a refused refresh revokes the family.
func TestOIDCRiskInTheFlow(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(oidcRiskRules), 0o600))
	e := newOIDCEnvRules(t, path, oidc.ClientConfig{ID: "blocked-app", FirstParty: true, SecretHash: sha256Hex(rpSecret), RedirectURIs: []string{rpRedirect}})
	const email = "barbara@example.com"
	e.browser().register(email)

	// The blocked client: the sign-in passes, the authorization does not.
	blocked := e.rp("blocked-app", rpSecret, rpRedirect)
	_, ch := pkce()
	ua := e.userAgent()
	p := ua.get(blocked.conf.AuthCodeURL("st", ch))
	require.Equal(t, http.StatusOK, p.status)
	p = ua.submit(p, map[string]string{"identifier": email, "password": userPassword})
	require.Equal(t, http.StatusFound, p.status, p.body)
	back, err := url.Parse(p.location)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(p.location, rpRedirect+"?"))
	assert.Equal(t, "access_denied", back.Query().Get("error"))
	assert.Empty(t, back.Query().Get("code"))

	// web-app: authorized; a refresh with a user agent passes, one
	// without is blocked and ends the family.
	r := e.rp(rpConfidential, rpSecret, rpRedirect, "offline_access")
	v, ch := pkce()
	back = e.userAgent().authorize(r.conf.AuthCodeURL("st", ch), email)
	tok, err := r.conf.Exchange(r.ctx, e.auth.track(back.Query().Get("code")), oauth2.VerifierOption(v))
	require.NoError(t, err)
	e.auth.track(tok.AccessToken)
	e.auth.track(tok.RefreshToken)
	refresh := func(rt, ua string) (*oauth2.Token, error) {
		return r.conf.TokenSource(oauth2WithUA(r.ctx, ua), &oauth2.Token{RefreshToken: rt, Expiry: time.Now().Add(-time.Minute)}).Token()
	}
	tok2, err := refresh(tok.RefreshToken, browserUA)
	require.NoError(t, err)
	e.auth.track(tok2.AccessToken)
	e.auth.track(tok2.RefreshToken)
	_, err = refresh(tok2.RefreshToken, "")
	assertOAuthError(t, err, "invalid_grant")
	_, err = refresh(tok2.RefreshToken, browserUA)
	assertOAuthError(t, err, "invalid_grant")
	assert.Contains(t, e.logs.String(), "the risk engine blocked a refresh")
}
