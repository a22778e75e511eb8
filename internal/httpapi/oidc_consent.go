package httpapi

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn/oidc"
	"github.com/riskauth/riskauth/authn/token"
)

// The consent step of an OpenID Connect authorization (authn/oidc
// consent.go): after the login step, a third-party client's first
// authorization (or prompt=consent) shows what the client will receive
// and asks the user to allow it. Only the browser holding the session
// that signed in may answer. The page has the login page's hardening (no
// script, the style by hash, forms only to this origin and the client's
// redirect origin, the CSRF cookie and form field, the Origin and
// Sec-Fetch-Site checks) and is this file's own, so that the hosted pages
// can replace the login page without touching it.

//go:embed oidc_consent.html
var oidcConsentHTML string

const oidcConsentStyle = `body{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}` +
	`button{font:inherit;padding:.5rem 1.25rem;margin-right:.5rem;cursor:pointer}#message{font-weight:600}`

var oidcConsentTemplate = template.Must(template.New("oidc_consent").Parse(oidcConsentHTML))

var oidcConsentStyleHash = func() string {
	sum := sha256.Sum256([]byte(oidcConsentStyle))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// oidcConsentView is what the consent template shows.
type oidcConsentView struct {
	State                  string // "ask" or "error"
	Client, Title, Message string
	ID, CSRF, Action       string
	Scopes                 []oidc.ScopeInfo
	Style                  template.CSS
}

// renderOIDCPage writes one of the provider's own pages (consent, device
// entry) with the login page's security headers; formTo, when set, adds
// its origin to form-action.
func renderOIDCPage(c *fiber.Ctx, status int, tpl *template.Template, styleHash string, v any, formTo string) error {
	var b bytes.Buffer
	if err := tpl.Execute(&b, v); err != nil {
		return err
	}
	formAction := "'self'"
	if src := sourceOf(formTo); src != "" {
		formAction += " " + src
	}
	h := &c.Response().Header
	h.Set("Content-Security-Policy", "default-src 'none'; style-src "+styleHash+"; form-action "+formAction+
		"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(b.Bytes())
}

func renderConsent(c *fiber.Ctx, status int, v oidcConsentView, formTo string) error {
	v.Style = template.CSS(oidcConsentStyle)
	return renderOIDCPage(c, status, oidcConsentTemplate, oidcConsentStyleHash, v, formTo)
}

func consentError(c *fiber.Ctx, status int, msg string) error {
	return renderConsent(c, status, oidcConsentView{State: "error", Title: "Authorization", Message: msg}, "")
}

const msgConsentSession = "This authorization belongs to another sign-in. Go back to the application and start again."

// oidcConsentPrompt loads request id's consent prompt for the browser's
// session, or writes the error page (done is then true).
func (s *Server) oidcConsentPrompt(c *fiber.Ctx, id string) (p *oidc.ConsentPrompt, done bool, err error) {
	if s.oidc == nil || s.sessions == nil {
		return nil, true, oidcOff(c)
	}
	p, err = s.oidc.ConsentRequest(c.UserContext(), id)
	switch {
	case errors.Is(err, oidc.ErrUnknownRequest):
		return nil, true, consentError(c, http.StatusBadRequest, msgRequestGone)
	case err != nil:
		return nil, true, err
	}
	info, err := s.sessions.Authenticate(c.UserContext(), c.Cookies(SessionCookie))
	if err != nil || info.ID != p.SessionID || info.UserID != p.UserID {
		return nil, true, consentError(c, http.StatusForbidden, msgConsentSession)
	}
	return p, false, nil
}

// oidcConsentPage asks the user to allow the client of request ?id=.
func (s *Server) oidcConsentPage(c *fiber.Ctx) error {
	id := c.Query("id")
	p, done, err := s.oidcConsentPrompt(c, id)
	if done {
		return err
	}
	csrf := c.Cookies(OIDCCSRFCookie)
	if !token.Valid(csrf) {
		if csrf, err = token.New(); err != nil {
			return err
		}
	}
	c.Cookie(&fiber.Cookie{Name: OIDCCSRFCookie, Value: csrf, Path: "/", Expires: p.ExpiresAt,
		Secure: true, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode})
	return renderConsent(c, http.StatusOK, oidcConsentView{State: "ask", Client: p.ClientName, ID: id, CSRF: csrf,
		Action: oidc.DefaultConsentPath, Scopes: p.Scopes}, p.RedirectURI)
}

// oidcConsentAnswer takes the user's decision: allow records the consent
// and goes on to the code, deny sends access_denied to the client.
func (s *Server) oidcConsentAnswer(c *fiber.Ctx) error {
	if err := s.oidcForm(c); err != nil {
		return err
	}
	id := formValue(c, "id")
	p, done, err := s.oidcConsentPrompt(c, id)
	if done {
		return err
	}
	ctx := oidc.WithClient(c.UserContext(), s.oidcClient(c))
	var next string
	switch formValue(c, "decision") {
	case "allow":
		next, err = s.oidc.GrantConsent(ctx, id, p.SessionID)
	case "deny":
		next, err = s.oidc.Deny(ctx, id, "access_denied")
	default:
		return consentError(c, http.StatusBadRequest, "Choose Allow or Deny.")
	}
	if errors.Is(err, oidc.ErrUnknownRequest) {
		return consentError(c, http.StatusBadRequest, msgRequestGone)
	}
	if err != nil {
		return err
	}
	return c.Redirect(next, http.StatusSeeOther)
}

// oidcLoggedOut is where RP-initiated logout ends when the client names
// no post_logout_redirect_uri.
func (s *Server) oidcLoggedOut(c *fiber.Ctx) error {
	if s.oidc == nil {
		return oidcOff(c)
	}
	return renderConsent(c, http.StatusOK, oidcConsentView{State: "done", Title: "Signed out",
		Message: "You are signed out. You can close this window."}, "")
}
