package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

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
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`body[data-state="code"], body[data-page="account"], body[data-state="passkey_offer"]`))))
		pageState, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`body`), "data-state"))
		require.NoError(t, err)
		if pageState.Value == "code" {
			// The engine asked for a second factor: the emailed code.
			if shots {
				pb.check(ctx, "signin-code")
			}
			assert.Equal(t, "code", focused(t, ctx))
			keys(t, ctx, e.auth.code(t, email)+kb.Enter)
			require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`body[data-page="account"], body[data-state="passkey_offer"]`))))
		}
		// The first sign-in offers a passkey, once (pages_passkey.go): not now.
		if st, _ := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`body`), "data-state")); st.Value == "passkey_offer" {
			if shots {
				pb.check(ctx, "signin-passkey-offer")
			}
			require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#passkey-not-now")), chromedp.WaitVisible(chromedp.CSS(`body[data-page="account"]`))))
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

	// The account pages, each checked; the security page sets up the
	// authenticator app and shows the recovery codes.
	click := func(ctx context.Context, sel, wait string) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))))
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(wait))); err != nil {
			body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
			t.Fatalf("after %s, no %s: %v; the page says: %s", sel, wait, err, body)
		}
	}
	go2 := func(ctx context.Context, path, st string) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.url+path), state(st)))
	}
	go2(ctx, "/account", "profile")
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#display_name"), "Ada")))
	click(ctx, "#submit", "#notice")
	pb.check(ctx, "account-profile")
	go2(ctx, "/account/security", "security")
	pb.check(ctx, "account-security")
	click(ctx, "#totp-begin", "#totp-secret")
	secret := text(t, ctx, "#totp-secret")
	pb.check(ctx, "account-security-totp")
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#totp-code"), totpAt(t, secret, time.Now()))))
	click(ctx, "#totp-confirm", "#codes")
	codes := strings.Fields(text(t, ctx, "#codes"))
	require.NotEmpty(t, codes)
	for _, c := range codes {
		e.auth.track(c)
	}
	pb.check(ctx, "account-security-codes")
	for _, sec := range []string{"devices", "sessions", "activity"} {
		go2(ctx, "/account/"+sec, sec)
		pb.check(ctx, "account-"+sec)
	}
	go2(ctx, "/account/privacy", "privacy")
	pb.axeOnly(ctx, "account-privacy") // no purposes declared here
	click(ctx, "#logout", `body[data-state="identifier"]`)

	// Another browser: the engine steps up, now with the app; the user
	// switches to a recovery code instead.
	other := pb.tab("en-US", true)
	require.NoError(t, chromedp.Do(other, chromedp.Navigate(e.url+"/login"), state("identifier")))
	keys(t, other, email+kb.Enter)
	require.NoError(t, chromedp.Do(other, state("password")))
	keys(t, other, userPassword+kb.Enter)
	require.NoError(t, chromedp.Do(other, chromedp.WaitVisible(chromedp.CSS(`body[data-state="code"], body[data-page="account"]`))))
	require.Contains(t, text(t, other, `label[for="code"]`), "authenticator app", "a new browser steps up, with the app")
	pb.check(other, "signin-totp")
	click(other, "#use-recovery_code", `#code[autocomplete="off"]`) // the recovery code field
	require.Contains(t, text(t, other, `label[for="code"]`), "Recovery code")
	pb.check(other, "signin-recovery-code")
	keys(t, other, codes[0]+kb.Enter)
	require.NoError(t, chromedp.Do(other, chromedp.WaitVisible(chromedp.CSS(`body[data-page="account"]`))))

	// A form whose token does not match: the error page, which says
	// nothing more.
	require.NoError(t, chromedp.Do(other, chromedp.Navigate(e.url+"/account"), state("profile")))
	_, err = chromedp.Run(other, chromedp.Evaluate[bool](`document.querySelector('#form input[name=csrf]').value = 'x'; HTMLFormElement.prototype.submit.call(document.getElementById('form')); true`))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(other, state("error")))
	pb.check(other, "error")

	// Registration, then the forgotten password, from a new browser.
	const newcomer = "grace@example.com"
	reg := pb.tab("en-US", true)
	go2(reg, "/register", "register")
	pb.check(reg, "register")
	require.NoError(t, chromedp.Do(reg, chromedp.SendKeys(chromedp.CSS("#email"), newcomer),
		chromedp.SendKeys(chromedp.CSS("#password"), userPassword)))
	click(reg, "#submit", `body[data-state="register-sent"]`)
	pb.check(reg, "register-sent")
	go2(reg, "/password/forgot", "forgot")
	pb.check(reg, "forgot")
	require.NoError(t, chromedp.Do(reg, chromedp.SendKeys(chromedp.CSS("#email"), newcomer)))
	click(reg, "#submit", `body[data-state="forgot-sent"]`)
	pb.check(reg, "forgot-sent")
	// The links' landing pages (pages.go), as opened: not used yet.
	require.NoError(t, chromedp.Do(reg, chromedp.Navigate(e.auth.link(t, newcomer, mail.KindVerifyEmail)), chromedp.WaitVisible(chromedp.CSS(`body[data-state="ready"]`))))
	pb.check(reg, "verify-email")
	require.NoError(t, chromedp.Do(reg, chromedp.Navigate(e.auth.link(t, newcomer, mail.KindPasswordReset)), chromedp.WaitVisible(chromedp.CSS(`body[data-state="ready"]`))))
	pb.check(reg, "password-reset")
	require.NoError(t, chromedp.Do(reg, chromedp.Navigate(e.url+"/login/magic?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), chromedp.WaitVisible(chromedp.CSS(`body[data-state="ready"]`))))
	pb.check(reg, "magic-link")

	passkeysInBrowser(t, pb, e)
	consentsInBrowser(t, pb)
	oidcPagesInBrowser(t, pb)

	// German.
	de := pb.tab("de-DE,de;q=0.9", true)
	require.NoError(t, chromedp.Do(de, chromedp.Navigate(e.url+"/login"), state("identifier")))
	assert.Contains(t, text(t, de, "h1"), "Anmelden")
	pb.check(de, "signin-de")
}
