package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/riskauth/riskauth/authn/oidc"
)

const rpDevice = "tv-app"

func deviceClient() oidc.ClientConfig {
	return oidc.ClientConfig{ID: rpDevice, Name: "Living Room TV", FirstParty: true,
		GrantTypes: []string{oidc.GrantTypeDeviceCode, "refresh_token"}}
}

// pollDevice is one raw poll of the token endpoint: the OAuth error code,
// or "" with the tokens.
func pollDevice(t *testing.T, e *oidcEnv, deviceCode string) (string, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {oidc.GrantTypeDeviceCode}, "device_code": {deviceCode}, "client_id": {rpDevice}}
	resp, err := e.http.PostForm(e.url+oidc.PathToken, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	if code, ok := body["error"].(string); ok {
		return code, body
	}
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return "", body
}

// enterCode submits a user code on the verification page.
func (b *userAgent) enterCode(code string) page {
	p := b.get(b.e.url + oidc.DefaultDevicePath)
	require.Equal(b.e.t, http.StatusOK, p.status, p.body)
	return b.submit(p, map[string]string{"user_code": code})
}

// TestOIDCDeviceGrant is RFC 8628 as x/oauth2 and go-oidc use it: the
// device authorization, polls answering authorization_pending and
// slow_down, the signed-in user entering the code (in lower case, without
// the dash) and approving after seeing the client and scopes, the tokens
// once, then denial and expiry, and the bound on code guessing.
func TestOIDCDeviceGrant(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t, deviceClient())
	const email = "device@example.com"
	e.browser().register(email)
	rp := e.rp(rpDevice, "", "", "email", "offline_access")
	ua := e.userAgent()
	_, ch := pkce()
	require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, ua.signIn(e.rp(rpConfidential, rpSecret, rpRedirect).conf.AuthCodeURL("s", ch), email).status,
		"the browser signs in to riskauth")

	var disc struct {
		Device string   `json:"device_authorization_endpoint"`
		Grants []string `json:"grant_types_supported"`
	}
	require.NoError(t, rp.provider.Claims(&disc))
	require.Equal(t, e.url+oidc.PathDeviceAuthorization, disc.Device)
	assert.Contains(t, disc.Grants, oidc.GrantTypeDeviceCode)
	rp.conf.Endpoint.DeviceAuthURL = disc.Device

	da, err := rp.conf.DeviceAuth(rp.ctx)
	require.NoError(t, err)
	e.auth.track(da.DeviceCode)
	assert.Regexp(t, regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`), da.UserCode)
	assert.Equal(t, e.url+oidc.DefaultDevicePath, da.VerificationURI)
	assert.Equal(t, e.url+oidc.DefaultDevicePath+"?user_code="+da.UserCode, da.VerificationURIComplete)

	code, _ := pollDevice(t, e, da.DeviceCode)
	assert.Equal(t, "authorization_pending", code)
	code, _ = pollDevice(t, e, da.DeviceCode)
	assert.Equal(t, "slow_down", code, "a poll sooner than the interval")
	e.clock.Advance(2 * time.Second)
	code, _ = pollDevice(t, e, da.DeviceCode)
	assert.Equal(t, "authorization_pending", code)

	// Without a session, the page says to sign in first.
	assert.Equal(t, http.StatusUnauthorized, e.userAgent().get(da.VerificationURIComplete).status)
	// The complete URI prefills the code.
	p := ua.get(da.VerificationURIComplete)
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Contains(t, p.body, `value="`+da.UserCode+`"`)
	p = ua.enterCode(strings.ToLower(strings.ReplaceAll(da.UserCode, "-", " ")))
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Contains(t, p.body, "Living Room TV")
	assert.Contains(t, p.body, `data-scope="offline_access"`)
	p = ua.submit(p, map[string]string{"decision": "allow"})
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Contains(t, p.body, "Device connected")

	e.clock.Advance(2 * time.Second)
	ctx, cancel := context.WithTimeout(rp.ctx, 30*time.Second)
	defer cancel()
	tok, err := rp.conf.DeviceAccessToken(ctx, da)
	require.NoError(t, err)
	e.auth.track(tok.AccessToken)
	e.auth.track(tok.RefreshToken)
	require.NotEmpty(t, tok.RefreshToken)
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(rp.ctx, raw)
	require.NoError(t, err)
	ui, err := rp.provider.UserInfo(rp.ctx, oauth2.StaticTokenSource(tok))
	require.NoError(t, err)
	assert.Equal(t, idt.Subject, ui.Subject)
	assert.Equal(t, email, ui.Email)
	e.clock.Advance(2 * time.Second)
	code, _ = pollDevice(t, e, da.DeviceCode)
	assert.Equal(t, "access_denied", code, "the tokens go out once")
	_ = gooidc.ScopeOpenID

	t.Run("denied", func(t *testing.T) {
		da, err := rp.conf.DeviceAuth(rp.ctx)
		require.NoError(t, err)
		e.auth.track(da.DeviceCode)
		p := ua.enterCode(da.UserCode)
		p = ua.submit(p, map[string]string{"decision": "deny"})
		require.Equal(t, http.StatusOK, p.status, p.body)
		code, _ := pollDevice(t, e, da.DeviceCode)
		assert.Equal(t, "access_denied", code)
	})

	t.Run("expired", func(t *testing.T) {
		da, err := rp.conf.DeviceAuth(rp.ctx)
		require.NoError(t, err)
		e.auth.track(da.DeviceCode)
		e.clock.Advance(oidc.DefaultDeviceLifetime + time.Second)
		code, _ := pollDevice(t, e, da.DeviceCode)
		assert.Equal(t, "expired_token", code)
		p := ua.enterCode(da.UserCode)
		assert.Equal(t, http.StatusBadRequest, p.status, "an expired code is unknown on the page")
	})

	t.Run("guessing", func(t *testing.T) {
		da, err := rp.conf.DeviceAuth(rp.ctx)
		require.NoError(t, err)
		e.auth.track(da.DeviceCode)
		seen := http.StatusBadRequest
		for i := 0; i < oidc.DeviceEntriesPerUser && seen == http.StatusBadRequest; i++ {
			seen = ua.enterCode("BBBB-BBBB").status
		}
		assert.Equal(t, http.StatusTooManyRequests, ua.enterCode(da.UserCode).status, "even the right code, once the entries are spent")
		code, _ := pollDevice(t, e, da.DeviceCode)
		assert.Equal(t, "authorization_pending", code)
	})
}
