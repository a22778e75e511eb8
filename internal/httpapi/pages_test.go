package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// TestLinkPages: the pages do not touch the token and carry the security
// headers; the browser test proves the script works under the policy.
func TestLinkPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	b := e.browser()
	b.register("kim@example.com")
	r := b.post("/v1/password/reset/request", map[string]any{"email": "kim@example.com"})
	require.Equal(t, http.StatusAccepted, r.status)
	link := e.auth.link(t, "kim@example.com", mail.KindPasswordReset)
	require.True(t, strings.HasPrefix(link, e.url+"/password/reset?token="), link)
	for range 3 { // a scanner fetching the link, twice, and a preview
		page := b.get(strings.TrimPrefix(link, e.url))
		require.Equal(t, http.StatusOK, page.status)
		assert.Equal(t, "text/html; charset=utf-8", page.header.Get("Content-Type"))
		assert.Equal(t, "no-referrer", page.header.Get("Referrer-Policy"))
		assert.Equal(t, "DENY", page.header.Get("X-Frame-Options"))
		csp := page.header.Get("Content-Security-Policy")
		assert.Contains(t, csp, "default-src 'none'")
		assert.Contains(t, csp, "script-src 'nonce-")
		assert.NotContains(t, csp, "unsafe-inline")
		_, tok, _ := strings.Cut(link, "token=")
		assert.NotContains(t, string(page.body), tok, "the token is not rendered into the page")
	}
	_, tok, _ := strings.Cut(link, "token=")
	r = b.post("/v1/password/reset", map[string]any{"token": tok, "new_password": "kim's brand new passphrase"})
	assert.Equal(t, http.StatusOK, r.status, "loading the page did not use the token: %s", r.body)
}
