package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/httpapi/wire"
)

// The account API: self-service for a signed-in user, who presents the
// session (the cookie, or a bearer token; session.go). Who am I, the
// sessions listed and ended, sign-out, step-up, password change, the
// authenticator app and recovery codes. A change of factors ends every
// other session and hands out the acting one under a new token. A request whose session is gone
// gets 401 session_invalid, and a browser's dead cookie is cleared.
// State-changing routes are behind the CSRF guard, like the sign-in API's.

// What the account handlers need from authn, in small interfaces by
// concern, each served by one authn service (Deps): Sessions by
// *authn.Sessions, Account (Credentials and Authenticators) by
// *authn.Account.

// Sessions resolves and manages the caller's sessions.
type Sessions interface {
	Authenticator
	Logout(ctx context.Context, sessionToken string, c authn.Client) error
	ListSessions(ctx context.Context, sessionToken string) ([]authn.SessionInfo, error)
	RevokeSession(ctx context.Context, sessionToken, sessionID string, c authn.Client) error
	RevokeOtherSessions(ctx context.Context, sessionToken string, c authn.Client) (int, error)
}

// Credentials is step-up and the password change, both of which prove
// the caller knows the current password.
type Credentials interface {
	Reauthenticate(ctx context.Context, r authn.ReauthRequest) (*authn.IssuedSession, error)
	ChangePassword(ctx context.Context, r authn.ChangePasswordRequest) error
}

// Authenticators manages the caller's authenticator app and recovery
// codes.
type Authenticators interface {
	BeginTOTP(ctx context.Context, sessionToken string) (*authn.TOTPEnrollment, error)
	ConfirmTOTP(ctx context.Context, r authn.ConfirmTOTPRequest) (*authn.RecoveryCodes, error)
	RemoveTOTP(ctx context.Context, r authn.RemoveTOTPRequest) (*authn.SessionRotation, error)
	RegenerateRecoveryCodes(ctx context.Context, r authn.RegenerateRecoveryCodesRequest) (*authn.RecoveryCodes, error)
}

// Account is the security settings: step-up, the password, the
// authenticator app and the recovery codes.
type Account interface {
	Credentials
	Authenticators
}

var (
	_ Sessions = (*authn.Sessions)(nil)
	_ Account  = (*authn.Account)(nil)
)

// Wire shapes of the account API.
type (
	sessionInfoBody struct {
		ID                string    `json:"id"`
		UserID            string    `json:"user_id"`
		AAL               int       `json:"aal"`
		CreatedAt         time.Time `json:"created_at"`
		LastSeenAt        time.Time `json:"last_seen_at"`
		IdleExpiresAt     time.Time `json:"idle_expires_at"`
		AbsoluteExpiresAt time.Time `json:"absolute_expires_at"`
		DeviceID          string    `json:"device_id,omitempty"`
		IP                string    `json:"ip,omitempty"`
		UserAgent         string    `json:"user_agent,omitempty"`
		Current           bool      `json:"current"`
	}
	sessionsBody struct {
		Sessions []sessionInfoBody `json:"sessions"`
	}
	revokedBody struct {
		Revoked int `json:"revoked"`
	}
	totpBeginBody struct {
		FactorID string `json:"factor_id"`
		URI      string `json:"uri"`
		// QRPNG is base64 (standard alphabet, padded): encoding/json's
		// rendering of a []byte.
		QRPNG  []byte `json:"qr_png"`
		Secret string `json:"secret"`
	}
	recoveryCodesBody struct {
		RecoveryCodes []string `json:"recovery_codes"`
		rotatedBody
	}
	// rotatedBody is what a change of factors says about the sessions:
	// the one the request was made with goes on under a new token
	// (Session), the others ended.
	rotatedBody struct {
		Session         *sessionBody `json:"session"`
		SessionsRevoked int          `json:"sessions_revoked"`
	}
	factorRemovedBody struct {
		OK bool `json:"ok"`
		rotatedBody
	}
)

// rotated hands the client the session that replaced the one it used, in
// the transport it used: a client that authenticated with a bearer token
// gets a bearer token back, a browser the cookie.
func rotated(c *fiber.Ctx, r *authn.SessionRotation) rotatedBody {
	if bearerToken(c) != "" {
		c.Request().Header.Set(HeaderSessionTransport, "bearer")
	}
	return rotatedBody{Session: issue(c, r.Session), SessionsRevoked: r.SessionsRevoked}
}

func infoBody(i authn.SessionInfo) sessionInfoBody {
	return sessionInfoBody{ID: i.ID, UserID: i.UserID, AAL: int(i.AAL), CreatedAt: i.CreatedAt.UTC(), LastSeenAt: i.LastSeenAt.UTC(),
		IdleExpiresAt: i.IdleExpiresAt.UTC(), AbsoluteExpiresAt: i.AbsoluteExpiresAt.UTC(), DeviceID: i.DeviceID,
		IP: i.IP, UserAgent: i.UserAgent, Current: i.Current}
}

