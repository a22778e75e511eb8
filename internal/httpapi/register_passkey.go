package httpapi

import (
	"context"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/httpapi/wire"
)

// Registration of a passkey-only account (issue 21): POST
// /v1/register/passkey creates the account without a password, as
// /v1/register does (the same answer for a taken address), and begins the
// ceremony of its passkey; POST /v1/register/passkey/finish stores it.

// PasskeySignup registers accounts that live on a passkey;
// *authn.Passkeys implements it.
type PasskeySignup interface {
	RegisterWithPasskey(ctx context.Context, r authn.RegisterRequest) (*authn.PasskeyRegistration, error)
	FinishPasskeySignup(ctx context.Context, r authn.FinishPasskeyRequest) error
}

// registerPasskeyJSON is the 202 of POST /v1/register/passkey: the
// registration's answer and the ceremony of the passkey.
type registerPasskeyJSON struct {
	VerificationSent   bool         `json:"verification_sent"`
	RegistrationSecret string       `json:"registration_secret,omitempty"`
	Ceremony           ceremonyBody `json:"passkey"`
}

// registerWithPasskey creates the account and answers the ceremony that
// gives it its passkey, with the registration binding as /v1/register
// hands it out (cookie, or registration_secret to an app).
func (s *Server) registerWithPasskey(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	consents, err := s.dec.DecodeConsents(c.Request().Body(), false, false)
	if err != nil {
		return err
	}
	pr, err := s.passkeys.RegisterWithPasskey(c.UserContext(), authn.RegisterRequest{Email: b.Email, Consents: consents, Client: cl})
	if err != nil {
		return err
	}
	out := registerPasskeyJSON{VerificationSent: pr.VerificationSent,
		Ceremony: ceremonyBody{Ceremony: pr.Ceremony.Handle, Options: pr.Ceremony.Options, ExpiresAt: pr.Ceremony.ExpiresAt.UTC()}}
	if wantsBearer(c) {
		out.RegistrationSecret = pr.Binding
	} else {
		setRegistrationCookie(c, pr.Binding, pr.BindingExpiresAt)
	}
	return writeJSON(c, http.StatusAccepted, out)
}

// finishPasskeySignup stores the new account's passkey; a taken
// address's answer is verified and dropped, with the same 200.
func (s *Server) finishPasskeySignup(c *fiber.Ctx) error {
	b, cl, err := s.decodePasskey(c)
	if err != nil {
		return err
	}
	if err := requireCeremony(b); err != nil {
		return err
	}
	if err := s.passkeys.FinishPasskeySignup(c.UserContext(), authn.FinishPasskeyRequest{Handle: b.Ceremony, Response: b.Credential,
		Name: b.Name, Client: cl}); err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, okBody{OK: true})
}
