package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"image/png"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// sessionCookie returns the Set-Cookie of the session cookie, parsed.
func sessionCookie(t *testing.T, r response) *http.Cookie {
	t.Helper()
	for _, line := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		require.NoError(t, err)
		if c.Name == httpapi.SessionCookie {
			return c
		}
	}
	return nil
}

// TestSignInOverHTTP walks a user through the whole life cycle, with the
// cookie transport: registration, verification, sign-in, sessions, TOTP
// enrolment, step-up sign-in, re-authentication, access tokens, password
// change and sign-out.
func TestSignInOverHTTP(t *testing.T) {
	t.Parallel()
	signer := testSigner(t)
	e := newEnv(t, httpapi.Config{AccessTokens: &signer})
	b := e.browser()
	const email = "alice@example.com"

	r := b.post("/v1/register", map[string]any{"email": email, "password": userPassword})
	require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	assert.JSONEq(t, `{"verification_sent":true}`, string(r.body))
	r = b.post("/v1/verify-email", map[string]any{"token": e.auth.token(t, email, mail.KindVerifyEmail)})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)

	// Identifier first: the same methods for everyone.
	r = b.post("/v1/login", map[string]any{"identifier": email})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	start := r.json(t)
	assert.Equal(t, "choose_method", start["status"])
	assert.Equal(t, []any{"password", "email_code", "magic_link"}, start["methods"])
	r = b.post("/v1/login/password", map[string]any{"flow_id": start["flow_id"], "password": userPassword})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	m := r.json(t)
	require.Equal(t, "authenticated", m["status"])
	sess := m["session"].(map[string]any)
	assert.NotContains(t, sess, "token", "a cookie client never sees its token")
	assert.EqualValues(t, 1, sess["aal"])

	c := sessionCookie(t, r)
	require.NotNil(t, c)
	assert.True(t, c.Secure)
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.Empty(t, c.Domain)
	assert.True(t, c.Expires.After(time.Now().Add(24*time.Hour)))
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))

	r = b.get("/v1/session")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	me := r.json(t)
	assert.Equal(t, sess["id"], me["id"])
	assert.Equal(t, true, me["current"])

	// TOTP enrolment: a fresh session is enough without an app.
	r = b.post("/v1/totp", nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var en struct {
		FactorID string `json:"factor_id"`
		URI      string `json:"uri"`
		QRPNG    []byte `json:"qr_png"`
		Secret   string `json:"secret"`
	}
	require.NoError(t, json.Unmarshal(r.body, &en))
	assert.True(t, strings.HasPrefix(en.URI, "otpauth://totp/"))
	_, err := png.Decode(bytes.NewReader(en.QRPNG))
	require.NoError(t, err, "qr_png is a base64 PNG")
	e.auth.track(en.Secret)
	r = b.post("/v1/totp/confirm", map[string]any{"factor_id": en.FactorID, "code": "000000x"})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	r = b.post("/v1/totp/confirm", map[string]any{"factor_id": en.FactorID, "code": totpAt(t, en.Secret, time.Now())})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var rc struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	require.NoError(t, json.Unmarshal(r.body, &rc))
	require.Len(t, rc.RecoveryCodes, 10)
	for _, c := range rc.RecoveryCodes {
		e.auth.track(c)
	}

	// Sign out: the cookie is cleared and the session is dead.
	old := b.cookie
	r = b.post("/v1/logout", nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	cleared := sessionCookie(t, r)
	require.NotNil(t, cleared)
	assert.Empty(t, cleared.Value)
	assert.Empty(t, b.cookie)
	b.cookie = old
	r = b.get("/v1/session")
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "session_invalid", r.errorCode(t))
	b.cookie = ""

	// With an app, a password needs the second factor.
	r = b.post("/v1/login", map[string]any{"identifier": email, "password": userPassword})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	m = r.json(t)
	require.Equal(t, "second_factor_required", m["status"])
	assert.Equal(t, []any{"totp", "recovery_code"}, m["methods"])
	assert.Nil(t, sessionCookie(t, r), "no session before the second factor")
	r = b.post("/v1/login/password", map[string]any{"flow_id": m["flow_id"], "password": userPassword})
	assert.Equal(t, http.StatusConflict, r.status)
	assert.Equal(t, "invalid_step", r.errorCode(t))
	// The confirmation burnt the current step: the next one is still valid.
	r = b.post("/v1/login/totp", map[string]any{"flow_id": m["flow_id"], "code": totpAt(t, en.Secret, time.Now().Add(30*time.Second))})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	m = r.json(t)
	require.Equal(t, "authenticated", m["status"])
	assert.EqualValues(t, 2, m["session"].(map[string]any)["aal"])

	// Step-up of the live session with a recovery code.
	r = b.post("/v1/reauthenticate", map[string]any{"password": userPassword})
	assert.Equal(t, http.StatusUnauthorized, r.status, "the second factor is required: body %s", r.body)
	before := b.cookie
	r = b.post("/v1/reauthenticate", map[string]any{"password": userPassword, "recovery_code": rc.RecoveryCodes[0]})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.NotEqual(t, before, b.cookie, "re-authentication rotates the session token")
	assert.EqualValues(t, 2, r.json(t)["session"].(map[string]any)["aal"])

	// Access token for the session, verified with the published keys.
	r = b.post("/v1/token", nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var at struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	require.NoError(t, json.Unmarshal(r.body, &at))
	e.auth.track(at.AccessToken)
	assert.Equal(t, "Bearer", at.TokenType)
	assert.InDelta(t, 300, at.ExpiresIn, 2)
	r = b.get("/.well-known/jwks.json")
	require.Equal(t, http.StatusOK, r.status)
	var set jose.JSONWebKeySet
	require.NoError(t, json.Unmarshal(r.body, &set))
	require.Len(t, set.Keys, 2, "the retired key is still published")
	tok, err := jwt.ParseSigned(at.AccessToken, []jose.SignatureAlgorithm{jose.EdDSA})
	require.NoError(t, err)
	require.Equal(t, "k2", tok.Headers[0].KeyID, "the first key signs")
	keys := set.Key(tok.Headers[0].KeyID)
	require.Len(t, keys, 1)
	var claims jwt.Claims
	var private struct {
		SID string `json:"sid"`
		AAL int    `json:"aal"`
	}
	require.NoError(t, tok.Claims(keys[0].Key, &claims, &private))
	require.NoError(t, claims.Validate(jwt.Expected{Issuer: e.url, AnyAudience: jwt.Audience{"api.example.com"}, Time: time.Now()}))
	r = b.get("/v1/session")
	assert.Equal(t, r.json(t)["user_id"], claims.Subject)
	assert.Equal(t, 2, private.AAL)

	// Sessions: a second device, listed, then revoked from here.
	other := e.browser()
	r = other.post("/v1/login", map[string]any{"identifier": email, "password": userPassword})
	require.Equal(t, http.StatusOK, r.status)
	m = r.json(t)
	// A TOTP step is accepted once per factor and never an older one: the
	// second device uses a recovery code rather than wait 30 seconds.
	r = other.post("/v1/login/recovery-code", map[string]any{"flow_id": m["flow_id"], "code": rc.RecoveryCodes[1]})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	r = b.get("/v1/sessions")
	require.Equal(t, http.StatusOK, r.status)
	var list struct {
		Sessions []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
			IP      string `json:"ip"`
		} `json:"sessions"`
	}
	require.NoError(t, json.Unmarshal(r.body, &list))
	require.Len(t, list.Sessions, 2)
	var otherID string
	for _, s := range list.Sessions {
		assert.Equal(t, "127.0.0.1", s.IP)
		if !s.Current {
			otherID = s.ID
		}
	}
	r = b.call(http.MethodDelete, "/v1/sessions/"+otherID, nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, http.StatusUnauthorized, other.get("/v1/session").status)
	r = b.call(http.MethodDelete, "/v1/sessions/"+otherID, nil)
	assert.Equal(t, http.StatusNotFound, r.status)
	r = b.post("/v1/sessions/revoke-others", nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"revoked":0}`, string(r.body))

	// Password change: wrong current password, then the right one.
	r = b.post("/v1/password/change", map[string]any{"current_password": "not it at all, sorry", "new_password": "a brand new passphrase 7"})
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Equal(t, "invalid_password", r.errorCode(t))
	r = b.post("/v1/password/change", map[string]any{"current_password": userPassword, "new_password": "a brand new passphrase 7"})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	r = b.get("/v1/session")
	assert.Equal(t, http.StatusOK, r.status, "the current session survives a password change")
}

// testSigner has two keys: k2 signs, k1 is retired but still published.
func testSigner(t *testing.T) httpapi.AccessTokenConfig {
	t.Helper()
	k1 := ed25519Key(1)
	k2 := ed25519Key(2)
	return httpapi.AccessTokenConfig{Keys: []httpapi.AccessTokenKey{{ID: "k2", Key: k2}, {ID: "k1", Key: k1}},
		Issuer: "", Audience: "api.example.com"}
}

// TestBearerTransport: an app asks for the token in the body and presents
// it in Authorization; no cookie is ever set.
func TestBearerTransport(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	b := e.browser()
	b.register("bob@example.com")
	app := func(r *http.Request) {
		r.Header.Del("Origin")
		r.Header.Del("Sec-Fetch-Site")
		r.Header.Set(httpapi.HeaderSessionTransport, "bearer")
	}
	r := b.post("/v1/login", map[string]any{"identifier": "bob@example.com", "password": userPassword}, app)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Nil(t, sessionCookie(t, r))
	tok, _ := r.json(t)["session"].(map[string]any)["token"].(string)
	require.NotEmpty(t, tok)
	auth := withHeader("Authorization", "Bearer "+tok)
	r = b.get("/v1/session", auth)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	// A bearer request is not a cookie request: another Origin does not
	// matter, the credential was sent explicitly.
	r = b.post("/v1/reauthenticate", map[string]any{"password": userPassword}, auth, withHeader("Origin", "https://elsewhere.example"))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	newTok, _ := r.json(t)["session"].(map[string]any)["token"].(string)
	require.NotEmpty(t, newTok, "a bearer session is replaced by a bearer session")
	assert.Nil(t, sessionCookie(t, r))
	assert.Equal(t, http.StatusUnauthorized, b.get("/v1/session", auth).status, "the old token is revoked")
	r = b.post("/v1/logout", nil, withHeader("Authorization", "Bearer "+newTok))
	require.Equal(t, http.StatusOK, r.status)
	assert.Nil(t, sessionCookie(t, r))
	assert.Equal(t, http.StatusUnauthorized, b.get("/v1/session", withHeader("Authorization", "Bearer "+newTok)).status)
}

// blockRules is the default rule file plus a rule that blocks one address,
// so a risk block can be provoked on demand.
func blockRules(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("../../rules/default.yaml")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "rules.yaml")
	rule := "rules:\n  - id: test-blocked-ip\n    description: an address the test blocks\n    when: event.ip == \"203.0.113.66\"\n    action: block\n"
	out := strings.Replace(string(src), "rules:\n", rule, 1)
	require.NoError(t, os.WriteFile(path, []byte(out), 0o600))
	return path
}

// TestLoginFailuresLookAlike: unknown account, wrong password, disabled
// account and a risk block get byte-identical answers.
func TestLoginFailuresLookAlike(t *testing.T) {
	t.Parallel()
	e := newEnvRules(t, httpapi.Config{TrustedProxies: nil}, blockRules(t))
	b := e.browser()
	b.register("carol@example.com")
	b.register("dave@example.com")
	r := b.get("/v1/session")
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.NoError(t, e.auth.store.SetDisabled(context.Background(), mustUserID(t, e, "dave@example.com"), true, time.Now()))

	blocked := func(r *http.Request) { r.Header.Set(httpapi.HeaderAPIKey, testKey) }
	cases := []struct {
		name  string
		body  map[string]any
		extra reqOpt
	}{
		{"unknown account", map[string]any{"identifier": "nobody@example.com", "password": userPassword}, nil},
		{"wrong password", map[string]any{"identifier": "carol@example.com", "password": "definitely not the password"}, nil},
		{"disabled account", map[string]any{"identifier": "dave@example.com", "password": userPassword}, nil},
		{"risk block", map[string]any{"identifier": "carol@example.com", "password": userPassword,
			"client": map[string]any{"ip": "203.0.113.66"}}, blocked},
	}
	var first response
	for i, tc := range cases {
		var opts []reqOpt
		if tc.extra != nil {
			opts = append(opts, tc.extra)
		}
		r := b.post("/v1/login", tc.body, opts...)
		require.Equal(t, http.StatusUnauthorized, r.status, "%s: %s", tc.name, r.body)
		assert.Equal(t, "login_failed", r.errorCode(t))
		assert.Nil(t, sessionCookie(t, r), tc.name)
		assert.Empty(t, r.header.Get("Retry-After"), tc.name)
		if i == 0 {
			first = r
			continue
		}
		assert.Equal(t, string(first.body), string(r.body), tc.name)
		assert.Equal(t, first.header.Get("Content-Type"), r.header.Get("Content-Type"))
	}
	// Identifier first, too: the flow answers alike, and so does the
	// password step.
	for _, who := range []string{"nobody@example.com", "carol@example.com", "dave@example.com"} {
		r := b.post("/v1/login", map[string]any{"identifier": who})
		require.Equal(t, http.StatusOK, r.status)
		m := r.json(t)
		assert.Equal(t, []any{"password", "email_code", "magic_link"}, m["methods"], who)
		pw := "definitely not the password"
		if who == "dave@example.com" {
			pw = userPassword
		}
		r = b.post("/v1/login/password", map[string]any{"flow_id": m["flow_id"], "password": pw})
		require.Equal(t, http.StatusUnauthorized, r.status)
		assert.Equal(t, string(first.body), string(r.body), who)
	}
}

func mustUserID(t *testing.T, e *env, email string) string {
	t.Helper()
	u, err := e.auth.store.UserByEmail(context.Background(), email)
	require.NoError(t, err)
	return u.ID
}

// TestNoStoreOnEveryAuthAnswer: successes and errors of the sign-in API
// and the link pages are never cached.
func TestNoStoreOnEveryAuthAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	b := e.browser()
	b.register("erin@example.com")
	var seen []response
	seen = append(seen,
		b.post("/v1/login", map[string]any{"identifier": "erin@example.com"}),
		b.post("/v1/login", map[string]any{"identifier": "erin@example.com", "password": userPassword}),
		b.get("/v1/session"),
		b.get("/v1/sessions"),
		b.post("/v1/totp", nil),
		b.post("/v1/login", `{"identifier":`),
		b.post("/v1/login/totp", map[string]any{"flow_id": "x", "code": "1"}),
		b.post("/v1/password/reset/request", map[string]any{"email": "erin@example.com"}),
		b.get("/login/magic?token=abc"),
		b.get("/verify-email?token=abc"),
		b.get("/password/reset?token=abc"),
		b.post("/v1/logout", nil),
		b.get("/v1/session"),
	)
	for _, r := range seen {
		assert.Equal(t, "no-store", r.header.Get("Cache-Control"), "status %d body %.80s", r.status, r.body)
	}
}

// TestCSRF: what a cross-site page could send is refused; same-origin
// JSON and explicit credentials pass.
func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	b := e.browser()
	b.register("frank@example.com")
	b.signIn("frank@example.com")

	tests := []struct {
		name   string
		opts   []reqOpt
		status int
		code   string
	}{
		{"form post", []reqOpt{withHeader("Content-Type", "application/x-www-form-urlencoded")}, 415, "unsupported_media_type"},
		{"text/plain", []reqOpt{withHeader("Content-Type", "text/plain")}, 415, "unsupported_media_type"},
		{"no content type", []reqOpt{func(r *http.Request) { r.Header.Del("Content-Type") }}, 415, "unsupported_media_type"},
		{"json with another charset", []reqOpt{withHeader("Content-Type", "application/json; charset=latin1")}, 415, "unsupported_media_type"},
		{"cross-site fetch", []reqOpt{withHeader("Sec-Fetch-Site", "cross-site")}, 403, "forbidden_origin"},
		{"same-site, other origin", []reqOpt{withHeader("Sec-Fetch-Site", "same-site")}, 403, "forbidden_origin"},
		{"foreign origin", []reqOpt{withHeader("Origin", "https://evil.example")}, 403, "forbidden_origin"},
		{"null origin", []reqOpt{withHeader("Origin", "null")}, 403, "forbidden_origin"},
		{"compressed", []reqOpt{withHeader("Content-Encoding", "gzip")}, 415, "unsupported_media_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := b.post("/v1/sessions/revoke-others", "{}", tc.opts...)
			require.Equal(t, tc.status, r.status, "body: %s", r.body)
			assert.Equal(t, tc.code, r.errorCode(t))
		})
	}
	r := b.call(http.MethodDelete, "/v1/sessions/whatever", nil, withHeader("Origin", "https://evil.example"))
	assert.Equal(t, http.StatusForbidden, r.status, "DELETE is guarded too")
	r = b.post("/v1/login", map[string]any{"identifier": "frank@example.com"}, withHeader("Sec-Fetch-Site", "cross-site"))
	assert.Equal(t, http.StatusForbidden, r.status, "no login CSRF either")

	// Still signed in after all that, and same-origin requests work, with
	// or without the fetch metadata an older browser would not send.
	assert.Equal(t, http.StatusOK, b.get("/v1/session").status)
	r = b.post("/v1/sessions/revoke-others", "{}", withHeader("Content-Type", "application/json; charset=UTF-8"),
		func(r *http.Request) { r.Header.Del("Origin"); r.Header.Del("Sec-Fetch-Site") })
	assert.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
}

// TestClientContext: only a backend with an API key may say who its user
// is; a wrong key is refused rather than ignored.
func TestClientContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	b := e.browser()
	b.register("gina@example.com")
	body := map[string]any{"identifier": "gina@example.com", "password": userPassword,
		"client": map[string]any{"ip": "198.51.100.23", "user_agent": "Backend-Forwarded/1.0",
			"device": map[string]any{"cookie_id": "dvc-gina", "platform": "MacIntel"}}}

	r := b.post("/v1/login", body)
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "body: %s", r.body)
	assert.ElementsMatch(t, []string{"client.ip", "client.user_agent"}, r.fields(t))

	r = b.post("/v1/login", body, withHeader(httpapi.HeaderAPIKey, "wrong-key-0123456789"))
	require.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "unauthorized", r.errorCode(t))

	before := e.hashes()
	r = b.post("/v1/login", body, withHeader(httpapi.HeaderAPIKey, testKey))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, before+1, e.hashes())
	r = b.get("/v1/sessions")
	require.Equal(t, http.StatusOK, r.status)
	var list struct {
		Sessions []struct {
			IP        string `json:"ip"`
			UserAgent string `json:"user_agent"`
			DeviceID  string `json:"device_id"`
		} `json:"sessions"`
	}
	require.NoError(t, json.Unmarshal(r.body, &list))
	require.Len(t, list.Sessions, 1)
	assert.Equal(t, "198.51.100.23", list.Sessions[0].IP)
	assert.Equal(t, "Backend-Forwarded/1.0", list.Sessions[0].UserAgent)
	assert.NotEmpty(t, list.Sessions[0].DeviceID, "the device descriptor reached the engine")
}

// TestAuthBadInput: every malformed request is a precise 4xx in the stable
// shape, answered before any password is hashed.
func TestAuthBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	b := e.browser()
	big := strings.Repeat("p", 5000)
	tests := []struct {
		name   string
		path   string
		body   string
		status int
		code   string
		fields []string
	}{
		{"not JSON", "/v1/login", `{"identifier":`, 400, "malformed_json", nil},
		{"trailing data", "/v1/login", `{"identifier":"a@b.example"} {}`, 400, "malformed_json", nil},
		{"invalid UTF-8", "/v1/login", "{\"identifier\":\"a\xff@b.example\"}", 400, "malformed_json", nil},
		{"not an object", "/v1/login", `["identifier"]`, 422, "invalid_request", []string{"(body)"}},
		{"wrong types", "/v1/register", `{"email":1,"password":true,"client":{"device":{"screen_width":"x"}}}`, 422, "invalid_request",
			[]string{"email", "password", "client.device.screen_width"}},
		{"client not an object", "/v1/login", `{"identifier":"a@b.example","client":"x"}`, 422, "invalid_request", []string{"client"}},
		{"missing fields", "/v1/register", `{}`, 422, "invalid_request", []string{"email", "password"}},
		{"null is absent", "/v1/login/password", `{"flow_id":null,"password":null}`, 422, "invalid_request", []string{"flow_id", "password"}},
		{"empty optional password", "/v1/login", `{"identifier":"a@b.example","password":""}`, 422, "invalid_request", []string{"password"}},
		{"NUL byte", "/v1/login", `{"identifier":"a@b.example","password":"pass\u0000word"}`, 422, "invalid_request", []string{"password"}},
		{"NUL in attributes", "/v1/login", `{"identifier":"a@b.example","client":{"attributes":{"a":"\u0000"}}}`, 422, "invalid_request", []string{"client.attributes.a"}},
		{"5 KB password", "/v1/login", `{"identifier":"a@b.example","password":"` + big + `"}`, 422, "invalid_request", []string{"password"}},
		{"5 KB new password", "/v1/register", `{"email":"a@b.example","password":"` + big + `"}`, 422, "invalid_request", []string{"password"}},
		{"1 MB password", "/v1/login", `{"identifier":"a@b.example","password":"` + strings.Repeat("p", 1<<20) + `"}`, 413, "body_too_large", nil},
		{"bad email", "/v1/register", `{"email":"not an address","password":"` + userPassword + `"}`, 422, "invalid_email", nil},
		{"short password", "/v1/register", `{"email":"h@b.example","password":"short"}`, 422, "password_too_short", nil},
		{"breached password", "/v1/register", `{"email":"h@b.example","password":"1qaz2wsx3edc4rfv"}`, 422, "password_breached", nil},
		{"bad flow id", "/v1/login/password", `{"flow_id":"nope","password":"x"}`, 410, "flow_expired", nil},
		{"bad link token", "/v1/verify-email", `{"token":"nope"}`, 410, "invalid_token", nil},
		{"no session", "/v1/totp", ``, 401, "session_invalid", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// No wall-clock bound: what makes a refusal cheap is that it
			// runs no argon2id, which the hash count below checks on any
			// machine.
			before := e.hashes()
			r := b.post(tc.path, tc.body)
			require.Equal(t, tc.status, r.status, "body: %.300s", r.body)
			assert.Equal(t, tc.code, r.errorCode(t))
			if tc.fields != nil {
				assert.Equal(t, tc.fields, r.fields(t))
			}
			assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
			if !strings.HasPrefix(tc.code, "password_") && tc.code != "invalid_email" {
				assert.Equal(t, before, e.hashes(), "no argon2id for a refused body")
			}
			assert.NotContains(t, string(r.body), big[:64], "input is never echoed")
		})
	}
	t.Run("unknown members are ignored", func(t *testing.T) {
		b.register("hank@example.com")
		r := b.post("/v1/login", map[string]any{"identifier": "hank@example.com", "password": userPassword,
			"aal": 2, "user_id": "someone-else", "session": map[string]any{"aal": 2}, "Password": "x"})
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		sess := r.json(t)["session"].(map[string]any)
		assert.EqualValues(t, 1, sess["aal"])
		assert.Equal(t, mustUserID(t, e, "hank@example.com"), sess["user_id"])
	})
}

// TestEmailCodeAndRateLimit: the email-code flow over HTTP, its resend
// limit (429 with Retry-After) and a wrong code.
func TestEmailCodeAndRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	b := e.browser()
	b.register("ivy@example.com")
	r := b.post("/v1/login", map[string]any{"identifier": "ivy@example.com"})
	flow := r.json(t)["flow_id"]
	r = b.post("/v1/login/email-code", map[string]any{"flow_id": flow})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, "code_sent", r.json(t)["status"])
	r = b.post("/v1/login/email-code", map[string]any{"flow_id": flow})
	require.Equal(t, http.StatusTooManyRequests, r.status, "body: %s", r.body)
	assert.Equal(t, "rate_limited", r.errorCode(t))
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	r = b.post("/v1/login/email-code/verify", map[string]any{"flow_id": flow, "code": "000000"})
	require.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "invalid_code", r.errorCode(t))
	r = b.post("/v1/login/email-code/verify", map[string]any{"flow_id": flow, "code": e.auth.code(t, "ivy@example.com")})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, "authenticated", r.json(t)["status"])
	assert.Equal(t, http.StatusOK, b.get("/v1/session").status)
}

// TestPasswordResetOverHTTP: the reset request always answers alike; the
// link sets a new password, ends every session and issues none.
func TestPasswordResetOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	b := e.browser()
	b.register("jack@example.com")
	b.signIn("jack@example.com")
	known := b.post("/v1/password/reset/request", map[string]any{"email": "jack@example.com"})
	unknown := b.post("/v1/password/reset/request", map[string]any{"email": "nobody@example.com"})
	require.Equal(t, http.StatusAccepted, known.status)
	assert.Equal(t, string(known.body), string(unknown.body))
	tok := e.auth.token(t, "jack@example.com", mail.KindPasswordReset)
	anon := e.browser()
	r := anon.post("/v1/password/reset", map[string]any{"token": tok, "new_password": "short"})
	assert.Equal(t, http.StatusUnprocessableEntity, r.status)
	r = anon.post("/v1/password/reset", map[string]any{"token": tok, "new_password": "a fresh and long passphrase"})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Nil(t, sessionCookie(t, r), "a reset never signs in")
	assert.Equal(t, http.StatusUnauthorized, b.get("/v1/session").status, "every session ended")
	r = anon.post("/v1/password/reset", map[string]any{"token": tok, "new_password": "a fresh and long passphrase"})
	assert.Equal(t, http.StatusGone, r.status)
}

func TestAuthnDisabled(t *testing.T) {
	t.Parallel()
	eng, _ := newEngine(t, newRegistry())
	srv, err := httpapi.New(httpapi.Config{APIKeys: []string{testKey}}, httpapi.Deps{Engine: eng})
	require.NoError(t, err)
	resp, err := srv.App().Test(newJSONRequest(http.MethodPost, "/v1/login", `{"identifier":"a@b.example"}`))
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	_, err = httpapi.New(httpapi.Config{APIKeys: []string{testKey}}, newEnv(t, httpapi.Config{}).auth.deps(httpapi.Deps{Engine: eng}))
	assert.ErrorContains(t, err, "PublicOrigin")
}

func newJSONRequest(method, path, body string) *http.Request {
	r, _ := http.NewRequest(method, "http://riskauth.test"+path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// ed25519Key is a fixed test key.
func ed25519Key(n byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{n}, ed25519.SeedSize))
}

// TestRateLimitPerIP: the unauthenticated sign-in routes share a token
// bucket per resolved client IP (behind a trusted proxy, the forwarded
// address); beyond it every account, existing or not, gets the same 429.
func TestRateLimitPerIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		RateLimit:      httpapi.RateLimitConfig{PerMinute: 1, Burst: 3},
	})
	b := e.browser()
	from := func(ip string) reqOpt { return withHeader("X-Forwarded-For", ip) }
	const attacker = "203.0.113.7"
	b.register("sam@example.com") // from the proxy's own address: a bucket of its own

	r := b.post("/v1/login", map[string]any{"identifier": "sam@example.com"}, from(attacker))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	r = b.post("/v1/password/reset/request", map[string]any{"email": "sam@example.com"}, from(attacker))
	require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	r = b.post("/v1/login", map[string]any{"identifier": "nobody@example.com"}, from(attacker))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)

	var first response
	for i, body := range []map[string]any{{"identifier": "sam@example.com"}, {"identifier": "nobody@example.com"}} {
		r := b.post("/v1/login", body, from(attacker))
		require.Equal(t, http.StatusTooManyRequests, r.status, "body: %s", r.body)
		assert.Equal(t, "rate_limited", r.errorCode(t))
		secs, err := strconv.Atoi(r.header.Get("Retry-After"))
		require.NoError(t, err)
		assert.InDelta(t, 60, secs, 2)
		if i == 0 {
			first = r
			continue
		}
		assert.Equal(t, string(first.body), string(r.body), "the same answer for existing and unknown accounts")
	}
	r = b.post("/v1/register", map[string]any{"email": "new@example.com", "password": userPassword}, from(attacker))
	assert.Equal(t, http.StatusTooManyRequests, r.status, "one bucket for every limited route")
	r = b.post("/v1/login", map[string]any{"identifier": "sam@example.com"}, from("203.0.113.8"))
	assert.Equal(t, http.StatusOK, r.status, "another address is not affected: %s", r.body)
	r = b.post("/v1/login", map[string]any{"identifier": "sam@example.com"}, from(attacker), withHeader(httpapi.HeaderAPIKey, testKey))
	assert.Equal(t, http.StatusOK, r.status, "a backend with an API key is not limited: %s", r.body)
	r = b.get("/v1/session", from(attacker))
	assert.Equal(t, http.StatusUnauthorized, r.status, "session routes are not limited")
}
