package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/httpapi"
)

// TestRegenerateRecoveryCodesRoute: POST /v1/recovery-codes needs a
// session stepped up with the second factor, answers 10 new codes once;
// the old ones stop working and each new one works once.
func TestRegenerateRecoveryCodesRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	b := e.browser()
	const email = "rita@example.com"
	b.register(email)

	r := b.post("/v1/recovery-codes", nil)
	require.Equal(t, http.StatusUnauthorized, r.status, "a session is required: %s", r.body)
	assert.Equal(t, "session_invalid", r.errorCode(t))
	b.signIn(email)
	r = b.post("/v1/recovery-codes", nil)
	require.Equal(t, http.StatusNotFound, r.status, "no app set up: %s", r.body)

	r = b.post("/v1/totp", nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var en struct {
		FactorID string `json:"factor_id"`
		Secret   string `json:"secret"`
	}
	require.NoError(t, json.Unmarshal(r.body, &en))
	e.auth.track(en.Secret)
	r = b.post("/v1/totp/confirm", map[string]any{"factor_id": en.FactorID, "code": totpAt(t, en.Secret, time.Now())})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var old, fresh struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	require.NoError(t, json.Unmarshal(r.body, &old))
	for _, c := range old.RecoveryCodes {
		e.auth.track(c)
	}

	r = b.post("/v1/recovery-codes", nil)
	require.Equal(t, http.StatusForbidden, r.status, "an AAL1 session: %s", r.body)
	assert.Equal(t, "reauthentication_required", r.errorCode(t))
	r = b.post("/v1/reauthenticate", map[string]any{"password": userPassword, "recovery_code": old.RecoveryCodes[0]})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	r = b.post("/v1/recovery-codes", nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	require.NoError(t, json.Unmarshal(r.body, &fresh))
	require.Len(t, fresh.RecoveryCodes, 10)
	for _, c := range fresh.RecoveryCodes {
		e.auth.track(c)
	}

	useCode := func(code string) response {
		t.Helper()
		other := e.browser()
		r := other.post("/v1/login", map[string]any{"identifier": email, "password": userPassword})
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		m := r.json(t)
		require.Equal(t, "second_factor_required", m["status"])
		return other.post("/v1/login/recovery-code", map[string]any{"flow_id": m["flow_id"], "code": code})
	}
	r = useCode(old.RecoveryCodes[1])
	assert.Equal(t, http.StatusUnauthorized, r.status, "old codes are void: %s", r.body)
	r = useCode(fresh.RecoveryCodes[0])
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	r = useCode(fresh.RecoveryCodes[0])
	assert.Equal(t, http.StatusUnauthorized, r.status, "single use: %s", r.body)
}

// TestFactorChangeRotatesOverHTTP: enrolling an app from one session ends
// the user's others and hands the acting client its successor in the
// transport it uses: a bearer token in the body for an app, the cookie
// for a browser. The replaced credentials answer 401.
func TestFactorChangeRotatesOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	b := e.browser()
	const email = "sven@example.com"
	b.register(email)
	app := func(r *http.Request) {
		r.Header.Del("Origin")
		r.Header.Del("Sec-Fetch-Site")
		r.Header.Set(httpapi.HeaderSessionTransport, "bearer")
	}
	r := b.post("/v1/login", map[string]any{"identifier": email, "password": userPassword}, app)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	tok := r.json(t)["session"].(map[string]any)["token"].(string)
	browser := e.browser()
	browser.signIn(email)
	browserCookie := browser.cookie

	auth := withHeader("Authorization", "Bearer "+tok)
	r = b.post("/v1/totp", nil, app, auth)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var en struct {
		FactorID string `json:"factor_id"`
		Secret   string `json:"secret"`
	}
	require.NoError(t, json.Unmarshal(r.body, &en))
	e.auth.track(en.Secret)
	r = b.post("/v1/totp/confirm", map[string]any{"factor_id": en.FactorID, "code": totpAt(t, en.Secret, time.Now())}, app, auth)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
		Session       struct {
			Token string `json:"token"`
			AAL   int    `json:"aal"`
		} `json:"session"`
		SessionsRevoked int `json:"sessions_revoked"`
	}
	require.NoError(t, json.Unmarshal(r.body, &out))
	assert.Len(t, out.RecoveryCodes, 10)
	assert.Equal(t, 1, out.SessionsRevoked, "the browser's session")
	require.NotEmpty(t, out.Session.Token)
	assert.NotEqual(t, tok, out.Session.Token)
	assert.Nil(t, sessionCookie(t, r), "a bearer client gets no cookie")

	assert.Equal(t, http.StatusUnauthorized, b.get("/v1/session", auth).status, "the old token is dead")
	assert.Equal(t, http.StatusOK, b.get("/v1/session", withHeader("Authorization", "Bearer "+out.Session.Token)).status)
	browser.cookie = browserCookie
	assert.Equal(t, http.StatusUnauthorized, browser.get("/v1/session").status, "the other session ended")
}
