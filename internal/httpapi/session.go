package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/internal/httpapi/wire"
	"github.com/riskauth/riskauth/signals/device/ja4"
	"github.com/riskauth/riskauth/signals/device/ualabel"
)

// What the sign-in (signin.go), account (account.go) and token
// (tokens.go) surfaces share: the session transport, the Authenticator
// that resolves a session, the decoding of their bodies with the client
// context, and the answer that hands out a session.

// Session transport. A browser gets the session as a cookie it cannot read
// from script; an app (or a backend calling for one) gets it as a bearer
// token in the JSON answer. The client chooses with the request header
// HeaderSessionTransport: "bearer" asks for the token in the body, anything
// else (or no header) gets the cookie, so a browser that knows nothing
// about the header never sees a token in JavaScript.
const (
	// SessionCookie is the cookie name. The __Host- prefix makes browsers
	// refuse it unless it is Secure, has Path=/ and no Domain, so a
	// sibling subdomain cannot plant or overwrite it.
	SessionCookie = "__Host-riskauth_session"
	// HeaderSessionTransport selects the transport of a newly issued
	// session: "bearer" or "cookie" (the default).
	HeaderSessionTransport = "Riskauth-Session"
	// RegistrationCookie carries the registration binding of a browser
	// that registered an account (cookie transport), so that opening the
	// verification link in that browser keeps the password chosen there.
	// SameSite=Strict: only this origin's own pages send it.
	RegistrationCookie = "__Host-riskauth_registration"
	// FlowCookie binds a sign-in flow to the browser that started it, so
	// that the flow's magic link signs in that browser only, and asks for
	// approval anywhere else. SameSite=Strict.
	FlowCookie = "__Host-riskauth_flow"
)

// Authenticator resolves a session token to the live session it names:
// what every route that acts for a signed-in user starts with.
// *authn.Sessions implements it.
type Authenticator interface {
	Authenticate(ctx context.Context, sessionToken string) (*authn.SessionInfo, error)
	// AuthenticateClient is Authenticate with the session-level risk
	// check for a use by client c (authn/sessionuse.go).
	AuthenticateClient(ctx context.Context, sessionToken string, c authn.Client) (*authn.SessionInfo, error)
}

// sessionClient is the client a session use is checked for: the browser
// or app on the connection. A backend with an API key speaks from its
// own network, so its uses are not compared (the zero client).
func (s *Server) sessionClient(c *fiber.Ctx) authn.Client {
	if hasAPIKey(c) {
		return authn.Client{}
	}
	return authn.Client{IP: s.clientIP(c), UserAgent: string(c.Request().Header.UserAgent()), JA4: ja4.Of(c.Context().Conn())}
}

// authnService names the authn service (a Deps field) a route calls.
type authnService int

// The authn services routes call; noAuthn for the risk, probe and admin
// routes, which are always served.
const (
	noAuthn authnService = iota
	viaRegistration
	viaSignIn
	viaPasswordReset
	viaSessions
	viaAccount
	viaSelfService
	viaPasskeys
)

// served reports whether the authn service a is in Deps (always true for
// noAuthn).
func (s *Server) served(a authnService) bool {
	switch a {
	case viaRegistration:
		return s.registration != nil
	case viaSignIn:
		return s.signin != nil
	case viaPasswordReset:
		return s.reset != nil
	case viaSessions:
		return s.sessions != nil
	case viaAccount:
		return s.account != nil
	case viaSelfService:
		return s.self != nil
	case viaPasskeys:
		return s.passkeys != nil
	}
	return true
}

// authn reports whether any authn service was given.
func (d Deps) authn() bool {
	return d.Registration != nil || d.SignIn != nil || d.PasswordReset != nil || d.Sessions != nil || d.Account != nil || d.SelfService != nil ||
		d.Passkeys != nil
}

