package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/internal/httpapi/wire"
	"github.com/riskauth/riskauth/internal/leaf/backend"
)

// Code is the stable, machine-readable "code" of an error body. Clients
// branch on it; the message is for humans and may change.
type Code string

// The error codes. codeStatus maps each to its HTTP status.
const (
	CodeMalformedJSON        Code = Code(wire.CodeMalformedJSON)  // 400: not JSON, invalid UTF-8, trailing data
	CodeBadRequest           Code = "bad_request"                 // 400: an HTTP request the server could not parse
	CodeUnauthorized         Code = "unauthorized"                // 401: missing or wrong API key
	CodeNotFound             Code = "not_found"                   // 404: no such route
	CodeUnknownEvaluation    Code = "unknown_evaluation"          // 404: evaluation id unknown or expired
	CodeMethodNotAllowed     Code = "method_not_allowed"          // 405: route exists, method does not
	CodeRequestTimeout       Code = "request_timeout"             // 408: the request was not read in time
	CodeOutcomeRecorded      Code = "outcome_already_recorded"    // 409: a flow outcome was already recorded
	CodeBodyTooLarge         Code = "body_too_large"              // 413: body over the configured limit
	CodeUnsupportedMediaType Code = "unsupported_media_type"      // 415: a Content-Encoding other than identity
	CodeInvalidRequest       Code = Code(wire.CodeInvalidRequest) // 422: wrong types, missing or invalid fields
	CodeHeadersTooLarge      Code = "headers_too_large"           // 431: request headers over the read buffer
	CodeInternal             Code = "internal"                    // 500: a bug; details are logged, never sent
	CodeUnavailable          Code = "unavailable"                 // 503: a backend failed while serving the request
	CodeNotReady             Code = "not_ready"                   // 503: readiness probe: a backend is unreachable
	CodeForbiddenOrigin      Code = "forbidden_origin"            // 403: a browser request from another site (CSRF defence)

	// Admin API (rule rollout).
	CodeInvalidRuleFile      Code = "invalid_rule_file"     // 422: every problem, with file:line:col as the field
	CodeRuleCasesFailed      Code = "rule_cases_failed"     // 422: the file's own test cases fail
	CodeVersionConflict      Code = "version_conflict"      // 409: the active version is not the expected one
	CodeNoCandidate          Code = "no_candidate"          // 409: promote without a file and without a candidate
	CodeNoHistory            Code = "no_history"            // 409: nothing to roll back to
	CodeRulesNotPersisted    Code = "rules_not_persisted"   // 503: the rule file could not be written; nothing changed
	CodePreconditionRequired Code = "precondition_required" // 428: promote without If-Match
	// CodeInsufficientScope (403): the admin key lacks the route's scope,
	// which the message names (admin_scopes.go).
	CodeInsufficientScope Code = "insufficient_scope"

	// The OpenID Connect client registry (admin_clients.go).
	CodeClientExists   Code = "client_exists"    // 409: the client id is taken (configured or registered)
	CodeClientReadOnly Code = "client_read_only" // 409: a configured client changes in the configuration
	CodeNoSecret       Code = "no_secret"        // 409: rotate-secret of a client without a secret
)

// The codes of the sign-in and self-service API are authn's own, so that a
// code means the same thing in the service and on the wire.
const (
	CodeInvalidEmail             = Code(authn.CodeInvalidEmail)             // 422
	CodeLoginFailed              = Code(authn.CodeLoginFailed)              // 401: one answer for every refusal
	CodeRequestRefused           = Code(authn.CodeRequestRefused)           // 403: registration refused by the risk engine
	CodeFlowExpired              = Code(authn.CodeFlowExpired)              // 410: start the sign-in again
	CodeInvalidStep              = Code(authn.CodeInvalidStep)              // 409: method not offered at this step
	CodeInvalidCode              = Code(authn.CodeInvalidCode)              // 401: wrong, expired or used one-time code
	CodeTooManyAttempts          = Code(authn.CodeTooManyAttempts)          // 410: the code is dead; request a new one
	CodeInvalidToken             = Code(authn.CodeInvalidToken)             // 410: link unknown, expired or used
	CodeRateLimited              = Code(authn.CodeRateLimited)              // 429 with Retry-After
	CodeInvalidPassword          = Code(authn.CodeInvalidPassword)          // 403: wrong current password
	CodeReauthenticationRequired = Code(authn.CodeReauthenticationRequired) // 403: step up first
	CodeSessionInvalid           = Code(authn.CodeSessionInvalid)           // 401: no live session
	CodeBusy                     = Code(authn.CodeBusy)                     // 503 with Retry-After: hasher queue full
	CodeEmailUnverified          = Code(authn.CodeEmailUnverified)          // 403: prove the address first
	CodeAlreadyVerified          = Code(authn.CodeAlreadyVerified)          // 409: admin API: nothing to verify
	CodePasswordTooShort         = Code(authn.CodePasswordTooShort)         // 422
	CodePasswordTooLong          = Code(authn.CodePasswordTooLong)          // 422
	CodePasswordBreached         = Code(authn.CodePasswordBreached)         // 422
	CodePasswordContext          = Code(authn.CodePasswordContext)          // 422
	CodePasswordInvalidChars     = Code(authn.CodePasswordInvalidChars)     // 422
	CodePasswordRepetitive       = Code(authn.CodePasswordRepetitive)       // 422
	CodePreconditionFailed       = Code(authn.CodePreconditionFailed)       // 412: If-Match names another version
)

