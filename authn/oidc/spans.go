package oidc

import (
	"context"
	"errors"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/leaf/spans"
)

// The provider's steps, traced as children of the request's span when
// the request is traced (internal/leaf/spans), nothing otherwise. They
// carry the grant and the answer's OAuth error code, never a client's
// request values, a token or a user id.
const (
	spanAuthorize = "riskauth.oidc.authorize" // an authorization request checked and stored
	spanToken     = "riskauth.oidc.token"     // tokens issued (code exchange, device grant, refresh rotation)
	spanRefresh   = "riskauth.oidc.refresh"   // a refresh token checked and judged by the risk engine
)

// attrGrant names the grant a token span issued for.
const attrGrant = attribute.Key("riskauth.grant")

// answer names the errors that are the provider's answer (an OAuth error
// such as invalid_grant, or an authn answer) rather than a failure.
func answer(err error) string {
	var oe *zoidc.Error
	if errors.As(err, &oe) {
		return string(oe.ErrorType)
	}
	return authn.Answer(err)
}

// grantOfRequest names the grant a token request is for.
func grantOfRequest(req op.TokenRequest) string {
	switch req.(type) {
	case *op.DeviceAuthorizationState:
		return "device_code"
	case *refreshRequest:
		return "refresh_token"
	}
	return "authorization_code"
}

// CreateAuthRequest implements op.Storage: createAuthRequest in its span.
func (s *storage) CreateAuthRequest(ctx context.Context, r *zoidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	ctx, span := spans.Start(ctx, spanAuthorize, trace.SpanKindInternal)
	a, err := s.createAuthRequest(ctx, r, hintSubject)
	spans.End(span, err, answer)
	return a, err
}

// CreateAccessToken implements op.Storage: createAccessToken in its span.
func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	ctx, span := spans.Start(ctx, spanToken, trace.SpanKindInternal)
	id, exp, err := s.createAccessToken(ctx, req)
	if span.IsRecording() {
		span.SetAttributes(attrGrant.String(grantOfRequest(req)))
	}
	spans.End(span, err, answer)
	return id, exp, err
}

// CreateAccessAndRefreshTokens implements op.Storage:
// createAccessAndRefreshTokens in its span.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	ctx, span := spans.Start(ctx, spanToken, trace.SpanKindInternal)
	id, refresh, exp, err := s.createAccessAndRefreshTokens(ctx, req, current)
	if span.IsRecording() {
		span.SetAttributes(attrGrant.String(grantOfRequest(req)))
	}
	spans.End(span, err, answer)
	return id, refresh, exp, err
}

// TokenRequestByRefreshToken implements op.Storage:
// tokenRequestByRefreshToken in its span.
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, refresh string) (op.RefreshTokenRequest, error) {
	ctx, span := spans.Start(ctx, spanRefresh, trace.SpanKindInternal)
	r, err := s.tokenRequestByRefreshToken(ctx, refresh)
	spans.End(span, err, answer)
	return r, err
}
