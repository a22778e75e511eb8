package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/engine/risk"
)

// Tokens: access tokens are JWTs signed with the provider's key and
// recorded by their id (jti), so that userinfo and introspection can
// refuse a revoked one; refresh tokens are opaque 256-bit secrets recorded
// by their hash. Every token of one authorization shares a family (the
// request id): a replayed code or a reused refresh token revokes it.

var errInvalidGrant = zoidc.ErrInvalidGrant()

func newTokenID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

func (s *storage) client(ctx context.Context, id string) (*client, error) {
	return s.reg.lookup(ctx, id)
}

// createAccessToken issues the access token of a code exchange without
// offline_access.
func (s *storage) createAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	if d, ok := req.(*op.DeviceAuthorizationState); ok {
		family, err := newTokenID()
		if err != nil {
			return "", time.Time{}, err
		}
		g := deviceGrant(d)
		return s.insertAccess(ctx, family, d.ClientID, d.Subject, g, g.Scopes)
	}
	a, ok := req.(*authRequest)
	if !ok {
		return "", time.Time{}, zoidc.ErrUnsupportedGrantType()
	}
	if err := s.useCode(ctx, a); err != nil {
		return "", time.Time{}, err
	}
	if err := s.recordRPSession(ctx, a); err != nil {
		return "", time.Time{}, err
	}
	g := grantOf(a)
	id, exp, err := s.insertAccess(ctx, a.ID, a.ClientID, a.GetSubject(), g, g.Scopes)
	s.setAccessAudience(ctx, a, a.ClientID)
	return id, exp, err
}

// createAccessAndRefreshTokens issues an access and a refresh token, for a
// code exchange with offline_access or a refresh (which rotates the
// refresh token).
func (s *storage) createAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	switch r := req.(type) {
	case *authRequest:
		if err := s.useCode(ctx, r); err != nil {
			return "", "", time.Time{}, err
		}
		if err := s.recordRPSession(ctx, r); err != nil {
			return "", "", time.Time{}, err
		}
		g := grantOf(r)
		refresh, rec, err := s.newRefresh(ctx, r.ID, r.ClientID, r.GetSubject(), g)
		if err != nil {
			return "", "", time.Time{}, err
		}
		if err := s.store.InsertToken(ctx, rec); err != nil {
			return "", "", time.Time{}, fmt.Errorf("oidc: insert refresh token: %w", err)
		}
		id, exp, err := s.insertAccess(ctx, r.ID, r.ClientID, r.GetSubject(), g, g.Scopes)
		s.setAccessAudience(ctx, r, r.ClientID)
		return id, refresh, exp, err
	case *op.DeviceAuthorizationState:
		// A device approval is consumed by the poll that gets here: its
		// tokens start a family of their own.
		family, err := newTokenID()
		if err != nil {
			return "", "", time.Time{}, err
		}
		g := deviceGrant(r)
		refresh, rec, err := s.newRefresh(ctx, family, r.ClientID, r.Subject, g)
		if err != nil {
			return "", "", time.Time{}, err
		}
		if err := s.store.InsertToken(ctx, rec); err != nil {
			return "", "", time.Time{}, fmt.Errorf("oidc: insert refresh token: %w", err)
		}
		id, exp, err := s.insertAccess(ctx, family, r.ClientID, r.Subject, g, g.Scopes)
		return id, refresh, exp, err
	case *refreshRequest:
		refresh, next, err := s.newRefresh(ctx, r.rec.Family, r.rec.ClientID, r.rec.UserID, r.grant)
		if err != nil {
			return "", "", time.Time{}, err
		}
		if err := s.store.RotateRefreshToken(ctx, r.rec.ID, next, s.now()); err != nil {
			if errors.Is(err, authn.ErrNotFound) {
				// Another request rotated it first: two uses of one
				// refresh token are reuse, whoever won.
				s.reuse(ctx, r.rec, "refresh token used twice concurrently")
				return "", "", time.Time{}, errInvalidGrant
			}
			return "", "", time.Time{}, fmt.Errorf("oidc: rotate refresh token: %w", err)
		}
		id, exp, err := s.insertAccess(ctx, r.rec.Family, r.rec.ClientID, r.rec.UserID, r.grant, r.scopes)
		s.setAccessAudience(ctx, r, r.rec.ClientID)
		return id, refresh, exp, err
	default:
		return "", "", time.Time{}, zoidc.ErrUnsupportedGrantType()
	}
}

