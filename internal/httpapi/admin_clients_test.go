package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// The admin keys of the OpenID Connect test server: one that manages the
// client registry, one that may only look.
const (
	clientsKey       = "admin-key-clients-0123456789"
	clientsViewerKey = "admin-key-clients-viewer-0123"
)

var clientAdminKeys = []httpapi.AdminKey{
	{Name: "ops", Key: clientsKey, Scopes: []string{httpapi.ScopeClientsWrite}},
	{Name: "viewer", Key: clientsViewerKey, Scopes: []string{httpapi.ScopeClientsRead}},
}

// clientAnswer is a client as the admin API shows it.
type clientAnswer struct {
	ClientID   string   `json:"client_id"`
	Name       string   `json:"client_name"`
	Redirects  []string `json:"redirect_uris"`
	GrantTypes []string `json:"grant_types"`
	Method     string   `json:"token_endpoint_auth_method"`
	ReadOnly   bool     `json:"read_only"`
	Version    int64    `json:"version"`
	Secret     string   `json:"client_secret"`
	AccessTTL  int64    `json:"access_token_ttl"`
	FirstParty bool     `json:"first_party"`
}

func (e *oidcEnv) clientsCall(key, method, path, body string, opts ...reqOpt) response {
	e.t.Helper()
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	opts = append([]reqOpt{asAdmin(key)}, opts...)
	if r == nil {
		return e.do(method, path, nil, opts...)
	}
	return e.do(method, path, r, opts...)
}

// documented checks an exchange with the registry against the OpenAPI
// document.
func documented(t *testing.T, method, path, body string, r response) {
	t.Helper()
	router, err := legacy.NewRouter(loadDoc(t))
	require.NoError(t, err)
	validate(t, router, exchange{name: path, method: method, path: path, body: body, status: r.status, validRequest: true}, r)
}

func decodeClient(t *testing.T, r response) clientAnswer {
	t.Helper()
	var c clientAnswer
	require.NoError(t, json.Unmarshal(r.body, &c), "%s", r.body)
	return c
}

// registerClient registers a client through the API and returns it with
// its secret.
func (e *oidcEnv) registerClient(client string) clientAnswer {
	e.t.Helper()
	body := `{"reason":"onboarding","client":` + client + `}`
	r := e.clientsCall(clientsKey, http.MethodPost, "/v1/admin/clients", body)
	require.Equal(e.t, http.StatusCreated, r.status, "%s", r.body)
	documented(e.t, http.MethodPost, "/v1/admin/clients", body, r)
	c := decodeClient(e.t, r)
	if c.Secret != "" {
		e.auth.track(c.Secret)
	}
	return c
}

