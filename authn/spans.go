package authn

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/riskauth/riskauth/internal/leaf/spans"
)

// The sign-in steps' spans: children of the request's span when the
// request is traced (internal/leaf/spans), nothing otherwise. Their
// attributes are outcomes only (decision, factor, assurance level, the
// answer's code), never an identifier, an address or a secret.
const (
	spanIdentify     = "riskauth.signin.identify"      // the identifier's account lookup
	spanEvaluate     = "riskauth.signin.evaluate"      // the engine's decision on a step
	spanPassword     = "riskauth.signin.password"      // one argon2id (or dummy) verification, queue included
	spanSecondFactor = "riskauth.signin.second_factor" // a TOTP, recovery, email or passkey check
	spanSession      = "riskauth.signin.session"       // the session issued
	spanMail         = "riskauth.mail.enqueue"         // the send cap's reservation before a mail is queued
)

// Attributes of the step spans.
const (
	attrDecision = attribute.Key("riskauth.decision")
	attrEvent    = attribute.Key("riskauth.event")
	attrFactor   = attribute.Key("riskauth.factor")
	attrAAL      = attribute.Key("riskauth.aal")
	attrVerified = attribute.Key("riskauth.verified")
	attrMailKind = attribute.Key("riskauth.mail_kind")
)

// startStep starts a step's span; untraced it costs one context lookup.
func startStep(ctx context.Context, name string) (context.Context, trace.Span) {
	return spans.Start(ctx, name, trace.SpanKindInternal)
}

// endStep ends a step's span with err: a flow's answer to its client
// (a refused login, a wrong code) is the riskauth.result attribute, a
// failure (a store down, a bug) an error span.
func endStep(span trace.Span, err error) { spans.End(span, err, Answer) }

// endFactor ends a factor check's span with the factor and whether it
// verified; err is a failure of the check itself (a store down), not a
// wrong factor.
func endFactor(span trace.Span, f Factor, verified bool, err error) {
	if span.IsRecording() {
		span.SetAttributes(attrFactor.String(string(f)), attrVerified.Bool(verified))
	}
	endStep(span, err)
}

// answers are the store's sentinel errors that are an answer (nothing
// found, a taken address, a used or wrong code), with their names.
var answers = [...]struct {
	err  error
	name string
}{
	{ErrNotFound, "not_found"},
	{ErrEmailTaken, "email_taken"},
	{ErrConflict, "conflict"},
	{ErrReplay, "replay"},
	{ErrTokenInvalid, "token_invalid"},
	{ErrTooManyAttempts, "too_many_attempts"},
}

// Answer names an error that is a flow's or a store's answer rather than
// a failure, for the trace spans that record it (riskauth.result): a
// flow error's code (but internal and unavailable, which are failures) or
// a store sentinel's name; "" for a failure.
func Answer(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal && e.Code != CodeUnavailable {
		return string(e.Code)
	}
	for _, a := range answers {
		if errors.Is(err, a.err) {
			return a.name
		}
	}
	return ""
}

// failure is err when it is a failure of a factor check (a store down),
// nil when it is the check's answer (a wrong, used or expired code).
func failure(err error) error {
	if err == nil || Answer(err) != "" {
		return nil
	}
	return err
}
