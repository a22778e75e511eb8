package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/httpapi/wire"
)

// What the sign-in handlers need from authn.Service, in small interfaces
// by concern; Authn composes them and *authn.Service implements it.

// SignIn starts a sign-in and takes a first factor.
type SignIn interface {
	Login(ctx context.Context, r authn.LoginRequest) (*authn.LoginResult, error)
	StartLogin(ctx context.Context, r authn.StartLoginRequest) (*authn.LoginResult, error)
	SubmitPassword(ctx context.Context, r authn.PasswordRequest) (*authn.LoginResult, error)
	RequestEmailCode(ctx context.Context, r authn.FlowRequest) (*authn.LoginResult, error)
	SubmitEmailCode(ctx context.Context, r authn.CodeRequest) (*authn.LoginResult, error)
}

// SecondFactor continues a flow with an authenticator or a link.
type SecondFactor interface {
	SubmitTOTP(ctx context.Context, r authn.CodeRequest) (*authn.LoginResult, error)
	SubmitRecoveryCode(ctx context.Context, r authn.CodeRequest) (*authn.LoginResult, error)
	ConsumeMagicLink(ctx context.Context, r authn.MagicLinkRequest) (*authn.LoginResult, error)
}

// Sessions resolves and manages the caller's sessions.
type Sessions interface {
	Authenticate(ctx context.Context, sessionToken string) (*authn.SessionInfo, error)
	Logout(ctx context.Context, sessionToken string) error
	ListSessions(ctx context.Context, sessionToken string) ([]authn.SessionInfo, error)
	RevokeSession(ctx context.Context, sessionToken, sessionID string) error
	RevokeOtherSessions(ctx context.Context, sessionToken string, c authn.Client) (int, error)
}

// Account is registration and the password lifecycle.
type Account interface {
	Register(ctx context.Context, r authn.RegisterRequest) (*authn.RegisterResult, error)
	VerifyEmail(ctx context.Context, r authn.VerifyEmailRequest) error
	ChangePassword(ctx context.Context, r authn.ChangePasswordRequest) error
	RequestPasswordReset(ctx context.Context, r authn.PasswordResetRequest) error
	ResetPassword(ctx context.Context, r authn.ResetPasswordRequest) error
}

// Security is step-up and authenticator-app management.
type Security interface {
	Reauthenticate(ctx context.Context, r authn.ReauthRequest) (*authn.IssuedSession, error)
	BeginTOTP(ctx context.Context, sessionToken string) (*authn.TOTPEnrollment, error)
	ConfirmTOTP(ctx context.Context, r authn.ConfirmTOTPRequest) (*authn.RecoveryCodes, error)
	RemoveTOTP(ctx context.Context, r authn.RemoveTOTPRequest) error
	RegenerateRecoveryCodes(ctx context.Context, r authn.RegenerateRecoveryCodesRequest) (*authn.RecoveryCodes, error)
}

// Authn is the sign-in and self-service service.
type Authn interface {
	SignIn
	SecondFactor
	Sessions
	Account
	Security
}

var _ Authn = (*authn.Service)(nil)

// Wire shapes of the sign-in API.
type (
	sessionBody struct {
		ID                string    `json:"id"`
		UserID            string    `json:"user_id"`
		AAL               int       `json:"aal"`
		IdleExpiresAt     time.Time `json:"idle_expires_at"`
		AbsoluteExpiresAt time.Time `json:"absolute_expires_at"`
		// Token is present only when the client asked for a bearer token.
		Token string `json:"token,omitempty"`
	}
	loginBody struct {
		Status        string       `json:"status"`
		FlowID        string       `json:"flow_id,omitempty"`
		Methods       []string     `json:"methods,omitempty"`
		FlowExpiresAt *time.Time   `json:"flow_expires_at,omitempty"`
		Session       *sessionBody `json:"session,omitempty"`
	}
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
	okBody struct {
		OK bool `json:"ok"`
	}
	registerBody struct {
		VerificationSent bool `json:"verification_sent"`
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
	}
)

