package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/internal/httpapi/wire"
	"github.com/riskauth/riskauth/signals/device/ualabel"
)

// Readiness is what /readyz asks: whether the backends answer.
type Readiness interface {
	Ready(ctx context.Context) error
}

// Engine is the risk engine as the server needs it: the risk API's
// RiskEngine (risk.go) and the readiness probe. *engine.Engine implements
// it.
type Engine interface {
	RiskEngine
	Readiness
}

var _ Engine = (*engine.Engine)(nil)

// Defaults applied by New to zero Config fields.
const (
	DefaultBodyLimit    = 64 << 10
	DefaultReadTimeout  = 10 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultIdleTimeout  = 60 * time.Second
	DefaultReadyTimeout = 2 * time.Second
)

// Proxy headers the client IP can be taken from (Config.ProxyHeader).
const (
	HeaderXForwardedFor = "X-Forwarded-For"
	HeaderForwarded     = "Forwarded"
)

// Config configures the HTTP API. Zero fields take the defaults above.
type Config struct {
	// APIKeys are the bearer keys server-to-server callers present on
	// /v1/risk/*. At least one is required. They are kept only as SHA-256
	// digests and compared in constant time; they are never logged.
	APIKeys []string
	// BodyLimit caps request bodies in bytes (default 64 KiB); a larger body
	// is refused with 413 before it is decoded.
	BodyLimit int
	// TrustedProxies are the networks whose forwarding header is believed.
	// When the TCP peer is in one of them, the client IP is the first
	// address, walking ProxyHeader's hops from right to left, that is not
	// itself trusted; otherwise the client IP is the TCP peer. The "ip"
	// field of an evaluate body, when present, takes precedence over both:
	// the caller is a backend telling the engine who its client is.
	TrustedProxies []netip.Prefix
	// ProxyHeader names the one forwarding header trusted proxies set:
	// HeaderXForwardedFor (default) or HeaderForwarded (RFC 7239). Only
	// one is believed, so that a client cannot smuggle an address in the
	// header the proxies do not manage.
	ProxyHeader string
	// ReadTimeout, WriteTimeout and IdleTimeout bound a connection's
	// request read, response write and keep-alive idle time (defaults 10s,
	// 10s, 60s).
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// ReadyTimeout bounds the engine's Ready call behind /readyz (default 2s).
	ReadyTimeout time.Duration
	// OpenAPI is the document served at /openapi.json; nil means the
	// embedded openapi.json (see OpenAPIDocument).
	OpenAPI []byte
	// PublicOrigin is where browsers reach the service
	// ("https://auth.example.com"); required with the sign-in services
	// (Deps.Registration, SignIn, PasswordReset, Sessions, Account). A browser
	// request to the sign-in API whose Origin header names another origin
	// is refused (CSRF defence), as are those in AllowedOrigins' absence.
	PublicOrigin string
	// AllowedOrigins are further origins whose pages may call the sign-in
	// API with the session cookie (an app front end on a sibling origin).
	AllowedOrigins []string
	// AccessTokens, when set, enables POST /v1/token and publishes its
	// keys at /.well-known/jwks.json (an empty set otherwise). An empty
	// Issuer defaults to PublicOrigin.
	AccessTokens *AccessTokenConfig
	// RateLimit limits the unauthenticated sign-in routes per client IP;
	// the zero value turns it off.
	RateLimit RateLimitConfig
	// AdminKeys are the named bearer keys of the rule rollout admin API
	// (/v1/admin/*), separate from APIKeys: each is refused where the
	// other is expected. With none (or without Deps.Rules) the admin
	// routes answer 404. Kept as SHA-256 digests, never logged.
	AdminKeys []AdminKey
	// Metrics decides who may read /metrics (ops.go): a listener of its
	// own, a bearer token, or both. The zero value serves it to anyone
	// who reaches the main listener, as development wants.
	Metrics MetricsConfig
	// Pages brands the hosted pages (pages_render.go).
	Pages PagesConfig
	// Tracing, when set, gives every request a server span (tracing.go);
	// nil leaves the request path without any tracing code.
	Tracing *TracingConfig
}

