package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/foreignhash"
	"github.com/riskauth/riskauth/authn/userimport"
	"github.com/riskauth/riskauth/engine"
)

// UserImporter imports batches of the migration format (issue 20);
// *authn.Admin implements it.
type UserImporter interface {
	ImportUsers(ctx context.Context, lines []authn.ImportLine, o userimport.Options, dryRun bool, by authn.Actor) ([]authn.ImportResult, error)
}

var _ UserImporter = (*authn.Admin)(nil)

// importRequest is the body of POST /v1/admin/users/import: a batch of
// lines of the import file (docs/migration.md) as JSON values, the number
// of the first one in the file (for the report), the Firebase project's
// parameters when lines need them, and the reason.
type importRequest struct {
	Reason    string            `json:"reason"`
	DryRun    bool              `json:"dry_run"`
	FirstLine int               `json:"first_line"`
	Firebase  *firebaseParams   `json:"firebase"`
	Users     []json.RawMessage `json:"users"`
}

type firebaseParams struct {
	SignerKey     string `json:"signer_key"`
	SaltSeparator string `json:"salt_separator"`
	Rounds        int    `json:"rounds"`
	MemCost       int    `json:"mem_cost"`
}

type importResult struct {
	Line   int    `json:"line"`
	Status string `json:"status"` // created, existing, conflict, invalid
	UserID string `json:"user_id,omitempty"`
	Reason string `json:"reason,omitempty"`
	// SignInsLearned counts the past sign-ins the engine learned;
	// Warning says why they were not (the account was created).
	SignInsLearned int    `json:"sign_ins_learned,omitempty"`
	Warning        string `json:"warning,omitempty"`
}

type importBody struct {
	DryRun  bool           `json:"dry_run"`
	Results []importResult `json:"results"`
}

func (s *Server) importUsers(c *fiber.Ctx) error {
	imp, ok := s.users.(UserImporter)
	if !ok {
		return apiErr(CodeNotFound, "no such route")
	}
	var req importRequest
	if err := decodeAdminJSON(c, &req); err != nil {
		return err
	}
	if len(req.Users) == 0 || len(req.Users) > authn.MaxImportBatch {
		return invalid([]engine.FieldError{{Field: "users", Message: "1 to 5000 lines of the import format"}})
	}
	var o userimport.Options
	if f := req.Firebase; f != nil {
		o.Firebase = &foreignhash.FirebaseParams{SignerKey: f.SignerKey, SaltSeparator: f.SaltSeparator, Rounds: f.Rounds, MemCost: f.MemCost}
	}
	lines := make([]authn.ImportLine, len(req.Users))
	for i, u := range req.Users {
		lines[i] = authn.ImportLine{N: req.FirstLine + i, Data: u}
	}
	by := authn.Actor{Name: adminName(c), Reason: req.Reason,
		Client: authn.Client{IP: s.clientIP(c), UserAgent: string(c.Request().Header.UserAgent())}}
	res, err := imp.ImportUsers(c.UserContext(), lines, o, req.DryRun, by)
	if err != nil {
		return err
	}
	body := importBody{DryRun: req.DryRun, Results: make([]importResult, len(res))}
	for i, r := range res {
		st := string(r.Status)
		if st == "" {
			st = "invalid"
		}
		body.Results[i] = importResult{Line: r.Line, Status: st, UserID: r.UserID, Reason: r.Reason,
			SignInsLearned: r.SignInsLearned, Warning: r.Warning}
	}
	return writeJSON(c, http.StatusOK, body)
}
