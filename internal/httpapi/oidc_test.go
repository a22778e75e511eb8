package httpapi_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/riskauth/riskauth/authn/oidc"
	"github.com/riskauth/riskauth/authn/secevent"
)

// TestOIDCCodeFlow is the whole life of a grant as a relying party sees
// it: discovery, code + PKCE through the login form, the ID token
// verified against the JWKS with acr/amr saying what happened, userinfo,
// refresh with rotation, and reuse of a rotated refresh token revoking
// the family.
func TestOIDCCodeFlow(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t)
	const email = "ada@example.com"
	e.browser().register(email)
	r := e.rp(rpConfidential, rpSecret, rpRedirect, "email", "profile", "offline_access")

	var claims struct {
		Issuer string   `json:"issuer"`
		Algs   []string `json:"id_token_signing_alg_values_supported"`
		JWKS   string   `json:"jwks_uri"`
		PKCE   []string `json:"code_challenge_methods_supported"`
	}
	require.NoError(t, r.provider.Claims(&claims))
	assert.Equal(t, e.url, claims.Issuer)
	assert.Equal(t, []string{"EdDSA"}, claims.Algs)
	assert.Equal(t, e.url+"/.well-known/jwks.json", claims.JWKS, "the access tokens' key set")
	assert.Contains(t, claims.PKCE, "S256")

	verifier, challenge := pkce()
	back := e.userAgent().authorize(r.conf.AuthCodeURL("st-1", challenge, gooidc.Nonce("n-1")), email)
	require.Equal(t, rpRedirect, back.Scheme+"://"+back.Host+back.Path)
	assert.Equal(t, "st-1", back.Query().Get("state"))
	code := back.Query().Get("code")
	require.NotEmpty(t, code)
	e.auth.track(code)

	tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	e.auth.track(tok.AccessToken)
	e.auth.track(tok.RefreshToken)
	require.NotEmpty(t, tok.RefreshToken, "offline_access")
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(r.ctx, raw)
	require.NoError(t, err)
	assert.Equal(t, "n-1", idt.Nonce)
	var id struct {
		Email         string   `json:"email"`
		EmailVerified bool     `json:"email_verified"`
		ACR           string   `json:"acr"`
		AMR           []string `json:"amr"`
		AuthTime      int64    `json:"auth_time"`
	}
	require.NoError(t, idt.Claims(&id))
	assert.Equal(t, email, id.Email)
	assert.True(t, id.EmailVerified)
	assert.Equal(t, oidc.ACRAAL1, id.ACR, "a password alone")
	assert.Equal(t, []string{"pwd"}, id.AMR)
	assert.NotZero(t, id.AuthTime)
	require.NoError(t, idt.VerifyAccessToken(tok.AccessToken), "at_hash")

	ui, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
	require.NoError(t, err)
	assert.Equal(t, idt.Subject, ui.Subject)
	assert.Equal(t, email, ui.Email)

	// Refresh: a new refresh token each time; the old one is spent.
	refresh := func(rt string) (*oauth2.Token, error) {
		return r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Now().Add(-time.Minute)}).Token()
	}
	tok2, err := refresh(tok.RefreshToken)
	require.NoError(t, err)
	e.auth.track(tok2.AccessToken)
	e.auth.track(tok2.RefreshToken)
	assert.NotEqual(t, tok.RefreshToken, tok2.RefreshToken, "rotated")
	raw2, _ := tok2.Extra("id_token").(string)
	idt2, err := r.verifier.Verify(r.ctx, raw2)
	require.NoError(t, err)
	assert.Equal(t, idt.Subject, idt2.Subject)
	_, err = r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok2))
	require.NoError(t, err)

	// Reuse of the first refresh token: refused, and the whole family
	// goes, the current refresh token and the access tokens included.
	_, err = refresh(tok.RefreshToken)
	assertOAuthError(t, err, "invalid_grant")
	_, err = refresh(tok2.RefreshToken)
	assertOAuthError(t, err, "invalid_grant")
	_, err = r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok2))
	assert.Error(t, err, "the family's access tokens are revoked")
	_, err = r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
	assert.Error(t, err)
	assert.Contains(t, e.logs.String(), "refresh token reused")
	reuse := e.events.of(secevent.OIDCRefreshReuse)
	require.Len(t, reuse, 1, "the reuse is a security finding")
	assert.Equal(t, rpConfidential, reuse[0].Details["client_id"])
	assert.Equal(t, idt.Subject, reuse[0].UserID)
}

// assertOAuthError checks an x/oauth2 error's RFC 6749 error code.
func assertOAuthError(t *testing.T, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	require.True(t, errors.As(err, &re), "an OAuth error, got %v", err)
	assert.Equal(t, code, re.ErrorCode, "body: %s", re.Body)
	assert.Equal(t, http.StatusBadRequest, re.Response.StatusCode)
}
