package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/oidc"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/signals/device/ja4"
)

// The login step of an OpenID Connect authorization: the hosted sign-in
// page (pages_oidc.go renders it with templates/signin.html) running
// riskauth's own sign-in, password first, then the second factor when the
// risk engine (or the account, or the client's acr_values) asks for one.
// This file is the hook between the provider and the page: how a request
// is loaded, answered by single sign-on, and completed or denied.
//
// Hardening: a CSRF token in a SameSite=Strict __Host- cookie that the
// form repeats (double submit, compared in constant time) plus the
// Origin and Sec-Fetch-Site checks of the JSON API; the hosted pages'
// Content-Security-Policy (nonce scripts only), with forms only to this
// origin and the client's redirect origin (browsers apply form-action to
// the redirects after a submission), no framing, no referrer to other
// origins; no-store everywhere. Every refusal of the sign-in looks the
// same (authn's one generic answer).

// OIDCCSRFCookie carries the login page's CSRF token.
const OIDCCSRFCookie = "__Host-riskauth_oidc_csrf"

// oidcLoginView is what the page shows; renderOIDCLogin (pages_oidc.go)
// renders it with the hosted sign-in template.
type oidcLoginView struct {
	State                        string // "password", "code" or "error"
	Client, Message              string
	ID, CSRF, Action, Identifier string
	Flow, Method, CodeLabel      string
}

// sourceOf is a CSP source expression for a redirect URI: its origin, or
// its scheme for a native app's custom scheme.
func sourceOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return ""
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		return u.Scheme + "://" + u.Host
	}
	return u.Scheme + ":"
}

// oidcLoginError is the page for a request that cannot go on: there is
// no trustworthy place to send the browser back to.
func (s *Server) oidcLoginError(c *fiber.Ctx, status int, msg string) error {
	return s.renderOIDCLogin(c, status, oidcLoginView{State: "error", Message: msg}, "")
}

const msgRequestGone = "This sign-in request is unknown or has expired. Go back to the application and start again."

// oidcPrompt loads the pending request of the page, or writes the error
// page (done is then true).
func (s *Server) oidcPrompt(c *fiber.Ctx, id string) (p *oidc.LoginPrompt, done bool, err error) {
	if s.oidc == nil || s.signin == nil {
		return nil, true, oidcOff(c)
	}
	p, err = s.oidc.LoginRequest(c.UserContext(), id)
	switch {
	case errors.Is(err, oidc.ErrUnknownRequest):
		return nil, true, s.oidcLoginError(c, http.StatusBadRequest, msgRequestGone)
	case err != nil:
		return nil, true, err
	}
	return p, false, nil
}

// oidcLoginPage shows the password form of request ?id=, unless the
// browser's riskauth session answers the request (single sign-on), or
// prompt=none forbids the form.
func (s *Server) oidcLoginPage(c *fiber.Ctx) error {
	id := c.Query("id")
	p, done, err := s.oidcPrompt(c, id)
	if done {
		return err
	}
	if done, err := s.oidcSingleSignOn(c, id, p); done {
		return err
	}
	if slices.Contains(p.Prompt, "none") {
		next, err := s.oidc.Deny(c.UserContext(), id, "login_required")
		if err != nil {
			return s.oidcLoginError(c, http.StatusBadRequest, msgRequestGone)
		}
		return c.Redirect(next, http.StatusFound)
	}
	csrf := c.Cookies(OIDCCSRFCookie)
	if !token.Valid(csrf) {
		if csrf, err = token.New(); err != nil {
			return err
		}
	}
	c.Cookie(&fiber.Cookie{Name: OIDCCSRFCookie, Value: csrf, Path: "/", Expires: p.ExpiresAt,
		Secure: true, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode})
	return s.renderOIDCLogin(c, http.StatusOK, oidcLoginView{State: "password", Client: p.ClientName, ID: id, CSRF: csrf,
		Action: oidc.DefaultLoginPath, Identifier: p.LoginHint}, p.RedirectURI)
}

