package config_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/config"
)

// writePNG writes a small PNG logo and returns its path.
func writePNG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	path := filepath.Join(t.TempDir(), "logo.png")
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	return path
}

// TestPagesBranding: pages.* in the file, overridden by RISKAUTH_PAGES_*,
// reach the HTTP layer's form unchanged.
func TestPagesBranding(t *testing.T) {
	t.Parallel()
	logo := writePNG(t)
	c, err := loadYAML(t, "pages: { name: Acme ID, logo_file: "+logo+", accent_colour: '#0f5132', support_email: help@acme.example }\n")
	require.NoError(t, err)
	h := c.Pages.HTTP()
	assert.Equal(t, "Acme ID", h.Name)
	assert.Equal(t, logo, h.LogoFile)
	assert.Equal(t, "#0f5132", h.AccentColour)
	assert.Equal(t, "help@acme.example", h.SupportEmail)

	c, err = config.Load("", env(map[string]string{"RISKAUTH_PAGES_NAME": "Env ID", "RISKAUTH_PAGES_LOGO_FILE": logo,
		"RISKAUTH_PAGES_ACCENT_COLOUR": "#7a1f5c", "RISKAUTH_PAGES_SUPPORT_EMAIL": "support@env.example"}))
	require.NoError(t, err)
	assert.Equal(t, config.PagesConfig{Name: "Env ID", LogoFile: logo, AccentColour: "#7a1f5c", SupportEmail: "support@env.example"}, c.Pages)
}

// TestPagesBrandingInvalid: each bad value stops the start with its
// reason, all at once.
func TestPagesBrandingInvalid(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := filepath.Join(dir, "big.png")
	require.NoError(t, os.WriteFile(big, append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 300<<10)...), 0o644))
	text := filepath.Join(dir, "logo.png")
	require.NoError(t, os.WriteFile(text, []byte("not an image at all"), 0o644))
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"colour format", map[string]string{"RISKAUTH_PAGES_ACCENT_COLOUR": "blue"}, []string{`accent colour "blue": want #rrggbb`}},
		{"short colour", map[string]string{"RISKAUTH_PAGES_ACCENT_COLOUR": "#fff"}, []string{`want #rrggbb`}},
		{"low contrast", map[string]string{"RISKAUTH_PAGES_ACCENT_COLOUR": "#ffff00"}, []string{"contrast", "4.5:1"}},
		{"missing logo", map[string]string{"RISKAUTH_PAGES_LOGO_FILE": filepath.Join(dir, "none.png")}, []string{"pages: logo", "no such file"}},
		{"logo too large", map[string]string{"RISKAUTH_PAGES_LOGO_FILE": big}, []string{"larger than 256 KiB"}},
		{"logo not an image", map[string]string{"RISKAUTH_PAGES_LOGO_FILE": text}, []string{"is not a PNG"}},
		{"support email", map[string]string{"RISKAUTH_PAGES_SUPPORT_EMAIL": "Help <help@x.example>"}, []string{"support email", "bare address"}},
		{"name", map[string]string{"RISKAUTH_PAGES_NAME": strings.Repeat("n", 65)}, []string{"pages: name"}},
		{"all at once", map[string]string{"RISKAUTH_PAGES_ACCENT_COLOUR": "red", "RISKAUTH_PAGES_SUPPORT_EMAIL": "nope"},
			[]string{"accent colour", "support email"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load("", env(tc.env))
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
