package httpapi_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/internal/httpapi"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
)

// newChromium starts a headless Chromium for the test and returns a tab
// context bounded in time (the browser itself is started without a
// deadline, as chromedp requires).
func newChromium(t *testing.T) context.Context {
	t.Helper()
	path := testenv.Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in containers
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	require.NoError(t, chromedp.Do(bctx), "start chromium")
	ctx, cancelTimeout := context.WithTimeout(bctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	return ctx
}

// cookies returns the browser's cookies for its current page.
func cookies(t *testing.T, ctx context.Context) []*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	require.NoError(t, err)
	return res.Cookies
}

// text is the text of the element sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(t, err)
	return s
}

// liveToken reports whether a link token is still unused.
func liveToken(t *testing.T, e *env, kind authn.TokenKind, tok string) bool {
	t.Helper()
	h, err := hex.DecodeString(token.Hash(tok))
	require.NoError(t, err)
	_, err = e.auth.store.LiveToken(context.Background(), kind, h, time.Now())
	return err == nil
}

// TestMagicLinkInBrowser opens the links of real mails in a real browser:
// loading a page never spends its token, the click does, and the click on
// the magic link leaves the browser signed in with the session cookie.
func TestMagicLinkInBrowser(t *testing.T) {
	t.Parallel()
	testenv.Chromium(t)
	e := newEnv(t, httpapi.Config{})
	// After the server: cleanups run in reverse, so the browser and its
	// keep-alive connections are gone before the server shuts down.
	ctx := newChromium(t)
	b := e.browser()
	const email = "lena@example.com"
	r := b.post("/v1/register", map[string]any{"email": email, "password": userPassword})
	require.Equal(t, http.StatusAccepted, r.status)

	state := func(want string) chromedp.Action[chromedp.Void] {
		return chromedp.WaitVisible(chromedp.CSS(`body[data-state="` + want + `"]`))
	}
	click := chromedp.Click(chromedp.CSS("#submit"))

	// The verification link: loaded twice (a scanner, then the user), the
	// token survives; the click spends it.
	verify := e.auth.link(t, email, mail.KindVerifyEmail)
	require.True(t, strings.HasPrefix(verify, e.url+"/verify-email?token="), verify)
	_, vtok, _ := strings.Cut(verify, "token=")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(verify), state("ready"), chromedp.Navigate(verify), state("ready")))
	assert.True(t, liveToken(t, e, authn.TokenEmailVerification, vtok), "loading the page did not use the token")
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	assert.NotContains(t, loc, "token=", "the token is dropped from the address bar")
	// The account was registered from another client (the test's HTTP
	// client), so the browser that opens the link proves the inbox only:
	// the address is confirmed and the page asks for the password, which
	// the token of the answer sets.
	require.NoError(t, chromedp.Do(ctx, click, state("set-password")))
	assert.Contains(t, text(t, ctx, "#status"), "confirmed")
	assert.False(t, liveToken(t, e, authn.TokenEmailVerification, vtok))
	const chosen = "a passphrase set in the browser"
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#extra-input"), chosen), click, state("password-set")))
	assert.Contains(t, text(t, ctx, "#status"), "password is set")
	r = b.post("/v1/login", map[string]any{"identifier": email, "password": userPassword})
	assert.Equal(t, http.StatusUnauthorized, r.status, "the password chosen at registration elsewhere is gone")
	r = e.browser().post("/v1/login", map[string]any{"identifier": email, "password": chosen})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)

	// A magic link asked for by another client (the test's HTTP client):
	// opened in the browser, it signs nobody in there. The page names the
	// device that asked; approving it lets that client's flow go on.
	r = b.post("/v1/login", map[string]any{"identifier": email})
	require.Equal(t, http.StatusOK, r.status)
	flow := r.json(t)["flow_id"]
	r = b.post("/v1/login/email-code", map[string]any{"flow_id": flow})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	link := e.auth.link(t, email, mail.KindLoginCode)
	require.True(t, strings.HasPrefix(link, e.url+"/login/magic?token="), link)
	_, mtok, _ := strings.Cut(link, "token=")

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(link), state("ready")))
	require.True(t, liveToken(t, e, authn.TokenMagicLink, mtok), "loading the page did not use the token")
	require.NoError(t, chromedp.Do(ctx, click, state("approval")))
	assert.Contains(t, text(t, ctx, "#status"), "Chrome on Windows", "the asking device is named")
	assert.Contains(t, text(t, ctx, "#status"), "127.0.0.1")
	assert.True(t, liveToken(t, e, authn.TokenMagicLink, mtok), "asking for approval spends nothing")
	r = b.post("/v1/login/poll", map[string]any{"flow_id": flow})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, "code_sent", r.json(t)["status"], "still waiting")

	require.NoError(t, chromedp.Do(ctx, click, state("approved")))
	assert.False(t, liveToken(t, e, authn.TokenMagicLink, mtok), "the approval used the token")
	for _, c := range cookies(t, ctx) {
		require.NotEqual(t, httpapi.SessionCookie, c.Name, "the browser that approved is not signed in")
	}
	b.cookie = ""
	r = b.post("/v1/login/poll", map[string]any{"flow_id": flow})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	require.Equal(t, "authenticated", r.json(t)["status"], "the client that asked goes on")
	assert.Equal(t, http.StatusOK, b.get("/v1/session").status)

	// The spent link, opened again, says so on the click.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(link), state("ready"), click, state("error")))
	assert.Contains(t, text(t, ctx, "#status"), "expired or was already used", "in the page's language, from the catalogue")

	// A link asked for by the browser itself signs it in: its flow cookie
	// (HttpOnly, SameSite=Strict) goes with the page's POST.
	startFlow := `fetch("/v1/login", {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
		body: JSON.stringify({identifier: "` + email + `"})}).then(function (r) { return r.json(); }).then(function (j) {
		return fetch("/v1/login/email-code", {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
		body: JSON.stringify({flow_id: j.flow_id})}); }).then(function (r) { return r.status; })`
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](startFlow, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	var fc *network.Cookie
	for _, c := range cookies(t, ctx) {
		if c.Name == httpapi.FlowCookie {
			fc = c
		}
	}
	require.NotNil(t, fc, "the browser holds its flow's binding")
	e.auth.track(fc.Value)
	assert.True(t, fc.HTTPOnly)
	assert.Equal(t, network.CookieSameSiteStrict, fc.SameSite)
	link = e.auth.link(t, email, mail.KindLoginCode)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(link), state("ready")))
	for _, c := range cookies(t, ctx) {
		require.NotEqual(t, httpapi.SessionCookie, c.Name, "not signed in before the click")
	}
	// Headless Chrome counts as automation, so the engine steps up: the
	// page asks for the password after the link.
	require.NoError(t, chromedp.Do(ctx, click, state("second-factor"),
		chromedp.SendKeys(chromedp.CSS("#extra-input"), chosen), click, state("signed-in")))
	assert.Contains(t, text(t, ctx, "#status"), "signed in")

	var session *network.Cookie
	for _, c := range cookies(t, ctx) {
		if c.Name == httpapi.SessionCookie {
			session = c
		}
	}
	require.NotNil(t, session, "the browser holds the session cookie")
	e.auth.track(session.Value)
	assert.True(t, session.HTTPOnly)
	assert.True(t, session.Secure)
	assert.Equal(t, network.CookieSameSiteLax, session.SameSite)
	assert.Equal(t, "/", session.Path)

	// whoami from the browser itself, with its cookie.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.url+"/v1/session")))
	body := text(t, ctx, "body")
	var me struct {
		UserID  string `json:"user_id"`
		Current bool   `json:"current"`
		AAL     int    `json:"aal"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &me), body)
	assert.Equal(t, mustUserID(t, e, email), me.UserID)
	assert.True(t, me.Current)
	assert.Equal(t, 1, me.AAL)
}

// TestVerifyInRegisteringBrowser: an account registered from a real
// browser and verified in that browser keeps its password: the
// registration cookie (HttpOnly, SameSite=Strict) is sent with the page's
// own POST, though the page was reached from a link in a mail.
func TestVerifyInRegisteringBrowser(t *testing.T) {
	t.Parallel()
	testenv.Chromium(t)
	e := newEnv(t, httpapi.Config{})
	ctx := newChromium(t)
	const email = "moritz@example.com"
	state := func(want string) chromedp.Action[chromedp.Void] {
		return chromedp.WaitVisible(chromedp.CSS(`body[data-state="` + want + `"]`))
	}
	// Register from a page of the service, as its sign-up form would.
	register := `fetch("/v1/register", {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
		body: JSON.stringify({email: "` + email + `", password: "` + userPassword + `"})}).then(function (r) { return r.status; })`
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.url+"/verify-email")))
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](register, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, status)
	var reg *network.Cookie
	for _, c := range cookies(t, ctx) {
		if c.Name == httpapi.RegistrationCookie {
			reg = c
		}
	}
	require.NotNil(t, reg, "the browser holds the registration cookie")
	e.auth.track(reg.Value)
	assert.True(t, reg.HTTPOnly)
	assert.Equal(t, network.CookieSameSiteStrict, reg.SameSite)

	link := e.auth.link(t, email, mail.KindVerifyEmail)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(link), state("ready"), chromedp.Click(chromedp.CSS("#submit")), state("verified")))
	assert.Contains(t, text(t, ctx, "#status"), "confirmed")
	for _, c := range cookies(t, ctx) {
		assert.NotEqual(t, httpapi.RegistrationCookie, c.Name, "the spent binding is cleared")
	}
	e.browser().signIn(email) // the password chosen at registration works
}
