// Package httpapi is riskauth's HTTP surface, served by gofiber/fiber v2:
// the risk-check API for backends, the sign-in and account API of package
// authn with the small pages that links in mail land on, access tokens,
// the rule rollout admin API, and health and readiness probes, Prometheus
// metrics and the OpenAPI document.
//
// Handlers are thin: they authenticate the caller, hand the body to
// package wire, which decodes and validates it into typed values (and
// renders the hot answer, the risk decision), find the client, call the
// service their surface needs through a small interface declared next to
// them, and render the answer. Every failure is rendered as the one stable
// error shape
//
//	{"error": {"code": "...", "message": "...", "fields": [{"field": "...", "message": "..."}]}}
//
// whose codes map to HTTP statuses through a single table (see [Code]); bad
// input never yields a 500 or a stack trace.
//
// For the sign-in and account API it adds what HTTP needs and the flows do
// not know about: the session transport (a __Host- cookie for browsers, a
// bearer token for apps), CSRF defences, the client context (connection
// address, or what a backend with an API key says), body limits before
// decoding, and one table from authn's error codes to statuses.
//
// The wire contract is written down in openapi.json (OpenAPI 3.1, embedded,
// served at /openapi.json) and tests check the routes and real responses
// against it.
//
// # Where things are
//
// One file per surface (or a few, prefixed the same), each declaring the
// interface its handlers need, of five methods at most or composed of
// such; the route table in server.go lists every route, by surface.
//
//   - risk.go: the risk API for backends with an API key: POST
//     /v1/risk/evaluate, POST /v1/risk/outcome and GET
//     /v1/breached/range/{prefix}. Needs a [RiskEngine].
//   - signin.go: the sign-in API, for callers without a session:
//     registration, email verification, sign-in steps and factors, magic
//     links, password reset. Needs [SignIn].
//   - account.go: self-service for the holder of a session: who am I,
//     sessions listed and revoked, sign-out, reauthentication, password
//     change, TOTP enrolment and removal, recovery codes. Needs [Account].
//   - tokens.go: access tokens (POST /v1/token) and their key set
//     (/.well-known/jwks.json). Needs an [Authenticator].
//   - pages.go: the HTML pages that links in mail land on.
//   - admin.go: the rule rollout admin API (/v1/admin/rules...: show,
//     validate, load a candidate in shadow, promote, roll back; see
//     docs/rollout.md), behind its own named admin keys, refused for
//     ordinary API keys and off (404) without any. The changes themselves,
//     their atomicity and their audit belong to rules.Source; the handlers
//     only authenticate, decode and render. Needs a [RuleAdmin].
//
// What they share:
//
//   - server.go: [Config], [Deps], [New], the route table, the probes, the
//     OpenAPI document, Serve and Shutdown.
//   - session.go: what the sign-in, account and token surfaces share: the
//     session transport, the decoding of their bodies with the client
//     context, the answer that hands out a session, and the checks of
//     their configuration.
//   - middleware.go: common headers, error rendering, panics, the
//     per-request metrics, API-key authentication, the CSRF guard.
//   - errors.go: the error codes, their one status table, and the mapping
//     of authn's, the engine's and wire's errors onto them.
//   - clientip.go: the client address, through trusted proxies.
//   - ratelimit.go: the per-address limit in front of the open sign-in
//     routes.
//   - metrics.go: the HTTP metrics.
//   - wire/: the request decoders and response encoders; no fiber there.
//
// Surfaces to come have their rooms too:
//
//   - users.go: the admin user API (find, disable, unlock, delete
//     accounts), behind the admin keys as admin.go is, with an interface
//     of its own onto the user service.
//   - oidc.go: the OpenID Connect provider (discovery, authorization,
//     token and userinfo endpoints), signing ID tokens with the keys
//     tokens.go publishes; oidc_*.go when it outgrows one file.
//   - account_privacy.go: the self-service privacy API (data export,
//     account deletion), part of the account surface.
//   - pages_*.go: hosted sign-in pages, passkeys among them; the JSON
//     routes of the WebAuthn ceremonies go in signin_passkey.go and
//     account_passkey.go.
//
// Their bodies' decoders go in package wire, one file per surface there
// too (wire/signin.go holds today's sign-in and account bodies).
//
// It is not the place for risk logic (package engine is), for the sign-in
// flows themselves (package authn), nor for process wiring, listeners and
// graceful shutdown policy (internal/daemon, cmd/riskauthd).
package httpapi