// codeStatus is the one table from error codes to HTTP statuses.
var codeStatus = map[Code]int{
	CodeMalformedJSON:        http.StatusBadRequest,
	CodeBadRequest:           http.StatusBadRequest,
	CodeUnauthorized:         http.StatusUnauthorized,
	CodeNotFound:             http.StatusNotFound,
	CodeUnknownEvaluation:    http.StatusNotFound,
	CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
	CodeRequestTimeout:       http.StatusRequestTimeout,
	CodeOutcomeRecorded:      http.StatusConflict,
	CodeBodyTooLarge:         http.StatusRequestEntityTooLarge,
	CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	CodeInvalidRequest:       http.StatusUnprocessableEntity,
	CodeHeadersTooLarge:      http.StatusRequestHeaderFieldsTooLarge,
	CodeInternal:             http.StatusInternalServerError,
	CodeUnavailable:          http.StatusServiceUnavailable,
	CodeNotReady:             http.StatusServiceUnavailable,
	CodeForbiddenOrigin:      http.StatusForbidden,
	CodeInvalidRuleFile:      http.StatusUnprocessableEntity,
	CodeRuleCasesFailed:      http.StatusUnprocessableEntity,
	CodeVersionConflict:      http.StatusConflict,
	CodeNoCandidate:          http.StatusConflict,
	CodeNoHistory:            http.StatusConflict,
	CodeRulesNotPersisted:    http.StatusServiceUnavailable,
	CodePreconditionRequired: http.StatusPreconditionRequired,
	CodeInsufficientScope:    http.StatusForbidden,
	CodeClientExists:         http.StatusConflict,
	CodeClientReadOnly:       http.StatusConflict,
	CodeNoSecret:             http.StatusConflict,

	CodeInvalidEmail:             http.StatusUnprocessableEntity,
	CodeLoginFailed:              http.StatusUnauthorized,
	CodeRequestRefused:           http.StatusForbidden,
	CodeFlowExpired:              http.StatusGone,
	CodeInvalidStep:              http.StatusConflict,
	CodeInvalidCode:              http.StatusUnauthorized,
	CodeTooManyAttempts:          http.StatusGone,
	CodeInvalidToken:             http.StatusGone,
	CodeRateLimited:              http.StatusTooManyRequests,
	CodeInvalidPassword:          http.StatusForbidden,
	CodeReauthenticationRequired: http.StatusForbidden,
	CodeSessionInvalid:           http.StatusUnauthorized,
	CodeBusy:                     http.StatusServiceUnavailable,
	CodeEmailUnverified:          http.StatusForbidden,
	CodeAlreadyVerified:          http.StatusConflict,
	CodePasswordTooShort:         http.StatusUnprocessableEntity,
	CodePasswordTooLong:          http.StatusUnprocessableEntity,
	CodePasswordBreached:         http.StatusUnprocessableEntity,
	CodePasswordContext:          http.StatusUnprocessableEntity,
	CodePasswordInvalidChars:     http.StatusUnprocessableEntity,
	CodePasswordRepetitive:       http.StatusUnprocessableEntity,
	CodePreconditionFailed:       http.StatusPreconditionFailed,
}