// authHandler is a sign-in handler with its decoded body and client.
type authHandler func(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error

// withBody decodes the route's body and builds the client before h.
func (s *Server) withBody(shape wire.Shape, h authHandler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, err := s.dec.DecodeAuthn(shape, c.Request().Body())
		if err != nil {
			return err
		}
		cl, err := s.client(c, &b.Client)
		if err != nil {
			return err
		}
		return h(c, b, cl)
	}
}

// authRoutes is the sign-in part of the route table. Without Deps.Authn
// every route but the JWKS answers authnDisabled.
func (s *Server) authRoutes() []route {
	post := func(path string, shape wire.Shape, h authHandler) route {
		return route{method: http.MethodPost, path: path, guard: true, handler: s.withBody(shape, h)}
	}
	// limited are the routes anyone can call without a session: the ones
	// a flood from one address would aim at.
	limited := func(path string, shape wire.Shape, h authHandler) route {
		r := post(path, shape, h)
		r.limit = true
		return r
	}
	rs := []route{
		limited("/v1/register", wire.ShapeRegister, s.register),
		limited("/v1/verify-email", wire.ShapeVerifyEmail, s.verifyEmail),
		limited("/v1/login", wire.ShapeLogin, s.login),
		post("/v1/login/password", wire.ShapeFlowPassword, s.loginPassword),
		post("/v1/login/totp", wire.ShapeFlowCode, s.loginTOTP),
		post("/v1/login/recovery-code", wire.ShapeFlowCode, s.loginRecoveryCode),
		limited("/v1/login/email-code", wire.ShapeFlow, s.requestEmailCode),
		post("/v1/login/email-code/verify", wire.ShapeFlowCode, s.loginEmailCode),
		post("/v1/login/magic-link", wire.ShapeMagicLink, s.loginMagicLink),
		{method: http.MethodGet, path: "/v1/session", handler: s.whoami},
		post("/v1/logout", wire.ShapeClient, s.logout),
		{method: http.MethodGet, path: "/v1/sessions", handler: s.listSessions},
		{method: http.MethodDelete, path: "/v1/sessions/:id", guard: true, handler: s.revokeSession},
		post("/v1/sessions/revoke-others", wire.ShapeClient, s.revokeOthers),
		post("/v1/reauthenticate", wire.ShapeReauthenticate, s.reauthenticate),
		post("/v1/totp", wire.ShapeClient, s.beginTOTP),
		post("/v1/totp/confirm", wire.ShapeConfirmTOTP, s.confirmTOTP),
		post("/v1/totp/remove", wire.ShapeRemoveTOTP, s.removeTOTP),
		post("/v1/recovery-codes", wire.ShapeClient, s.regenerateRecoveryCodes),
		post("/v1/password/change", wire.ShapeChangePassword, s.changePassword),
		limited("/v1/password/reset/request", wire.ShapeResetRequest, s.requestReset),
		post("/v1/password/reset", wire.ShapeReset, s.resetPassword),
		post("/v1/token", wire.ShapeClient, s.accessToken),
		{method: http.MethodGet, path: "/login/magic", handler: s.linkPage(pageMagicLink)},
		{method: http.MethodGet, path: "/verify-email", handler: s.linkPage(pageVerifyEmail)},
		{method: http.MethodGet, path: "/password/reset", handler: s.linkPage(pageResetPassword)},
	}
	if s.authn == nil {
		for i := range rs {
			rs[i].handler = authnDisabled
		}
	}
	return append(rs, route{method: http.MethodGet, path: "/.well-known/jwks.json", handler: s.jwksHandler})
}

func (s *Server) register(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	res, err := s.authn.Register(c.UserContext(), authn.RegisterRequest{Email: b.Email, Password: b.Password, Client: cl})
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusAccepted, registerBody{VerificationSent: res.VerificationSent})
}

func (s *Server) verifyEmail(c *fiber.Ctx, b *wire.AuthnBody, _ authn.Client) error {
	if err := s.authn.VerifyEmail(c.UserContext(), authn.VerifyEmailRequest{Token: b.Token}); err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, okBody{OK: true})
}

