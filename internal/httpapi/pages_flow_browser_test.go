package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// focused is the id of the element that has the keyboard focus.
func focused(t *testing.T, ctx context.Context) string {
	t.Helper()
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
	require.NoError(t, err)
	return id
}

// keys types into the focused element, as a keyboard does.
func keys(t *testing.T, ctx context.Context, s string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent(s)))
}

// TestHostedPagesInBrowser drives the hosted pages in one Chromium: the
// sign-in by keyboard alone (identifier, a wrong then the right
// password, the code step when the engine asks for one), with axe-core
// run on every page and the screenshots taken with -update-screenshots;
// the device collector's descriptor arrives, and on the next visit the
// engine knows the browser.
func TestHostedPagesInBrowser(t *testing.T) {
	t.Parallel()
	pb := newPagesBrowser(t)
	e := newEnv(t, httpapi.Config{})
	const email = "ada@example.com"
	e.browser().register(email)

	ctx := pb.tab("en-US,en;q=0.9", true)
	signIn := func(shots bool) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.url+"/login"), state("identifier")))
		if shots {
			pb.check(ctx, "signin-en")
		}
		assert.Equal(t, "identifier", focused(t, ctx), "the identifier field has the focus")
		dev, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#form input.device-field`)))
		require.NoError(t, err)
		var d map[string]any
		require.NoError(t, json.Unmarshal([]byte(dev), &d), "the collector filled the form: %q", dev)
		assert.Len(t, d["cookie_id"], 32)
		assert.NotEmpty(t, d["timezone"])
		assert.NotEmpty(t, d["canvas_hash"])

		keys(t, ctx, email+kb.Enter)
		require.NoError(t, chromedp.Do(ctx, state("password")))
		assert.Equal(t, "password", focused(t, ctx))
		if shots {
			pb.check(ctx, "signin-password")
			keys(t, ctx, "not my password at all"+kb.Enter)
			require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#message`))))
			assert.Contains(t, text(t, ctx, "#message"), "The email address or password is wrong.")
			pb.check(ctx, "signin-refused")
		}
		keys(t, ctx, userPassword+kb.Enter)
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`body[data-state="code"], body[data-page="account"]`))))
		pageName, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`body`), "data-page"))
		require.NoError(t, err)
		if pageName.Value != "account" {
			// The engine asked for a second factor: the emailed code.
			if shots {
				pb.check(ctx, "signin-code")
			}
			assert.Equal(t, "code", focused(t, ctx))
			keys(t, ctx, e.auth.code(t, email)+kb.Enter)
			require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`body[data-page="account"]`))))
		}
	}
	signIn(true)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	assert.Equal(t, e.url+"/account", loc)
	sessionCookie := func() string {
		for _, c := range cookies(t, ctx) {
			if c.Name == httpapi.SessionCookie {
				return c.Value
			}
		}
		return ""
	}
	devices := func() []any {
		r := e.browser()
		r.cookie = sessionCookie()
		require.NotEmpty(t, r.cookie)
		resp := r.get("/v1/account/devices")
		require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
		return resp.json(t)["devices"].([]any)
	}
	first := devices()
	require.Len(t, first, 1, "the descriptor arrived: the sign-in has a device")
	firstID := first[0].(map[string]any)["id"]

	// Signed out (the cookie dropped), the same browser signs in again:
	// the engine knows it, so the device list still holds one device.
	_, err = chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{})
	require.NoError(t, err)
	signIn(false)
	again := devices()
	require.Len(t, again, 1, "the same browser is the same, known device: %v", again)
	assert.Equal(t, firstID, again[0].(map[string]any)["id"])
	assert.Empty(t, e.auth.mails(t, email, mail.KindNewDeviceSignIn), "no new-device notice for a known device")

	// German.
	de := pb.tab("de-DE,de;q=0.9", true)
	require.NoError(t, chromedp.Do(de, chromedp.Navigate(e.url+"/login"), state("identifier")))
	assert.Contains(t, text(t, de, "h1"), "Anmelden")
	pb.check(de, "signin-de")
}
