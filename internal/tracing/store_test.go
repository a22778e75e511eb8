package tracing

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/store"
)

// TestStoreSpans runs the traced store over a real SQLite store: every
// call is a client span named after the method, child of the caller's
// span, naming the database and the operation and nothing of the data;
// a lookup that finds nothing is an answer, not an error; a call that
// runs out of its deadline is an error span of kind timeout.
func TestStoreSpans(t *testing.T) {
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	trc := &Tracing{provider: tp, tracer: tp.Tracer(instrumentation)}
	dir := t.TempDir()
	lite, err := store.OpenSQLite(ctx, filepath.Join(dir, "a.db"), store.SQLiteOptions{})
	require.NoError(t, err)
	st := trc.WrapStore(lite, SystemSQLite)
	defer func() { require.NoError(t, st.Close()) }()
	// The same file with a read deadline that has always passed.
	hung, err := store.OpenSQLite(ctx, filepath.Join(dir, "a.db"), store.SQLiteOptions{Timeouts: store.Timeouts{Read: time.Nanosecond}})
	require.NoError(t, err)
	slow := trc.WrapStore(hung, SystemSQLite)
	defer func() { require.NoError(t, slow.Close()) }()

	now := time.Unix(1_800_000_000, 0)
	const email = "secret-person@example.com"
	for _, tc := range []struct {
		name   string
		call   func(ctx context.Context) error
		op     string
		status codes.Code
		attr   attribute.KeyValue // one attribute the span has besides the database's
	}{
		{"write", func(ctx context.Context) error {
			return st.CreateUser(ctx, authn.User{ID: "u-secret-id", Email: email, PasswordHash: "$argon2id$secret", CreatedAt: now, UpdatedAt: now})
		}, "CreateUser", codes.Unset, attribute.String("db.operation.name", "CreateUser")},
		{"read", func(ctx context.Context) error { _, err := st.UserByEmail(ctx, email); return err },
			"UserByEmail", codes.Unset, attribute.String("db.operation.name", "UserByEmail")},
		{"not found is an answer", func(ctx context.Context) error {
			_, err := st.UserByEmail(ctx, "nobody@example.com")
			require.ErrorIs(t, err, authn.ErrNotFound)
			return nil
		}, "UserByEmail", codes.Unset, attribute.String("riskauth.result", "not_found")},
		{"backend failure", func(ctx context.Context) error {
			_, err := slow.UserByEmail(ctx, email)
			require.Error(t, err)
			return nil
		}, "UserByEmail", codes.Error, attribute.String("error.type", "timeout")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec.Reset()
			pctx, parent := tp.Tracer("test").Start(ctx, "request")
			require.NoError(t, tc.call(pctx))
			parent.End()
			ended := rec.Ended()
			require.Len(t, ended, 2, "the call's span and the request's")
			sp := ended[0]
			assert.Equal(t, tc.op, sp.Name())
			assert.Equal(t, trace.SpanKindClient, sp.SpanKind())
			assert.Equal(t, parent.SpanContext().SpanID(), sp.Parent().SpanID())
			assert.Equal(t, tc.status, sp.Status().Code)
			assert.Contains(t, sp.Attributes(), SystemSQLite)
			assert.Contains(t, sp.Attributes(), tc.attr)
			for _, a := range sp.Attributes() {
				for _, secret := range []string{"secret-person", "u-secret-id", "argon2id"} {
					assert.NotContains(t, a.Value.String(), secret, "attribute %s", a.Key)
				}
			}
			assert.Empty(t, sp.Events(), "no error text is recorded")
		})
	}
}
