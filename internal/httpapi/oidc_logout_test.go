package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/riskauth/riskauth/authn/oidc"
	"github.com/riskauth/riskauth/authn/secevent"
)

const (
	rpLogoutClient = "bcl-app"
	rpBye          = "http://127.0.0.1:1/rp/bye"
)

// backchannelRP is a relying party's back-channel logout endpoint: it
// answers 500 to the first fail requests, then takes the logout tokens.
type backchannelRP struct {
	srv    *httptest.Server
	tokens chan string
	calls  atomic.Int32
	fail   int32
}

func newBackchannelRP(t *testing.T, fail int32) *backchannelRP {
	rp := &backchannelRP{tokens: make(chan string, 16), fail: fail}
	rp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rp.calls.Add(1) <= rp.fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rp.tokens <- r.FormValue("logout_token")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rp.srv.Close)
	return rp
}

// next waits for the next logout token.
func (rp *backchannelRP) next(t *testing.T) string {
	t.Helper()
	select {
	case tok := <-rp.tokens:
		return tok
	case <-time.After(20 * time.Second):
		t.Fatal("no logout token arrived")
		return ""
	}
}

// logoutClaims are what a logout token must say.
type logoutClaims struct {
	SID    string         `json:"sid"`
	Events map[string]any `json:"events"`
	Nonce  *string        `json:"nonce"`
}

// signInRP runs the code flow in ua and returns the verified ID token,
// its raw form and its sid.
func signInRP(t *testing.T, e *oidcEnv, r *rp, ua *userAgent, email string, first bool) (*gooidc.IDToken, string, string) {
	t.Helper()
	verifier, ch := pkce()
	var code string
	if first {
		code = ua.authorize(r.conf.AuthCodeURL("st", ch, gooidc.Nonce("n")), email).Query().Get("code")
	} else {
		p := ua.get(r.conf.AuthCodeURL("st", ch, gooidc.Nonce("n")))
		require.Equal(t, http.StatusFound, p.status, p.body)
		u, err := url.Parse(p.location)
		require.NoError(t, err)
		code = u.Query().Get("code")
	}
	require.NotEmpty(t, e.auth.track(code))
	tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	e.auth.track(tok.AccessToken)
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(r.ctx, raw)
	require.NoError(t, err)
	var c struct {
		SID string `json:"sid"`
	}
	require.NoError(t, idt.Claims(&c))
	require.NotEmpty(t, c.SID, "ID tokens carry sid")
	return idt, raw, c.SID
}

// checkLogoutToken verifies a logout token as a relying party does:
// signature, issuer, audience, expiry (go-oidc), the event, sid, no nonce.
func checkLogoutToken(t *testing.T, r *rp, raw, sub, sid string) {
	t.Helper()
	lt, err := r.verifier.Verify(r.ctx, raw)
	require.NoError(t, err)
	assert.Equal(t, sub, lt.Subject)
	var c logoutClaims
	require.NoError(t, lt.Claims(&c))
	assert.Equal(t, sid, c.SID)
	assert.Contains(t, c.Events, oidc.LogoutEvent)
	assert.Nil(t, c.Nonce, "a logout token has no nonce")
}

func (b *userAgent) sessionStatus() int {
	return b.get(b.e.url + "/v1/session").status
}