// setupAuthn checks the sign-in part of the configuration.
func (s *Server) setupAuthn(cfg Config, deps Deps) error {
	s.registration, s.signin, s.reset = deps.Registration, deps.SignIn, deps.PasswordReset
	s.sessions, s.account, s.self = deps.Sessions, deps.Account, deps.SelfService
	s.passkeys = deps.Passkeys
	s.upstream = deps.Upstream
	var err error
	if s.ui, err = newPageRenderer(cfg.Pages); err != nil {
		return fmt.Errorf("httpapi: %w", err)
	}
	s.uaLabels = ualabel.NewCache(256)
	s.origins = map[string]bool{}
	for _, o := range append([]string{cfg.PublicOrigin}, cfg.AllowedOrigins...) {
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return fmt.Errorf("httpapi: origin %q: want scheme://host[:port]", o)
		}
		s.origins[u.Scheme+"://"+u.Host] = true
	}
	if deps.authn() && cfg.PublicOrigin == "" {
		return errors.New("httpapi: PublicOrigin is required with the sign-in services (Deps.Registration, SignIn, PasswordReset, Sessions, Account)")
	}
	if cfg.RateLimit.PerMinute < 0 || cfg.RateLimit.Burst < 0 || cfg.RateLimit.MaxClients < 0 {
		return errors.New("httpapi: rate limit settings must not be negative")
	}
	if s.limiter, err = newRateLimiter(cfg.RateLimit, deps.Clock); err != nil {
		return fmt.Errorf("httpapi: rate limit: %w", err)
	}
	if cfg.AccessTokens != nil {
		at := *cfg.AccessTokens
		if at.Issuer == "" {
			at.Issuer = cfg.PublicOrigin
		}
		if s.tokens, err = newAccessTokens(&at); err != nil {
			return fmt.Errorf("httpapi: %w", err)
		}
	}
	return nil
}

// deviceLabel names a device by its user agent for a person ("Chrome on
// Windows"), falling back to the user agent itself, cut short.
func (s *Server) deviceLabel(ua string) string {
	l := s.uaLabels.Parse(ua)
	switch {
	case l.Browser != "" && l.OS != "":
		return l.Browser + " on " + l.OS
	case l.Browser != "" || l.OS != "":
		return l.Browser + l.OS
	case ua == "":
		return "an unknown device"
	}
	if r := []rune(ua); len(r) > 80 {
		return string(r[:80]) + "…"
	}
	return ua
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(c *fiber.Ctx) string { return string(bearer(c)) }

// sessionToken is the request's session: the bearer token when an
// Authorization header is sent, else the cookie.
func sessionToken(c *fiber.Ctx) string {
	if t := bearerToken(c); t != "" {
		return t
	}
	return c.Cookies(SessionCookie)
}

// sessionError clears a cookie that no longer names a live session, so
// the browser stops sending it.
func sessionError(c *fiber.Ctx, err error) error {
	if authn.CodeOf(err) == authn.CodeSessionInvalid && bearerToken(c) == "" && c.Cookies(SessionCookie) != "" {
		clearSessionCookie(c)
	}
	return err
}

// wantsBearer reports whether a new session goes into the body.
func wantsBearer(c *fiber.Ctx) bool {
	return strings.EqualFold(strings.TrimSpace(string(c.Request().Header.Peek(HeaderSessionTransport))), "bearer")
}

// setSessionCookie hands a browser its session. The cookie lives until the
// session's absolute deadline; the idle deadline is enforced by the
// server. SameSite=Lax keeps it off cross-site subrequests and POSTs while
// a link from a mail still opens a signed-in page.
func setSessionCookie(c *fiber.Ctx, is *authn.IssuedSession) {
	c.Cookie(&fiber.Cookie{
		Name: SessionCookie, Value: is.Token, Path: "/", Expires: is.AbsoluteExpiresAt,
		Secure: true, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
	})
}

// setRegistrationCookie hands a registering browser its binding until
// the verification link expires.
func setRegistrationCookie(c *fiber.Ctx, binding string, expires time.Time) {
	c.Cookie(&fiber.Cookie{
		Name: RegistrationCookie, Value: binding, Path: "/", Expires: expires,
		Secure: true, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
	})
}

// setFlowCookie binds the flow just started to this browser, for as
// long as the flow lives.
func setFlowCookie(c *fiber.Ctx, binding string, expires time.Time) {
	c.Cookie(&fiber.Cookie{
		Name: FlowCookie, Value: binding, Path: "/", Expires: expires,
		Secure: true, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
	})
}

// clearRegistrationCookie removes the binding once the link is spent.
func clearRegistrationCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{
		Name: RegistrationCookie, Value: "", Path: "/", Expires: fasthttp.CookieExpireDelete,
		Secure: true, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
	})
}

// clearSessionCookie removes the cookie (after sign-out or a rejected
// session), with the same attributes so the browser matches it.
func clearSessionCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{
		Name: SessionCookie, Value: "", Path: "/", Expires: fasthttp.CookieExpireDelete,
		Secure: true, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
	})
}

