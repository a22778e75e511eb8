package httpapi

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/mail"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/internal/leaf/catalogue"
)

// The hosted pages' framework: server-rendered html/template pages whose
// templates (templates/), scripts and styles (assets/) and message
// catalogue (locales/) are embedded in the binary. No CDN, no external
// font, no inline script: every page gets a fresh CSP nonce, and its
// scripts are external files from /assets/ that carry the nonce. Forms
// post to the page handlers themselves (no JavaScript needed for the
// password and code flows) and are CSRF-checked like the JSON API (Origin
// and Sec-Fetch-Site) plus a double-submit token (pages_form.go).
//
// How to add to it (docs/pages.md says the same):
//   - a page: templates/NAME.html defining "content" (and optionally
//     "head"), rendered with s.render(c, status, "NAME", view);
//   - a script: assets/NAME.js, listed in the view's page.Scripts (or
//     the template's data) and included by layout.html with the nonce;
//   - a message: one line in locales/en.toml and locales/de.toml, used as
//     {{.T "id"}} in a template.

//go:embed templates/*.html templates/partials/*.html assets/* locales/*.toml
var pageFS embed.FS

// PagesConfig brands the hosted pages. The zero value is riskauth's own
// look.
type PagesConfig struct {
	// Name is the product name in titles, the header and mails' sign-off
	// (default "riskauth").
	Name string
	// LogoFile is a PNG, SVG, JPEG or WebP file read once by New and
	// served at /assets/logo; empty shows the name in text.
	LogoFile string
	// AccentColour is the colour of buttons and links as #rrggbb
	// (default #1d4ed8); it must contrast with white at 4.5:1 or more
	// (WCAG 2.2 AA), else New refuses it.
	AccentColour string
	// SupportEmail is shown in the footer and on the error pages.
	SupportEmail string
}

// brand is the validated PagesConfig.
type brand struct {
	Name, SupportEmail, Accent string
	Logo                       []byte
	LogoType                   string
}

// pageRenderer holds the parsed templates, the catalogue and the assets.
type pageRenderer struct {
	tmpl    map[string]*template.Template
	cat     *catalogue.Catalogue
	brand   brand
	assets  map[string]asset
	version string // of the assets, for cache busting
}

// asset is one file served under /assets/.
type asset struct {
	body        []byte
	contentType string
}

var hexColour = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// MaxLogoBytes caps the logo file: it is held in memory and sent with
// every page's header image.
const MaxLogoBytes = 256 << 10

// maxBrandName bounds the product name shown in titles and the header.
const maxBrandName = 64

// Validate reports every problem of the branding at once, reading the
// logo file as New will: the configuration loader calls it so that a bad
// colour or an unreadable logo stops the start with the key's name.
func (cfg PagesConfig) Validate() error {
	_, err := cfg.brand()
	return err
}

// brand checks cfg and loads the logo.
func (cfg PagesConfig) brand() (brand, error) {
	b := brand{Name: cfg.Name, SupportEmail: cfg.SupportEmail, Accent: cfg.AccentColour}
	if b.Name == "" {
		b.Name = "riskauth"
	}
	if b.Accent == "" {
		b.Accent = "#1d4ed8"
	}
	var errs []error
	if len(b.Name) > maxBrandName || strings.IndexFunc(b.Name, unicode.IsControl) >= 0 {
		errs = append(errs, fmt.Errorf("pages: name %q: want one line of at most %d bytes", b.Name, maxBrandName))
	}
	if !hexColour.MatchString(b.Accent) {
		errs = append(errs, fmt.Errorf("pages: accent colour %q: want #rrggbb", b.Accent))
	} else if r := contrast(b.Accent, "#ffffff"); r < 4.5 {
		errs = append(errs, fmt.Errorf("pages: accent colour %s has contrast %.2f:1 with white text; WCAG AA needs 4.5:1", b.Accent, r))
	}
	if b.SupportEmail != "" {
		if a, err := mail.ParseAddress(b.SupportEmail); err != nil || a.Name != "" || a.Address != b.SupportEmail {
			errs = append(errs, fmt.Errorf("pages: support email %q: want a bare address (name@example.com)", b.SupportEmail))
		}
	}
	if cfg.LogoFile != "" {
		logo, typ, err := readLogo(cfg.LogoFile)
		if err != nil {
			errs = append(errs, err)
		}
		b.Logo, b.LogoType = logo, typ
	}
	return b, errors.Join(errs...)
}

// readLogo reads the logo file: at most MaxLogoBytes of PNG, JPEG, WebP,
// GIF or SVG (by name), its content type sniffed from the bytes.
func readLogo(path string) ([]byte, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("pages: logo: %w", err)
	}
	defer f.Close()
	logo, err := io.ReadAll(io.LimitReader(f, MaxLogoBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("pages: logo %s: %w", path, err)
	}
	if len(logo) > MaxLogoBytes {
		return nil, "", fmt.Errorf("pages: logo %s: larger than %d KiB", path, MaxLogoBytes>>10)
	}
	typ := http.DetectContentType(logo)
	if strings.HasSuffix(strings.ToLower(path), ".svg") {
		typ = "image/svg+xml"
	}
	switch typ {
	case "image/png", "image/jpeg", "image/webp", "image/gif", "image/svg+xml":
	default:
		return nil, "", fmt.Errorf("pages: logo %s is not a PNG, JPEG, WebP, GIF or SVG image (%s)", path, typ)
	}
	return logo, typ, nil
}