// TestOIDCClientRegistry registers a confidential client through the
// admin API, signs in through it as a relying party, changes it with
// If-Match, rotates its secret (the old one stops working), and deletes
// it (its refresh token dies with it); every change is an event naming
// the admin key and the reason, and only clients:write may change.
func TestOIDCClientRegistry(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t)
	const email = "registry@example.com"
	e.browser().register(email)
	const redirect = "http://127.0.0.1:1/shop/callback"

	created := e.registerClient(`{"client_id":"shop","client_name":"Shop","redirect_uris":["` + redirect + `"],
		"grant_types":["authorization_code","refresh_token"],"scopes":["orders:read"],"first_party":true,"access_token_ttl":120}`)
	assert.Equal(t, "shop", created.ClientID)
	assert.Equal(t, "client_secret_basic", created.Method)
	assert.Len(t, created.Secret, 43, "32 random bytes, base64url")
	assert.Equal(t, int64(1), created.Version)
	assert.Equal(t, int64(120), created.AccessTTL)

	// Refusals: a taken id (registered or configured), a wildcard, the
	// viewer's key, no reason.
	for name, tc := range map[string]struct {
		key, body string
		status    int
		code      string
	}{
		"taken id":         {clientsKey, `{"reason":"r","client":{"client_id":"shop","redirect_uris":["` + redirect + `"]}}`, 409, "client_exists"},
		"configured id":    {clientsKey, `{"reason":"r","client":{"client_id":"` + rpConfidential + `","redirect_uris":["` + redirect + `"]}}`, 409, "client_exists"},
		"wildcard":         {clientsKey, `{"reason":"r","client":{"client_id":"wild","redirect_uris":["https://*.example.com/cb"]}}`, 422, "invalid_request"},
		"no redirect":      {clientsKey, `{"reason":"r","client":{"client_id":"nored"}}`, 422, "invalid_request"},
		"secret from user": {clientsKey, `{"reason":"r","client":{"client_id":"x","redirect_uris":["` + redirect + `"],"secret_sha256":"00"}}`, 422, "invalid_request"},
		"viewer":           {clientsViewerKey, `{"reason":"r","client":{"client_id":"v","redirect_uris":["` + redirect + `"]}}`, 403, "insufficient_scope"},
		"no reason":        {clientsKey, `{"client":{"client_id":"nr","redirect_uris":["` + redirect + `"]}}`, 422, "invalid_request"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.clientsCall(tc.key, http.MethodPost, "/v1/admin/clients", tc.body)
			assert.Equal(t, tc.status, r.status, "%s", r.body)
			assert.Equal(t, tc.code, r.errorCode(t))
		})
	}

	// The list: configured clients read-only, then the registered one.
	r := e.clientsCall(clientsViewerKey, http.MethodGet, "/v1/admin/clients", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var list struct {
		Clients []clientAnswer `json:"clients"`
	}
	require.NoError(t, json.Unmarshal(r.body, &list))
	documented(t, http.MethodGet, "/v1/admin/clients", "", r)
	require.Len(t, list.Clients, 3)
	assert.True(t, list.Clients[0].ReadOnly)
	assert.Equal(t, "shop", list.Clients[2].ClientID)
	assert.False(t, list.Clients[2].ReadOnly)
	assert.Empty(t, list.Clients[2].Secret, "a secret is shown once")
	assert.NotContains(t, string(r.body), "secret_sha256")

	// A relying party signs in with the registered client.
	rp := e.rp("shop", created.Secret, redirect, "offline_access", "orders:read")
	verifier, challenge := pkce()
	back := e.userAgent().authorize(rp.conf.AuthCodeURL("st", challenge, gooidc.Nonce("n")), email)
	code := back.Query().Get("code")
	require.NotEmpty(t, code, "%s", back)
	e.auth.track(code)
	tok, err := rp.conf.Exchange(rp.ctx, code, oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	e.auth.track(tok.RefreshToken)
	e.auth.track(tok.AccessToken)
	raw, _ := tok.Extra("id_token").(string)
	_, err = rp.verifier.Verify(rp.ctx, raw)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(120*time.Second), tok.Expiry, 30*time.Second, "the client's access-token lifetime")

	// PATCH: If-Match required, a stale one refused, a configured client
	// read-only.
	r = e.clientsCall(clientsKey, http.MethodPatch, "/v1/admin/clients/shop", `{"reason":"rename","changes":{"client_name":"The Shop"}}`)
	assert.Equal(t, http.StatusPreconditionRequired, r.status)
	r = e.clientsCall(clientsKey, http.MethodPatch, "/v1/admin/clients/shop", `{"reason":"rename","changes":{"client_name":"The Shop"}}`,
		withHeader("If-Match", `"7"`))
	assert.Equal(t, http.StatusPreconditionFailed, r.status, "%s", r.body)
	r = e.clientsCall(clientsKey, http.MethodPatch, "/v1/admin/clients/"+rpConfidential, `{"reason":"rename","changes":{"client_name":"x"}}`,
		withHeader("If-Match", `"0"`))
	assert.Equal(t, http.StatusConflict, r.status)
	assert.Equal(t, "client_read_only", r.errorCode(t))
	r = e.clientsCall(clientsViewerKey, http.MethodGet, "/v1/admin/clients/shop", "")
	require.Equal(t, http.StatusOK, r.status)
	r = e.clientsCall(clientsKey, http.MethodPatch, "/v1/admin/clients/shop", `{"reason":"rename","changes":{"client_name":"The Shop"}}`,
		withHeader("If-Match", r.header.Get("ETag")))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	documented(t, http.MethodPatch, "/v1/admin/clients/shop", `{"reason":"rename","changes":{"client_name":"The Shop"}}`, r)
	assert.Equal(t, `"2"`, r.header.Get("ETag"))
	assert.Equal(t, "The Shop", decodeClient(t, r).Name)

	// A new secret: the old one no longer authenticates.
	r = e.clientsCall(clientsKey, http.MethodPost, "/v1/admin/clients/shop/rotate-secret", `{"reason":"leaked in a log"}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	documented(t, http.MethodPost, "/v1/admin/clients/shop/rotate-secret", `{"reason":"leaked in a log"}`, r)
	rotated := decodeClient(t, r)
	e.auth.track(rotated.Secret)
	require.Len(t, rotated.Secret, 43)
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	refresh := func(secret, rt string) (*oauth2.Token, error) {
		conf := *rp.conf
		conf.ClientSecret = secret
		return conf.TokenSource(rp.ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Now().Add(-time.Minute)}).Token()
	}
	_, err = refresh(created.Secret, tok.RefreshToken)
	require.Error(t, err, "the old secret")
	tok2, err := refresh(rotated.Secret, tok.RefreshToken)
	require.NoError(t, err, "the new secret")
	e.auth.track(tok2.RefreshToken)
	e.auth.track(tok2.AccessToken)

	// Delete: the client's refresh token dies with it.
	r = e.clientsCall(clientsKey, http.MethodDelete, "/v1/admin/clients/shop", `{"reason":"offboarded"}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	documented(t, http.MethodDelete, "/v1/admin/clients/shop", `{"reason":"offboarded"}`, r)
	_, err = refresh(rotated.Secret, tok2.RefreshToken)
	require.Error(t, err)
	r = e.clientsCall(clientsKey, http.MethodGet, "/v1/admin/clients/shop", "")
	assert.Equal(t, http.StatusNotFound, r.status)
	r = e.clientsCall(clientsKey, http.MethodDelete, "/v1/admin/clients/"+rpConfidential, `{"reason":"x"}`)
	assert.Equal(t, http.StatusConflict, r.status)

	for typ, reason := range map[secevent.Type]string{secevent.OIDCClientCreated: "onboarding", secevent.OIDCClientUpdated: "rename",
		secevent.OIDCClientSecretRotated: "leaked in a log", secevent.OIDCClientDeleted: "offboarded"} {
		evs := e.events.of(typ)
		require.Len(t, evs, 1, "%s", typ)
		assert.Equal(t, "ops", evs[0].Details["admin"])
		assert.Equal(t, reason, evs[0].Details["reason"])
		assert.Equal(t, "shop", evs[0].Details["client_id"])
	}
	assert.Equal(t, "name", e.events.of(secevent.OIDCClientUpdated)[0].Details["fields"], "the configuration's key")
}

// TestOIDCPublicClientRegistered: a public client gets no secret and
// signs in with PKCE alone.
func TestOIDCPublicClientRegistered(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t)
	const email = "public@example.com"
	e.browser().register(email)
	const redirect = "https://spa.example/callback"
	c := e.registerClient(`{"client_id":"spa","redirect_uris":["` + redirect + `"],"token_endpoint_auth_method":"none","first_party":true}`)
	assert.Empty(t, c.Secret)
	assert.Equal(t, "none", c.Method)
	r := e.clientsCall(clientsKey, http.MethodPost, "/v1/admin/clients/spa/rotate-secret", `{"reason":"x"}`)
	assert.Equal(t, http.StatusConflict, r.status)
	assert.Equal(t, "no_secret", r.errorCode(t))

	rp := e.rp("spa", "", redirect)
	verifier, challenge := pkce()
	back := e.userAgent().authorize(rp.conf.AuthCodeURL("st", challenge), email)
	code := back.Query().Get("code")
	e.auth.track(code)
	tok, err := rp.conf.Exchange(rp.ctx, code, oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	e.auth.track(tok.AccessToken)
}
