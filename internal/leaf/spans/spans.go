package spans

import (
	"context"

	"go.opentelemetry.io/otel/trace"
)

// Instrumentation is the instrumentation scope of riskauth's spans, the
// name internal/tracing's tracer has too.
const Instrumentation = "github.com/riskauth/riskauth"

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
