package httpapi

import (
	"context"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
)

// Re-authentication with a passkey: the fresh proof that security
// changes need (403 reauthentication_required), given with one of the
// caller's passkeys instead of the password (and app code) of POST
// /v1/reauthenticate. The answer is the same: a new session at AAL2 that
// replaces the caller's.

// PasskeyReauth re-authenticates a session with a passkey;
// *authn.Passkeys implements it.
type PasskeyReauth interface {
	BeginPasskeyReauth(ctx context.Context, sessionToken string) (*authn.PasskeyCeremony, error)
	FinishPasskeyReauth(ctx context.Context, r authn.FinishPasskeyRequest) (*authn.IssuedSession, error)
}

func (s *Server) beginPasskeyReauth(c *fiber.Ctx) error {
	if _, _, err := s.decodePasskey(c); err != nil {
		return err
	}
	pc, err := s.passkeys.BeginPasskeyReauth(c.UserContext(), sessionToken(c))
	if err != nil {
		return sessionError(c, err)
	}
	return ceremonyAnswer(c, pc)
}

func (s *Server) passkeyReauth(c *fiber.Ctx) error {
	b, cl, err := s.decodePasskey(c)
	if err != nil {
		return err
	}
	if err := requireCeremony(b); err != nil {
		return err
	}
	is, err := s.passkeys.FinishPasskeyReauth(c.UserContext(), authn.FinishPasskeyRequest{SessionToken: sessionToken(c),
		Handle: b.Ceremony, Response: b.Credential, Client: cl})
	if err != nil {
		return sessionError(c, err)
	}
	if bearerToken(c) != "" {
		c.Request().Header.Set(HeaderSessionTransport, "bearer")
	}
	return writeJSON(c, http.StatusOK, loginBody{Status: string(authn.LoginAuthenticated), Session: issue(c, is)})
}