// Deps are the server's collaborators.
type Deps struct {
	// Engine answers the risk-check API and the readiness probe.
	// Required.
	Engine Engine
	// Registry is where the HTTP metrics are registered and what /metrics
	// serves (the engine's and signals' metrics belong on it too); nil
	// means a fresh registry holding only the HTTP metrics.
	Registry *prometheus.Registry
	// Logger receives errors and panics (nil discards). Nothing secret is
	// ever logged: no API key, password or request body.
	Logger *slog.Logger
	// BreachedRange answers GET /v1/breached/range/{prefix} (the Pwned
	// Passwords range API from a local corpus table); nil answers 503.
	BreachedRange http.Handler
	// The authn services behind the sign-in API (signin.go), the account
	// API (account.go), the token route (tokens.go) and the mail-link
	// pages, one field per service so that each handler sees only its
	// own small interface. authn.New returns them together
	// (authn.Services). A route whose service is nil answers 503; the JWKS
	// answers an empty set.
	//
	// Registration serves /v1/register, /v1/verify-email and its page.
	Registration Registration
	// SignIn serves /v1/login/... and the magic-link page.
	SignIn SignIn
	// PasswordReset serves /v1/password/reset/... and its page.
	PasswordReset PasswordReset
	// Sessions serves /v1/session, /v1/logout, /v1/sessions/... and
	// resolves the session of /v1/token.
	Sessions Sessions
	// Account serves /v1/reauthenticate, /v1/password/change, /v1/totp/...
	// and /v1/recovery-codes.
	Account Account
	// SelfService serves /v1/account/... (account_*.go) and adds the
	// profile attributes declared in_tokens to access tokens.
	SelfService SelfService
	// Clock drives the rate limiter's buckets; nil means the system clock.
	Clock clock.Clock
	// SharedLimiter, when set, shares the per-IP rate limit's buckets
	// across instances (ratelimit_shared.go); nil keeps them per instance.
	SharedLimiter SharedLimiter
	// OIDC is the OpenID Connect provider (oidc.go); nil answers 404 on
	// its routes. Its login page needs SignIn too.
	OIDC OIDCProvider
	// Clients is the OpenID Connect client registry behind
	// /v1/admin/clients (admin_clients.go); nil answers 404 there.
	Clients ClientAdmin
	// Rules is the rule source the admin API shows and changes
	// (*rules.Source); nil turns the rule routes off (404).
	Rules RuleAdmin
	// ReadyChecks are the backends /readyz asks, concurrently, each
	// within ReadyTimeout (ready.go); none means the engine's state store
	// alone, named "state".
	ReadyChecks []ReadyCheck
	// Users is the user administration behind /v1/admin/users
	// (*authn.Admin, users.go); nil turns those routes off (404).
	Users UserAdmin
	// Passkeys serves the passkey sign-in and account routes; nil leaves
	// them 404 (passkeys not configured).
	Passkeys Passkeys
	// Upstream serves the upstream identity providers' sign-in
	// (upstream.go); nil leaves its routes 404.
	Upstream Upstream
}

// Server is the HTTP API. Build it with New, serve it with Serve (or hand
// App to something that serves fiber apps) and stop it with Shutdown.
type Server struct {
	app          *fiber.App
	risk         RiskEngine
	checks       []ReadyCheck // ready.go
	keys         [][sha256.Size]byte
	trusted      []netip.Prefix
	forwarded    bool // ProxyHeader is Forwarded
	readyTimeout time.Duration
	openapi      []byte
	log          *slog.Logger
	tracing      TracingConfig
	m            *httpMetrics
	allow        map[string]string // route path -> Allow header value

	dec wire.Decoder
	enc *wire.Encoder

	// The authn services, from Deps; each nil when not given.
	registration Registration
	signin       SignIn
	reset        PasswordReset
	sessions     Sessions
	account      Account
	self         SelfService
	passkeys     Passkeys // nil: passkeys are off
	upstream     Upstream // nil: no upstream providers

	tokens   *accessTokens
	ui       *pageRenderer  // the hosted pages (pages_*.go)
	uaLabels *ualabel.Cache // device names for the magic-link approval
	origins  map[string]bool
	limiter  *rateLimiter // nil: no rate limit
	shared   *sharedLimit // nil: the limit is per instance

	oidc OIDCProvider // nil: OpenID Connect is off
	// clients is the client registry (nil: its routes answer 404).
	clients ClientAdmin

	rules      RuleAdmin
	users      UserAdmin
	adminKeys  [][sha256.Size]byte
	adminNames []string // by the index of adminKeys
	// adminScopes are each key's scopes, by the index of adminKeys.
	adminScopes []scopeSet

	// The operations listener (ops.go): nil unless metrics are served
	// apart; metricsToken is the digest of the metrics token, nil when
	// none is set.
	ops             *fiber.App
	metricsSeparate bool
	metricsToken    *[sha256.Size]byte
	timeouts        struct{ read, write, idle time.Duration }

	mu      sync.Mutex
	ln      net.Listener
	opsLn   net.Listener
	stopped bool
}

