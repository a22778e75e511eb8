package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/riskauth/riskauth/authn/oidc"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
)

// TestOIDCLoginInBrowser drives the browser part of the code flow in a
// real Chromium: the relying party's redirect to /authorize, the login
// page (its CSP and CSRF cookie as a browser enforces them), and the
// redirects back to the relying party, whose code then exchanges.
func TestOIDCLoginInBrowser(t *testing.T) {
	t.Parallel()
	testenv.Chromium(t)
	var (
		mu       sync.Mutex
		got      = map[string]string{}
		rpServer = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/callback" {
				http.NotFound(w, r) // the browser asks for /favicon.ico too
				return
			}
			mu.Lock()
			got["code"], got["state"], got["error"] = r.URL.Query().Get("code"), r.URL.Query().Get("state"), r.URL.Query().Get("error")
			mu.Unlock()
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(`<!doctype html><html><body data-state="back">back at the app</body></html>`))
		}))
	)
	t.Cleanup(rpServer.Close)
	callback := rpServer.URL + "/callback"
	e := newOIDCEnv(t, oidc.ClientConfig{ID: "browser-app", FirstParty: true, SecretHash: sha256Hex(rpSecret), RedirectURIs: []string{callback}})
	ctx := newChromium(t)
	const email = "chromium@example.com"
	e.browser().register(email)
	r := e.rp("browser-app", rpSecret, callback, "email")
	verifier, challenge := pkce()

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(r.conf.AuthCodeURL("st-b", challenge)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="password"]`)),
		chromedp.SendKeys(chromedp.CSS("#identifier"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), userPassword),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="code"], body[data-state="back"]`)),
	))
	// Headless Chromium announces itself as an automation client, so the
	// engine asks for a second factor: the mailed code, on the code form.
	step, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("body"), "data-state"))
	require.NoError(t, err)
	if step.Value == "code" {
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS("#code"), e.auth.code(t, email)),
			chromedp.Click(chromedp.CSS("#submit")),
			chromedp.WaitVisible(chromedp.CSS(`body[data-state="back"]`)),
		))
	}
	mu.Lock()
	code, state, oauthErr := got["code"], got["state"], got["error"]
	mu.Unlock()
	require.Empty(t, oauthErr)
	assert.Equal(t, "st-b", state)
	require.NotEmpty(t, code)
	e.auth.track(code)
	var session bool
	for _, c := range cookies(t, ctx) {
		session = session || c.Name == "__Host-riskauth_session"
	}
	assert.True(t, session, "the sign-in left a riskauth session in the browser")

	tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	e.auth.track(tok.AccessToken)
	raw, _ := tok.Extra("id_token").(string)
	_, err = r.verifier.Verify(r.ctx, raw)
	require.NoError(t, err)
}
