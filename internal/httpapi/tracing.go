package httpapi

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TracingConfig turns on a server span per request (Config.Tracing). The
// HTTP layer speaks only the trace API; the SDK and exporter are the
// wiring's (internal/tracing).
type TracingConfig struct {
	// Tracer starts the request spans.
	Tracer trace.Tracer
	// Propagator reads the caller's trace context (W3C traceparent), so
	// that a request traced at the edge continues its trace here.
	Propagator propagation.TextMapPropagator
}

// traced is the outermost middleware when tracing is on: a server span
// named after the method and the route pattern (never the raw path, which
// may carry ids), with the status code; the span's context is the
// request's user context, so the engine's and authn's work below nests in
// it. The span outlives the request (spans are exported in batches), so
// every string it keeps is copied out of fasthttp's reused buffers.
func (s *Server) traced(c *fiber.Ctx) error {
	ctx := s.tracing.Propagator.Extract(c.UserContext(), headerCarrier{&c.Request().Header})
	method := strings.Clone(c.Method())
	ctx, span := s.tracing.Tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", method)))
	c.SetUserContext(ctx)
	err := c.Next()
	route := c.Route().Path // the registered pattern: a stable string
	status := c.Response().StatusCode()
	span.SetName(method + " " + route)
	span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, "")
	}
	span.End()
	return err
}

// headerCarrier reads trace headers from a fasthttp request.
type headerCarrier struct{ h *fasthttp.RequestHeader }

func (hc headerCarrier) Get(key string) string { return string(hc.h.Peek(key)) }

// Set is never called: the server only extracts.
func (hc headerCarrier) Set(key, value string) { hc.h.Set(key, value) }

func (hc headerCarrier) Keys() []string {
	var keys []string
	hc.h.VisitAll(func(k, _ []byte) { keys = append(keys, string(k)) })
	return keys
}
