// Package spans starts the child spans that code below the wiring (the
// sign-in flows, the velocity store) draws inside a traced request, with
// nothing but the standard OpenTelemetry trace API: the tracer comes from
// the context's span (its provider is the one the wiring installed), so
// there is no global provider and no tracer to pass down.
//
// When the context carries no recording span (tracing off, or this trace
// not sampled), Start returns at once with the context unchanged and a
// no-op span: no allocation, one context lookup. Callers set attributes
// only when Span.IsRecording, so that building them costs nothing either.
//
// It is not for the request and evaluation spans, which the wiring
// (internal/tracing) and the HTTP layer start with their own tracer, and
// it never records personal data: what goes on a span is the caller's
// choice, and riskauth's callers record outcomes (decision, factor,
// level), never identifiers, addresses or secrets. Of riskauth's it
// imports only internal/leaf/backend, whose failure kinds it records.
package spans
