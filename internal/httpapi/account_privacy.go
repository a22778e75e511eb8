package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/internal/httpapi/wire"
)

// The privacy rights half of the self-service API (issue 19): the data
// export (POST /v1/account/export mails a single-use link; GET
// /v1/account/export/download with it, signed in, downloads the bundle)
// and the erasure (DELETE /v1/account schedules it after the grace
// period; GET /v1/account/deletion shows it; POST
// /v1/account/deletion/cancel, or any sign-in, withdraws it). Asking for
// either needs a fresh session: 403 reauthentication_required otherwise.

// Privacy is the caller's export and erasure; *authn.SelfService
// implements it.
type Privacy interface {
	RequestExport(ctx context.Context, sessionToken string, c authn.Client) (*authn.ExportRequest, error)
	DownloadExport(ctx context.Context, sessionToken, linkToken string, c authn.Client) (*authn.ExportBundle, error)
	RequestDeletion(ctx context.Context, sessionToken string, c authn.Client) (*authn.DeletionRequest, error)
	DeletionStatus(ctx context.Context, sessionToken string) (*authn.DeletionRequest, error)
	CancelDeletion(ctx context.Context, sessionToken string, c authn.Client) (bool, error)
}

type (
	exportRequestedBody struct {
		// Status is "mailed": the link went to the account's address.
		Status    string `json:"status"`
		ExpiresIn int    `json:"expires_in"`
	}
	deletionBody struct {
		// Pending: an erasure is scheduled at DueAt.
		Pending     bool       `json:"pending"`
		RequestedAt *time.Time `json:"requested_at,omitempty"`
		DueAt       *time.Time `json:"due_at,omitempty"`
	}
	cancelledBody struct {
		Cancelled bool `json:"cancelled"`
	}
)

func deletionOf(r *authn.DeletionRequest) deletionBody {
	if r == nil {
		return deletionBody{}
	}
	req, due := r.RequestedAt.UTC(), r.DueAt.UTC()
	return deletionBody{Pending: true, RequestedAt: &req, DueAt: &due}
}

func (s *Server) requestExport(c *fiber.Ctx, _ *wire.AuthnBody, cl authn.Client) error {
	r, err := s.self.RequestExport(c.UserContext(), sessionToken(c), cl)
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusAccepted, exportRequestedBody{Status: "mailed", ExpiresIn: int(r.ExpiresIn.Seconds())})
}

// downloadExport answers the bundle as a JSON attachment. The token comes
// in the query of the mailed link; it is single use, so a copy left in a
// log or history is dead once used, and the answer keeps it from
// referrers and caches.
func (s *Server) downloadExport(c *fiber.Ctx) error {
	tok := c.Query("token")
	if tok == "" || len(tok) > wire.MaxSecretBytes {
		return invalid([]engine.FieldError{{Field: "token", Message: "the link's token is required"}})
	}
	cl, err := s.client(c, &wire.Client{})
	if err != nil {
		return err
	}
	b, err := s.self.DownloadExport(c.UserContext(), sessionToken(c), tok, cl)
	if err != nil {
		return sessionError(c, err)
	}
	return sendExport(c, b)
}

// sendExport answers the bundle as a JSON attachment (the API's download
// and the hosted page's).
func sendExport(c *fiber.Ctx, b *authn.ExportBundle) error {
	body, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("encode export: %w", err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="riskauth-export-`+b.GeneratedAt.Format("20060102")+`.json"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	return c.Status(http.StatusOK).Send(body)
}

func (s *Server) deleteAccount(c *fiber.Ctx) error {
	cl, err := s.client(c, &wire.Client{})
	if err != nil {
		return err
	}
	r, err := s.self.RequestDeletion(c.UserContext(), sessionToken(c), cl)
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusAccepted, deletionOf(r))
}

func (s *Server) deletionStatus(c *fiber.Ctx) error {
	r, err := s.self.DeletionStatus(c.UserContext(), sessionToken(c))
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, deletionOf(r))
}

func (s *Server) cancelDeletion(c *fiber.Ctx, _ *wire.AuthnBody, cl authn.Client) error {
	ok, err := s.self.CancelDeletion(c.UserContext(), sessionToken(c), cl)
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, cancelledBody{Cancelled: ok})
}
