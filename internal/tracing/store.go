package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/leaf/spans"
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

// end closes the span of one store call with err's outcome: a backend
// failure is an error with its kind, a store's answer (authn.Answer: not
// found, a taken address, a used code) the riskauth.result attribute.
func end(span trace.Span, err error) { spans.End(span, err, authn.Answer) }
