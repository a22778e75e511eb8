// Package httpapi is riskauth's HTTP surface. For server-to-server calls: the
// risk-check API (POST /v1/risk/evaluate, POST /v1/risk/outcome), health and
// readiness probes, Prometheus metrics and the OpenAPI document, served by
// gofiber/fiber v2.
//
// Handlers are thin: they authenticate the caller (a bearer API key), decode
// and validate the JSON body, find the client IP, call the risk engine through
// the small [Engine] interface declared here, and render the answer. Every
// failure is rendered as the one stable error shape
//
//	{"error": {"code": "...", "message": "...", "fields": [{"field": "...", "message": "..."}]}}
//
// whose codes map to HTTP statuses through a single table (see [Code]); bad
// input never yields a 500 or a stack trace.
//
// The wire contract is written down in openapi.json (OpenAPI 3.1, embedded,
// served at /openapi.json) and tests check the routes and real responses
// against it.
//
// It also carries the sign-in and self-service API of package authn
// (/v1/register, /v1/login..., sessions, TOTP, password change and reset,
// access tokens and their JWKS) and the small HTML pages that links in mail
// land on. There it adds what HTTP needs and the flows do not know about:
// the session transport (a __Host- cookie for browsers, a bearer token for
// apps), CSRF defences, the client context (connection address, or what a
// backend with an API key says), body limits before decoding, and one table
// from authn's error codes to statuses.
//
// And the rule rollout admin API (/v1/admin/rules...: show, validate, load a
// candidate in shadow, promote, roll back; see docs/rollout.md), behind its
// own named admin keys, refused for ordinary API keys and off (404) without
// any. The changes themselves, their atomicity and their audit belong to
// rules.Source; the handlers only authenticate, decode and render.
//
// It is not the place for risk logic (package engine is), for the sign-in
// flows themselves (package authn), nor for process wiring, listeners and
// graceful shutdown policy (internal/daemon, cmd/riskauthd).
package httpapi
