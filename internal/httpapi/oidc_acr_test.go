package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/riskauth/riskauth/authn/oidc"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// TestOIDCStepUpForAAL2: a client asking for AAL2 (acr_values) over an
// AAL1 session gets a step-up (the password and the authenticator code),
// not single sign-on and not a refusal; the ID token says what happened
// (acr aal2, amr pwd otp mfa), and the AAL2 session then answers the next
// AAL2 authorization by single sign-on. An account with no authenticator
// cannot reach AAL2 (an email code is not an AAL2 authenticator): it gets
// a page saying to add one, and no code.
func TestOIDCStepUpForAAL2(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t)
	const email = "grace@example.com"
	b := e.browser()
	b.register(email)
	b.signIn(email)
	// An AAL1 session, then an authenticator app.
	r := b.post("/v1/totp", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var en struct {
		FactorID string `json:"factor_id"`
		Secret   string `json:"secret"`
	}
	require.NoError(t, json.Unmarshal(r.body, &en))
	e.auth.track(en.Secret)
	r = b.post("/v1/totp/confirm", map[string]any{"factor_id": en.FactorID, "code": totpAt(t, en.Secret, time.Now())})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = b.get("/v1/session")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var sess struct {
		AAL int `json:"aal"`
	}
	require.NoError(t, json.Unmarshal(r.body, &sess))
	require.Equal(t, 1, sess.AAL, "the session the registration made is AAL1")

	rp := e.rp(rpConfidential, rpSecret, rpRedirect, "email")
	ua := e.userAgent()
	u, err := url.Parse(e.url)
	require.NoError(t, err)
	ua.client.Jar.SetCookies(u, []*http.Cookie{{Name: httpapi.SessionCookie, Value: b.cookie, Path: "/"}})
	aal2 := oauth2.SetAuthURLParam("acr_values", oidc.ACRAAL2)

	// Without acr_values, the AAL1 session answers.
	_, ch := pkce()
	p := ua.get(rp.conf.AuthCodeURL("st-0", ch))
	require.Equal(t, http.StatusFound, p.status, "single sign-on: %s", p.body)

	verifier, ch := pkce()
	p = ua.get(rp.conf.AuthCodeURL("st-1", ch, aal2))
	require.Equal(t, oidc.DefaultLoginPath, p.url.Path, "no single sign-on over an AAL1 session: %s", p.body)
	p = ua.submit(p, map[string]string{"identifier": email, "password": userPassword})
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Contains(t, p.body, `data-state="code"`, "the authenticator code")
	// The next time step: the enrolment's code is spent (replay).
	p = ua.submit(p, map[string]string{"code": totpAt(t, en.Secret, time.Now().Add(30*time.Second))})
	require.Equal(t, http.StatusFound, p.status, p.body)
	back, err := url.Parse(p.location)
	require.NoError(t, err)
	code := e.auth.track(back.Query().Get("code"))
	require.NotEmpty(t, code)

	tok, err := rp.conf.Exchange(rp.ctx, code, oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	e.auth.track(tok.AccessToken)
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(rp.ctx, raw)
	require.NoError(t, err)
	var claims struct {
		ACR string   `json:"acr"`
		AMR []string `json:"amr"`
	}
	require.NoError(t, idt.Claims(&claims))
	assert.Equal(t, oidc.ACRAAL2, claims.ACR)
	assert.Equal(t, []string{"pwd", "otp", "mfa"}, claims.AMR)

	// The AAL2 session now answers an AAL2 request without a form, and
	// says it is AAL2.
	_, ch = pkce()
	p = ua.get(rp.conf.AuthCodeURL("st-2", ch, aal2))
	require.Equal(t, http.StatusFound, p.status, p.body)
	back, err = url.Parse(p.location)
	require.NoError(t, err)
	assert.NotEmpty(t, e.auth.track(back.Query().Get("code")))

	// No authenticator: no way to AAL2, a page that says so, no code.
	const plain = "plain@example.com"
	e.browser().register(plain)
	_, ch = pkce()
	p = e.userAgent().signIn(rp.conf.AuthCodeURL("st-3", ch, aal2), plain)
	assert.Equal(t, http.StatusForbidden, p.status)
	assert.Contains(t, p.body, "Add an authenticator app")
}
