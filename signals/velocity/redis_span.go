package velocity

import (
	"context"

	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/riskauth/riskauth/internal/leaf/spans"
)

// startRoundTrip starts the client span of one pipelined round trip when
// ctx's span is recording (a traced evaluation), and a no-op otherwise:
// untraced, it costs one context lookup and no allocation.
func startRoundTrip(ctx context.Context, op string) (context.Context, trace.Span) {
	return spans.Start(ctx, op, trace.SpanKindClient)
}

// endRoundTrip ends span with the round trip's outcome: the database
// (redis), the operation, how many commands it carried, and on failure
// its kind (timeout, down, or _OTHER). Keys and values are never
// recorded: they hold user ids, addresses and device ids.
func endRoundTrip(span trace.Span, op string, commands int, err error) {
	if span.IsRecording() {
		span.SetAttributes(semconv.DBSystemNameRedis, semconv.DBOperationName(op), semconv.DBOperationBatchSize(commands))
	}
	spans.End(span, err, nil)
}