// route is one entry of the route table (routes): the only place routes
// are declared.
type route struct {
	method, path string
	// auth: behind the API keys.
	auth bool
	// admin: behind the admin keys (and 404 while the admin API is off),
	// for keys holding scope (admin_scopes.go).
	admin bool
	scope string
	// guard: a state-changing sign-in or account route (optional API
	// key, JSON content type, CSRF checks; see guard).
	guard bool
	// limit: an unauthenticated sign-in route behind the per-IP rate
	// limit (guard routes only).
	limit bool
	// authn: the authn service the route calls; it answers 503 when that
	// service is not in Deps.
	authn   authnService
	handler fiber.Handler
}

// New validates cfg and builds the server and its routes.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Engine == nil {
		return nil, errors.New("httpapi: Deps.Engine is required")
	}
	if len(cfg.APIKeys) == 0 {
		return nil, errors.New("httpapi: at least one API key is required")
	}
	s := &Server{risk: deps.Engine, checks: readyChecks(deps), log: deps.Logger,
		allow: map[string]string{}, enc: wire.NewEncoder()}
	for i, k := range cfg.APIKeys {
		if k == "" || strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return nil, fmt.Errorf("httpapi: API key #%d is empty or contains spaces or control characters", i+1)
		}
		s.keys = append(s.keys, sha256.Sum256([]byte(k)))
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.ProxyHeader == "" || strings.EqualFold(cfg.ProxyHeader, HeaderXForwardedFor):
	case strings.EqualFold(cfg.ProxyHeader, HeaderForwarded):
		s.forwarded = true
	default:
		return nil, fmt.Errorf("httpapi: proxy header %q: want %s or %s", cfg.ProxyHeader, HeaderXForwardedFor, HeaderForwarded)
	}
	for _, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return nil, errors.New("httpapi: invalid trusted proxy prefix")
		}
		s.trusted = append(s.trusted, p.Masked())
	}
	if cfg.BodyLimit < 0 {
		return nil, errors.New("httpapi: body limit must not be negative")
	}
	if cfg.BodyLimit == 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	if err := s.setupAuthn(cfg, deps); err != nil {
		return nil, err
	}
	s.oidc = deps.OIDC
	s.clients = deps.Clients
	if err := s.setupAdmin(cfg, deps); err != nil {
		return nil, err
	}
	if err := s.setupMetrics(cfg.Metrics); err != nil {
		return nil, err
	}
	s.readyTimeout = orDefault(cfg.ReadyTimeout, DefaultReadyTimeout)
	s.openapi = cfg.OpenAPI
	if s.openapi == nil {
		s.openapi = OpenAPIDocument()
	}
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newHTTPMetrics(reg)
	if err != nil {
		return nil, err
	}
	s.m = m
	if err := s.setupSharedLimit(cfg.RateLimit, deps, reg); err != nil {
		return nil, err
	}

	s.timeouts.read = orDefault(cfg.ReadTimeout, DefaultReadTimeout)
	s.timeouts.write = orDefault(cfg.WriteTimeout, DefaultWriteTimeout)
	s.timeouts.idle = orDefault(cfg.IdleTimeout, DefaultIdleTimeout)
	s.app = fiber.New(fiber.Config{
		BodyLimit:             cfg.BodyLimit,
		ReadTimeout:           s.timeouts.read,
		WriteTimeout:          s.timeouts.write,
		IdleTimeout:           s.timeouts.idle,
		ErrorHandler:          s.serverError,
		DisableStartupMessage: true,
		Network:               fiber.NetworkTCP, // IPv4 and IPv6 listen addresses
		AppName:               "riskauth",
	})
	// Methods fiber does not know never reach its router, which would
	// answer them in plain text.
	next := s.app.Server().Handler
	s.app.Server().Handler = func(ctx *fasthttp.RequestCtx) {
		if !knownMethod(ctx.Method()) {
			s.rejectMethod(ctx)
			return
		}
		next(ctx)
	}

	if cfg.Tracing != nil {
		s.tracing = *cfg.Tracing
		s.app.Use(s.traced)
	}
	s.app.Use(s.observe, s.recoverPanic)
	metrics := adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelError),
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          reg,
		EnableOpenMetrics: false,
	}))
	if s.metricsSeparate {
		s.ops = s.newOpsApp(metrics)
	}
	for _, r := range append(append(s.routes(metrics, breachedRange(deps.BreachedRange)), s.oidcRoutes()...), s.upstreamRoutes()...) {
		if r.path == "/metrics" && s.metricsSeparate {
			continue // on the operations listener only: 404 here
		}
		if !s.served(r.authn) {
			r.handler = authnDisabled
		}
		hs := []fiber.Handler{r.handler}
		switch {
		case r.admin:
			hs = []fiber.Handler{s.authenticateAdmin, s.requireScope(r.scope), r.handler}
		case r.auth:
			hs = []fiber.Handler{s.authenticate, r.handler}
		case r.guard && r.limit && s.served(r.authn):
			// The limit comes before the CSRF checks so refused requests
			// count too, and after the API key so backends are recognised.
			hs = []fiber.Handler{s.optionalAPIKey, s.rateLimit, s.guard, r.handler}
		case r.guard:
			hs = []fiber.Handler{s.optionalAPIKey, s.guard, r.handler}
		}
		s.app.Add(r.method, r.path, hs...)
		allow := r.method
		if r.method == http.MethodGet {
			s.app.Add(http.MethodHead, r.path, hs...) // as fiber's app.Get does
			allow += ", " + http.MethodHead
		}
		if prev := s.allow[r.path]; prev != "" {
			allow = prev + ", " + allow
		}
		s.allow[r.path] = allow
		s.m.addRoute(r.path)
	}
	return s, nil
}

