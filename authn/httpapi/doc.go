// Package httpapi is riskauth's HTTP surface for server-to-server calls: the
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
// It is not the place for risk logic (package engine is), for end-user login
// and registration flows (package authn), nor for process wiring, listeners
// and graceful shutdown policy (cmd/riskauthd).
package httpapi
