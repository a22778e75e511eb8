package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// TestMagicLinkApprovalOverHTTP: a flow started by a browser binds it
// with a cookie; the flow's link opened by another client answers
// approval_required naming the asking device and signs nobody in; the
// approval lets the asking client's poll go on. An app that started the
// flow and presents flow_id with the link is signed in directly; a deny
// ends the asking client's sign-in.
func TestMagicLinkApprovalOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	asker, other := e.browser(), e.browser()
	other.ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	const email = "zelda@example.com"
	asker.register(email)
	asker.cookie = ""

	start := func(opts ...reqOpt) (string, response) {
		t.Helper()
		r := asker.post("/v1/login", map[string]any{"identifier": email}, opts...)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		flow := r.json(t)["flow_id"].(string)
		cr := asker.post("/v1/login/email-code", map[string]any{"flow_id": flow}, opts...)
		require.Equal(t, http.StatusOK, cr.status, "body: %s", cr.body)
		return flow, r
	}

	_, r := start()
	var fc *http.Cookie
	for _, line := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		require.NoError(t, err)
		if c.Name == httpapi.FlowCookie {
			fc = c
		}
	}
	require.NotNil(t, fc, "the browser that starts a flow gets its binding")
	assert.True(t, fc.HttpOnly)
	assert.True(t, fc.Secure)
	assert.Equal(t, http.SameSiteStrictMode, fc.SameSite)
	e.auth.track(fc.Value)

	link := e.auth.token(t, email, mail.KindLoginCode)
	r = other.post("/v1/login/magic-link", map[string]any{"token": link})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	m := r.json(t)
	require.Equal(t, "approval_required", m["status"])
	assert.Nil(t, sessionCookie(t, r), "nobody is signed in where the link was opened")
	a := m["approval"].(map[string]any)
	assert.Equal(t, "Chrome on Windows", a["device"])
	assert.Equal(t, "127.0.0.1", a["ip"])
	assert.NotEmpty(t, a["requested_at"])

	// The asking browser shows its cookie: the link signs it in.
	r = asker.post("/v1/login/magic-link", map[string]any{"token": link}, withHeader("Cookie", httpapi.FlowCookie+"="+fc.Value))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, "authenticated", r.json(t)["status"])
	asker.cookie = ""

	// Approval: the other device approves, the asking one goes on.
	flow, _ := start()
	link = e.auth.token(t, email, mail.KindLoginCode)
	r = other.post("/v1/login/magic-link/approve", map[string]any{"token": link})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, "approved", r.json(t)["status"])
	assert.Nil(t, sessionCookie(t, r))
	r = asker.post("/v1/login/poll", map[string]any{"flow_id": flow})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, "authenticated", r.json(t)["status"])
	assert.NotNil(t, sessionCookie(t, r), "the session goes to the asking browser")
	asker.cookie = ""

	// Deny: the asking client's poll is refused.
	flow, _ = start()
	link = e.auth.token(t, email, mail.KindLoginCode)
	r = other.post("/v1/login/magic-link/deny", map[string]any{"token": link})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	r = asker.post("/v1/login/poll", map[string]any{"flow_id": flow})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "login_failed", r.errorCode(t))

	// An app: no cookie; it presents its flow_id with the link.
	app := func(r *http.Request) {
		r.Header.Del("Origin")
		r.Header.Del("Sec-Fetch-Site")
		r.Header.Set(httpapi.HeaderSessionTransport, "bearer")
	}
	flow, r = start(app)
	assert.Empty(t, r.header.Values("Set-Cookie"), "an app gets no cookie")
	link = e.auth.token(t, email, mail.KindLoginCode)
	r = asker.post("/v1/login/magic-link", map[string]any{"token": link, "flow_id": flow}, app)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, "authenticated", r.json(t)["status"])
}
