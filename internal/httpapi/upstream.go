package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/upstream"
)

// Sign-in through upstream identity providers (authn/signin_upstream.go,
// docs/oidc.md): the "Sign in with X" links on the sign-in pages lead to
// GET /login/upstream/{provider}, which sets the sealed state cookie and
// redirects to the provider; the provider sends the browser back to
// /login/upstream/{provider}/callback (a GET, or a form post for Apple),
// which signs in, registers, or asks the existing account's first
// factor before linking. No JavaScript anywhere.

// Upstream is the upstream sign-in as the pages use it; *authn.Upstream
// implements it.
type Upstream interface {
	Providers() []authn.UpstreamButton
	Begin(ctx context.Context, name, returnTo string) (*authn.UpstreamStart, error)
	Finish(ctx context.Context, r authn.UpstreamCallback) (*authn.UpstreamResult, error)
}

// UpstreamCookie holds the sealed state of a sign-in at an upstream
// provider, from the redirect to the callback.
const UpstreamCookie = "__Host-riskauth_upstream"

// upstreamRoutes are the upstream sign-in's routes; without providers
// they answer 404.
func (s *Server) upstreamRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/login/upstream/:provider", handler: s.upstreamBegin},
		{method: http.MethodGet, path: "/login/upstream/:provider/callback", handler: s.upstreamCallback},
		// Apple's form_post: a cross-site POST, so no CSRF token; the
		// state, bound to the cookie and used once, is the protection.
		{method: http.MethodPost, path: "/login/upstream/:provider/callback", handler: s.upstreamCallback},
		// The owner's linked identities (upstream_account.go).
		{method: http.MethodGet, path: "/v1/account/identities", authn: viaAccount, handler: s.listIdentities},
		{method: http.MethodDelete, path: "/v1/account/identities/:id", guard: true, authn: viaAccount, handler: s.unlinkIdentity},
	}
}

// upstreamLink is a provider's button on the sign-in page.
type upstreamLink struct{ Href, Name string }

// upstreamLinks are the buttons of the sign-in page whose sign-in goes
// on to ret.
func (s *Server) upstreamLinks(ret string) []upstreamLink {
	if s.upstream == nil {
		return nil
	}
	var out []upstreamLink
	for _, p := range s.upstream.Providers() {
		href := "/login/upstream/" + url.PathEscape(p.Name)
		if ret != "" && ret != defaultReturn {
			href += "?" + url.Values{"return_to": {ret}}.Encode()
		}
		out = append(out, upstreamLink{Href: href, Name: p.DisplayName})
	}
	return out
}

// upstreamBegin answers GET /login/upstream/{provider}: state cookie,
// then the provider. A provider that does not answer discovery within
// its deadline gets the "unavailable" page (503, Retry-After).
func (s *Server) upstreamBegin(c *fiber.Ctx) error {
	if s.upstream == nil {
		return s.pageError(c, http.StatusNotFound, "error_generic", "/login")
	}
	if limited, err := s.pageRateLimited(c); limited {
		return err
	}
	ret := s.safeReturn(strings.Clone(c.Query("return_to")))
	st, err := s.upstream.Begin(c.UserContext(), strings.Clone(c.Params("provider")), ret)
	if err != nil {
		return s.upstreamError(c, err)
	}
	mode := fiber.CookieSameSiteLaxMode
	if strings.Contains(st.URL, "response_mode=form_post") {
		mode = fiber.CookieSameSiteNoneMode // the callback is a cross-site POST
	}
	c.Cookie(&fiber.Cookie{Name: UpstreamCookie, Value: st.Cookie, Path: "/", Expires: st.ExpiresAt,
		Secure: true, HTTPOnly: true, SameSite: mode})
	return c.Redirect(st.URL, http.StatusSeeOther)
}

// upstreamCallback answers the provider's redirect back: the sign-in
// completes (session cookie, return_to), asks for a second factor, or
// asks the existing account's first factor before linking.
func (s *Server) upstreamCallback(c *fiber.Ctx) error {
	if s.upstream == nil {
		return s.pageError(c, http.StatusNotFound, "error_generic", "/login")
	}
	param := func(k string) string {
		if c.Method() == http.MethodPost {
			return formValue(c, k)
		}
		return strings.Clone(c.Query(k))
	}
	r := authn.UpstreamCallback{Provider: strings.Clone(c.Params("provider")), Cookie: strings.Clone(c.Cookies(UpstreamCookie)),
		State: param("state"), Code: param("code"), Error: param("error"), Client: s.pageClient(c)}
	c.Cookie(&fiber.Cookie{Name: UpstreamCookie, Value: "", Path: "/", Expires: fasthttp.CookieExpireDelete,
		Secure: true, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode})
	res, err := s.upstream.Finish(c.UserContext(), r)
	if err != nil {
		return s.upstreamError(c, err)
	}
	ret := s.safeReturn(res.ReturnTo)
	v := s.newSigninView(ret)
	l := res.Login
	if l.Binding != "" {
		setFlowCookie(c, l.Binding, l.FlowExpiresAt)
	}
	v.Flow = l.FlowID
	switch {
	case l.Status == authn.LoginAuthenticated:
		setSessionCookie(c, l.Session)
		return c.Redirect(ret, http.StatusSeeOther)
	case res.LinkEmail != "" && l.Status == authn.LoginChooseMethod:
		// An account has this verified address: prove it, and the
		// identity is linked when this flow completes.
		v.Step, v.Identifier, v.EmailCode = "password", res.LinkEmail, true
		v.Message = "upstream_link_prove"
		return s.signinRender(c, http.StatusOK, v)
	case l.Status == authn.LoginSecondFactor:
		return s.signinUse(c, v, secondFactorShown(l.Methods), l.Methods)
	}
	return s.pageError(c, http.StatusBadRequest, "flow_ended", v.Restart)
}

// secondFactorShown is the second factor the code step shows first: an
// app's code when offered, else the emailed code.
func secondFactorShown(ms []authn.Method) authn.Method {
	for _, m := range ms {
		if m == authn.MethodTOTP || m == authn.MethodRecoveryCode {
			return m
		}
	}
	return authn.MethodEmailCode
}

// upstreamError renders a refused upstream sign-in; none of the pages
// says more than the user can see at the provider.
func (s *Server) upstreamError(c *fiber.Ctx, err error) error {
	switch {
	case errors.Is(err, authn.ErrUpstreamUnknown):
		return s.pageError(c, http.StatusNotFound, "error_generic", "/login")
	case errors.Is(err, authn.ErrUpstreamState):
		return s.pageError(c, http.StatusBadRequest, "error_upstream_state", "/login")
	case errors.Is(err, authn.ErrUpstreamRejected):
		return s.pageError(c, http.StatusUnauthorized, "error_upstream_rejected", "/login")
	case errors.Is(err, authn.ErrUpstreamUnverified):
		return s.pageError(c, http.StatusForbidden, "error_upstream_unverified", "/login")
	case errors.Is(err, upstream.ErrUnavailable):
		s.log.Warn("upstream provider unavailable", "err", err)
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(upstream.DefaultRetryAfter/time.Second)))
		return s.pageError(c, http.StatusServiceUnavailable, "error_upstream_unavailable", "/login")
	}
	return s.signinRefused(c, err, signinView{Step: "identifier", Action: "/login", Restart: "/login"})
}
