// Package tracing turns on OpenTelemetry tracing for riskauthd when, and
// only when, an OTLP endpoint is configured in the standard environment
// variables (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, with the OTLP exporter's other
// OTEL_* settings). Off, nothing is installed: no middleware, no engine
// wrapper, no span is ever started, so the request path is the one
// without tracing.
//
// It exists so that the wiring (internal/daemon) has one place that knows
// the OpenTelemetry SDK. The engine is traced from outside, by Engine,
// from the per-signal timings every decision carries; the account store
// by Store, a wrapper installed only when tracing is on. The HTTP layer,
// the sign-in flows and the Redis state store speak only the trace API,
// through internal/leaf/spans: a child span of the request's when the
// request is traced, nothing (one context lookup) otherwise.
//
// Spans carry no personal data: no user id, identifier, address or user
// agent, only the evaluation id, the event kind, the decision, the rules
// that matched, the factor, the assurance level and the store operation,
// so that a trace store needs no more protection than the metrics.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// instrumentation is the name of riskauth's tracer.
const instrumentation = "github.com/riskauth/riskauth"

// Tracing is an installed tracer provider with its OTLP exporter.
type Tracing struct {
	provider   *sdktrace.TracerProvider
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
}

// Enabled reports whether the environment asks for tracing: an OTLP
// endpoint is set and OTEL_SDK_DISABLED is not true.
func Enabled(env func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(env("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	return env("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Setup installs tracing when Enabled, and returns nil (off) otherwise.
// The exporter is OTLP over HTTP (protobuf), configured by the OTEL_*
// variables it reads itself (endpoint, headers, timeout, TLS); sampling
// follows OTEL_TRACES_SAMPLER (default: parent-based, always on). The
// service is named by OTEL_SERVICE_NAME, default "riskauthd".
func Setup(ctx context.Context, env func(string) string, version string) (*Tracing, error) {
	if !Enabled(env) {
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	name := env("OTEL_SERVICE_NAME")
	if name == "" {
		name = "riskauthd"
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		semconv.ServiceName(name), semconv.ServiceVersion(version)))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{
		provider: tp,
		tracer:   tp.Tracer(instrumentation),
		// W3C trace context only: a caller's traceparent continues its
		// trace; baggage is not taken from untrusted clients.
		propagator: propagation.TraceContext{},
	}, nil
}

// Tracer is the tracer riskauth's spans are started with.
func (t *Tracing) Tracer() trace.Tracer { return t.tracer }

// Propagator reads the caller's trace context from request headers.
func (t *Tracing) Propagator() propagation.TextMapPropagator { return t.propagator }

// Shutdown exports the spans still buffered and stops the exporter,
// within ctx's deadline.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// LogHandler adds the trace and span ids of the context's span to every
// record logged with a context (InfoContext and the like), so that a log
// line leads to its trace. Records without a recording span pass as they
// are.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return l.Handler.Handle(ctx, r)
}

func (l logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{l.Handler.WithAttrs(as)}
}
func (l logHandler) WithGroup(name string) slog.Handler { return logHandler{l.Handler.WithGroup(name)} }
