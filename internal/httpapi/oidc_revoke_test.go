package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// TestOIDCIntrospectAndRevoke: RFC 7662 answers active only for a live
// token and only to its client; RFC 7009 revocation of the refresh token
// ends its family, of an access token that token alone.
func TestOIDCIntrospectAndRevoke(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t)
	const email = "katherine@example.com"
	e.browser().register(email)
	r := e.rp(rpConfidential, rpSecret, rpRedirect, "email", "offline_access")
	grant := func() *oauth2.Token {
		v, ch := pkce()
		back := e.userAgent().authorize(r.conf.AuthCodeURL("s", ch), email)
		tok, err := r.conf.Exchange(r.ctx, e.auth.track(back.Query().Get("code")), oauth2.VerifierOption(v))
		require.NoError(t, err)
		e.auth.track(tok.AccessToken)
		e.auth.track(tok.RefreshToken)
		return tok
	}
	form := func(path, client, secret string, v url.Values) (int, map[string]any) {
		req, err := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(v.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(client, secret)
		resp, err := e.http.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		m := map[string]any{}
		_ = json.Unmarshal(raw, &m)
		return resp.StatusCode, m
	}
	introspect := func(tok string) map[string]any {
		st, m := form("/oauth/introspect", rpConfidential, rpSecret, url.Values{"token": {tok}})
		require.Equal(t, http.StatusOK, st, "%v", m)
		return m
	}

	tok := grant()
	m := introspect(tok.AccessToken)
	assert.Equal(t, true, m["active"])
	assert.Equal(t, rpConfidential, m["client_id"])
	assert.Equal(t, email, m["email"])
	assert.Contains(t, m["scope"], "email")
	assert.Equal(t, false, introspect("not-a-token")["active"])
	st, _ := form("/oauth/introspect", rpConfidential, "wrong-secret-0123456789abcdef0123456", url.Values{"token": {tok.AccessToken}})
	assert.Equal(t, http.StatusUnauthorized, st, "the caller authenticates")

	// Revoking the access token ends it alone.
	st, _ = form("/oauth/revoke", rpConfidential, rpSecret, url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}})
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, false, introspect(tok.AccessToken)["active"])
	_, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
	assert.Error(t, err)
	refreshed, err := r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
	require.NoError(t, err, "the refresh token lives on")
	e.auth.track(refreshed.AccessToken)
	e.auth.track(refreshed.RefreshToken)

	// Revoking the refresh token ends the family.
	st, _ = form("/oauth/revoke", rpConfidential, rpSecret, url.Values{"token": {refreshed.RefreshToken}})
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, false, introspect(refreshed.AccessToken)["active"])
	_, err = r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: refreshed.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
	assertOAuthError(t, err, "invalid_grant")

	// Unknown tokens revoke fine (RFC 7009 §2.2).
	st, _ = form("/oauth/revoke", rpConfidential, rpSecret, url.Values{"token": {"unknown"}})
	assert.Equal(t, http.StatusOK, st)
}
