package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/httpapi/wire"
)

// The sign-in API: the routes that need no session and end in one, or in
// an account. Registration and email verification, identifier-first
// sign-in with its first and second factors and magic links, and the
// forgotten-password flow. Every route is a POST behind the CSRF guard;
// the ones anyone can call without a flow in hand are rate-limited per
// address (the route table in server.go says which). The session a flow
// ends in goes out in the transport the client asked for (session.go).

// What the sign-in handlers need from authn, in small interfaces by
// concern, each served by one authn service (Deps): Registration by
// *authn.Registration, SignIn (FirstFactor and SecondFactor) by
// *authn.SignIn, PasswordReset by *authn.Recovery.

// Registration creates accounts and confirms their addresses.
type Registration interface {
	Register(ctx context.Context, r authn.RegisterRequest) (*authn.RegisterResult, error)
	VerifyEmail(ctx context.Context, r authn.VerifyEmailRequest) (*authn.VerifyEmailResult, error)
}

// FirstFactor starts a sign-in and takes a first factor.
type FirstFactor interface {
	Login(ctx context.Context, r authn.LoginRequest) (*authn.LoginResult, error)
	StartLogin(ctx context.Context, r authn.StartLoginRequest) (*authn.LoginResult, error)
	SubmitPassword(ctx context.Context, r authn.PasswordRequest) (*authn.LoginResult, error)
	RequestEmailCode(ctx context.Context, r authn.FlowRequest) (*authn.LoginResult, error)
	SubmitEmailCode(ctx context.Context, r authn.CodeRequest) (*authn.LoginResult, error)
}

// SecondFactor continues a flow with an authenticator.
type SecondFactor interface {
	SubmitTOTP(ctx context.Context, r authn.CodeRequest) (*authn.LoginResult, error)
	SubmitRecoveryCode(ctx context.Context, r authn.CodeRequest) (*authn.LoginResult, error)
}

// MagicLink is the magic link: redeemed by the client that asked for it,
// approved or denied anywhere else, and polled by the client that asked.
type MagicLink interface {
	ConsumeMagicLink(ctx context.Context, r authn.MagicLinkRequest) (*authn.LoginResult, error)
	ApproveMagicLink(ctx context.Context, r authn.MagicLinkRequest) (*authn.LoginResult, error)
	DenyMagicLink(ctx context.Context, r authn.MagicLinkRequest) error
	PollLogin(ctx context.Context, r authn.FlowRequest) (*authn.LoginResult, error)
}

// PasswordReset is the forgotten-password flow.
type PasswordReset interface {
	RequestPasswordReset(ctx context.Context, r authn.PasswordResetRequest) error
	ResetPassword(ctx context.Context, r authn.ResetPasswordRequest) error
}

// SignIn is the sign-in flows proper: a first factor and, when asked
// for, a second.
type SignIn interface {
	FirstFactor
	SecondFactor
	MagicLink
	ConsentStep
	EnrolmentStep
}

// EnrolmentStep continues a sign-in held until the account enrols an
// authenticator app (mfa_enrolment_required, after an MFA reset).
type EnrolmentStep interface {
	BeginLoginTOTP(ctx context.Context, flowID string) (*authn.TOTPEnrollment, error)
	ConfirmLoginTOTP(ctx context.Context, r authn.ConfirmLoginTOTPRequest) (*authn.LoginResult, error)
}

// ConsentStep continues a sign-in held for the required consents
// (consent_required).
type ConsentStep interface {
	AcceptConsents(ctx context.Context, r authn.AcceptConsentsRequest) (*authn.LoginResult, error)
}

var (
	_ Registration  = (*authn.Registration)(nil)
	_ SignIn        = (*authn.SignIn)(nil)
	_ PasswordReset = (*authn.Recovery)(nil)
)

// registerBody is the 202 body of POST /v1/register.
type registerBody struct {
	VerificationSent bool `json:"verification_sent"`
	// RegistrationSecret is the registration binding for an app (bearer
	// transport), to send back with the verification link; a browser
	// gets it as the RegistrationCookie instead.
	RegistrationSecret string `json:"registration_secret,omitempty"`
}

