package tracing

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/leaf/backend"
)

// Store is an account store (SQLite or PostgreSQL) with a client span
// around every call. The daemon installs it only when tracing is on, so
// the untraced store costs nothing; its methods are generated
// (store_gen.go) from the method set the two stores share, so that every
// call is traced and every optional interface the flows look for
// (activity recording, imports, sweeps) stays visible through it.
//
// A span is named after the Store method (the operation) and carries the
// database system and the operation name, never a statement, a parameter
// or a result: no identifier, address or hash reaches the trace store.
type Store struct {
	next   AccountStore
	tracer trace.Tracer
	system attribute.KeyValue
}

// Database systems a Store names in db.system.name.
var (
	// SystemSQLite is the embedded store (store.OpenSQLite).
	SystemSQLite = semconv.DBSystemNameSQLite
	// SystemPostgres is the shared store (store.OpenPostgres).
	SystemPostgres = semconv.DBSystemNamePostgreSQL
)

// WrapStore returns s with a span per call, naming system (SystemSQLite
// or SystemPostgres) as the database.
func (t *Tracing) WrapStore(s AccountStore, system attribute.KeyValue) *Store {
	return &Store{next: s, tracer: t.tracer, system: system}
}

// start opens the span of one store call.
func (s *Store) start(ctx context.Context, op string) (context.Context, trace.Span) {
	return s.tracer.Start(ctx, op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(s.system, semconv.DBOperationName(op)))
}

// end closes the span of one store call with err's outcome.
func end(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		outcome(span, err)
	}
	span.End()
}

// answers are the errors that are a store's answer, not its failure: a
// lookup that finds nothing, a taken address, a used code. Their spans
// carry the answer and no error status.
var answers = []struct {
	err  error
	name string
}{
	{authn.ErrNotFound, "not_found"},
	{authn.ErrEmailTaken, "email_taken"},
	{authn.ErrConflict, "conflict"},
	{authn.ErrReplay, "replay"},
	{authn.ErrTokenInvalid, "token_invalid"},
	{authn.ErrTooManyAttempts, "too_many_attempts"},
}

// outcome records a failed call on its span. The error's text is never
// recorded (a driver's message may quote a value); a backend failure is
// an error with its kind (timeout, down), a store's answer is an
// attribute, anything else an error of type _OTHER.
func outcome(span trace.Span, err error) {
	if be, ok := backend.As(err); ok {
		span.SetAttributes(semconv.ErrorTypeKey.String(be.Kind))
		span.SetStatus(codes.Error, "backend "+be.Kind)
		return
	}
	for _, a := range answers {
		if errors.Is(err, a.err) {
			span.SetAttributes(attribute.String("riskauth.store.answer", a.name))
			return
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		span.SetAttributes(semconv.ErrorTypeKey.String("canceled"))
		span.SetStatus(codes.Error, "canceled")
		return
	}
	span.SetAttributes(semconv.ErrorTypeOther)
	span.SetStatus(codes.Error, "store error")
}