// useCode spends the request's code, once; a lost race is a replay.
func (s *storage) useCode(ctx context.Context, a *authRequest) error {
	if err := s.store.UseAuthCode(ctx, a.ID, s.now()); err != nil {
		if errors.Is(err, authn.ErrNotFound) {
			return errInvalidGrant
		}
		return fmt.Errorf("oidc: use code: %w", err)
	}
	return nil
}

func grantOf(a *authRequest) grant {
	g := grant{Scopes: a.Scopes, Audience: a.GetAudience()}
	if a.Login != nil {
		g.AuthTime, g.AMR, g.ACR, g.SessionID = a.Login.AuthTime, a.Login.AMR, a.Login.ACR, a.Login.SessionID
	}
	return g
}

func (s *storage) insertAccess(ctx context.Context, family, clientID, userID string, g grant, scopes []string) (string, time.Time, error) {
	c, err := s.client(ctx, clientID)
	if err != nil {
		return "", time.Time{}, err
	}
	id, err := newTokenID()
	if err != nil {
		return "", time.Time{}, err
	}
	g.Scopes = scopes
	g.Audience = accessAudience(c) // what introspection reports
	data, err := json.Marshal(g)
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.now()
	rec := TokenRecord{ID: id, Kind: TokenAccess, Family: family, ClientID: clientID, UserID: userID, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(c.cfg.AccessTokenTTL)}
	if err := s.store.InsertToken(ctx, rec); err != nil {
		return "", time.Time{}, fmt.Errorf("oidc: insert access token: %w", err)
	}
	return id, rec.ExpiresAt, nil
}

func (s *storage) newRefresh(ctx context.Context, family, clientID, userID string, g grant) (string, TokenRecord, error) {
	c, err := s.client(ctx, clientID)
	if err != nil {
		return "", TokenRecord{}, err
	}
	secret, err := token.New()
	if err != nil {
		return "", TokenRecord{}, err
	}
	id, err := newTokenID()
	if err != nil {
		return "", TokenRecord{}, err
	}
	data, err := json.Marshal(g)
	if err != nil {
		return "", TokenRecord{}, err
	}
	now := s.now()
	return secret, TokenRecord{ID: id, Kind: TokenRefresh, Hash: hashOf(secret), Family: family, ClientID: clientID,
		UserID: userID, Data: data, CreatedAt: now, ExpiresAt: now.Add(c.cfg.RefreshTokenTTL)}, nil
}

// revokeFamily ends every token of rec's family after a reuse; a store
// failure is logged, the request fails anyway.
func (s *storage) revokeFamily(ctx context.Context, rec TokenRecord, why string) {
	n, err := s.store.RevokeTokens(ctx, "", rec.Family, s.now())
	if err != nil {
		s.log.ErrorContext(ctx, "oidc: revoke token family", "client_id", rec.ClientID, "err", err)
		return
	}
	s.log.WarnContext(ctx, "oidc: token family revoked: "+why, "client_id", rec.ClientID, "user_id", rec.UserID, "revoked", n)
}

// reuse revokes rec's family after a refresh token was used twice and
// reports it as a security finding.
func (s *storage) reuse(ctx context.Context, rec TokenRecord, why string) {
	s.revokeFamily(ctx, rec, why)
	var g grant
	_ = json.Unmarshal(rec.Data, &g)
	s.emit(ctx, secevent.OIDCRefreshReuse, rec.UserID, g.SessionID, map[string]string{"client_id": rec.ClientID, "reason": why})
}

