package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// privacyForm posts one action of the privacy page with the browser's
// CSRF token.
func (f *formBrowser) privacyForm(action string, fields url.Values) response {
	f.t.Helper()
	v := url.Values{"csrf": {f.cookies[httpapi.PageCSRFCookie]}, "action": {action}, "section": {"privacy"}}
	for k, xs := range fields {
		v[k] = xs
	}
	return f.do(http.MethodPost, "/account/privacy", v, nil)
}

// TestPrivacyPageWithoutJavaScript: the privacy page as plain forms over
// the self-service API: a purpose granted and withdrawn with one button
// each, the preferences saved, the export behind an inline
// re-authentication (password, then the second factor) and its daily
// limit, the mailed link's landing downloading once, and the erasure with
// its confirmation, its date and its cancellation.
func TestPrivacyPageWithoutJavaScript(t *testing.T) {
	t.Parallel()
	e := newEnvAuthn(t, httpapi.Config{}, "", withConsents)
	const email = "privacy-page@example.com"
	b := e.browser()
	b.registerWith(email, allRequired)
	b.signIn(email)
	codes := enrolTOTP(t, e, b) // the session stays AAL1: the export needs a step-up
	f := e.formBrowser(t)

	r := f.do(http.MethodGet, "/account/privacy", nil, nil)
	require.Equal(t, http.StatusSeeOther, r.status, "signed out: %s", r.body)
	assert.Equal(t, "/login?return_to=%2Faccount%2Fprivacy", r.header.Get("Location"))

	f.cookies[httpapi.SessionCookie] = b.cookie
	page := func(wantStatus int, r response) string {
		t.Helper()
		require.Equal(t, wantStatus, r.status, "%.2000s", r.body)
		if r.status == http.StatusSeeOther {
			r = f.do(http.MethodGet, r.header.Get("Location"), nil, nil)
			require.Equal(t, http.StatusOK, r.status, "%.2000s", r.body)
		}
		assert.Contains(t, r.header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
		return string(r.body)
	}
	body := page(http.StatusOK, f.do(http.MethodGet, "/account/privacy", nil, nil))
	assert.Contains(t, body, `aria-current="page">Privacy`)
	assert.Contains(t, body, "News and offers by mail", "the purpose's description")
	assert.Contains(t, body, "We may mail you offers.", "the version's text")
	assert.Contains(t, body, `href="https://example.com/terms/3"`, "the current version's link")
	assert.Contains(t, body, `id="grant-marketing_email"`)
	assert.Contains(t, body, `id="withdraw-terms"`, "a required purpose can be withdrawn too")
	assert.Contains(t, body, "deleted after 7 days", "the grace period is said before the request")
	assert.Contains(t, body, "once every 24 hours")

	// grant and withdraw
	{
		body := page(http.StatusSeeOther, f.privacyForm("grant", url.Values{"purpose": {"marketing_email"}, "version": {"1"}}))
		assert.Contains(t, body, "your agreement is recorded")
		assert.Contains(t, body, `id="withdraw-marketing_email"`)
		assert.NotContains(t, body, `id="grant-marketing_email"`)
		body = page(http.StatusSeeOther, f.privacyForm("withdraw", url.Values{"purpose": {"marketing_email"}}))
		assert.Contains(t, body, "Withdrawn.")
		assert.Contains(t, body, `id="grant-marketing_email"`)
		body = page(http.StatusUnprocessableEntity, f.privacyForm("grant", url.Values{"purpose": {"marketing_email"}, "version": {"7"}}))
		assert.Contains(t, body, "Some of the values are not valid.", "an outdated version is refused")
		r := b.get("/v1/account/consents")
		hist := r.consents(t).History
		require.GreaterOrEqual(t, len(hist), 2)
		assert.Equal(t, "withdraw", hist[0].Action)
		assert.Equal(t, "account", hist[0].Source)
	}

	// preferences
	{
		body := page(http.StatusSeeOther, f.privacyForm("preferences",
			url.Values{"channels": {"email", "sms"}, "topics": {"newsletter"}, "language": {"de-CH"}}))
		assert.Contains(t, body, "Your preferences are saved.")
		assert.Contains(t, body, `name="channels" value="sms" checked`)
		assert.NotContains(t, body, `name="channels" value="push" checked`)
		assert.Contains(t, body, `value="de-CH" selected`)
		page(http.StatusUnprocessableEntity, f.privacyForm("preferences", url.Values{"channels": {"pigeon"}}))
	}

	// export
	{
		body := page(http.StatusForbidden, f.privacyForm("export", nil))
		assert.Contains(t, body, "enter your password to confirm", "an AAL1 session of an account with an app")
		body = page(http.StatusUnprocessableEntity, f.privacyForm("export", url.Values{"password": {userPassword}}))
		assert.Contains(t, body, "Enter the code from your authenticator app")
		body = page(http.StatusUnprocessableEntity, f.privacyForm("export", url.Values{"password": {"not the password at all"}, "code": {codes[0]}}))
		assert.Contains(t, body, "The current password is wrong.")
		old := f.cookies[httpapi.SessionCookie]
		body = page(http.StatusSeeOther, f.privacyForm("export", url.Values{"password": {userPassword}, "code": {codes[1]}}))
		assert.Contains(t, body, "We emailed you a link")
		assert.NotEqual(t, old, f.cookies[httpapi.SessionCookie], "the re-authentication replaced the session")
		r := f.privacyForm("export", url.Values{"password": {userPassword}, "code": {codes[2]}})
		body = page(http.StatusTooManyRequests, r)
		assert.NotEmpty(t, r.header.Get("Retry-After"))
		assert.Contains(t, body, "You can ask once every 24 hours")

		link := e.auth.link(t, email, mail.KindDataExport)
		_, landing, ok := strings.Cut(link, e.url)
		require.True(t, ok, link)
		require.True(t, strings.HasPrefix(landing, "/account/export?token="), landing)
		out := e.formBrowser(t).do(http.MethodGet, landing, nil, nil)
		require.Equal(t, http.StatusSeeOther, out.status, "signed out: sign in first, then back")
		assert.Equal(t, "/login?"+url.Values{"return_to": {landing}}.Encode(), out.header.Get("Location"))

		p := f.do(http.MethodGet, landing, nil, nil)
		require.Equal(t, http.StatusOK, p.status, "%s", p.body)
		assert.Equal(t, "no-referrer", p.header.Get("Referrer-Policy"))
		assert.Contains(t, string(p.body), `id="download"`)
		dl := f.submit(p, "/account/export", nil)
		require.Equal(t, http.StatusOK, dl.status, "%.500s", dl.body)
		assert.Contains(t, dl.header.Get("Content-Disposition"), "attachment")
		assert.Contains(t, string(dl.body), `"format":"riskauth.export.v1"`)
		again := f.submit(p, "/account/export", nil)
		require.Equal(t, http.StatusGone, again.status, "the link works once")
		assert.Contains(t, string(again.body), "was already used")
	}

	// delete
	{
		body := page(http.StatusUnprocessableEntity, f.privacyForm("delete", url.Values{"password": {userPassword}, "code": {codes[3]}}))
		assert.Contains(t, body, "Tick the box")
		body = page(http.StatusSeeOther, f.privacyForm("delete", url.Values{"confirm": {"yes"}, "password": {userPassword}, "code": {codes[4]}}))
		assert.Contains(t, body, "Your account will be deleted.")
		assert.Contains(t, body, `id="deletion-pending"`)
		assert.Contains(t, body, `id="cancel-deletion"`)
		assert.NotEmpty(t, e.auth.mails(t, email, mail.KindAccountDeletion), "the confirmation mail")
		body = page(http.StatusSeeOther, f.privacyForm("cancel_deletion", nil))
		assert.Contains(t, body, "Your account is kept.")
		assert.Contains(t, body, `id="delete-account"`)
	}

	// refused forms
	{
		r := f.do(http.MethodPost, "/account/privacy", url.Values{"action": {"withdraw"}, "purpose": {"terms"}}, nil)
		assert.Equal(t, http.StatusForbidden, r.status, "no CSRF token")
		r = f.do(http.MethodPost, "/account/export", url.Values{"token": {"x"}}, nil)
		assert.Equal(t, http.StatusForbidden, r.status, "no CSRF token")
		page(http.StatusBadRequest, f.privacyForm("nonsense", nil))
	}

	// German
	{
		g := e.formBrowser(t)
		g.lang = "de-DE"
		g.cookies[httpapi.SessionCookie] = f.cookies[httpapi.SessionCookie]
		r := g.do(http.MethodGet, "/account/privacy", nil, nil)
		require.Equal(t, http.StatusOK, r.status)
		assert.Contains(t, string(r.body), "Ihre Einwilligungen")
		assert.Contains(t, string(r.body), "nach 7 Tagen gelöscht")
	}
}