// login is identifier-first sign-in: with a password it is one-shot, else
// it opens a flow that offers the first factors.
func (s *Server) login(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	ctx := c.UserContext()
	if b.Password != "" { // a present password is never empty
		res, err := s.authn.Login(ctx, authn.LoginRequest{Identifier: b.Identifier, Password: b.Password, Client: cl})
		return s.loginAnswer(c, res, err)
	}
	res, err := s.authn.StartLogin(ctx, authn.StartLoginRequest{Identifier: b.Identifier, Client: cl})
	return s.loginAnswer(c, res, err)
}

func (s *Server) loginPassword(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	res, err := s.authn.SubmitPassword(c.UserContext(), authn.PasswordRequest{FlowID: b.FlowID, Password: b.Password, Client: cl})
	return s.loginAnswer(c, res, err)
}

func (s *Server) loginTOTP(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	res, err := s.authn.SubmitTOTP(c.UserContext(), authn.CodeRequest{FlowID: b.FlowID, Code: b.Code, Client: cl})
	return s.loginAnswer(c, res, err)
}

func (s *Server) loginRecoveryCode(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	res, err := s.authn.SubmitRecoveryCode(c.UserContext(), authn.CodeRequest{FlowID: b.FlowID, Code: b.Code, Client: cl})
	return s.loginAnswer(c, res, err)
}

func (s *Server) requestEmailCode(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	res, err := s.authn.RequestEmailCode(c.UserContext(), authn.FlowRequest{FlowID: b.FlowID, Client: cl})
	return s.loginAnswer(c, res, err)
}

func (s *Server) loginEmailCode(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	res, err := s.authn.SubmitEmailCode(c.UserContext(), authn.CodeRequest{FlowID: b.FlowID, Code: b.Code, Client: cl})
	return s.loginAnswer(c, res, err)
}

func (s *Server) loginMagicLink(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	res, err := s.authn.ConsumeMagicLink(c.UserContext(), authn.MagicLinkRequest{Token: b.Token, Client: cl})
	return s.loginAnswer(c, res, err)
}

// loginAnswer renders a sign-in step; a new session goes out as the
// transport the client asked for.
func (s *Server) loginAnswer(c *fiber.Ctx, res *authn.LoginResult, err error) error {
	if err != nil {
		return err
	}
	out := loginBody{Status: string(res.Status), FlowID: res.FlowID}
	for _, m := range res.Methods {
		out.Methods = append(out.Methods, string(m))
	}
	if !res.FlowExpiresAt.IsZero() && res.FlowID != "" {
		t := res.FlowExpiresAt.UTC()
		out.FlowExpiresAt = &t
	}
	if res.Session != nil {
		out.Session = s.issue(c, res.Session)
	}
	return writeJSON(c, http.StatusOK, out)
}

// issue hands a new session to the client: in the body for bearer
// clients, as the cookie otherwise.
func (s *Server) issue(c *fiber.Ctx, is *authn.IssuedSession) *sessionBody {
	sb := &sessionBody{ID: is.ID, UserID: is.UserID, AAL: int(is.AAL),
		IdleExpiresAt: is.IdleExpiresAt.UTC(), AbsoluteExpiresAt: is.AbsoluteExpiresAt.UTC()}
	if wantsBearer(c) {
		sb.Token = is.Token
	} else {
		setSessionCookie(c, is)
	}
	return sb
}

// sessionError clears a cookie that no longer names a live session, so
// the browser stops sending it.
func sessionError(c *fiber.Ctx, err error) error {
	if authn.CodeOf(err) == authn.CodeSessionInvalid && bearerToken(c) == "" && c.Cookies(SessionCookie) != "" {
		clearSessionCookie(c)
	}
	return err
}

func infoBody(i authn.SessionInfo) sessionInfoBody {
	return sessionInfoBody{ID: i.ID, UserID: i.UserID, AAL: int(i.AAL), CreatedAt: i.CreatedAt.UTC(), LastSeenAt: i.LastSeenAt.UTC(),
		IdleExpiresAt: i.IdleExpiresAt.UTC(), AbsoluteExpiresAt: i.AbsoluteExpiresAt.UTC(), DeviceID: i.DeviceID,
		IP: i.IP, UserAgent: i.UserAgent, Current: i.Current}
}

func (s *Server) whoami(c *fiber.Ctx) error {
	info, err := s.authn.Authenticate(c.UserContext(), sessionToken(c))
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, infoBody(*info))
}

