package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn/oidc"
)

// The applications half of the self-service API (issue 22): the
// third-party OpenID Connect clients the user let in (consent), with the
// scopes and when, and their revocation, which ends the client's tokens.

type (
	appBody struct {
		ClientID  string    `json:"client_id"`
		Name      string    `json:"name"`
		Scopes    []string  `json:"scopes"`
		GrantedAt time.Time `json:"granted_at"`
	}
	appsBody struct {
		Apps []appBody `json:"apps"`
	}
)

// listApps is GET /v1/account/apps.
func (s *Server) listApps(c *fiber.Ctx) error {
	info, err := s.sessions.Authenticate(c.UserContext(), sessionToken(c))
	if err != nil {
		return sessionError(c, err)
	}
	out := appsBody{Apps: []appBody{}}
	if s.oidc == nil {
		return writeJSON(c, http.StatusOK, out)
	}
	apps, err := s.oidc.Apps(c.UserContext(), info.UserID)
	if err != nil {
		return err
	}
	for _, a := range apps {
		out.Apps = append(out.Apps, appBody{ClientID: a.ClientID, Name: a.ClientName, Scopes: a.Scopes, GrantedAt: a.GrantedAt.UTC()})
	}
	return writeJSON(c, http.StatusOK, out)
}

// revokeApp is DELETE /v1/account/apps/:id: the consent goes, and every
// token the client holds for the user is revoked.
func (s *Server) revokeApp(c *fiber.Ctx) error {
	id, err := pathID(c, "application")
	if err != nil {
		return err
	}
	info, err := s.sessions.Authenticate(c.UserContext(), sessionToken(c))
	if err != nil {
		return sessionError(c, err)
	}
	if s.oidc == nil {
		return apiErr(CodeNotFound, "no such application")
	}
	ctx := oidc.WithClient(c.UserContext(), s.oidcClient(c))
	if err := s.oidc.RevokeApp(ctx, info.UserID, info.ID, id); err != nil {
		if errors.Is(err, oidc.ErrNoConsent) {
			return apiErr(CodeNotFound, "no such application")
		}
		return err
	}
	return writeJSON(c, http.StatusOK, okBody{OK: true})
}