// refreshRecord finds a refresh token by its value.
func (s *storage) refreshRecord(ctx context.Context, refresh string) (TokenRecord, error) {
	if !token.Valid(refresh) {
		return TokenRecord{}, authn.ErrNotFound
	}
	return s.store.RefreshTokenByHash(ctx, hashOf(refresh))
}

// tokenRequestByRefreshToken resolves a refresh token for the refresh
// grant. A token that was rotated already is reuse: whoever holds the
// family now may be an attacker, so the whole family is revoked.
func (s *storage) tokenRequestByRefreshToken(ctx context.Context, refresh string) (op.RefreshTokenRequest, error) {
	rec, err := s.refreshRecord(ctx, refresh)
	if err != nil {
		if errors.Is(err, authn.ErrNotFound) {
			return nil, errInvalidGrant
		}
		return nil, fmt.Errorf("oidc: refresh token: %w", err)
	}
	now := s.now()
	switch {
	case !rec.RevokedAt.IsZero() || !now.Before(rec.ExpiresAt):
		return nil, errInvalidGrant
	case !rec.UsedAt.IsZero():
		s.reuse(ctx, rec, "refresh token reused")
		return nil, errInvalidGrant
	}
	u, err := s.users.UserByID(ctx, rec.UserID)
	if err != nil || u.Disabled {
		if err != nil && !errors.Is(err, authn.ErrNotFound) {
			return nil, fmt.Errorf("oidc: refresh token user: %w", err)
		}
		return nil, errInvalidGrant
	}
	action, err := s.evaluate(ctx, EventRefresh, rec.UserID, rec.ClientID)
	if err != nil {
		s.log.ErrorContext(ctx, "oidc: refresh refused without a risk decision", "client_id", rec.ClientID, "err", err)
		return nil, errInvalidGrant
	}
	if action == risk.Block {
		s.revokeFamily(ctx, rec, "the risk engine blocked a refresh")
		return nil, errInvalidGrant
	}
	var g grant
	if err := json.Unmarshal(rec.Data, &g); err != nil {
		return nil, fmt.Errorf("oidc: refresh token %s: %w", rec.ID, err)
	}
	return &refreshRequest{rec: rec, grant: g, scopes: slices.Clone(g.Scopes)}, nil
}

// GetRefreshTokenInfo resolves a refresh token for revocation.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, refresh string) (string, string, error) {
	rec, err := s.refreshRecord(ctx, refresh)
	if err != nil {
		if errors.Is(err, authn.ErrNotFound) {
			return "", "", op.ErrInvalidRefreshToken
		}
		return "", "", err
	}
	return rec.UserID, rec.ID, nil
}

// RevokeToken is RFC 7009: a refresh token ends its family (RFC 7009 §2.1
// asks for the access tokens of the grant too), an access token itself.
// Unknown tokens are not an error.
func (s *storage) RevokeToken(ctx context.Context, idOrToken, userID, clientID string) *zoidc.Error {
	rec, err := s.store.Token(ctx, idOrToken)
	if err != nil {
		if errors.Is(err, authn.ErrNotFound) {
			return nil
		}
		return zoidc.ErrServerError().WithParent(err)
	}
	if rec.ClientID != clientID {
		return zoidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
	}
	id, family := rec.ID, ""
	if rec.Kind == TokenRefresh {
		id, family = "", rec.Family
	}
	if _, err := s.store.RevokeTokens(ctx, id, family, s.now()); err != nil {
		return zoidc.ErrServerError().WithParent(err)
	}
	return nil
}

