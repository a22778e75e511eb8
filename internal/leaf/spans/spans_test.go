package spans

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestStart(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	unsampled := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	for _, tc := range []struct {
		name   string
		parent func() (context.Context, trace.Span)
		want   bool // a child span is recorded
	}{
		{"no span", func() (context.Context, trace.Span) { return context.Background(), nil }, false},
		{"not sampled", func() (context.Context, trace.Span) {
			return unsampled.Tracer("t").Start(context.Background(), "parent")
		}, false},
		{"recording", func() (context.Context, trace.Span) { return tp.Tracer("t").Start(context.Background(), "parent") }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec.Reset()
			ctx, parent := tc.parent()
			cctx, span := Start(ctx, "child", trace.SpanKindClient)
			assert.Equal(t, tc.want, span.IsRecording())
			span.End()
			if parent != nil {
				parent.End()
			}
			if !tc.want {
				assert.Equal(t, ctx, cctx, "the context is passed through unchanged")
				assert.Empty(t, rec.Ended())
				return
			}
			ended := rec.Ended()
			require.Len(t, ended, 2)
			child := ended[0]
			assert.Equal(t, "child", child.Name())
			assert.Equal(t, trace.SpanKindClient, child.SpanKind())
			assert.Equal(t, parent.SpanContext().SpanID(), child.Parent().SpanID())
			assert.Equal(t, Instrumentation, child.InstrumentationScope().Name)
			assert.Equal(t, child.SpanContext(), trace.SpanContextFromContext(cctx), "the child is the new context's span")
		})
	}
}

// TestStartOffAllocatesNothing pins the cost of a span when tracing is off.
func TestStartOffAllocatesNothing(t *testing.T) {
	ctx := context.WithValue(context.Background(), ctxKey(1), 1)
	allocs := testing.AllocsPerRun(100, func() {
		_, span := Start(ctx, "child", trace.SpanKindInternal)
		span.End()
	})
	assert.Zero(t, allocs)
}

// BenchmarkStartOff is the cost of a span when tracing is off.
//
//	go test ./internal/leaf/spans -run '^$' -bench StartOff -benchmem
func BenchmarkStartOff(b *testing.B) {
	ctx := context.WithValue(context.WithValue(context.Background(), ctxKey(1), 1), ctxKey(2), 2)
	b.ReportAllocs()
	for b.Loop() {
		_, span := Start(ctx, "child", trace.SpanKindInternal)
		span.End()
	}
}

// ctxKey stands for the values a request's context carries.
type ctxKey int