func (s *Server) whoami(c *fiber.Ctx) error {
	info, err := s.sessions.AuthenticateClient(c.UserContext(), sessionToken(c), s.sessionClient(c))
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, infoBody(*info))
}

func (s *Server) logout(c *fiber.Ctx, _ *wire.AuthnBody, cl authn.Client) error {
	if err := s.sessions.Logout(c.UserContext(), sessionToken(c), cl); err != nil {
		return err
	}
	if bearerToken(c) == "" {
		clearSessionCookie(c)
	}
	return writeJSON(c, http.StatusOK, okBody{OK: true})
}

func (s *Server) listSessions(c *fiber.Ctx) error {
	all, err := s.sessions.ListSessions(c.UserContext(), sessionToken(c))
	if err != nil {
		return sessionError(c, err)
	}
	out := sessionsBody{Sessions: make([]sessionInfoBody, len(all))}
	for i, x := range all {
		out.Sessions[i] = infoBody(x)
	}
	return writeJSON(c, http.StatusOK, out)
}

func (s *Server) revokeSession(c *fiber.Ctx) error {
	id := c.Params("id")
	if len(id) > wire.MaxSecretBytes {
		return apiErr(CodeNotFound, "no such session")
	}
	// No body: who is asking is the connection and its user agent.
	cl, err := s.client(c, &wire.Client{})
	if err != nil {
		return err
	}
	if err := s.sessions.RevokeSession(c.UserContext(), sessionToken(c), id, cl); err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, okBody{OK: true})
}

func (s *Server) revokeOthers(c *fiber.Ctx, _ *wire.AuthnBody, cl authn.Client) error {
	n, err := s.sessions.RevokeOtherSessions(c.UserContext(), sessionToken(c), cl)
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, revokedBody{Revoked: n})
}

// reauthenticate is step-up for a live session: the old session is
// replaced by a new one, in the transport the client asks for (a client
// that authenticated with a bearer token gets a bearer token back).
func (s *Server) reauthenticate(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	is, err := s.account.Reauthenticate(c.UserContext(), authn.ReauthRequest{SessionToken: sessionToken(c), Password: b.Password,
		TOTPCode: b.TOTPCode, RecoveryCode: b.RecoveryCode, Client: cl})
	if err != nil {
		return sessionError(c, err)
	}
	if bearerToken(c) != "" {
		c.Request().Header.Set(HeaderSessionTransport, "bearer")
	}
	return writeJSON(c, http.StatusOK, loginBody{Status: string(authn.LoginAuthenticated), Session: issue(c, is)})
}

func (s *Server) changePassword(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	err := s.account.ChangePassword(c.UserContext(), authn.ChangePasswordRequest{SessionToken: sessionToken(c),
		CurrentPassword: b.CurrentPassword, NewPassword: b.NewPassword, Client: cl})
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, okBody{OK: true})
}

func (s *Server) beginTOTP(c *fiber.Ctx, _ *wire.AuthnBody, _ authn.Client) error {
	en, err := s.account.BeginTOTP(c.UserContext(), sessionToken(c))
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, totpBeginBody{FactorID: en.FactorID, URI: en.URI, QRPNG: en.QRPNG, Secret: en.Secret})
}

func (s *Server) confirmTOTP(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	rc, err := s.account.ConfirmTOTP(c.UserContext(), authn.ConfirmTOTPRequest{SessionToken: sessionToken(c),
		FactorID: b.FactorID, Code: b.Code, Client: cl})
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, recoveryCodesBody{RecoveryCodes: rc.Codes, rotatedBody: rotated(c, &rc.SessionRotation)})
}

func (s *Server) removeTOTP(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	rot, err := s.account.RemoveTOTP(c.UserContext(), authn.RemoveTOTPRequest{SessionToken: sessionToken(c), Password: b.Password, Client: cl})
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, factorRemovedBody{OK: true, rotatedBody: rotated(c, rot)})
}

// regenerateRecoveryCodes answers the new codes once; only their hashes
// are kept.
func (s *Server) regenerateRecoveryCodes(c *fiber.Ctx, _ *wire.AuthnBody, cl authn.Client) error {
	rc, err := s.account.RegenerateRecoveryCodes(c.UserContext(), authn.RegenerateRecoveryCodesRequest{SessionToken: sessionToken(c), Client: cl})
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, recoveryCodesBody{RecoveryCodes: rc.Codes, rotatedBody: rotated(c, &rc.SessionRotation)})
}
