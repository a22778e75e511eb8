package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestApp: the example sends the browser to the provider with PKCE (S256),
// state and nonce, and its protected page refuses a callback that is not
// this browser's sign-in. (The whole flow against riskauth is what
// internal/httpapi's OIDC tests run with the same libraries.)
func TestApp(t *testing.T) {
	t.Parallel()
	var issuer string
	disc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": issuer, "authorization_endpoint": issuer + "/oauth/authorize",
			"token_endpoint": issuer + "/oauth/token", "jwks_uri": issuer + "/.well-known/jwks.json"})
	}))
	t.Cleanup(disc.Close)
	issuer = disc.URL
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := app(ctx, issuer, "web-app", "secret", "http://127.0.0.1:9000/callback")
	require.NoError(t, err)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusFound, rec.Code)
	to, err := url.Parse(rec.Header().Get("Location"))
	require.NoError(t, err)
	q := to.Query()
	assert.Equal(t, issuer+"/oauth/authorize", to.Scheme+"://"+to.Host+to.Path)
	assert.Equal(t, "S256", q.Get("code_challenge_method"))
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		assert.NotEmpty(t, q.Get(k), k)
	}
	require.Len(t, rec.Result().Cookies(), 1)
	kept := rec.Result().Cookies()[0]

	for name, req := range map[string]*http.Request{
		"no cookie":   httptest.NewRequest(http.MethodGet, "/callback?code=x&state="+q.Get("state"), nil),
		"other state": httptest.NewRequest(http.MethodGet, "/callback?code=x&state=forged", nil),
	} {
		if name == "other state" {
			req.AddCookie(kept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusUnauthorized, rec.Code, name)
	}
}