func (s *Server) logout(c *fiber.Ctx, _ *wire.AuthnBody, _ authn.Client) error {
	if err := s.authn.Logout(c.UserContext(), sessionToken(c)); err != nil {
		return err
	}
	if bearerToken(c) == "" {
		clearSessionCookie(c)
	}
	return writeJSON(c, http.StatusOK, okBody{OK: true})
}

func (s *Server) listSessions(c *fiber.Ctx) error {
	all, err := s.authn.ListSessions(c.UserContext(), sessionToken(c))
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
	if err := s.authn.RevokeSession(c.UserContext(), sessionToken(c), id); err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, okBody{OK: true})
}

func (s *Server) revokeOthers(c *fiber.Ctx, _ *wire.AuthnBody, cl authn.Client) error {
	n, err := s.authn.RevokeOtherSessions(c.UserContext(), sessionToken(c), cl)
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, revokedBody{Revoked: n})
}

// reauthenticate is step-up for a live session: the old session is
// replaced by a new one, in the transport the client asks for (a client
// that authenticated with a bearer token gets a bearer token back).
func (s *Server) reauthenticate(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	is, err := s.authn.Reauthenticate(c.UserContext(), authn.ReauthRequest{SessionToken: sessionToken(c), Password: b.Password,
		TOTPCode: b.TOTPCode, RecoveryCode: b.RecoveryCode, Client: cl})
	if err != nil {
		return sessionError(c, err)
	}
	if bearerToken(c) != "" {
		c.Request().Header.Set(HeaderSessionTransport, "bearer")
	}
	return writeJSON(c, http.StatusOK, loginBody{Status: string(authn.LoginAuthenticated), Session: s.issue(c, is)})
}

func (s *Server) beginTOTP(c *fiber.Ctx, _ *wire.AuthnBody, _ authn.Client) error {
	en, err := s.authn.BeginTOTP(c.UserContext(), sessionToken(c))
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, totpBeginBody{FactorID: en.FactorID, URI: en.URI, QRPNG: en.QRPNG, Secret: en.Secret})
}

func (s *Server) confirmTOTP(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	rc, err := s.authn.ConfirmTOTP(c.UserContext(), authn.ConfirmTOTPRequest{SessionToken: sessionToken(c),
		FactorID: b.FactorID, Code: b.Code, Client: cl})
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, recoveryCodesBody{RecoveryCodes: rc.Codes})
}

func (s *Server) removeTOTP(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	err := s.authn.RemoveTOTP(c.UserContext(), authn.RemoveTOTPRequest{SessionToken: sessionToken(c), Password: b.Password, Client: cl})
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, okBody{OK: true})
}

// regenerateRecoveryCodes answers the new codes once; only their hashes
// are kept.
func (s *Server) regenerateRecoveryCodes(c *fiber.Ctx, _ *wire.AuthnBody, cl authn.Client) error {
	rc, err := s.authn.RegenerateRecoveryCodes(c.UserContext(), authn.RegenerateRecoveryCodesRequest{SessionToken: sessionToken(c), Client: cl})
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, recoveryCodesBody{RecoveryCodes: rc.Codes})
}

func (s *Server) changePassword(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	err := s.authn.ChangePassword(c.UserContext(), authn.ChangePasswordRequest{SessionToken: sessionToken(c),
		CurrentPassword: b.CurrentPassword, NewPassword: b.NewPassword, Client: cl})
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, okBody{OK: true})
}

func (s *Server) requestReset(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	if err := s.authn.RequestPasswordReset(c.UserContext(), authn.PasswordResetRequest{Email: b.Email, Client: cl}); err != nil {
		return err
	}
	return writeJSON(c, http.StatusAccepted, okBody{OK: true})
}

func (s *Server) resetPassword(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	err := s.authn.ResetPassword(c.UserContext(), authn.ResetPasswordRequest{Token: b.Token, NewPassword: b.NewPassword, Client: cl})
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, okBody{OK: true})
}

// authnDisabled answers every sign-in route of a server built without the
// service (a risk-check-only deployment).
func authnDisabled(*fiber.Ctx) error {
	return apiErr(CodeUnavailable, "sign-in is not configured on this server")
}