// Status returns the HTTP status of the code (500 for an unknown code).
func (c Code) Status() int {
	if s, ok := codeStatus[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is an API error: what handlers return and what the error handler
// renders as the stable error body.
type Error struct {
	Code    Code
	Message string
	// Fields lists the invalid fields of a 422.
	Fields []engine.FieldError
	// RetryAfter, when positive, is sent as the Retry-After header (whole
	// seconds, rounded up).
	RetryAfter time.Duration
}

// Error implements error: the code, the message and every field, as a
// decoder's error reads.
func (e *Error) Error() string {
	return (&wire.Error{Code: wire.Code(e.Code), Message: e.Message, Fields: e.Fields}).Error()
}

func apiErr(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

func invalid(fields []engine.FieldError) *Error { return fromWire(wire.Invalid(fields)) }

// fromWire maps a decoder's error onto this package's: wire's two codes
// are CodeMalformedJSON and CodeInvalidRequest here.
func fromWire(e *wire.Error) *Error {
	return &Error{Code: Code(e.Code), Message: e.Message, Fields: e.Fields}
}

// Errors that do not depend on the request.
var (
	errUnauthorized = apiErr(CodeUnauthorized, "a valid API key is required: Authorization: Bearer <key>")
	errInternal     = apiErr(CodeInternal, "internal error")
	// errUnavailable answers a request that met a failing backend (a
	// database or Redis down, hung or out of connections): not a bug, so
	// not 500; which backend is logged and counted, not told.
	errUnavailable = &Error{Code: CodeUnavailable, Message: "a backend is unavailable; retry later", RetryAfter: BackendRetryAfter}
)

// BackendRetryAfter is the Retry-After of a 503 "unavailable" caused by a
// failing backend: long enough for a load balancer's readiness probe to
// take the instance out, short enough that a client retrying once after
// a blip succeeds.
const BackendRetryAfter = 2 * time.Second

// toAPIError turns whatever a handler or fiber returned into an *Error.
// The second result reports an unexpected error (a bug or a failing
// backend) that the caller should log.
func toAPIError(err error) (*Error, bool) {
	var ae *Error
	if errors.As(err, &ae) {
		return ae, ae.Code == CodeInternal
	}
	var we *wire.Error
	if errors.As(err, &we) {
		return fromWire(we), false
	}
	var ne *authn.Error
	if errors.As(err, &ne) {
		return fromAuthn(ne), false
	}
	var ve *engine.ValidationError
	if errors.As(err, &ve) {
		return invalid(ve.Fields), false
	}
	if errors.Is(err, backend.ErrUnavailable) {
		return errUnavailable, false
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case http.StatusNotFound:
			return apiErr(CodeNotFound, "no such route"), false
		case http.StatusMethodNotAllowed:
			return apiErr(CodeMethodNotAllowed, "method not allowed on this route"), false
		case http.StatusRequestEntityTooLarge:
			return apiErr(CodeBodyTooLarge, "the request body is larger than the configured limit"), false
		case http.StatusRequestTimeout:
			return apiErr(CodeRequestTimeout, "the request was not received in time"), false
		case http.StatusRequestHeaderFieldsTooLarge:
			return apiErr(CodeHeadersTooLarge, "the request headers are too large"), false
		}
		if fe.Code >= 400 && fe.Code < 500 {
			return apiErr(CodeBadRequest, "malformed HTTP request"), false
		}
	}
	return errInternal, true
}

// loginFailedMessage is the one text of every sign-in refusal: unknown
// account, wrong password, disabled account and risk block must not be
// told apart, so the HTTP layer does not even trust authn's message to stay
// the same for all of them.
const loginFailedMessage = "the sign-in details are not correct"

// fromAuthn maps a service error to the wire. An authn code missing from
// codeStatus would render as a 500: TestAuthnCodesMapped reads authn's
// source so that cannot go unnoticed.
func fromAuthn(e *authn.Error) *Error {
	out := &Error{Code: Code(e.Code), Message: e.Message, RetryAfter: e.RetryAfter, Fields: e.Fields}
	switch out.Code {
	case CodeLoginFailed:
		out.Message = loginFailedMessage
		out.RetryAfter = 0
	case CodeRateLimited, CodeBusy, CodeUnavailable:
		if out.RetryAfter <= 0 {
			out.RetryAfter = time.Second
		}
	}
	if out.Message == "" {
		out.Message = string(out.Code)
	}
	return out
}

// body renders the error in the one stable shape.
func (e *Error) body() []byte { return wire.ErrorBody(string(e.Code), e.Message, e.Fields) }