// register creates the account and hands the registering client its
// binding, in the transport it asked for: a browser the cookie it cannot
// read, an app the secret in the body. New and taken addresses get one
// alike.
func (s *Server) register(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	consents, err := s.dec.DecodeConsents(c.Request().Body(), false, false)
	if err != nil {
		return err
	}
	res, err := s.registration.Register(c.UserContext(), authn.RegisterRequest{Email: b.Email, Password: b.Password,
		Consents: consents, Client: cl})
	if err != nil {
		return err
	}
	out := registerBody{VerificationSent: res.VerificationSent}
	if wantsBearer(c) {
		out.RegistrationSecret = res.Binding
	} else {
		setRegistrationCookie(c, res.Binding, res.BindingExpiresAt)
	}
	return writeJSON(c, http.StatusAccepted, out)
}

// verifyBody is the 200 body of POST /v1/verify-email.
type verifyBody struct {
	OK bool `json:"ok"`
	// Status is "verified" (the account is as it was registered) or
	// "set_password" (opened elsewhere: what was set before is gone, and
	// PasswordToken sets the password through POST /v1/password/reset).
	Status                 string     `json:"status"`
	PasswordToken          string     `json:"password_token,omitempty"`
	PasswordTokenExpiresAt *time.Time `json:"password_token_expires_at,omitempty"`
}

// verifyEmail redeems the link with the client's registration binding:
// the app's registration_secret, else the browser's cookie, which is
// spent either way.
func (s *Server) verifyEmail(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	binding := b.RegistrationSecret
	if binding == "" {
		binding = c.Cookies(RegistrationCookie)
	}
	res, err := s.registration.VerifyEmail(c.UserContext(), authn.VerifyEmailRequest{Token: b.Token, Binding: binding, Client: cl})
	if err != nil {
		return err
	}
	if c.Cookies(RegistrationCookie) != "" {
		clearRegistrationCookie(c)
	}
	out := verifyBody{OK: true, Status: "verified"}
	if res.PasswordToken != "" {
		t := res.PasswordTokenExpiresAt.UTC()
		out.Status, out.PasswordToken, out.PasswordTokenExpiresAt = "set_password", res.PasswordToken, &t
	}
	return writeJSON(c, http.StatusOK, out)
}

// login is identifier-first sign-in: with a password it is one-shot, else
// it opens a flow that offers the first factors.
func (s *Server) login(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	ctx := c.UserContext()
	if b.Password != "" { // sent: the decoder refuses an empty one
		res, err := s.signin.Login(ctx, authn.LoginRequest{Identifier: b.Identifier, Password: b.Password, Client: cl})
		return s.loginAnswer(c, res, err)
	}
	res, err := s.signin.StartLogin(ctx, authn.StartLoginRequest{Identifier: b.Identifier, Client: cl})
	return s.loginAnswer(c, res, err)
}

func (s *Server) loginPassword(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	res, err := s.signin.SubmitPassword(c.UserContext(), authn.PasswordRequest{FlowID: b.FlowID, Password: b.Password, Client: cl})
	return s.loginAnswer(c, res, err)
}

func (s *Server) loginTOTP(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	res, err := s.signin.SubmitTOTP(c.UserContext(), authn.CodeRequest{FlowID: b.FlowID, Code: b.Code, Client: cl})
	return s.loginAnswer(c, res, err)
}

func (s *Server) loginRecoveryCode(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	res, err := s.signin.SubmitRecoveryCode(c.UserContext(), authn.CodeRequest{FlowID: b.FlowID, Code: b.Code, Client: cl})
	return s.loginAnswer(c, res, err)
}

func (s *Server) requestEmailCode(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	res, err := s.signin.RequestEmailCode(c.UserContext(), authn.FlowRequest{FlowID: b.FlowID, Client: cl})
	return s.loginAnswer(c, res, err)
}

