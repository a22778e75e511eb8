package httpapi

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn/oidc"
	"github.com/riskauth/riskauth/authn/token"
)

// The consent step of an OpenID Connect authorization (authn/oidc
// consent.go): after the login step, a third-party client's first
// authorization (or prompt=consent) shows what the client will receive
// and asks the user to allow it. Only the browser holding the session
// that signed in may answer. It is a hosted page (templates/
// oidc_consent.html, pages_render.go): branded, translated, no script,
// forms only to this origin and the client's redirect origin, the CSRF
// cookie and form field, the Origin and Sec-Fetch-Site checks.

// oidcConsentView is what templates/oidc_consent.html shows.
type oidcConsentView struct {
	State string // "ask", "error" or "done"
	// TitleID and Message are catalogue ids (error and done states).
	TitleID, Message string
	Client           string
	ID, CSRF, Action string
	Scopes           []oidcScope
}

// oidcScope is a requested scope with the catalogue id of its
// description.
type oidcScope struct{ Name, ID string }

// oidcScopes names the scopes' descriptions in the catalogue: the known
// ones by name, any other as "access named NAME".
func oidcScopes(in []oidc.ScopeInfo) []oidcScope {
	out := make([]oidcScope, 0, len(in))
	for _, s := range in {
		id := "oidc_scope_other"
		switch s.Name {
		case "openid", "email", "profile", "offline_access":
			id = "oidc_scope_" + s.Name
		}
		out = append(out, oidcScope{Name: s.Name, ID: id})
	}
	return out
}

// renderConsent writes the consent page; formTo, when set, adds its
// origin to form-action (Allow and Deny end at the client).
func (s *Server) renderConsent(c *fiber.Ctx, status int, v oidcConsentView, formTo string) error {
	if v.TitleID == "" {
		v.TitleID = "oidc_consent_title"
	}
	return s.renderTo(c, status, page{Name: "oidc_consent", TitleID: v.TitleID, State: v.State, CSRF: v.CSRF, V: v},
		sourceOf(formTo))
}

func (s *Server) consentError(c *fiber.Ctx, status int, msgID string) error {
	return s.renderConsent(c, status, oidcConsentView{State: "error", Message: msgID}, "")
}

// oidcConsentPrompt loads request id's consent prompt for the browser's
// session, or writes the error page (done is then true).
func (s *Server) oidcConsentPrompt(c *fiber.Ctx, id string) (p *oidc.ConsentPrompt, done bool, err error) {
	if s.oidc == nil || s.sessions == nil {
		return nil, true, oidcOff(c)
	}
	p, err = s.oidc.ConsentRequest(c.UserContext(), id)
	switch {
	case errors.Is(err, oidc.ErrUnknownRequest):
		return nil, true, s.consentError(c, http.StatusBadRequest, "error_request_gone")
	case err != nil:
		return nil, true, err
	}
	info, err := s.sessions.Authenticate(c.UserContext(), c.Cookies(SessionCookie))
	if err != nil || info.ID != p.SessionID || info.UserID != p.UserID {
		return nil, true, s.consentError(c, http.StatusForbidden, "oidc_consent_other_session")
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
	return s.renderConsent(c, http.StatusOK, oidcConsentView{State: "ask", Client: p.ClientName, ID: id, CSRF: csrf,
		Action: oidc.DefaultConsentPath, Scopes: oidcScopes(p.Scopes)}, p.RedirectURI)
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
		return s.consentError(c, http.StatusBadRequest, "oidc_choose_allow")
	}
	if errors.Is(err, oidc.ErrUnknownRequest) {
		return s.consentError(c, http.StatusBadRequest, "error_request_gone")
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
	return s.renderConsent(c, http.StatusOK, oidcConsentView{State: "done", TitleID: "oidc_signed_out_title",
		Message: "oidc_signed_out"}, "")
}
