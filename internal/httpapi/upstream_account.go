package httpapi

import (
	"cmp"
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
)

// The linked identities half of the self-service API (issue 22): the
// accounts at upstream identity providers that sign in to this one,
// listed, and unlinked behind a fresh sign-in (never the last way in).

// UpstreamAccount is the owner's side of the linked identities;
// *authn.Account implements it.
type UpstreamAccount interface {
	Identities(ctx context.Context, sessionToken string) ([]authn.LinkedIdentity, error)
	UnlinkIdentity(ctx context.Context, r authn.UnlinkIdentityRequest) error
}

type (
	// identityBody is a linked identity as its owner and support see it.
	identityBody struct {
		ID         string    `json:"id"`
		Provider   string    `json:"provider"`
		Issuer     string    `json:"issuer"`
		Email      string    `json:"email"`
		LinkedAt   time.Time `json:"linked_at"`
		LastUsedAt time.Time `json:"last_used_at"`
	}
	identitiesBody struct {
		Identities []identityBody `json:"identities"`
	}
)

func identitiesOf(ids []authn.LinkedIdentity) []identityBody {
	out := make([]identityBody, len(ids))
	for i, li := range ids {
		out[i] = identityBody{ID: li.ID, Provider: li.Provider, Issuer: li.Issuer, Email: li.Email,
			LinkedAt: li.LinkedAt.UTC(), LastUsedAt: li.LastUsedAt.UTC()}
	}
	return out
}

// upstreamAccount is the account service as UpstreamAccount, nil when
// the account routes are off.
func (s *Server) upstreamAccount() UpstreamAccount {
	ua, _ := s.account.(UpstreamAccount)
	return ua
}

// listIdentities is GET /v1/account/identities.
func (s *Server) listIdentities(c *fiber.Ctx) error {
	ua := s.upstreamAccount()
	if ua == nil {
		return authnDisabled(c)
	}
	ids, err := ua.Identities(c.UserContext(), sessionToken(c))
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, identitiesBody{Identities: identitiesOf(ids)})
}

// unlinkIdentity is DELETE /v1/account/identities/:id.
func (s *Server) unlinkIdentity(c *fiber.Ctx) error {
	ua := s.upstreamAccount()
	if ua == nil {
		return authnDisabled(c)
	}
	id, err := pathID(c, "identity")
	if err != nil {
		return err
	}
	if err := ua.UnlinkIdentity(c.UserContext(), authn.UnlinkIdentityRequest{SessionToken: sessionToken(c), ID: id,
		Client: s.pageClient(c)}); err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, okBody{OK: true})
}

// identityRow is a linked identity on the account security page, with
// its provider's display name.
type identityRow struct {
	authn.LinkedIdentity
	Name string
}

// loadAccountIdentities is the security page's identities section: nil
// when the account has none.
func (s *Server) loadAccountIdentities(c *fiber.Ctx, tok string) ([]identityRow, error) {
	ua := s.upstreamAccount()
	if ua == nil {
		return nil, nil
	}
	ids, err := ua.Identities(c.UserContext(), tok)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	names := map[string]string{}
	if s.upstream != nil {
		for _, p := range s.upstream.Providers() {
			names[p.Name] = p.DisplayName
		}
	}
	out := make([]identityRow, len(ids))
	for i, li := range ids {
		out[i] = identityRow{LinkedIdentity: li, Name: cmp.Or(names[li.Provider], li.Provider)}
	}
	return out, nil
}
