package oidc

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestProviderSpans checks the provider's step spans on the answers that
// need no store: each is a child of the request's span, and an OAuth
// error is the step's answer (riskauth.result), not an error span.
func TestProviderSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	s := &storage{}
	for _, tc := range []struct {
		name  string
		call  func(ctx context.Context) error
		span  string
		attrs []attribute.KeyValue
	}{
		{"authorize without PKCE", func(ctx context.Context) error {
			_, err := s.CreateAuthRequest(ctx, &zoidc.AuthRequest{ClientID: "app"}, "")
			return err
		}, spanAuthorize, []attribute.KeyValue{attribute.String("riskauth.result", "invalid_request")}},
		{"token for a grant it does not issue", func(ctx context.Context) error {
			_, _, err := s.CreateAccessToken(ctx, &refreshRequest{})
			return err
		}, spanToken, []attribute.KeyValue{attrGrant.String("refresh_token"), attribute.String("riskauth.result", "unsupported_grant_type")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec.Reset()
			ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
			require.Error(t, tc.call(ctx))
			parent.End()
			ended := rec.Ended()
			require.Len(t, ended, 2)
			sp := ended[0]
			assert.Equal(t, tc.span, sp.Name())
			assert.Equal(t, parent.SpanContext().SpanID(), sp.Parent().SpanID())
			assert.Equal(t, codes.Unset, sp.Status().Code, "an answer, not a failure")
			for _, a := range tc.attrs {
				assert.Contains(t, sp.Attributes(), a)
			}
		})
	}
}
