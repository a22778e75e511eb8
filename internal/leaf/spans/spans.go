package spans

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/riskauth/riskauth/internal/leaf/backend"
)

// Instrumentation is the instrumentation scope of riskauth's spans, the
// name internal/tracing's tracer has too.
const Instrumentation = "github.com/riskauth/riskauth"

// Result is the attribute that names a call's answer (ResultOf).
const Result = attribute.Key("riskauth.result")

// Start starts a span named name, of kind, as a child of ctx's span when
// that span is recording; otherwise it returns ctx as it is and a no-op
// span, without allocating. End the span in every case.
func Start(ctx context.Context, name string, kind trace.SpanKind) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, none
	}
	return parent.TracerProvider().Tracer(Instrumentation).Start(ctx, name, trace.WithSpanKind(kind))
}

// none is the no-op span (what SpanFromContext returns for a context
// without one): a value, not state, shared by every untraced call.
var none = trace.SpanFromContext(context.Background())

// ResultOf names the errors that are a call's answer rather than its
// failure (a lookup that found nothing, a wrong code refused): "" for a
// failure. A package-level function, so that passing it allocates nothing.
type ResultOf func(error) string

// End ends span with err's outcome (see Fail).
func End(span trace.Span, err error, answer ResultOf) {
	if err != nil && span.IsRecording() {
		Fail(span, err, answer)
	}
	span.End()
}

// Fail records err on span. An answer (answer(err) != "") is the
// riskauth.result attribute, with no error status: the call did its job.
// A failure is an error span whose error.type is the backend failure's
// kind (timeout, down: internal/leaf/backend, also for an unwrapped
// network error), canceled, or _OTHER. The error's text is never
// recorded: a driver's or a flow's message may quote a value.
func Fail(span trace.Span, err error, answer ResultOf) {
	if answer != nil {
		if a := answer(err); a != "" {
			span.SetAttributes(Result.String(a))
			return
		}
	}
	kind := semconv.ErrorTypeOther.Value.AsString()
	if be, ok := backend.As(err); ok {
		kind = be.Kind
	} else if k, ok := backend.Network(err); ok {
		kind = k
	} else if errors.Is(err, context.Canceled) {
		kind = "canceled"
	}
	span.SetAttributes(semconv.ErrorTypeKey.String(kind))
	span.SetStatus(codes.Error, kind)
}
