package httpapi_test

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/httpapi"
)

// TestPagesBrand: the configured name, logo, accent colour and support
// address reach every page; the logo is read once and served from memory
// with its type (an SVG sandboxed, so a script in it never runs as this
// origin); a bad branding is refused (New runs the same Validate).
func TestPagesBrand(t *testing.T) {
	t.Parallel()
	const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>`
	logo := filepath.Join(t.TempDir(), "logo.svg")
	require.NoError(t, os.WriteFile(logo, []byte(svg), 0o644))
	e := newEnv(t, httpapi.Config{Pages: httpapi.PagesConfig{Name: "Acme ID", LogoFile: logo, AccentColour: "#0f5132",
		SupportEmail: "help@acme.example"}})
	require.NoError(t, os.Remove(logo), "read once: the file may go")

	b := e.browser()
	p := b.get("/login")
	require.Equal(t, http.StatusOK, p.status)
	body := string(p.body)
	assert.Contains(t, body, "<title>Sign in – Acme ID</title>")
	assert.Contains(t, body, `alt="Acme ID"`)
	assert.Contains(t, body, `href="mailto:help@acme.example"`)
	src := regexp.MustCompile(`<img src="(/assets/logo\?v=[0-9a-f]+)"`).FindStringSubmatch(body)
	require.NotNil(t, src, "the header shows the logo: %s", body)

	r := b.get(htmlUnescape(src[1]))
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "image/svg+xml", r.header.Get("Content-Type"))
	assert.Equal(t, svg, string(r.body))
	assert.Contains(t, r.header.Get("Content-Security-Policy"), "sandbox")
	assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
	css := b.get("/assets/brand.css")
	assert.Contains(t, string(css.body), "--accent:#0f5132")

	for name, cfg := range map[string]httpapi.PagesConfig{
		"low contrast": {AccentColour: "#ffff00"},
		"no logo":      {LogoFile: filepath.Join(t.TempDir(), "none.png")},
		"bad address":  {SupportEmail: "not an address"},
	} {
		assert.Error(t, cfg.Validate(), name)
	}
	assert.NoError(t, httpapi.PagesConfig{}.Validate(), "the zero value is riskauth's own look")
}