func (s *Server) loginEmailCode(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	res, err := s.signin.SubmitEmailCode(c.UserContext(), authn.CodeRequest{FlowID: b.FlowID, Code: b.Code, Client: cl})
	return s.loginAnswer(c, res, err)
}

// magicLink is the request a magic-link route makes: the link, and what
// shows whether this client asked for it (an app's flow_id, a browser's
// flow cookie).
func magicLink(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) authn.MagicLinkRequest {
	return authn.MagicLinkRequest{Token: b.Token, FlowID: b.FlowID, Binding: c.Cookies(FlowCookie), Client: cl}
}

func (s *Server) loginMagicLink(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	res, err := s.signin.ConsumeMagicLink(c.UserContext(), magicLink(c, b, cl))
	return s.loginAnswer(c, res, err)
}

func (s *Server) approveMagicLink(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	res, err := s.signin.ApproveMagicLink(c.UserContext(), magicLink(c, b, cl))
	return s.loginAnswer(c, res, err)
}

func (s *Server) denyMagicLink(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	if err := s.signin.DenyMagicLink(c.UserContext(), magicLink(c, b, cl)); err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, okBody{OK: true})
}

// loginConsent accepts the consents a consent_required answer listed and
// continues the sign-in.
func (s *Server) loginConsent(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	consents, err := s.dec.DecodeConsents(c.Request().Body(), false, true)
	if err != nil {
		return err
	}
	res, err := s.signin.AcceptConsents(c.UserContext(), authn.AcceptConsentsRequest{FlowID: b.FlowID, Consents: consents, Client: cl})
	return s.loginAnswer(c, res, err)
}

// loginTOTPBegin starts the enrolment a mfa_enrolment_required answer
// asked for: the app's secret, shown once.
func (s *Server) loginTOTPBegin(c *fiber.Ctx, b *wire.AuthnBody, _ authn.Client) error {
	en, err := s.signin.BeginLoginTOTP(c.UserContext(), b.FlowID)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, totpBeginBody{FactorID: en.FactorID, URI: en.URI, QRPNG: en.QRPNG, Secret: en.Secret})
}

// loginTOTPConfirm confirms that app with its first code and ends the
// sign-in; the recovery codes come with the session, once.
func (s *Server) loginTOTPConfirm(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	res, err := s.signin.ConfirmLoginTOTP(c.UserContext(), authn.ConfirmLoginTOTPRequest{FlowID: b.FlowID, FactorID: b.FactorID,
		Code: b.Code, Client: cl})
	return s.loginAnswer(c, res, err)
}

func (s *Server) pollLogin(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	res, err := s.signin.PollLogin(c.UserContext(), authn.FlowRequest{FlowID: b.FlowID, Client: cl})
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
		out.Session = issue(c, res.Session)
	}
	if res.Binding != "" && !wantsBearer(c) {
		setFlowCookie(c, res.Binding, res.FlowExpiresAt)
	}
	out.RecoveryCodes = res.RecoveryCodes
	if len(res.Consents) > 0 {
		out.Consents = purposesOf(res.Consents)
	}
	if a := res.Approval; a != nil {
		out.Approval = &approvalBody{Device: s.deviceLabel(a.UserAgent), IP: a.IP, Location: a.Location, ExpiresAt: a.ExpiresAt.UTC()}
		if !a.RequestedAt.IsZero() {
			t := a.RequestedAt.UTC()
			out.Approval.RequestedAt = &t
		}
	}
	return writeJSON(c, http.StatusOK, out)
}

func (s *Server) requestReset(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	if err := s.reset.RequestPasswordReset(c.UserContext(), authn.PasswordResetRequest{Email: b.Email, Client: cl}); err != nil {
		return err
	}
	return writeJSON(c, http.StatusAccepted, okBody{OK: true})
}

func (s *Server) resetPassword(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	err := s.reset.ResetPassword(c.UserContext(), authn.ResetPasswordRequest{Token: b.Token, NewPassword: b.NewPassword, Client: cl})
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, okBody{OK: true})
}
