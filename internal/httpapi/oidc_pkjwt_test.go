package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/oidc"
)

// TestOIDCPrivateKeyJWT registers a client with its public key and has it
// authenticate at the token endpoint with signed assertions (RFC 7523):
// a good one exchanges the code, a replayed one is refused (the jti is
// remembered), and every kind of bad assertion is invalid_client before
// anything is spent (the code still works afterwards).
func TestOIDCPrivateKeyJWT(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t)
	const email = "pkjwt@example.com"
	e.browser().register(email)
	const redirect = "https://svc.example/callback"

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	require.NoError(t, err)
	c := e.registerClient(`{"client_id":"svc","redirect_uris":["` + redirect + `"],"grant_types":["authorization_code","refresh_token"],
		"token_endpoint_auth_method":"private_key_jwt","jwks":` + string(jwks) + `,"first_party":true}`)
	assert.Empty(t, c.Secret, "no secret for a key-authenticated client")

	// A key set with a private key, or a secret method with a key set, is
	// refused.
	priv, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key, KeyID: "k1", Algorithm: "ES256"}}})
	require.NoError(t, err)
	r := e.clientsCall(clientsKey, http.MethodPost, "/v1/admin/clients", `{"reason":"r","client":{"client_id":"svc2","redirect_uris":["`+redirect+`"],
		"token_endpoint_auth_method":"private_key_jwt","jwks":`+string(priv)+`}}`)
	assert.Equal(t, http.StatusUnprocessableEntity, r.status, "%s", r.body)

	tokenURL := e.url + oidc.PathToken
	good := func() jwt.Claims {
		now := e.clock.Now()
		return jwt.Claims{Issuer: "svc", Subject: "svc", Audience: jwt.Audience{tokenURL}, Expiry: jwt.NewNumericDate(now.Add(2 * time.Minute)),
			IssuedAt: jwt.NewNumericDate(now), ID: randomID(t)}
	}
	sign := func(k any, alg jose.SignatureAlgorithm, kid string, cl jwt.Claims) string {
		opts := (&jose.SignerOptions{}).WithType("JWT")
		if kid != "" {
			opts = opts.WithHeader("kid", kid)
		}
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, opts)
		require.NoError(t, err)
		raw, err := jwt.Signed(s).Claims(cl).Serialize()
		require.NoError(t, err)
		return raw
	}
	post := func(form url.Values) (int, map[string]any) {
		resp, err := e.http.PostForm(tokenURL, form)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var body map[string]any
		require.NoError(t, json.Unmarshal(raw, &body), "%s", raw)
		return resp.StatusCode, body
	}

	rp := e.rp("svc", "", redirect, "offline_access")
	verifier, challenge := pkce()
	back := e.userAgent().authorize(rp.conf.AuthCodeURL("st", challenge), email)
	code := back.Query().Get("code")
	require.NotEmpty(t, code)
	e.auth.track(code)
	exchange := func(assertion string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier},
			"client_assertion_type": {oidc.ClientAssertionType}, "client_assertion": {assertion}}
	}

	bad := map[string]string{}
	{
		cl := good()
		cl.Subject = "someone-else"
		bad["sub is not the client"] = sign(key, jose.ES256, "k1", cl)
		cl = good()
		cl.Audience = jwt.Audience{"https://elsewhere.example/token"}
		bad["audience elsewhere"] = sign(key, jose.ES256, "k1", cl)
		cl = good()
		cl.Expiry = jwt.NewNumericDate(e.clock.Now().Add(-5 * time.Minute))
		bad["expired"] = sign(key, jose.ES256, "k1", cl)
		cl = good()
		cl.Expiry = jwt.NewNumericDate(e.clock.Now().Add(time.Hour))
		bad["lives too long"] = sign(key, jose.ES256, "k1", cl)
		cl = good()
		cl.ID = ""
		bad["no jti"] = sign(key, jose.ES256, "k1", cl)
		bad["HS256"] = sign([]byte(strings.Repeat("k", 32)), jose.HS256, "k1", good())
		bad["another key"] = sign(other, jose.ES256, "k1", good())
		cl = good()
		cl.Issuer, cl.Subject = "nobody", "nobody"
		bad["unknown client"] = sign(key, jose.ES256, "k1", cl)
		cl = good()
		cl.Issuer, cl.Subject = rpConfidential, rpConfidential
		bad["a secret client"] = sign(key, jose.ES256, "k1", cl)
	}
	for name, assertion := range bad {
		t.Run(name, func(t *testing.T) {
			status, body := post(exchange(assertion))
			assert.Equal(t, http.StatusUnauthorized, status, "%v", body)
			assert.Equal(t, "invalid_client", body["error"])
		})
	}
	status, body := post(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"code_verifier": {verifier}, "client_id": {"svc"}, "client_secret": {"private_key_jwt"}})
	assert.Equal(t, http.StatusUnauthorized, status, "no secret authenticates a key client: %v", body)

	// A good assertion, with the token endpoint as audience; no kid:
	// every key of the set is tried.
	assertion := sign(key, jose.ES256, "", good())
	status, body = post(exchange(assertion))
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.NotEmpty(t, body["id_token"])
	refresh, _ := body["refresh_token"].(string)
	require.NotEmpty(t, refresh)
	e.auth.track(refresh)
	e.auth.track(body["access_token"].(string))

	refreshWith := func(assertion string) (int, map[string]any) {
		return post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
			"client_assertion_type": {oidc.ClientAssertionType}, "client_assertion": {assertion}})
	}
	status, body = refreshWith(assertion)
	assert.Equal(t, http.StatusUnauthorized, status, "a replayed assertion: %v", body)
	assert.Equal(t, "invalid_client", body["error"])
	cl := good()
	cl.Audience = jwt.Audience{e.url}
	status, body = refreshWith(sign(key, jose.ES256, "k1", cl))
	require.Equal(t, http.StatusOK, status, "the issuer as audience: %v", body)
	e.auth.track(body["refresh_token"].(string))
	e.auth.track(body["access_token"].(string))

	var disc struct {
		Methods []string `json:"token_endpoint_auth_methods_supported"`
	}
	require.NoError(t, rp.provider.Claims(&disc))
	assert.Contains(t, disc.Methods, "private_key_jwt")
}

func randomID(t *testing.T) string {
	b := make([]byte, 16)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(b)
}
