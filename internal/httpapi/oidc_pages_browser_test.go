package httpapi_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/oidc"
)

// oidcPagesInBrowser runs axe-core on the provider's own hosted pages in
// the pages' Chromium: a third-party client's consent page (reached
// through the OIDC login, so the CSRF cookie and the CSP are the real
// ones) and the device code entry of the signed-in browser.
func oidcPagesInBrowser(t *testing.T, pb *pagesBrowser) {
	t.Helper()
	const redirect = "https://partner.example/callback"
	e := newOIDCEnv(t, oidc.ClientConfig{ID: "partner-app", Name: "Partner Shop", SecretHash: sha256Hex(rpSecret),
		RedirectURIs: []string{redirect}})
	const email = "consent-browser@example.com"
	e.browser().register(email)
	_, challenge := pkce()
	authorize := e.rp("partner-app", rpSecret, redirect, "email").conf.AuthCodeURL("st-p", challenge)

	ctx := pb.tab("en-US", true)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(authorize), state("password"),
		chromedp.SendKeys(chromedp.CSS("#identifier"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), userPassword),
		chromedp.Click(chromedp.CSS("#submit"))))
	waitFor(t, ctx, `body[data-state="ask"], body[data-state="code"]`)
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#code").length`)); n > 0 {
		// Headless Chromium is an automation client: the mailed code.
		require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#code"), e.auth.code(t, email)), chromedp.Click(chromedp.CSS("#submit"))))
		waitFor(t, ctx, `body[data-state="ask"]`)
	}
	pb.check(ctx, "oidc-consent")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.url+oidc.DefaultDevicePath), state("enter")))
	pb.check(ctx, "oidc-device")
}