// Wire shapes shared by the sign-in and account API.
type (
	sessionBody struct {
		ID                string    `json:"id"`
		UserID            string    `json:"user_id"`
		AAL               int       `json:"aal"`
		IdleExpiresAt     time.Time `json:"idle_expires_at"`
		AbsoluteExpiresAt time.Time `json:"absolute_expires_at"`
		// Token is present only when the client asked for a bearer token.
		Token string `json:"token,omitempty"`
	}
	// loginBody answers every step that may end in a session: the
	// sign-in steps and reauthentication.
	loginBody struct {
		Status        string        `json:"status"`
		FlowID        string        `json:"flow_id,omitempty"`
		Methods       []string      `json:"methods,omitempty"`
		FlowExpiresAt *time.Time    `json:"flow_expires_at,omitempty"`
		Session       *sessionBody  `json:"session,omitempty"`
		Approval      *approvalBody `json:"approval,omitempty"`
		// Consents are the purposes to accept, with consent_required.
		Consents []purposeBody `json:"consents,omitempty"`
		// RecoveryCodes are shown once, when the sign-in enrolled an app.
		RecoveryCodes []string `json:"recovery_codes,omitempty"`
	}
	// approvalBody describes the sign-in a magic link opened elsewhere
	// would approve: the device and place that asked for it.
	approvalBody struct {
		Device      string     `json:"device"`
		IP          string     `json:"ip,omitempty"`
		Location    string     `json:"location,omitempty"`
		RequestedAt *time.Time `json:"requested_at,omitempty"`
		ExpiresAt   time.Time  `json:"expires_at"`
	}
	okBody struct {
		OK bool `json:"ok"`
	}
)

// issue hands a new session to the client: in the body for bearer
// clients, as the cookie otherwise.
func issue(c *fiber.Ctx, is *authn.IssuedSession) *sessionBody {
	sb := &sessionBody{ID: is.ID, UserID: is.UserID, AAL: int(is.AAL),
		IdleExpiresAt: is.IdleExpiresAt.UTC(), AbsoluteExpiresAt: is.AbsoluteExpiresAt.UTC()}
	if wantsBearer(c) {
		sb.Token = is.Token
	} else {
		setSessionCookie(c, is)
	}
	return sb
}

// authHandler is a sign-in or account handler with its decoded body and
// client.
type authHandler func(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error

// withBody decodes the route's body and builds the client before h.
func (s *Server) withBody(shape wire.Shape, h authHandler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, err := s.dec.DecodeAuthn(shape, c.Request().Body())
		if err != nil {
			return err
		}
		cl, err := s.client(c, &b.Client)
		if err != nil {
			return err
		}
		return h(c, b, cl)
	}
}

// client builds who is asking. The address is the connection's (through
// the trusted proxies) and the user agent the request's, unless a backend
// with an API key tells who its user is; browsers may always send the
// device descriptor their collector gathered.
func (s *Server) client(c *fiber.Ctx, b *wire.Client) (authn.Client, error) {
	ua := string(c.Request().Header.UserAgent())
	if len(ua) > engine.MaxUserAgentLen {
		ua = ua[:engine.MaxUserAgentLen]
	}
	cl := authn.Client{IP: s.clientIP(c), UserAgent: ua, Device: b.Device, Attributes: b.Attributes, Languages: acceptLanguage(c)}
	if !hasAPIKey(c) {
		// A browser's own connection, when riskauthd terminated its TLS; a
		// backend's connection says nothing about its user's browser.
		cl.JA4 = ja4.Of(c.Context().Conn())
	}
	hasIP, hasUA := b.IP.IsValid(), b.UserAgent != ""
	if hasIP || hasUA {
		if !hasAPIKey(c) {
			var fs []engine.FieldError
			if hasIP {
				fs = append(fs, engine.FieldError{Field: "client.ip", Message: "accepted only from a backend that sends its API key in " + HeaderAPIKey})
			}
			if hasUA {
				fs = append(fs, engine.FieldError{Field: "client.user_agent", Message: "accepted only from a backend that sends its API key in " + HeaderAPIKey})
			}
			return authn.Client{}, invalid(fs)
		}
		if hasIP {
			cl.IP = b.IP
		}
		if hasUA {
			cl.UserAgent = b.UserAgent
		}
	}
	return cl, nil
}

// authnDisabled answers every sign-in, account, token and page route of a
// server built without the authn service it calls (a risk-check-only
// deployment has none).
func authnDisabled(*fiber.Ctx) error {
	return apiErr(CodeUnavailable, "sign-in is not configured on this server")
}