// TestOIDCLogout: RP-initiated logout with an id_token_hint ends the
// riskauth session and returns to the registered post-logout URI with the
// state; an unregistered URI is refused and ends nothing, and so is a
// logout without a hint. Every ended session (this logout, a sign-out
// through the API) reaches the client's back-channel logout URI as a
// signed logout token go-oidc verifies, after retries when the client
// failed, and each delivery is audited.
func TestOIDCLogout(t *testing.T) {
	t.Parallel()
	bcl := newBackchannelRP(t, 2)
	e := newOIDCEnv(t, oidc.ClientConfig{ID: rpLogoutClient, Name: "Logout App", FirstParty: true, SecretHash: sha256Hex(rpSecret),
		RedirectURIs: []string{rpRedirect}, PostLogoutRedirectURIs: []string{rpBye}, BackchannelLogoutURI: bcl.srv.URL + "/bcl"})
	const email = "logout@example.com"
	e.browser().register(email)
	r := e.rp(rpLogoutClient, rpSecret, rpRedirect, "email")
	var disc struct {
		EndSession string `json:"end_session_endpoint"`
		BCL        bool   `json:"backchannel_logout_supported"`
		BCLSession bool   `json:"backchannel_logout_session_supported"`
	}
	require.NoError(t, r.provider.Claims(&disc))
	assert.Equal(t, e.url+oidc.PathEndSession, disc.EndSession)
	assert.True(t, disc.BCL)
	assert.True(t, disc.BCLSession)

	ua := e.userAgent()
	idt, raw, sid := signInRP(t, e, r, ua, email, true)
	require.Equal(t, http.StatusOK, ua.sessionStatus())
	endURL := func(q url.Values) string { return e.url + oidc.PathEndSession + "?" + q.Encode() }

	t.Run("refused", func(t *testing.T) {
		p := ua.get(endURL(url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {"http://127.0.0.1:1/evil"}}))
		assert.Equal(t, http.StatusBadRequest, p.status, "an unregistered post-logout URI")
		assert.NotContains(t, p.location, "evil")
		p = ua.get(endURL(url.Values{"post_logout_redirect_uri": {rpBye}}))
		assert.Equal(t, http.StatusOK, p.status, "no hint: the signed-out page, nothing ended: %s", p.body)
		assert.Equal(t, oidc.DefaultLoggedOutPath, p.url.Path)
		assert.Equal(t, http.StatusOK, ua.sessionStatus(), "the session lives")
		p = ua.get(endURL(url.Values{"id_token_hint": {raw + "x"}}))
		assert.Equal(t, http.StatusBadRequest, p.status, "a forged hint")
		assert.Equal(t, http.StatusOK, ua.sessionStatus())
	})

	p := ua.get(endURL(url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {rpBye}, "state": {"bye-1"}}))
	require.Equal(t, http.StatusFound, p.status, p.body)
	assert.Equal(t, rpBye+"?state=bye-1", p.location)
	assert.Equal(t, http.StatusUnauthorized, ua.sessionStatus(), "the riskauth session ended")
	checkLogoutToken(t, r, bcl.next(t), idt.Subject, sid)
	assert.EqualValues(t, 3, bcl.calls.Load(), "two failures, then delivered")
	require.Eventually(t, func() bool { return len(e.events.of(secevent.OIDCBackchannelLogout)) == 1 }, 20*time.Second, 10*time.Millisecond)
	ev := e.events.of(secevent.OIDCBackchannelLogout)[0]
	assert.Equal(t, map[string]string{"client_id": rpLogoutClient, "outcome": "delivered", "attempts": "3"}, ev.Details)
	assert.Equal(t, sid, ev.SessionID)
	logouts := e.events.of(secevent.Logout)
	require.NotEmpty(t, logouts)
	assert.Equal(t, "oidc_end_session", logouts[len(logouts)-1].Details["via"])

	// A sign-out through the API ends the next session: the client hears
	// of that one too.
	_, _, sid2 := signInRP(t, e, r, ua, email, true)
	assert.NotEqual(t, sid, sid2)
	req, err := http.NewRequest(http.MethodPost, e.url+"/v1/logout", strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", e.url)
	require.Equal(t, http.StatusOK, ua.do(req).status)
	checkLogoutToken(t, r, bcl.next(t), idt.Subject, sid2)
}

// TestOIDCBackchannelGivesUp: a client that never answers is tried a
// bounded number of times, and the failure is audited.
func TestOIDCBackchannelGivesUp(t *testing.T) {
	t.Parallel()
	bcl := newBackchannelRP(t, 1000)
	e := newOIDCEnv(t, oidc.ClientConfig{ID: rpLogoutClient, FirstParty: true, SecretHash: sha256Hex(rpSecret),
		RedirectURIs: []string{rpRedirect}, BackchannelLogoutURI: bcl.srv.URL + "/bcl"})
	const email = "gives-up@example.com"
	e.browser().register(email)
	r := e.rp(rpLogoutClient, rpSecret, rpRedirect)
	ua := e.userAgent()
	_, raw, _ := signInRP(t, e, r, ua, email, true)
	p := ua.get(e.url + oidc.PathEndSession + "?" + url.Values{"id_token_hint": {raw}}.Encode())
	require.Equal(t, http.StatusOK, p.status, "the signed-out page: %s", p.body)
	require.Eventually(t, func() bool { return len(e.events.of(secevent.OIDCBackchannelLogout)) == 1 }, 20*time.Second, 10*time.Millisecond)
	ev := e.events.of(secevent.OIDCBackchannelLogout)[0]
	assert.Equal(t, "failed", ev.Details["outcome"])
	assert.Equal(t, "3", ev.Details["attempts"])
	assert.EqualValues(t, 3, bcl.calls.Load(), "bounded")
}
