package daemon

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
)

// TestOIDCTwoInstances: two riskauth instances on one PostgreSQL database
// serve one authorization together, each step on the other instance than
// the step before: /authorize on A, the login form on B, the code on A,
// the exchange on B, the refresh on A. Nothing of an authorization lives
// in one process.
func TestOIDCTwoInstances(t *testing.T) {
	pgURL := testenv.Require(t, testenv.EnvPostgresURL)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgURL)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	_ = conn.Close(ctx)
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), pgURL)
		require.NoError(t, err)
		defer c.Close(context.Background())
		_, err = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		require.NoError(t, err)
	})
	sep := "?"
	if strings.Contains(pgURL, "?") {
		sep = "&"
	}
	const (
		issuer   = "http://127.0.0.1:9" // the load balancer's address: never dialled here
		redirect = "http://127.0.0.1:9/app/callback"
		secret   = "two-instances-secret-0123456789abcdef"
	)
	sum := sha256.Sum256([]byte(secret))
	cfgFile := filepath.Join(t.TempDir(), "riskauth.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(`authn:
  oidc:
    clients:
      - id: shop
        first_party: true
        secret_sha256: `+hex.EncodeToString(sum[:])+`
        redirect_uris: [`+redirect+`]
        grant_types: [authorization_code, refresh_token]
`), 0o600))
	key := func() string {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		return base64.StdEncoding.EncodeToString(k)
	}
	shared := map[string]string{
		"RISKAUTH_DATABASE_URL":      pgURL + sep + "search_path=" + schema,
		"RISKAUTH_PUBLIC_ORIGIN":     issuer,
		"RISKAUTH_ACCESS_TOKEN_KEYS": "k1:" + key(),
		"RISKAUTH_SEAL_KEYS":         "s1:" + key(),
		"RISKAUTH_AUTHN_SECRET":      "authn-secret-0123456789abcdef-0123456789",
	}
	env := func() map[string]string {
		m := map[string]string{"RISKAUTH_DATA_DIR": t.TempDir()}
		for k, v := range shared {
			m[k] = v
		}
		return m
	}
	envA := env()
	a, srvA := start(t, cfgFile, envA)
	bURL, _ := start(t, cfgFile, env())

	const email = "two@example.com"
	reg := &app{t: t, base: a}
	st, m := reg.call(http.MethodPost, "/v1/register", map[string]any{"email": email, "password": userPassword})
	require.Equal(t, http.StatusAccepted, st, "%v", m)
	st, m = reg.call(http.MethodPost, "/v1/verify-email", map[string]any{"registration_secret": m["registration_secret"],
		"token": verifyToken(t, srvA, filepath.Join(envA["RISKAUTH_DATA_DIR"], mail.OutboxFile), email)})
	require.Equal(t, http.StatusOK, st, "%v", m)

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Timeout: 10 * time.Second, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	do := func(req *http.Request) (*http.Response, string) {
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
		// The cookie jar keeps Secure cookies for https only; the test
		// servers are plain http on loopback, as a browser allows.
		for _, c := range jar.Cookies(&url.URL{Scheme: "https", Host: "riskauth.test"}) {
			req.AddCookie(c)
		}
		resp, err := browser.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		jar.SetCookies(&url.URL{Scheme: "https", Host: "riskauth.test"}, resp.Cookies())
		return resp, string(raw)
	}
	get := func(u string) (*http.Response, string) {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		require.NoError(t, err)
		return do(req)
	}

	conf := &oauth2.Config{ClientID: "shop", ClientSecret: secret, RedirectURL: redirect,
		Scopes:   []string{gooidc.ScopeOpenID, gooidc.ScopeOfflineAccess, "email"},
		Endpoint: oauth2.Endpoint{AuthURL: a + "/oauth/authorize", TokenURL: bURL + "/oauth/token"}}
	verifier := oauth2.GenerateVerifier()
	resp, _ := get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n")))
	require.Equal(t, http.StatusFound, resp.StatusCode)
	login := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(login, "/oidc/login?id="), login)

	resp, body := get(bURL + login)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	form := url.Values{"identifier": {email}, "password": {userPassword}}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`).FindAllStringSubmatch(body, -1) {
		form.Set(m[1], m[2])
	}
	req, err := http.NewRequest(http.MethodPost, bURL+"/oidc/login", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", issuer)
	resp, body = do(req)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
	callback := resp.Header.Get("Location")

	resp, _ = get(a + callback)
	require.Equal(t, http.StatusFound, resp.StatusCode)
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	code := back.Query().Get("code")
	require.NotEmpty(t, code, back.String())

	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	raw, _ := tok.Extra("id_token").(string)
	keys := gooidc.NewRemoteKeySet(ctx, a+"/.well-known/jwks.json")
	idt, err := gooidc.NewVerifier(issuer, keys, &gooidc.Config{ClientID: "shop", SupportedSigningAlgs: []string{"EdDSA"}}).Verify(ctx, raw)
	require.NoError(t, err)
	var claims struct {
		Email string `json:"email"`
	}
	require.NoError(t, idt.Claims(&claims))
	assert.Equal(t, email, claims.Email)

	onA := *conf
	onA.Endpoint.TokenURL = a + "/oauth/token"
	tok2, err := onA.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
	require.NoError(t, err)
	assert.NotEqual(t, tok.RefreshToken, tok2.RefreshToken)
	_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
	assert.Error(t, err, "the rotated token is spent on B too")
}
