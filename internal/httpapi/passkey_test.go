package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/passkey/passkeytest"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// ceremony is a begin's answer.
type ceremony struct {
	Ceremony string          `json:"ceremony"`
	Options  json.RawMessage `json:"options"`
}

func ceremonyOf(t *testing.T, r response) ceremony {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var c ceremony
	require.NoError(t, json.Unmarshal(r.body, &c))
	require.NotEmpty(t, c.Ceremony)
	return c
}

// TestPasskeyAPI drives the passkey routes with a software authenticator
// (a Chromium test with the virtual authenticator is still to come):
// register, list, sign in
// passwordless, replay, forge, step up, rename, remove. Every answer
// validates against the OpenAPI document.
func TestPasskeyAPI(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	e := newEnv(t, httpapi.Config{})
	// check sends one request; an invalid request (against the
	// document) is one whose name starts with "invalid".
	check := func(b *browser, name, method, path string, body any, status int) response {
		t.Helper()
		raw := ""
		var r response
		if body != nil {
			j, _ := json.Marshal(body)
			raw = string(j)
			r = b.call(method, path, raw, withHeader("Content-Type", "application/json"))
		} else {
			r = b.call(method, path, nil)
		}
		require.Equal(t, status, r.status, "%s: body: %s", name, r.body)
		validate(t, router, exchange{name: name, method: method, path: path, body: raw, status: status, validRequest: !strings.HasPrefix(name, "invalid")}, r)
		return r
	}
	const email = "pat@example.com"
	a := passkeytest.New(e.url)
	owner := e.browser()
	owner.register(email)
	owner.signIn(email)

	l := check(owner, "list, offer", "GET", "/v1/account/passkeys", nil, 200).json(t)
	assert.Equal(t, true, l["offer_registration"])
	c := ceremonyOf(t, check(owner, "register begin", "POST", "/v1/account/passkeys/begin", map[string]any{}, 200))
	cred, err := a.Create(c.Options)
	require.NoError(t, err)
	pk := check(owner, "register", "POST", "/v1/account/passkeys", map[string]any{"ceremony": c.Ceremony, "credential": json.RawMessage(cred), "name": "Laptop"}, 201).json(t)
	assert.Equal(t, "Laptop", pk["name"])
	check(owner, "register again", "POST", "/v1/account/passkeys", map[string]any{"ceremony": c.Ceremony, "credential": json.RawMessage(cred)}, 404)
	l = check(owner, "list", "GET", "/v1/account/passkeys", nil, 200).json(t)
	assert.Equal(t, false, l["offer_registration"])
	require.Len(t, l["passkeys"], 1)
	id := pk["id"].(string)

	// Passwordless, in another browser.
	other := e.browser()
	c = ceremonyOf(t, check(other, "sign-in begin", "POST", "/v1/login/passkey/begin", map[string]any{"conditional": true}, 200))
	assertion, err := a.Get(c.Options)
	require.NoError(t, err)
	r := check(other, "sign in", "POST", "/v1/login/passkey", map[string]any{"ceremony": c.Ceremony, "credential": json.RawMessage(assertion)}, 200).json(t)
	assert.Equal(t, "authenticated", r["status"])
	require.NotEmpty(t, other.cookie)
	who := check(other, "session", "GET", "/v1/session", nil, 200).json(t)
	assert.EqualValues(t, 2, who["aal"], "a passkey with user verification is AAL2")

	// The same assertion again: the ceremony is spent.
	replay := e.browser()
	r = check(replay, "replay", "POST", "/v1/login/passkey", map[string]any{"ceremony": c.Ceremony, "credential": json.RawMessage(assertion)}, 410).json(t)
	assert.Equal(t, "flow_expired", r["error"].(map[string]any)["code"])
	// A fresh ceremony answered with the old assertion (its challenge
	// is another's), and a forged signature: the one generic refusal.
	c = ceremonyOf(t, replay.post("/v1/login/passkey/begin", nil))
	r = check(replay, "old assertion", "POST", "/v1/login/passkey", map[string]any{"ceremony": c.Ceremony, "credential": json.RawMessage(assertion)}, 401).json(t)
	assert.Equal(t, "login_failed", r["error"].(map[string]any)["code"])
	c = ceremonyOf(t, replay.post("/v1/login/passkey/begin", nil))
	forged, err := a.Get(c.Options)
	require.NoError(t, err)
	var fm map[string]any
	require.NoError(t, json.Unmarshal(forged, &fm))
	fm["response"].(map[string]any)["signature"] = "MEUCIQDx" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	check(replay, "forged", "POST", "/v1/login/passkey", map[string]any{"ceremony": c.Ceremony, "credential": fm}, 401)
	assert.Empty(t, replay.cookie)
	check(replay, "invalid: no ceremony", "POST", "/v1/login/passkey", map[string]any{}, 422)

	// Re-authentication with the passkey: a fresh AAL2 session replaces
	// the caller's; the ceremony is single use; an account without a
	// passkey has none to begin.
	c = ceremonyOf(t, check(other, "reauth begin", "POST", "/v1/reauthenticate/passkey/begin", map[string]any{}, 200))
	assertion, err = a.Get(c.Options)
	require.NoError(t, err)
	before := other.cookie
	proof := map[string]any{"ceremony": c.Ceremony, "credential": json.RawMessage(assertion)}
	r = check(other, "reauth", "POST", "/v1/reauthenticate/passkey", proof, 200).json(t)
	assert.EqualValues(t, 2, r["session"].(map[string]any)["aal"])
	assert.NotEqual(t, before, other.cookie, "a new session")
	check(other, "reauth replay", "POST", "/v1/reauthenticate/passkey", proof, 410)
	stale := e.browser()
	stale.cookie = before
	check(stale, "replaced session", "GET", "/v1/session", nil, 401)
	check(other, "invalid: reauth without ceremony", "POST", "/v1/reauthenticate/passkey", map[string]any{}, 422)
	nopk := e.browser()
	nopk.register("nopk@example.com")
	nopk.signIn("nopk@example.com")
	check(nopk, "reauth without a passkey", "POST", "/v1/reauthenticate/passkey/begin", map[string]any{}, 409)

	// The owner's password sign-in was AAL1: removing a factor of an
	// account with a passkey needs AAL2, which the passkey gives.
	check(owner, "remove at AAL1", "DELETE", "/v1/account/passkeys/"+id, nil, 403)
	c = ceremonyOf(t, owner.post("/v1/reauthenticate/passkey/begin", map[string]any{}))
	assertion, err = a.Get(c.Options)
	require.NoError(t, err)
	check(owner, "reauth owner", "POST", "/v1/reauthenticate/passkey", map[string]any{"ceremony": c.Ceremony, "credential": json.RawMessage(assertion)}, 200)
	check(owner, "rename", "PATCH", "/v1/account/passkeys/"+id, map[string]any{"name": "Work laptop"}, 200)
	check(owner, "rename unknown", "PATCH", "/v1/account/passkeys/AAAA", map[string]any{"name": "x"}, 404)
	gone := check(owner, "remove", "DELETE", "/v1/account/passkeys/"+id, nil, 200).json(t)
	assert.GreaterOrEqual(t, gone["sessions_revoked"], float64(1), "the passkey's own session ended")
	check(other, "other session ended", "GET", "/v1/session", nil, 401)
	check(owner, "dismiss", "POST", "/v1/account/passkeys/offer/dismiss", nil, 200)
	l = check(owner, "list after", "GET", "/v1/account/passkeys", nil, 200).json(t)
	assert.Empty(t, l["passkeys"])
}
