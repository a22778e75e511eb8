package config

import (
	"github.com/riskauth/riskauth/internal/httpapi"
)

// PagesConfig brands the hosted pages (pages: in the file; environment
// RISKAUTH_PAGES_NAME, RISKAUTH_PAGES_LOGO_FILE,
// RISKAUTH_PAGES_ACCENT_COLOUR, RISKAUTH_PAGES_SUPPORT_EMAIL). The zero
// value is riskauth's own look.
type PagesConfig struct {
	// Name is the product name in titles and the header (default
	// "riskauth"), one line of at most 64 bytes.
	Name string `yaml:"name"`
	// LogoFile is a PNG, JPEG, WebP, GIF or SVG file of at most 256 KiB,
	// read once at start and served from memory at /assets/logo.
	LogoFile string `yaml:"logo_file"`
	// AccentColour is the buttons' and links' colour, #rrggbb, with a
	// contrast of 4.5:1 or more against white (WCAG 2.2 AA).
	AccentColour string `yaml:"accent_colour"`
	// SupportEmail is shown in the pages' footer.
	SupportEmail string `yaml:"support_email"`
}

// HTTP is the HTTP layer's form of the branding.
func (p PagesConfig) HTTP() httpapi.PagesConfig {
	return httpapi.PagesConfig{Name: p.Name, LogoFile: p.LogoFile, AccentColour: p.AccentColour, SupportEmail: p.SupportEmail}
}

func (c *Config) applyPagesEnv(env func(string) string) {
	setEnv(env, "RISKAUTH_PAGES_NAME", &c.Pages.Name)
	setEnv(env, "RISKAUTH_PAGES_LOGO_FILE", &c.Pages.LogoFile)
	setEnv(env, "RISKAUTH_PAGES_ACCENT_COLOUR", &c.Pages.AccentColour)
	setEnv(env, "RISKAUTH_PAGES_SUPPORT_EMAIL", &c.Pages.SupportEmail)
}

// validatePages checks the branding as the HTTP layer will use it (the
// same rules, one place): the colour's format and contrast, the logo
// readable, an image and not too large, the support address bare.
func (c *Config) validatePages() []error {
	if err := c.Pages.HTTP().Validate(); err != nil {
		return []error{err}
	}
	return nil
}
