package authn

import (
	"errors"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn/password"
)

// Code is a stable, machine-readable error code. The HTTP layer maps each
// code to a status in one table and puts it in the JSON body; codes never
// change meaning, so clients may branch on them.
type Code string

// Error codes returned by the services. Anything that is not an *Error is an
// internal failure (HTTP 500) whose details must not reach the client.
const (
	// CodeInvalidRequest: a field is malformed (too long, wrong shape).
	CodeInvalidRequest Code = "invalid_request"
	// CodeInvalidEmail: the address is not a single bare email address.
	CodeInvalidEmail Code = "invalid_email"
	// CodeLoginFailed is the one generic sign-in refusal: unknown account,
	// wrong password, disabled account, risk block and silent throttling
	// all look exactly alike, in content and in cost.
	CodeLoginFailed Code = "login_failed"
	// CodeRequestRefused: a non-login request (registration) was refused
	// by the risk engine. It depends on the requester, never on whether an
	// account exists.
	CodeRequestRefused Code = "request_refused"
	// CodeFlowExpired: the flow handle is unknown, expired or finished.
	CodeFlowExpired Code = "flow_expired"
	// CodeInvalidStep: the flow is not at a step where this method is
	// offered (for example a TOTP code before the first factor).
	CodeInvalidStep Code = "invalid_step"
	// CodeInvalidCode: a one-time code (email, TOTP, recovery) is wrong,
	// expired, superseded or was already used.
	CodeInvalidCode Code = "invalid_code"
	// CodeTooManyAttempts: the code took too many wrong guesses and is now
	// dead; request a new one.
	CodeTooManyAttempts Code = "too_many_attempts"
	// CodeInvalidToken: a link token (verification, reset, magic link) is
	// unknown, expired or used.
	CodeInvalidToken Code = "invalid_token"
	// CodeRateLimited: try again after Error.RetryAfter.
	CodeRateLimited Code = "rate_limited"
	// CodeInvalidPassword: the current password given to a signed-in
	// operation (password change, factor removal) is wrong.
	CodeInvalidPassword Code = "invalid_password"
	// CodeReauthenticationRequired: the operation needs a session that was
	// authenticated recently (and at AAL2 when the account has a second
	// factor); call Reauthenticate first.
	CodeReauthenticationRequired Code = "reauthentication_required"
	// CodeSessionInvalid: the session token is unknown, expired or revoked.
	CodeSessionInvalid Code = "session_invalid"
	// CodeNotFound: a self-service target (a session id, a factor) does not
	// exist for this user.
	CodeNotFound Code = "not_found"
	// CodeBusy: the password hasher's queue is full; retry after
	// Error.RetryAfter (HTTP 503).
	CodeBusy Code = "busy"
	// CodeUnavailable: a dependency (the breached-password check) could
	// not answer; the request was not carried out (HTTP 503).
	CodeUnavailable Code = "unavailable"
	// CodeEmailUnverified: the operation (enrolling a second factor)
	// needs a proven address; until then whoever registered it may not
	// own it (HTTP 403).
	CodeEmailUnverified Code = "email_unverified"
	// CodeAlreadyVerified: an administrator asked to resend the
	// verification of an address that is already proven (HTTP 409).
	CodeAlreadyVerified Code = "already_verified"

	// Password policy rejections, one code each (from password.PolicyError).
	CodePasswordTooShort     = Code(password.CodeTooShort)
	CodePasswordTooLong      = Code(password.CodeTooLong)
	CodePasswordBreached     = Code(password.CodeBreached)
	CodePasswordContext      = Code(password.CodeContext)
	CodePasswordInvalidChars = Code(password.CodeInvalidChars)
	CodePasswordRepetitive   = Code(password.CodeRepetitive)
)

// CodeInternal is what CodeOf reports for errors that are not an *Error.
const CodeInternal Code = "internal"

// Error is the typed error of every service method that fails for a reason
// the client may learn. Message is a safe English sentence for humans;
// RetryAfter is set for CodeRateLimited and CodeBusy; Limit carries the
// policy bound for length rejections.
type Error struct {
	Code       Code
	Message    string
	RetryAfter time.Duration
	Limit      int
	// Err is the cause, for logs only; it may hold internal detail.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("authn: %s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("authn: %s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, &Error{Code: c}) match on the code alone, so
// callers and tests compare codes without caring about messages.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == ""
}

// CodeOf returns the code of err, CodeInternal for errors that are not an
// *Error, and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

func newErr(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// errLoginFailed is built fresh each time so nobody can mutate a shared
// value; its text is deliberately vague.
func errLoginFailed() *Error {
	return newErr(CodeLoginFailed, "the sign-in details are not correct")
}

func errFlowExpired() *Error {
	return newErr(CodeFlowExpired, "this sign-in has expired; start again")
}

func errInvalidCode() *Error { return newErr(CodeInvalidCode, "the code is not valid") }

func errInvalidToken() *Error {
	return newErr(CodeInvalidToken, "the link is not valid or has expired")
}

func errSession() *Error { return newErr(CodeSessionInvalid, "the session is not valid") }

func errRateLimited(after time.Duration) *Error {
	return &Error{Code: CodeRateLimited, Message: "too many requests; try again later", RetryAfter: after.Round(time.Second) + time.Second}
}

// policyErr maps the password checker's result: rejections keep their own
// codes, a failing breach check becomes CodeUnavailable (fail closed), and
// anything else is internal.
func policyErr(err error) error {
	var pe *password.PolicyError
	switch {
	case errors.As(err, &pe):
		return &Error{Code: Code(pe.Code), Message: pe.Error(), Limit: pe.Limit}
	case errors.Is(err, password.ErrBreachCheck):
		return &Error{Code: CodeUnavailable, Message: "the password cannot be checked right now; try again", RetryAfter: 5 * time.Second, Err: err}
	}
	return err
}

// hashErr turns a full hasher queue into CodeBusy.
func hashErr(err error) error {
	if errors.Is(err, password.ErrBusy) {
		return &Error{Code: CodeBusy, Message: "the service is busy; try again", RetryAfter: time.Second, Err: err}
	}
	return err
}

var errQueueFull = errors.New("mail queue full")
