package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/httpapi/wire"
)

// The email change (issue 19): POST /v1/account/email asks, behind a
// fresh re-authentication, for the account to move to a new address; the
// links mailed for it land on POST /v1/account/email/confirm (the new
// address's proof, or the current address's approval of a risky request)
// and POST /v1/account/email/undo (the old address takes it back).

// EmailChanges is the email change; *authn.SelfService implements it.
type EmailChanges interface {
	ChangeEmail(ctx context.Context, r authn.ChangeEmailRequest) (*authn.ChangeEmailResult, error)
	ConfirmEmailChange(ctx context.Context, r authn.EmailLinkRequest) (authn.EmailChangeStatus, error)
	UndoEmailChange(ctx context.Context, r authn.EmailLinkRequest) (*authn.UndoEmailChangeResult, error)
}

type (
	emailChangeBody struct {
		OK               bool      `json:"ok"`
		ApprovalRequired bool      `json:"approval_required"`
		ExpiresAt        time.Time `json:"expires_at"`
	}
	emailConfirmBody struct {
		OK     bool   `json:"ok"`
		Status string `json:"status"`
	}
	emailUndoBody struct {
		OK              bool `json:"ok"`
		SessionsRevoked int  `json:"sessions_revoked"`
		ResetSent       bool `json:"reset_sent"`
	}
)

func (s *Server) changeEmail(c *fiber.Ctx) error {
	if !jsonContentType(c.Request().Header.ContentType()) {
		return apiErr(CodeUnsupportedMediaType, "send the body as Content-Type: application/json")
	}
	email, err := s.dec.DecodeNewEmail(c.Request().Body())
	if err != nil {
		return err
	}
	cl, err := s.client(c, &wire.Client{})
	if err != nil {
		return err
	}
	res, err := s.self.ChangeEmail(c.UserContext(), authn.ChangeEmailRequest{SessionToken: sessionToken(c), NewEmail: email, Client: cl})
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusAccepted, emailChangeBody{OK: true, ApprovalRequired: res.ApprovalRequired, ExpiresAt: res.ExpiresAt.UTC()})
}

func (s *Server) confirmEmailChange(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	st, err := s.self.ConfirmEmailChange(c.UserContext(), authn.EmailLinkRequest{Token: b.Token, Client: cl})
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, emailConfirmBody{OK: true, Status: string(st)})
}

func (s *Server) undoEmailChange(c *fiber.Ctx, b *wire.AuthnBody, cl authn.Client) error {
	res, err := s.self.UndoEmailChange(c.UserContext(), authn.EmailLinkRequest{Token: b.Token, Client: cl})
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, emailUndoBody{OK: true, SessionsRevoked: res.SessionsRevoked, ResetSent: res.ResetSent})
}
