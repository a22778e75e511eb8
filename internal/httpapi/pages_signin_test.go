package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/httpapi"
)

// TestSigninPageWithoutJavaScript: the hosted sign-in works as plain
// forms, identifier then password, ends in the session cookie and a
// redirect to a safe return_to, under the page policy.
func TestSigninPageWithoutJavaScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	e.browser().register("ada@example.com")
	f := e.formBrowser(t)
	p := f.do(http.MethodGet, "/login?return_to=%2Faccount%2Fdevices", nil, nil)
	require.Equal(t, http.StatusOK, p.status, "%s", p.body)
	csp := p.header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "script-src 'nonce-")
	assert.Contains(t, csp, "frame-ancestors 'none'")
	assert.NotContains(t, csp, "unsafe")
	assert.Equal(t, "no-store", p.header.Get("Cache-Control"))
	assert.NotEmpty(t, f.cookies[httpapi.PageCSRFCookie])

	p = f.submit(p, "/login", map[string]string{"identifier": "ada@example.com"})
	require.Equal(t, http.StatusOK, p.status, "%s", p.body)
	require.Contains(t, string(p.body), `name="password"`)
	bad := f.submit(p, "/login", map[string]string{"password": "not the password at all"})
	require.Equal(t, http.StatusUnauthorized, bad.status)
	assert.Contains(t, string(bad.body), "The email address or password is wrong.")
	p = f.submit(bad, "/login", map[string]string{"password": userPassword})
	require.Equal(t, http.StatusSeeOther, p.status, "%s", p.body)
	assert.Equal(t, "/account/devices", p.header.Get("Location"))
	assert.NotEmpty(t, f.cookies[httpapi.SessionCookie])

	// Signed in: /login goes straight on.
	p = f.do(http.MethodGet, "/login", nil, nil)
	assert.Equal(t, http.StatusSeeOther, p.status)
}

// TestSigninPageCSRF: a post without the token of the cookie, or from
// another site, is refused before anything is checked.
func TestSigninPageCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	f := e.formBrowser(t)
	p := f.do(http.MethodGet, "/login", nil, nil)
	form := hidden(t, p.body)
	form.Set("identifier", "ada@example.com")
	for name, c := range map[string]struct {
		form url.Values
		hdr  map[string]string
	}{
		"no token":     {url.Values{"step": {"identifier"}, "identifier": {"a@example.com"}}, nil},
		"wrong token":  {url.Values{"step": {"identifier"}, "csrf": {strings.Repeat("A", 43)}}, nil},
		"cross-site":   {form, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		"other origin": {form, map[string]string{"Origin": "https://evil.example"}},
	} {
		t.Run(name, func(t *testing.T) {
			r := f.do(http.MethodPost, "/login", c.form, c.hdr)
			assert.Equal(t, http.StatusForbidden, r.status)
			assert.Contains(t, string(r.body), "This form has expired")
		})
	}
	r := f.do(http.MethodPost, "/login", form, nil)
	assert.Equal(t, http.StatusOK, r.status, "the same form with its token goes through")
}

// TestSigninReturnTo: only paths on this origin and allowed origins are
// redirect targets; everything else lands on /account. No open redirect.
func TestSigninReturnTo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{AllowedOrigins: []string{"https://app.example.com"}})
	e.browser().register("bo@example.com")
	f := e.formBrowser(t)
	p := f.do(http.MethodGet, "/login", nil, nil)
	p = f.submit(p, "/login", map[string]string{"identifier": "bo@example.com"})
	p = f.submit(p, "/login", map[string]string{"password": userPassword})
	require.Equal(t, http.StatusSeeOther, p.status)
	for raw, want := range map[string]string{
		"/account/sessions":                    "/account/sessions",
		"/x?y=1#z":                             "/x?y=1#z",
		"https://app.example.com/home":         "https://app.example.com/home",
		"":                                     "/account",
		"//evil.example/":                      "/account",
		"/\\evil.example":                      "/account",
		"https://evil.example/":                "/account",
		"https://app.example.com.evil.example": "/account",
		"https://user@app.example.com/":        "/account",
		"javascript:alert(1)":                  "/account",
		"http://app.example.com/":              "/account",
		"/\t/evil.example":                     "/account",
		"evil.example":                         "/account",
	} {
		t.Run(raw, func(t *testing.T) {
			r := f.do(http.MethodGet, "/login?return_to="+url.QueryEscape(raw), nil, nil)
			require.Equal(t, http.StatusSeeOther, r.status)
			assert.Equal(t, want, r.header.Get("Location"))
		})
	}
}

// TestSigninPageLanguage: the page speaks the browser's language when it
// is offered (German, English), else English.
func TestSigninPageLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	for al, want := range map[string]string{
		"de-CH,de;q=0.9,en;q=0.8": `<html lang="de">`,
		"fr-FR,de;q=0.5":          `<html lang="de">`,
		"en-GB":                   `<html lang="en">`,
		"fr":                      `<html lang="en">`,
		"":                        `<html lang="en">`,
		strings.Repeat("x-", 400): `<html lang="en">`,
	} {
		t.Run(al, func(t *testing.T) {
			f := e.formBrowser(t)
			f.lang = al
			p := f.do(http.MethodGet, "/login", nil, nil)
			require.Equal(t, http.StatusOK, p.status)
			assert.Contains(t, string(p.body), want)
			if strings.Contains(want, "de") {
				assert.Contains(t, string(p.body), "E-Mail-Adresse")
			} else {
				assert.Contains(t, string(p.body), "Email address")
			}
		})
	}
}
