package oidc

import (
	"context"
	"errors"
	"fmt"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/secevent"
)

// Logout. ID tokens carry sid, the riskauth session the sign-in made or
// reused. RP-initiated logout (end_session with an id_token_hint this
// provider signed, expired or not) ends that session, the riskauth
// session itself, and sends the browser to a post_logout_redirect_uri
// registered for the client (exact match, with state) or to
// DefaultLoggedOutPath. Without a hint nothing is ended: a cross-site
// link to end_session must not sign anyone out.
//
// Whenever a riskauth session ends, however it ends (this logout, a
// sign-out, a revocation, "this wasn't me", a disabled or deleted
// account), the clients that hold tokens from it and registered a
// backchannel_logout_uri are told (backchannel.go).

// DefaultLoggedOutPath is the page RP-initiated logout ends on when the
// client names no post_logout_redirect_uri.
const DefaultLoggedOutPath = "/oidc/logged-out"

// Sessions is riskauth's session store as logout needs it; authn/store
// implements it.
type Sessions interface {
	// RevokeSession ends one session of the user (ErrNotFound when it is
	// not live).
	RevokeSession(ctx context.Context, userID, id string, at time.Time) error
	// ListSessions returns the user's live sessions.
	ListSessions(ctx context.Context, userID string, now time.Time) ([]authn.Session, error)
}

var _ op.CanTerminateSessionFromRequest = (*storage)(nil)

// TerminateSessionFromRequest is RP-initiated logout after the op package
// checked the request (hint signature, client, redirect URI).
func (s *storage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	h := req.IDTokenHintClaims
	if h == nil || h.SessionID == "" || req.UserID == "" || s.sessions == nil {
		return req.RedirectURI, nil
	}
	err := s.sessions.RevokeSession(ctx, req.UserID, h.SessionID, s.now())
	switch {
	case errors.Is(err, authn.ErrNotFound):
		// Ended already: still tell the clients (below), harmlessly.
	case err != nil:
		return "", fmt.Errorf("oidc: end session: %w", err)
	default:
		s.emit(ctx, secevent.Logout, req.UserID, h.SessionID, map[string]string{"via": "oidc_end_session", "client_id": req.ClientID})
	}
	if s.bc != nil {
		s.bc.sessionsChanged(req.UserID)
	}
	return req.RedirectURI, nil
}

// TerminateSession is the op package's fallback; TerminateSessionFromRequest
// is used instead.
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

// sessionOf is the riskauth session an ID token request came from.
func sessionOf(req op.IDTokenRequest) string {
	switch r := req.(type) {
	case *authRequest:
		if r.Login != nil {
			return r.Login.SessionID
		}
	case *refreshRequest:
		return r.grant.SessionID
	}
	return ""
}

// recordRPSession notes that the client got tokens from the session, when
// the client wants to hear of its end.
func (s *storage) recordRPSession(ctx context.Context, a *authRequest) error {
	c := s.find(ctx, a.ClientID)
	if c == nil || c.cfg.BackchannelLogoutURI == "" || a.Login == nil || a.Login.SessionID == "" {
		return nil
	}
	if err := s.store.AddRPSession(ctx, RPSession{ClientID: a.ClientID, SessionID: a.Login.SessionID, UserID: a.Login.UserID,
		CreatedAt: s.now()}); err != nil {
		return fmt.Errorf("oidc: record session: %w", err)
	}
	return nil
}

// idTokenSID adds sid to an ID token's claims.
func idTokenSID(ui *zoidc.UserInfo, req op.IDTokenRequest) {
	if sid := sessionOf(req); sid != "" {
		ui.AppendClaims("sid", sid)
	}
}
