package httpapi

import (
	"context"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"go.opentelemetry.io/otel/trace"

	"github.com/riskauth/riskauth/authn/oidc"
)

// The OpenID Connect provider's routes. The protocol endpoints (discovery,
// /oauth/authorize, token, userinfo, introspection, revocation,
// end-session) are authn/oidc's handler, built on zitadel/oidc's
// certified "op" package and mounted here as they are; the key set is the
// access tokens' /.well-known/jwks.json (tokens.go), the same keys. The
// login step between /authorize and the code is riskauth's own page
// (oidc_login.go). With no provider in Deps every route answers 404.

// OIDCProvider is the provider as the HTTP layer needs it; *oidc.Provider
// implements it.
type OIDCProvider interface {
	// Handler serves the protocol endpoints.
	Handler() http.Handler
	// LoginRequest describes a pending authorization for the login page.
	LoginRequest(ctx context.Context, id string) (*oidc.LoginPrompt, error)
	// CompleteLogin records the sign-in and returns where the browser goes
	// next (the provider's callback, which issues the code).
	CompleteLogin(ctx context.Context, id string, l oidc.Login) (string, error)
	// Deny ends the request with an OAuth error for the client and
	// returns the redirect that carries it.
	Deny(ctx context.Context, id, code string) (string, error)
	// ConsentRequest and GrantConsent are the consent page's side
	// (oidc_consent.go).
	ConsentRequest(ctx context.Context, id string) (*oidc.ConsentPrompt, error)
	GrantConsent(ctx context.Context, id, sessionID string) (string, error)
	// DeviceRequest and DecideDevice are the device grant's verification
	// page (oidc_device.go).
	DeviceRequest(ctx context.Context, userID, userCode string) (*oidc.DevicePrompt, error)
	DecideDevice(ctx context.Context, userCode string, l oidc.Login, approve bool) error
	// Apps and RevokeApp are the user's consents (account_apps.go).
	Apps(ctx context.Context, userID string) ([]oidc.App, error)
	RevokeApp(ctx context.Context, userID, sessionID, clientID string) error
}

var _ OIDCProvider = (*oidc.Provider)(nil)

// oidcRoutes are the provider's entries of the route table.
func (s *Server) oidcRoutes() []route {
	proto := s.oidcProtocol()
	r := func(method, path string, h fiber.Handler) route { return route{method: method, path: path, handler: h} }
	return []route{
		r(http.MethodGet, oidc.PathDiscovery, proto),
		r(http.MethodGet, oidc.PathAuthorize, proto),
		r(http.MethodPost, oidc.PathAuthorize, proto),
		r(http.MethodGet, oidc.PathCallback, proto),
		r(http.MethodPost, oidc.PathToken, proto),
		r(http.MethodPost, oidc.PathIntrospect, proto),
		r(http.MethodGet, oidc.PathUserinfo, proto),
		r(http.MethodPost, oidc.PathUserinfo, proto),
		r(http.MethodPost, oidc.PathRevoke, proto),
		r(http.MethodGet, oidc.PathEndSession, proto),
		r(http.MethodPost, oidc.PathEndSession, proto),
		r(http.MethodGet, oidc.DefaultLoginPath, s.oidcLoginPage),
		r(http.MethodPost, oidc.DefaultLoginPath, s.oidcLoginPassword),
		r(http.MethodPost, oidc.DefaultLoginPath+"/code", s.oidcLoginCode),
		r(http.MethodPost, oidc.DefaultLoginPath+"/consent", s.oidcLoginConsent),
		r(http.MethodGet, oidc.DefaultConsentPath, s.oidcConsentPage),
		r(http.MethodPost, oidc.DefaultConsentPath, s.oidcConsentAnswer),
		r(http.MethodGet, oidc.DefaultLoggedOutPath, s.oidcLoggedOut),
		r(http.MethodPost, oidc.PathDeviceAuthorization, proto),
		r(http.MethodGet, oidc.DefaultDevicePath, s.oidcDevicePage),
		r(http.MethodPost, oidc.DefaultDevicePath, s.oidcDeviceEnter),
		r(http.MethodPost, oidc.DefaultDevicePath+"/approve", s.oidcDeviceDecide),
	}
}

// oidcProtocol hands a request to the provider's net/http handler.
func (s *Server) oidcProtocol() fiber.Handler {
	if s.oidc == nil {
		return oidcOff
	}
	// fasthttp's adaptor makes the request's context the RequestCtx,
	// whose Done reads server state that Shutdown writes: handed on to
	// database/sql (which watches Done from a goroutine of its own) that
	// races. The provider gets the values without the cancellation, as
	// the rest of the API does (fiber's UserContext).
	inner := s.oidc.Handler()
	h := adaptor.HTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithoutCancel(r.Context())
		if cl, ok := r.Context().Value(oidcClientKey{}).(oidc.Client); ok {
			ctx = oidc.WithClient(ctx, cl)
		}
		if sp, ok := r.Context().Value(oidcSpanKey{}).(trace.Span); ok {
			ctx = trace.ContextWithSpan(ctx, sp)
		}
		inner.ServeHTTP(w, r.WithContext(ctx))
	}))
	return func(c *fiber.Ctx) error {
		// The risk engine judges refreshes by who asks (authn/oidc/risk.go).
		c.Context().SetUserValue(oidcClientKey{}, s.oidcClient(c))
		// The adaptor's context is not fiber's user context: the
		// request's span (when traced) is carried across like the client,
		// so the provider's steps nest in it.
		if sp := trace.SpanFromContext(c.UserContext()); sp.IsRecording() {
			c.Context().SetUserValue(oidcSpanKey{}, sp)
		}
		// Every answer of the provider is personal or one-time (codes,
		// tokens, user claims) but discovery, which the op package marks
		// cacheable itself.
		if c.Path() != oidc.PathDiscovery {
			c.Set(fiber.HeaderCacheControl, "no-store")
		}
		return h(c)
	}
}

// oidcClientKey carries the client of a protocol request through the
// adaptor (the RequestCtx's user values are its context's values).
type oidcClientKey struct{}

// oidcSpanKey carries the request's span through the adaptor.
type oidcSpanKey struct{}

// oidcClient is the requester as the risk engine sees it.
func (s *Server) oidcClient(c *fiber.Ctx) oidc.Client {
	return oidc.Client{IP: s.clientIP(c), UserAgent: string(c.Request().Header.UserAgent())}
}

func oidcOff(*fiber.Ctx) error {
	return apiErr(CodeNotFound, "OpenID Connect is not enabled on this server")
}
