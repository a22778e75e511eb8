package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// The link pages are text/html, which kin-openapi does not decode by
// default. Registered before any test runs: the registry is a package map
// that parallel tests read.
func init() { openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder) }

// Real answers of the sign-in API validate against the document, errors
// included, and the requests the server accepts are valid per the
// document.
func TestOpenAPIAuthResponsesConform(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	signer := testSigner(t)
	e := newEnv(t, httpapi.Config{AccessTokens: &signer, BodyLimit: 8 << 10})
	b := e.browser()

	check := func(name, method, path string, body any, status int, valid bool, opts ...reqOpt) response {
		t.Helper()
		raw := ""
		if body != nil {
			if s, ok := body.(string); ok {
				raw = s
			} else {
				j, _ := json.Marshal(body)
				raw = string(j)
			}
		}
		var r response
		if body == nil {
			r = b.call(method, path, nil, opts...)
		} else {
			r = b.call(method, path, raw, opts...)
		}
		t.Run(name, func(t *testing.T) {
			require.Equal(t, status, r.status, "body: %.300s", r.body)
			validate(t, router, exchange{name: name, method: method, path: path, body: raw, status: status, validRequest: valid}, r)
		})
		return r
	}
	const email = "doc@example.com"
	check("register", "POST", "/v1/register", map[string]any{"email": email, "password": userPassword, "client": map[string]any{"device": map[string]any{"cookie_id": "c1"}}}, 202, true)
	check("register invalid", "POST", "/v1/register", `{"email":5}`, 422, false)
	check("register breached", "POST", "/v1/register", map[string]any{"email": "x@example.com", "password": "passwordpassword"}, 422, true)
	check("register malformed", "POST", "/v1/register", `{"email":`, 400, false)
	check("register too large", "POST", "/v1/register", `{"email":"`+strings.Repeat("x", 9<<10)+`"}`, 413, false)
	check("register form", "POST", "/v1/register", `{}`, 415, false, withHeader("Content-Type", "text/plain"))
	check("register cross-site", "POST", "/v1/register", map[string]any{"email": email, "password": userPassword}, 403, true, withHeader("Origin", "https://evil.example"))
	check("verify", "POST", "/v1/verify-email", map[string]any{"token": e.auth.token(t, email, mail.KindVerifyEmail)}, 200, true)
	check("verify again", "POST", "/v1/verify-email", map[string]any{"token": "bm9wZW5vcGVub3Blbm9wZW5vcGVub3Blbm9wZW5vcGU"}, 410, true)
	r := check("login start", "POST", "/v1/login", map[string]any{"identifier": email}, 200, true)
	flow := r.json(t)["flow_id"].(string)
	check("email code", "POST", "/v1/login/email-code", map[string]any{"flow_id": flow}, 200, true)
	check("email code again", "POST", "/v1/login/email-code", map[string]any{"flow_id": flow}, 429, true)
	check("email code wrong", "POST", "/v1/login/email-code/verify", map[string]any{"flow_id": flow, "code": "000000"}, 401, true)
	check("magic link unknown", "POST", "/v1/login/magic-link", map[string]any{"token": "bm9wZW5vcGVub3Blbm9wZW5vcGVub3Blbm9wZW5vcGU"}, 410, true)
	check("totp too early", "POST", "/v1/login/totp", map[string]any{"flow_id": flow, "code": "123456"}, 409, true)
	check("recovery too early", "POST", "/v1/login/recovery-code", map[string]any{"flow_id": flow, "code": "abcd-efgh"}, 409, true)
	check("login password", "POST", "/v1/login/password", map[string]any{"flow_id": flow, "password": userPassword}, 200, true)
	check("login failed", "POST", "/v1/login", map[string]any{"identifier": email, "password": "not the right one at all"}, 401, true)
	check("whoami", "GET", "/v1/session", nil, 200, true)
	check("sessions", "GET", "/v1/sessions", nil, 200, true)
	r = check("totp begin", "POST", "/v1/totp", nil, 200, true)
	var en struct {
		FactorID string `json:"factor_id"`
		Secret   string `json:"secret"`
	}
	require.NoError(t, json.Unmarshal(r.body, &en))
	e.auth.track(en.Secret)
	check("totp confirm wrong factor", "POST", "/v1/totp/confirm", map[string]any{"factor_id": "nope", "code": "123456"}, 404, true)
	check("totp confirm", "POST", "/v1/totp/confirm", map[string]any{"factor_id": en.FactorID, "code": totpAt(t, en.Secret, time.Now())}, 200, true)
	check("totp remove needs step-up", "POST", "/v1/totp/remove", map[string]any{"password": userPassword}, 403, true)
	check("recovery codes need step-up", "POST", "/v1/recovery-codes", nil, 403, true)
	check("reauthenticate", "POST", "/v1/reauthenticate", map[string]any{"password": userPassword, "totp_code": totpAt(t, en.Secret, time.Now().Add(30*time.Second))}, 200, true)
	check("recovery codes", "POST", "/v1/recovery-codes", nil, 200, true)
	check("token", "POST", "/v1/token", map[string]any{}, 200, true)
	check("jwks", "GET", "/.well-known/jwks.json", nil, 200, true)
	check("revoke others", "POST", "/v1/sessions/revoke-others", nil, 200, true)
	check("revoke unknown", "DELETE", "/v1/sessions/nope", nil, 404, true)
	check("change password wrong", "POST", "/v1/password/change", map[string]any{"current_password": "wrong wrong wrong", "new_password": "another passphrase 9"}, 403, true)
	check("change password", "POST", "/v1/password/change", map[string]any{"current_password": userPassword, "new_password": "another passphrase 9"}, 200, true)
	check("reset request", "POST", "/v1/password/reset/request", map[string]any{"email": email}, 202, true)
	check("reset bad token", "POST", "/v1/password/reset", map[string]any{"token": "bm9wZW5vcGVub3Blbm9wZW5vcGVub3Blbm9wZW5vcGU", "new_password": "yet another passphrase"}, 410, true)
	check("magic page", "GET", "/login/magic?token=abc", nil, 200, true)
	check("verify page", "GET", "/verify-email?token=abc", nil, 200, true)
	check("reset page", "GET", "/password/reset?token=abc", nil, 200, true)
	check("logout", "POST", "/v1/logout", nil, 200, true)
	check("whoami signed out", "GET", "/v1/session", nil, 401, true)
	check("login wrong method", "GET", "/v1/login", nil, 405, false)
}