// newPageRenderer parses every template with the layout and loads the
// catalogue and branding.
func newPageRenderer(cfg PagesConfig) (*pageRenderer, error) {
	b, err := cfg.brand()
	if err != nil {
		return nil, err
	}
	cat, err := loadCatalogue(pageFS)
	if err != nil {
		return nil, err
	}
	p := &pageRenderer{tmpl: map[string]*template.Template{}, cat: cat, brand: b, assets: map[string]asset{}}
	if err := p.loadAssets(); err != nil {
		return nil, err
	}
	names, err := fs.Glob(pageFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{"asset": p.assetURL}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		// Every page is parsed with the layout and the shared parts
		// (templates/partials/: the account nav, hidden fields).
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(pageFS, "templates/layout.html", "templates/partials/*.html", n)
		if err != nil {
			return nil, fmt.Errorf("pages: template %s: %w", name, err)
		}
		p.tmpl[name] = t
	}
	return p, nil
}

// loadAssets reads assets/ and adds brand.css (the accent colour) and the
// logo.
func (p *pageRenderer) loadAssets() error {
	entries, err := fs.ReadDir(pageFS, "assets")
	if err != nil {
		return err
	}
	h := sha256.New()
	for _, e := range entries {
		body, err := pageFS.ReadFile("assets/" + e.Name())
		if err != nil {
			return err
		}
		p.assets[e.Name()] = asset{body: body, contentType: contentTypeOf(e.Name())}
		h.Write(body)
	}
	css := fmt.Sprintf(":root{--accent:%s}\n", p.brand.Accent)
	p.assets["brand.css"] = asset{body: []byte(css), contentType: "text/css; charset=utf-8"}
	h.Write([]byte(css))
	if p.brand.Logo != nil {
		p.assets["logo"] = asset{body: p.brand.Logo, contentType: p.brand.LogoType}
		h.Write(p.brand.Logo)
	}
	p.version = hex.EncodeToString(h.Sum(nil))[:12]
	return nil
}

func contentTypeOf(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	}
	return "application/octet-stream"
}

// assetURL is the URL of an asset with the version that busts caches.
func (p *pageRenderer) assetURL(name string) string {
	return "/assets/" + name + "?v=" + p.version
}

// serveAsset answers GET /assets/{name}.
func (s *Server) serveAsset(c *fiber.Ctx) error {
	a, ok := s.ui.assets[c.Params("name")]
	if !ok {
		return apiErr(CodeNotFound, "no such asset")
	}
	c.Set(fiber.HeaderContentType, a.contentType)
	c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
	c.Set("Cross-Origin-Resource-Policy", "same-origin")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if a.contentType == "image/svg+xml" {
		// An SVG opened on its own is a document of this origin: no
		// script, no fetch, sandboxed, whatever the file holds.
		c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	}
	return c.Status(http.StatusOK).Send(a.body)
}

// page is what every template sees: the layout's data plus the page's
// own view in V.
type page struct {
	Name, Lang, Nonce, CSRF string
	// State is the body's data-state: the step a page shows, which
	// scripts and tests wait for.
	State string
	// Mode is the body's data-mode (the link pages' script reads it).
	Mode string
	// TitleID is the catalogue id of the page's title (and h1).
	TitleID string
	Brand   *brand
	// Scripts are asset names the layout includes, with the nonce. The
	// device collector (device.js) is on every page with a form.
	Scripts []string
	// Locale is the user's profile locale when the handler knows it: it
	// goes before Accept-Language.
	Locale string
	// V is the page's own view.
	V   any
	loc *catalogue.Localizer
}

// T is the message id in the page's language; args are name, value
// pairs for the message's template ({{.Name}}).
func (p *page) T(id string, args ...any) string {
	return p.loc.T(id, args...) // a missing id shows as itself
}

// TK is the message prefix+key, or key itself (underscores as spaces)
// when the catalogue has no such message: for open-ended keys such as
// activity kinds.
func (p *page) TK(prefix, key string) string {
	if !p.loc.Has(prefix + key) {
		return strings.ReplaceAll(key, "_", " ")
	}
	return p.loc.T(prefix + key)
}

// pageHeaders are the headers of every hosted page: the policy with its
// nonce (formTo, when set, joins form-action: the OIDC client's redirect
// origin), no framing, no caching, no referrer to other origins.
func pageHeaders(c *fiber.Ctx, nonce, formTo string) {
	formAction := "'self'"
	if formTo != "" {
		formAction += " " + formTo
	}
	h := &c.Response().Header
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'self'; img-src 'self' data:"+
		"; connect-src 'self'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	// same-origin, not no-referrer: under no-referrer a browser sends
	// "Origin: null" with a form, which the origin check refuses.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
}

// newNonce is a fresh CSP nonce.
func newNonce() (string, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("pages: nonce: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

// render writes the page name with the layout, in the request's
// language (pages_i18n.go). p carries the page's fields; render fills in
// the rest.
func (s *Server) render(c *fiber.Ctx, status int, p page) error {
	return s.renderTo(c, status, p, "")
}

// renderTo is render with formTo added to the policy's form-action.
func (s *Server) renderTo(c *fiber.Ctx, status int, p page, formTo string) error {
	t, ok := s.ui.tmpl[p.Name]
	if !ok {
		return fmt.Errorf("pages: no template %q", p.Name)
	}
	nonce, err := newNonce()
	if err != nil {
		return err
	}
	p.Nonce, p.Brand = nonce, &s.ui.brand
	if p.loc == nil {
		p.loc = s.ui.cat.Localizer(pageLanguages(c, p.Locale)...)
		p.Lang = p.loc.Lang
	}
	var b bytes.Buffer
	if err := t.Execute(&b, &p); err != nil {
		return fmt.Errorf("pages: render %s: %w", p.Name, err)
	}
	pageHeaders(c, nonce, formTo)
	return c.Status(status).Send(b.Bytes())
}

// contrast is the WCAG contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hexc string) float64 {
	var l float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, _ := strconv.ParseUint(hexc[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.03928 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		l += w * c
	}
	return l
}
