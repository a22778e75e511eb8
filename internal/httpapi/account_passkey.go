package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/engine"
)

// The passkeys of the account API: list them (with the flag that tells
// the pages to offer creating one, once), register one (a ceremony:
// begin, then the browser's credential), rename and remove one. Removal
// needs a fresh session (403 reauthentication_required) and ends every
// other session, as removing any factor does.

// PasskeyAccount manages the caller's passkeys; *authn.Passkeys
// implements it.
type PasskeyAccount interface {
	ListPasskeys(ctx context.Context, sessionToken string) (*authn.PasskeyList, error)
	BeginPasskeyRegistration(ctx context.Context, sessionToken string) (*authn.PasskeyCeremony, error)
	FinishPasskeyRegistration(ctx context.Context, r authn.FinishPasskeyRequest) (*authn.PasskeyInfo, error)
	RenamePasskey(ctx context.Context, sessionToken, id, name string, c authn.Client) error
	RemovePasskey(ctx context.Context, r authn.RemovePasskeyRequest) (*authn.SessionRotation, error)
}

// PasskeyOffer records that the offer to create a passkey was made.
type PasskeyOffer interface {
	DismissPasskeyOffer(ctx context.Context, sessionToken string) error
}

type (
	passkeyInfoBody struct {
		ID             string     `json:"id"`
		Name           string     `json:"name"`
		CreatedAt      time.Time  `json:"created_at"`
		LastUsedAt     *time.Time `json:"last_used_at,omitempty"`
		BackupEligible bool       `json:"backup_eligible"`
		Synced         bool       `json:"synced"`
		Transports     []string   `json:"transports,omitempty"`
		CloneWarnings  int        `json:"clone_warnings"`
	}
	passkeysBody struct {
		Passkeys []passkeyInfoBody `json:"passkeys"`
		// OfferRegistration tells the pages to offer creating a passkey
		// now (once: dismiss or register records the offer).
		OfferRegistration bool `json:"offer_registration"`
	}
)

func passkeyJSON(p authn.PasskeyInfo) passkeyInfoBody {
	b := passkeyInfoBody{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt.UTC(), BackupEligible: p.BackupEligible, Synced: p.Synced,
		Transports: p.Transports, CloneWarnings: p.CloneWarnings}
	if !p.LastUsedAt.IsZero() {
		t := p.LastUsedAt.UTC()
		b.LastUsedAt = &t
	}
	return b
}

func (s *Server) listPasskeys(c *fiber.Ctx) error {
	l, err := s.passkeys.ListPasskeys(c.UserContext(), sessionToken(c))
	if err != nil {
		return sessionError(c, err)
	}
	out := passkeysBody{Passkeys: make([]passkeyInfoBody, len(l.Passkeys)), OfferRegistration: l.Offer}
	for i, p := range l.Passkeys {
		out.Passkeys[i] = passkeyJSON(p)
	}
	return writeJSON(c, http.StatusOK, out)
}

func (s *Server) beginPasskeyRegistration(c *fiber.Ctx) error {
	if _, _, err := s.decodePasskey(c); err != nil {
		return err
	}
	pc, err := s.passkeys.BeginPasskeyRegistration(c.UserContext(), sessionToken(c))
	if err != nil {
		return sessionError(c, err)
	}
	return ceremonyAnswer(c, pc)
}

func (s *Server) registerPasskey(c *fiber.Ctx) error {
	b, cl, err := s.decodePasskey(c)
	if err != nil {
		return err
	}
	if err := requireCeremony(b); err != nil {
		return err
	}
	info, err := s.passkeys.FinishPasskeyRegistration(c.UserContext(), authn.FinishPasskeyRequest{SessionToken: sessionToken(c),
		Handle: b.Ceremony, Response: b.Credential, Name: b.Name, Client: cl})
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusCreated, passkeyJSON(*info))
}

func (s *Server) renamePasskey(c *fiber.Ctx) error {
	id, err := pathID(c, "passkey")
	if err != nil {
		return err
	}
	b, cl, err := s.decodePasskey(c)
	if err != nil {
		return err
	}
	if b.Name == "" {
		return invalid([]engine.FieldError{{Field: "name", Message: "required"}})
	}
	if err := s.passkeys.RenamePasskey(c.UserContext(), sessionToken(c), id, b.Name, cl); err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, okBody{OK: true})
}

func (s *Server) removePasskey(c *fiber.Ctx) error {
	id, err := pathID(c, "passkey")
	if err != nil {
		return err
	}
	_, cl, err := s.decodePasskey(c)
	if err != nil {
		return err
	}
	rot, err := s.passkeys.RemovePasskey(c.UserContext(), authn.RemovePasskeyRequest{SessionToken: sessionToken(c), ID: id, Client: cl})
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, factorRemovedBody{OK: true, rotatedBody: rotated(c, rot)})
}

func (s *Server) dismissPasskeyOffer(c *fiber.Ctx) error {
	if _, _, err := s.decodePasskey(c); err != nil {
		return err
	}
	if err := s.passkeys.DismissPasskeyOffer(c.UserContext(), sessionToken(c)); err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, okBody{OK: true})
}