// oidcSingleSignOn completes the request with the browser's live session
// when it is recent enough (max_age, prompt=login) and strong enough
// (acr_values). done reports that it answered.
func (s *Server) oidcSingleSignOn(c *fiber.Ctx, id string, p *oidc.LoginPrompt) (bool, error) {
	tok := c.Cookies(SessionCookie)
	if s.sessions == nil || tok == "" || slices.Contains(p.Prompt, "login") {
		return false, nil
	}
	info, err := s.sessions.AuthenticateClient(c.UserContext(), tok, s.sessionClient(c))
	if err != nil {
		return false, nil // no live session: sign in
	}
	if int(info.AAL) < p.AAL || (p.MaxAge != nil && time.Since(info.CreatedAt) > *p.MaxAge) {
		return false, nil
	}
	amr := []string{oidc.AMRPassword}
	if info.AAL >= authn.AAL2 {
		amr = append(amr, oidc.AMROTP, oidc.AMRMFA)
	}
	ctx := oidc.WithClient(c.UserContext(), s.oidcClient(c))
	next, err := s.oidc.CompleteLogin(ctx, id, oidc.Login{UserID: info.UserID, SessionID: info.ID, AAL: int(info.AAL),
		AMR: amr, AuthTime: info.CreatedAt, Reused: true})
	switch {
	case errors.Is(err, oidc.ErrDenied):
		return true, s.oidcDeny(c, id)
	case err != nil:
		return false, nil // sign in again (ErrStepUp among others)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return true, c.Redirect(next, http.StatusSeeOther)
}

// oidcDeny sends the browser back to the client with access_denied.
func (s *Server) oidcDeny(c *fiber.Ctx, id string) error {
	next, err := s.oidc.Deny(c.UserContext(), id, "access_denied")
	if err != nil {
		return s.oidcLoginError(c, http.StatusBadRequest, msgRequestGone)
	}
	return c.Redirect(next, http.StatusFound)
}

// oidcForm checks a submission of the page: a same-origin browser form
// with the CSRF token of its cookie.
func (s *Server) oidcForm(c *fiber.Ctx) error {
	switch string(c.Request().Header.Peek("Sec-Fetch-Site")) {
	case "", "same-origin", "none":
	default:
		return errForbiddenOrigin
	}
	if o := c.Request().Header.Peek(fiber.HeaderOrigin); len(o) > 0 && !s.origins[string(o)] {
		return errForbiddenOrigin
	}
	cookie, form := c.Cookies(OIDCCSRFCookie), formValue(c, "csrf")
	if !token.Valid(cookie) || !token.Equal(cookie, form) {
		return errForbiddenOrigin
	}
	return nil
}

// oidcLoginPassword takes the identifier and password.
func (s *Server) oidcLoginPassword(c *fiber.Ctx) error {
	if err := s.oidcForm(c); err != nil {
		return err
	}
	id := formValue(c, "id")
	p, done, err := s.oidcPrompt(c, id)
	if done {
		return err
	}
	view := oidcLoginView{State: "password", Client: p.ClientName, ID: id, CSRF: formValue(c, "csrf"), Action: oidc.DefaultLoginPath,
		Identifier: formValue(c, "identifier")}
	res, err := s.signin.Login(c.UserContext(), authn.LoginRequest{Identifier: view.Identifier, Password: formValue(c, "password"),
		Client: s.pageFormClient(c)})
	if err != nil {
		return s.oidcSignInError(c, err, view, p)
	}
	return s.oidcAnswer(c, res, view, p, []string{oidc.AMRPassword})
}

// oidcLoginCode takes the code of a second factor (or of a held
// identifier's email code).
func (s *Server) oidcLoginCode(c *fiber.Ctx) error {
	if err := s.oidcForm(c); err != nil {
		return err
	}
	id := formValue(c, "id")
	p, done, err := s.oidcPrompt(c, id)
	if done {
		return err
	}
	method := authn.Method(formValue(c, "method"))
	view := oidcLoginView{State: "code", Client: p.ClientName, ID: id, CSRF: formValue(c, "csrf"), Action: oidc.DefaultLoginPath + "/code",
		Flow: formValue(c, "flow"), Method: string(method), CodeLabel: codeLabel(method)}
	req := authn.CodeRequest{FlowID: view.Flow, Code: formValue(c, "code"), Client: s.pageFormClient(c)}
	var res *authn.LoginResult
	switch method {
	case authn.MethodTOTP:
		res, err = s.signin.SubmitTOTP(c.UserContext(), req)
	case authn.MethodEmailCode:
		res, err = s.signin.SubmitEmailCode(c.UserContext(), req)
	case authn.MethodRecoveryCode:
		res, err = s.signin.SubmitRecoveryCode(c.UserContext(), req)
	default:
		return s.oidcLoginError(c, http.StatusBadRequest, msgRequestGone)
	}
	if err != nil {
		return s.oidcSignInError(c, err, view, p)
	}
	return s.oidcAnswer(c, res, view, p, []string{oidc.AMRPassword, oidc.AMROTP})
}

func codeLabel(m authn.Method) string {
	switch m {
	case authn.MethodTOTP:
		return "Code from your authenticator app"
	case authn.MethodRecoveryCode:
		return "Recovery code"
	}
	return "Code from the mail we just sent"
}

// pageClient is the browser as the sign-in service sees it.
func (s *Server) pageClient(c *fiber.Ctx) authn.Client {
	ua := string(c.Request().Header.UserAgent())
	return authn.Client{IP: s.clientIP(c), UserAgent: ua, JA4: ja4.Of(c.Context().Conn()), Languages: acceptLanguage(c)}
}

// oidcAnswer goes on after a sign-in step: a second factor, or the
// session, which completes the authorization.
func (s *Server) oidcAnswer(c *fiber.Ctx, res *authn.LoginResult, view oidcLoginView, p *oidc.LoginPrompt, amr []string) error {
	switch res.Status {
	case authn.LoginAuthenticated:
		is := res.Session
		if int(is.AAL) >= 2 && len(amr) > 1 {
			amr = append(amr, oidc.AMRMFA)
		}
		ctx := oidc.WithClient(c.UserContext(), s.oidcClient(c))
		next, err := s.oidc.CompleteLogin(ctx, view.ID, oidc.Login{UserID: is.UserID, SessionID: is.ID, AAL: int(is.AAL), AMR: amr})
		switch {
		case errors.Is(err, oidc.ErrDenied):
			return s.oidcDeny(c, view.ID)
		case errors.Is(err, oidc.ErrUnknownRequest):
			return s.oidcLoginError(c, http.StatusBadRequest, msgRequestGone)
		case errors.Is(err, oidc.ErrAssuranceTooLow):
			return s.oidcLoginError(c, http.StatusForbidden,
				"This application asks for a second factor, and none is set up for your account. Add an authenticator app first.")
		case err != nil:
			return err
		}
		setSessionCookie(c, is)
		c.Cookie(&fiber.Cookie{Name: OIDCCSRFCookie, Path: "/", Expires: time.Unix(0, 0), MaxAge: -1, Secure: true, HTTPOnly: true,
			SameSite: fiber.CookieSameSiteStrictMode})
		return c.Redirect(next, http.StatusSeeOther)
	case authn.LoginConsentRequired:
		return s.oidcConsentStep(c, view, p, res.FlowID, res.Consents)
	case authn.LoginSecondFactor, authn.LoginCodeSent:
		method := authn.MethodEmailCode
		for _, m := range res.Methods {
			if m == authn.MethodTOTP {
				method = m
			}
		}
		if method == authn.MethodEmailCode && res.Status == authn.LoginSecondFactor {
			r2, err := s.signin.RequestEmailCode(c.UserContext(), authn.FlowRequest{FlowID: res.FlowID, Client: s.pageFormClient(c)})
			if err != nil {
				return s.oidcSignInError(c, err, view, p)
			}
			if r2.FlowID != "" {
				res = r2
			}
		}
		view.State, view.Action, view.Flow, view.Method = "code", oidc.DefaultLoginPath+"/code", res.FlowID, string(method)
		view.CodeLabel, view.Message = codeLabel(method), ""
		return s.renderOIDCLogin(c, http.StatusOK, view, p.RedirectURI)
	}
	// Magic links and approvals are not offered on this page.
	return s.oidcLoginError(c, http.StatusBadRequest, msgRequestGone)
}

// oidcSignInError shows a refused step on the same form; anything that is
// not a sign-in refusal goes to the server's error handling.
func (s *Server) oidcSignInError(c *fiber.Ctx, err error, view oidcLoginView, p *oidc.LoginPrompt) error {
	var ae *authn.Error
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.Code {
	case authn.CodeLoginFailed, authn.CodeInvalidRequest, authn.CodeInvalidEmail:
		view.Message = "The email address or password is wrong."
		return s.renderOIDCLogin(c, http.StatusUnauthorized, view, p.RedirectURI)
	case authn.CodeInvalidCode:
		view.Message = "That code is wrong or has expired."
		return s.renderOIDCLogin(c, http.StatusUnauthorized, view, p.RedirectURI)
	case authn.CodeFlowExpired, authn.CodeTooManyAttempts, authn.CodeInvalidStep:
		view = oidcLoginView{State: "password", Client: view.Client, ID: view.ID, CSRF: view.CSRF, Action: oidc.DefaultLoginPath,
			Message: "This sign-in attempt has ended. Please sign in again."}
		return s.renderOIDCLogin(c, http.StatusUnauthorized, view, p.RedirectURI)
	}
	return err
}