// routes is the route table, by surface. New adds to each route the
// middleware its flags ask for.
func (s *Server) routes(metrics, breached fiber.Handler) []route {
	// post is a state-changing sign-in or account route, calling the
	// authn service a, whose JSON body has the given shape.
	post := func(a authnService, path string, shape wire.Shape, h authHandler) route {
		return route{method: http.MethodPost, path: path, guard: true, authn: a, handler: s.withBody(shape, h)}
	}
	// limited are the routes anyone can call without a session: the ones
	// a flood from one address would aim at.
	limited := func(a authnService, path string, shape wire.Shape, h authHandler) route {
		r := post(a, path, shape, h)
		r.limit = true
		return r
	}
	get := func(a authnService, path string, h fiber.Handler) route {
		return route{method: http.MethodGet, path: path, authn: a, handler: h}
	}
	admin := func(method, path, scope string, h fiber.Handler) route {
		return route{method: method, path: path, admin: true, scope: scope, handler: h}
	}
	// rulesAdmin is a rule route: 404 without a rule source.
	rulesAdmin := func(method, path, scope string, h fiber.Handler) route {
		return admin(method, path, scope, func(c *fiber.Ctx) error {
			if s.rules == nil {
				return apiErr(CodeNotFound, "no such route")
			}
			return h(c)
		})
	}
	rs := []route{
		// Risk API (risk.go), for backends with an API key.
		{method: http.MethodPost, path: "/v1/risk/evaluate", auth: true, handler: s.evaluate},
		{method: http.MethodGet, path: "/v1/breached/range/:prefix", auth: true, handler: breached},
		{method: http.MethodPost, path: "/v1/risk/outcome", auth: true, handler: s.outcome},

		// Probes, metrics (metrics.go) and the API's description.
		{method: http.MethodGet, path: "/healthz", handler: s.healthz},
		{method: http.MethodGet, path: "/readyz", handler: s.readyz},
		{method: http.MethodGet, path: "/metrics", handler: s.withMetricsAuth(metrics)},
		{method: http.MethodGet, path: "/openapi.json", handler: s.openAPI},

		// Sign-in API (signin.go).
		limited(viaRegistration, "/v1/register", wire.ShapeRegister, s.register),
		limited(viaRegistration, "/v1/verify-email", wire.ShapeVerifyEmail, s.verifyEmail),
		limited(viaSignIn, "/v1/login", wire.ShapeLogin, s.login),
		post(viaSignIn, "/v1/login/password", wire.ShapeFlowPassword, s.loginPassword),
		post(viaSignIn, "/v1/login/totp", wire.ShapeFlowCode, s.loginTOTP),
		post(viaSignIn, "/v1/login/recovery-code", wire.ShapeFlowCode, s.loginRecoveryCode),
		limited(viaSignIn, "/v1/login/email-code", wire.ShapeFlow, s.requestEmailCode),
		post(viaSignIn, "/v1/login/email-code/verify", wire.ShapeFlowCode, s.loginEmailCode),
		post(viaSignIn, "/v1/login/magic-link", wire.ShapeMagicLink, s.loginMagicLink),
		post(viaSignIn, "/v1/login/magic-link/approve", wire.ShapeMagicLink, s.approveMagicLink),
		post(viaSignIn, "/v1/login/magic-link/deny", wire.ShapeMagicLink, s.denyMagicLink),
		post(viaSignIn, "/v1/login/poll", wire.ShapeFlow, s.pollLogin),
		post(viaSignIn, "/v1/login/consent", wire.ShapeFlow, s.loginConsent),
		post(viaSignIn, "/v1/login/mfa/totp", wire.ShapeFlow, s.loginTOTPBegin),
		post(viaSignIn, "/v1/login/mfa/totp/confirm", wire.ShapeFlowConfirmTOTP, s.loginTOTPConfirm),
		limited(viaPasswordReset, "/v1/password/reset/request", wire.ShapeResetRequest, s.requestReset),
		post(viaPasswordReset, "/v1/password/reset", wire.ShapeReset, s.resetPassword),

		// Account API (account.go), for the holder of a session.
		get(viaSessions, "/v1/session", s.whoami),
		post(viaSessions, "/v1/logout", wire.ShapeClient, s.logout),
		get(viaSessions, "/v1/sessions", s.listSessions),
		{method: http.MethodDelete, path: "/v1/sessions/:id", guard: true, authn: viaSessions, handler: s.revokeSession},
		post(viaSessions, "/v1/sessions/revoke-others", wire.ShapeClient, s.revokeOthers),
		post(viaAccount, "/v1/reauthenticate", wire.ShapeReauthenticate, s.reauthenticate),
		post(viaAccount, "/v1/password/change", wire.ShapeChangePassword, s.changePassword),
		post(viaAccount, "/v1/totp", wire.ShapeClient, s.beginTOTP),
		post(viaAccount, "/v1/totp/confirm", wire.ShapeConfirmTOTP, s.confirmTOTP),
		post(viaAccount, "/v1/totp/remove", wire.ShapeRemoveTOTP, s.removeTOTP),
		post(viaAccount, "/v1/recovery-codes", wire.ShapeClient, s.regenerateRecoveryCodes),

		// Self-service account API (account_*.go), for the holder of a
		// session.
		get(viaSelfService, "/v1/account", s.getAccount),
		{method: http.MethodPatch, path: "/v1/account", guard: true, authn: viaSelfService, handler: s.patchAccount},
		get(viaSelfService, "/v1/account/devices", s.listDevices),
		{method: http.MethodPatch, path: "/v1/account/devices/:id", guard: true, authn: viaSelfService, handler: s.renameDevice},
		{method: http.MethodDelete, path: "/v1/account/devices/:id", guard: true, authn: viaSelfService, handler: s.forgetDevice},
		get(viaSelfService, "/v1/account/activity", s.listActivity),
		post(viaSelfService, "/v1/account/activity/:id/not-me", wire.ShapeClient, s.disownActivity),
		// Privacy rights (account_privacy.go).
		{method: http.MethodDelete, path: "/v1/account", guard: true, authn: viaSelfService, handler: s.deleteAccount},
		get(viaSelfService, "/v1/account/deletion", s.deletionStatus),
		post(viaSelfService, "/v1/account/deletion/cancel", wire.ShapeClient, s.cancelDeletion),
		post(viaSelfService, "/v1/account/export", wire.ShapeClient, s.requestExport),
		get(viaSelfService, "/v1/account/export/download", s.downloadExport),
		// Consents and preferences (account_consents.go).
		get(viaSelfService, "/v1/account/consents", s.getConsents),
		{method: http.MethodPost, path: "/v1/account/consents", guard: true, authn: viaSelfService, handler: s.grantConsents},
		{method: http.MethodDelete, path: "/v1/account/consents/:purpose", guard: true, authn: viaSelfService, handler: s.withdrawConsent},
		get(viaSelfService, "/v1/account/preferences", s.getPreferences),
		{method: http.MethodPatch, path: "/v1/account/preferences", guard: true, authn: viaSelfService, handler: s.patchPreferences},
		// Email change (account_email.go): behind a fresh re-authentication;
		// its links work without a session, like a verification link.
		{method: http.MethodPost, path: "/v1/account/email", guard: true, authn: viaSelfService, handler: s.changeEmail},
		limited(viaSelfService, "/v1/account/email/confirm", wire.ShapeMagicLink, s.confirmEmailChange),
		limited(viaSelfService, "/v1/account/email/undo", wire.ShapeMagicLink, s.undoEmailChange),
		// The OpenID Connect clients the user let in (account_apps.go).
		get(viaSessions, "/v1/account/apps", s.listApps),
		{method: http.MethodDelete, path: "/v1/account/apps/:id", guard: true, authn: viaSessions, handler: s.revokeApp},

		// Passkeys (signin_passkey.go, account_passkey.go).
		{method: http.MethodPost, path: "/v1/login/passkey/begin", guard: true, limit: true, authn: viaPasskeys, handler: s.beginPasskeySignIn},
		{method: http.MethodPost, path: "/v1/login/passkey", guard: true, authn: viaPasskeys, handler: s.passkeySignIn},
		limited(viaPasskeys, "/v1/register/passkey", wire.ShapeResetRequest, s.registerWithPasskey),
		{method: http.MethodPost, path: "/v1/register/passkey/finish", guard: true, limit: true, authn: viaPasskeys, handler: s.finishPasskeySignup},
		get(viaPasskeys, "/v1/account/passkeys", s.listPasskeys),
		{method: http.MethodPost, path: "/v1/account/passkeys/begin", guard: true, authn: viaPasskeys, handler: s.beginPasskeyRegistration},
		{method: http.MethodPost, path: "/v1/account/passkeys", guard: true, authn: viaPasskeys, handler: s.registerPasskey},
		{method: http.MethodPost, path: "/v1/account/passkeys/offer/dismiss", guard: true, authn: viaPasskeys, handler: s.dismissPasskeyOffer},
		{method: http.MethodPatch, path: "/v1/account/passkeys/:id", guard: true, authn: viaPasskeys, handler: s.renamePasskey},
		{method: http.MethodDelete, path: "/v1/account/passkeys/:id", guard: true, authn: viaPasskeys, handler: s.removePasskey},
		{method: http.MethodPost, path: "/v1/reauthenticate/passkey/begin", guard: true, authn: viaPasskeys, handler: s.beginPasskeyReauth},
		{method: http.MethodPost, path: "/v1/reauthenticate/passkey", guard: true, authn: viaPasskeys, handler: s.passkeyReauth},

		// Access tokens (tokens.go). The key set answers without the
		// authn services too: an empty set.
		post(viaSessions, "/v1/token", wire.ShapeClient, s.accessToken),
		{method: http.MethodGet, path: "/.well-known/jwks.json", handler: s.jwksHandler},

		// Pages that links in mail land on (pages.go).
		get(viaSignIn, "/login/magic", s.linkPage(pageMagicLink)),
		get(viaRegistration, "/verify-email", s.linkPage(pageVerifyEmail)),
		get(viaPasswordReset, "/password/reset", s.linkPage(pageResetPassword)),
		// The default target of the security link in notifications
		// (pages_security.go).
		get(viaSessions, "/account/security", s.accountSecurityPage),

		// Hosted pages (pages_*.go): HTML forms posting to themselves,
		// CSRF-checked by the page framework (pages_form.go).
		{method: http.MethodGet, path: "/assets/:name", handler: s.serveAsset},
		get(viaSignIn, "/login", s.signinPage),
		{method: http.MethodPost, path: "/login", authn: viaSignIn, handler: s.signinPost},
		get(viaRegistration, "/register", s.registerPage),
		{method: http.MethodPost, path: "/register", authn: viaRegistration, handler: s.registerPost},
		get(viaPasswordReset, "/password/forgot", s.forgotPage),
		{method: http.MethodPost, path: "/password/forgot", authn: viaPasswordReset, handler: s.forgotPost},
		get(viaSelfService, "/account", s.accountPage("profile")),
		get(viaSelfService, "/account/devices", s.accountPage("devices")),
		get(viaSelfService, "/account/sessions", s.accountPage("sessions")),
		get(viaSelfService, "/account/activity", s.accountPage("activity")),
		{method: http.MethodPost, path: "/account", authn: viaSelfService, handler: s.accountPost},
		// Consents, preferences, export and erasure (pages_privacy.go).
		get(viaSelfService, "/account/privacy", s.privacyPage),
		{method: http.MethodPost, path: "/account/privacy", authn: viaSelfService, handler: s.privacyPost},
		get(viaSelfService, "/account/export", s.exportPage),
		{method: http.MethodPost, path: "/account/export", authn: viaSelfService, handler: s.exportPost},

		// Rule rollout admin API (admin.go), for the admin keys.
		rulesAdmin(http.MethodGet, "/v1/admin/rules", ScopeRulesRead, s.adminRules),
		rulesAdmin(http.MethodPost, "/v1/admin/rules/validate", ScopeRulesRead, s.adminValidate),
		rulesAdmin(http.MethodPut, "/v1/admin/rules/candidate", ScopeRulesWrite, s.adminSetCandidate),
		rulesAdmin(http.MethodDelete, "/v1/admin/rules/candidate", ScopeRulesWrite, s.adminClearCandidate),
		rulesAdmin(http.MethodPost, "/v1/admin/rules/promote", ScopeRulesWrite, s.adminPromote),
		rulesAdmin(http.MethodPost, "/v1/admin/rules/rollback", ScopeRulesWrite, s.adminRollback),
	}
	// User administration (users.go) and the OpenID Connect client
	// registry (admin_clients.go), for the admin keys.
	rs = append(rs, s.clientRoutes(admin)...)
	return append(rs, s.userRoutes(admin)...)
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// App returns the fiber application, for tests and for callers that serve
// it themselves.
func (s *Server) App() *fiber.App { return s.app }

// Serve serves HTTP on ln until Shutdown; it returns nil after a Shutdown,
// also when Shutdown came first.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.ln = ln
	s.mu.Unlock()
	err := s.app.Listener(ln)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	return err
}

// Shutdown stops accepting connections, on the operations listener too,
// and waits for in-flight requests until ctx ends. It is safe before,
// during or without Serve.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	ln := s.ln
	s.mu.Unlock()
	err := s.app.ShutdownWithContext(ctx)
	if ln != nil {
		// When Serve had not reached fasthttp's accept loop yet, fasthttp
		// did not know the listener: close it here so that Serve returns.
		_ = ln.Close()
	}
	return errors.Join(err, s.shutdownOps(ctx))
}

func (s *Server) openAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(http.StatusOK).Send(s.openapi)
}

//go:embed openapi.json
var openAPIDoc []byte

// OpenAPIDocument returns a copy of the embedded OpenAPI 3.1 document that
// describes this API (what /openapi.json serves by default).
func OpenAPIDocument() []byte { return bytes.Clone(openAPIDoc) }
