package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/passkey/passkeytest"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// TestPasskeyPagesWithoutJavaScript: the passkey parts of the pages are
// hidden until the script shows them, and what the server does with
// them is checked without a browser: a forged assertion posted to the
// sign-in page gets the one generic refusal, no offer is made to a
// browser that did not say it can create passkeys, and the account
// page lists, renames and removes passkeys with plain forms.
func TestPasskeyPagesWithoutJavaScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	const email = "noa@example.com"
	e.browser().register(email)
	f := e.formBrowser(t)
	p := f.do(http.MethodGet, "/login", nil, nil)
	require.Equal(t, http.StatusOK, p.status)
	body := string(p.body)
	assert.Contains(t, body, `autocomplete="username webauthn"`)
	assert.Contains(t, body, `<button id="passkey-signin" type="button" class="secondary" hidden>`)
	assert.Contains(t, body, `/assets/passkey.js`)

	// A made-up assertion for a ceremony that does not exist: refused on
	// the identifier step like a wrong password.
	v := hidden(t, p.body)
	v.Set("step", "passkey")
	v.Set("ceremony", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	v.Set("credential", `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{}}`)
	r := f.do(http.MethodPost, "/login", v, nil)
	assert.Equal(t, http.StatusUnauthorized, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), `data-state="identifier"`)

	// Without the capability flag (no script), the sign-in goes straight on.
	p = f.submit(p, "/login", map[string]string{"identifier": email})
	p = f.submit(p, "/login", map[string]string{"password": userPassword})
	require.Equal(t, http.StatusSeeOther, p.status, "%s", p.body)
	assert.Equal(t, "/account", p.header.Get("Location"))

	// A passkey registered through the API (a software authenticator)
	// is listed on the security page, renamed and removed by forms.
	api := e.browser()
	api.cookie = f.cookies[httpapi.SessionCookie]
	a := passkeytest.New(e.url)
	c := ceremonyOf(t, api.post("/v1/account/passkeys/begin", map[string]any{}))
	cred, err := a.Create(c.Options)
	require.NoError(t, err)
	pk := api.post("/v1/account/passkeys", map[string]any{"ceremony": c.Ceremony, "credential": json.RawMessage(cred), "name": "Phone"})
	require.Equal(t, http.StatusCreated, pk.status, "%s", pk.body)
	id := pk.json(t)["id"].(string)

	sec := f.do(http.MethodGet, "/account/security", nil, nil)
	require.Equal(t, http.StatusOK, sec.status)
	assert.Contains(t, string(sec.body), `<strong class="passkey-name">Phone</strong>`)
	csrf := hidden(t, f.do(http.MethodGet, "/account", nil, nil).body).Get("csrf")
	post := func(fields url.Values) response {
		fields.Set("csrf", csrf)
		fields.Set("section", "security")
		return f.do(http.MethodPost, "/account", fields, nil)
	}
	r = post(url.Values{"action": {"passkey_rename"}, "id": {id}, "name": {"Old phone"}})
	require.Equal(t, http.StatusSeeOther, r.status, "%s", r.body)
	assert.Equal(t, "/account/security?done=passkey_renamed", r.header.Get("Location"))
	r = post(url.Values{"action": {"passkey_rename"}, "id": {id}, "name": {"bad\x01name"}})
	assert.Equal(t, http.StatusUnprocessableEntity, r.status)
	r = post(url.Values{"action": {"passkey_remove"}, "id": {"bm8tc3VjaC1wYXNza2V5"}})
	assert.Equal(t, http.StatusUnprocessableEntity, r.status)
	assert.Contains(t, string(r.body), `id="message"`)
	// The password sign-in was AAL1: removing a factor of an account
	// with a passkey needs AAL2, given by the passkey itself.
	r = post(url.Values{"action": {"passkey_remove"}, "id": {id}})
	assert.Equal(t, http.StatusUnprocessableEntity, r.status, "%s", r.body)
	c = ceremonyOf(t, api.post("/v1/reauthenticate/passkey/begin", map[string]any{}))
	assertion, err := a.Get(c.Options)
	require.NoError(t, err)
	re := api.post("/v1/reauthenticate/passkey", map[string]any{"ceremony": c.Ceremony, "credential": json.RawMessage(assertion)})
	require.Equal(t, http.StatusOK, re.status, "%s", re.body)
	f.cookies[httpapi.SessionCookie] = api.cookie
	csrf = hidden(t, f.do(http.MethodGet, "/account", nil, nil).body).Get("csrf")
	r = post(url.Values{"action": {"passkey_remove"}, "id": {id}})
	require.Equal(t, http.StatusSeeOther, r.status, "%s", r.body)
	assert.Equal(t, "/account/security?done=passkey_removed", r.header.Get("Location"))
	sec = f.do(http.MethodGet, "/account/security?done=passkey_removed", nil, nil)
	assert.Contains(t, string(sec.body), `id="passkeys-none"`)
	assert.Contains(t, string(sec.body), "Your passkey is removed.")
}
