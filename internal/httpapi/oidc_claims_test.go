package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/riskauth/riskauth/authn"
)

// jwtPayload reads a JWT's claims (the signature is go-oidc's business
// where it matters: here the ID token is verified, the access token is
// only read).
func jwtPayload(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	require.Len(t, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// TestOIDCClaimMapping: a client's mappings put profile values into its
// tokens under its names, each only where it is asked for and only when
// the grant holds the scope that releases it; its extra audiences are in
// its access tokens and not in its ID token. go-oidc verifies the ID
// token and reads userinfo as a relying party does.
func TestOIDCClaimMapping(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t)
	const email = "claims@example.com"
	e.browser().register(email)
	u, err := e.auth.store.UserByEmail(t.Context(), email)
	require.NoError(t, err)
	require.NoError(t, e.auth.store.PutProfile(t.Context(), authn.Profile{UserID: u.ID, GivenName: "Ada",
		Attributes: map[string]any{"department": "R&D", "tier": "gold"}}, 0))

	const redirect = "https://hr.example/callback"
	c := e.registerClient(`{"client_id":"hr","redirect_uris":["` + redirect + `"],"scopes":["hr"],"first_party":true,
		"audience":["https://api.hr.example"],
		"claims":[{"claim":"dept","from":"attributes.department"},
			{"claim":"tier","from":"attributes.tier","scope":"hr","in":["access_token"]},
			{"claim":"first","from":"profile.given_name","in":["id_token"]},
			{"claim":"unset","from":"attributes.nothing"}]}`)

	// Mappings that do not check out are refused.
	for name, claims := range map[string]string{
		"a standard claim": `[{"claim":"email","from":"attributes.department"}]`,
		"unknown source":   `[{"claim":"x","from":"password"}]`,
		"unknown scope":    `[{"claim":"x","from":"attributes.department","scope":"payroll"}]`,
		"unknown token":    `[{"claim":"x","from":"attributes.department","in":["cookie"]}]`,
	} {
		t.Run(name, func(t *testing.T) {
			r := e.clientsCall(clientsKey, "POST", "/v1/admin/clients", `{"reason":"r","client":{"client_id":"bad","redirect_uris":["`+redirect+`"],"claims":`+claims+`}}`)
			assert.Equal(t, 422, r.status, "%s", r.body)
		})
	}

	signIn := func(scopes ...string) (*oauth2.Token, *gooidc.IDToken, *rp) {
		r := e.rp("hr", c.Secret, redirect, scopes...)
		verifier, challenge := pkce()
		back := e.userAgent().authorize(r.conf.AuthCodeURL("st", challenge, gooidc.Nonce("n")), email)
		code := back.Query().Get("code")
		require.NotEmpty(t, code)
		e.auth.track(code)
		tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
		require.NoError(t, err)
		e.auth.track(tok.AccessToken)
		raw, _ := tok.Extra("id_token").(string)
		idt, err := r.verifier.Verify(r.ctx, raw)
		require.NoError(t, err)
		return tok, idt, r
	}

	// profile alone: dept everywhere, first in the ID token only, tier
	// nowhere (its scope was not granted), unset nowhere.
	tok, idt, r := signIn("profile")
	var id map[string]any
	require.NoError(t, idt.Claims(&id))
	assert.Equal(t, "R&D", id["dept"])
	assert.Equal(t, "Ada", id["first"])
	assert.NotContains(t, id, "tier")
	assert.NotContains(t, id, "unset")
	assert.Equal(t, []string{"hr"}, idt.Audience, "the ID token names the client alone")
	at := jwtPayload(t, tok.AccessToken)
	assert.Equal(t, "R&D", at["dept"])
	assert.NotContains(t, at, "tier")
	assert.NotContains(t, at, "first")
	assert.ElementsMatch(t, []any{"hr", "https://api.hr.example"}, at["aud"], "the access token names the API too")
	ui, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
	require.NoError(t, err)
	var uic map[string]any
	require.NoError(t, ui.Claims(&uic))
	assert.Equal(t, "R&D", uic["dept"])
	assert.NotContains(t, uic, "first")

	// With hr granted, tier is in the access token (only).
	tok, idt, _ = signIn("profile", "hr")
	at = jwtPayload(t, tok.AccessToken)
	assert.Equal(t, "gold", at["tier"])
	id = nil
	require.NoError(t, idt.Claims(&id))
	assert.NotContains(t, id, "tier")

	// Without profile: none of the profile-scoped claims.
	tok, idt, _ = signIn()
	id = nil
	require.NoError(t, idt.Claims(&id))
	assert.NotContains(t, id, "dept")
	assert.NotContains(t, jwtPayload(t, tok.AccessToken), "dept")
}