// liveAccess returns the record of a live access token.
func (s *storage) liveAccess(ctx context.Context, id, subject string) (TokenRecord, grant, error) {
	rec, err := s.store.Token(ctx, id)
	if err != nil {
		return rec, grant{}, err
	}
	if rec.Kind != TokenAccess || rec.UserID != subject || !rec.RevokedAt.IsZero() || !s.now().Before(rec.ExpiresAt) {
		return rec, grant{}, authn.ErrNotFound
	}
	var g grant
	if err := json.Unmarshal(rec.Data, &g); err != nil {
		return rec, g, fmt.Errorf("oidc: token %s: %w", rec.ID, err)
	}
	return rec, g, nil
}

// SetUserinfoFromScopes is deprecated in the op package in favour of
// SetUserinfoFromRequest.
func (s *storage) SetUserinfoFromScopes(context.Context, *zoidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's user claims.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, ui *zoidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.userinfo(ctx, ui, req.GetSubject(), scopes); err != nil {
		return err
	}
	idTokenSID(ui, req)
	return s.addMappedClaims(ctx, ui, req.GetClientID(), req.GetSubject(), ClaimInIDToken, scopes)
}

// SetUserinfoFromToken answers the userinfo endpoint for a live access
// token.
func (s *storage) SetUserinfoFromToken(ctx context.Context, ui *zoidc.UserInfo, tokenID, subject, _ string) error {
	rec, g, err := s.liveAccess(ctx, tokenID, subject)
	if err != nil {
		if errors.Is(err, authn.ErrNotFound) {
			return zoidc.ErrAccessDenied().WithDescription("the access token is not active")
		}
		return err
	}
	if err := s.userinfo(ctx, ui, subject, g.Scopes); err != nil {
		return err
	}
	return s.addMappedClaims(ctx, ui, rec.ClientID, subject, ClaimInUserinfo, g.Scopes)
}

// userinfo sets the claims of the scopes: sub always, email and
// email_verified for "email", preferred_username for "profile".
func (s *storage) userinfo(ctx context.Context, ui *zoidc.UserInfo, subject string, scopes []string) error {
	u, err := s.users.UserByID(ctx, subject)
	if err != nil {
		return fmt.Errorf("oidc: userinfo: %w", err)
	}
	if u.Disabled {
		return zoidc.ErrAccessDenied()
	}
	ui.Subject = u.ID
	for _, sc := range scopes {
		switch sc {
		case zoidc.ScopeEmail:
			ui.Email = u.Email
			ui.EmailVerified = zoidc.Bool(!u.EmailVerifiedAt.IsZero())
		case zoidc.ScopeProfile:
			ui.PreferredUsername = u.Email
		}
	}
	return nil
}

// errInactive makes the op package answer {"active":false}: it reports
// a token active whenever this storage returns no error.
var errInactive = errors.New("oidc: token not active")

// SetIntrospectionFromToken is RFC 7662 for access tokens: active only
// while live, and only to the client it was issued to.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *zoidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	rec, g, err := s.liveAccess(ctx, tokenID, subject)
	if err != nil {
		if !errors.Is(err, authn.ErrNotFound) {
			s.log.ErrorContext(ctx, "oidc: introspection", "err", err)
		}
		return errInactive
	}
	if rec.ClientID != clientID {
		return errInactive
	}
	ui := new(zoidc.UserInfo)
	if err := s.userinfo(ctx, ui, subject, g.Scopes); err != nil {
		return errInactive // a disabled account's tokens are not active
	}
	resp.SetUserInfo(ui)
	resp.Active = true
	resp.Scope = g.Scopes
	resp.ClientID = rec.ClientID
	resp.TokenType = zoidc.BearerToken
	resp.Expiration = zoidc.FromTime(rec.ExpiresAt)
	resp.IssuedAt = zoidc.FromTime(rec.CreatedAt)
	resp.AuthTime = zoidc.FromTime(g.AuthTime)
	resp.Audience = g.Audience
	resp.AuthenticationMethodsReferences = g.AMR
	resp.JWTID = rec.ID
	return nil
}

// GetPrivateClaimsFromScopes adds riskauth's claims to access tokens: the
// assurance level as acr.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}
