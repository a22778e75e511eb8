package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/engine"
)

// PATCH /v1/admin/users/{id}/profile: support changes a customer's
// profile and sets the attributes the owner may not (a support tier, a
// CRM id). The body carries the reason beside the change, which is a JSON
// merge patch as the owner's own PATCH /v1/account takes; If-Match names
// the profile version read from the single customer view (428 without,
// 412 when the owner or another administrator wrote first).

// profileChangeRequest is the body of the admin profile change.
type profileChangeRequest struct {
	// Reason is why, for the audit trail (required).
	Reason string `json:"reason"`
	// Changes is the merge patch: standard fields and "attributes".
	Changes json.RawMessage `json:"changes"`
}

// profileChangeBody is its 200 answer.
type profileChangeBody struct {
	UserID  string        `json:"user_id"`
	Changed []string      `json:"changed"`
	Profile *adminProfile `json:"profile"`
}

func (s *Server) patchUserProfile(c *fiber.Ctx) error {
	version, ok := ifMatch(c.Get(fiber.HeaderIfMatch))
	if !ok {
		return apiErr(CodePreconditionRequired, `say which version you are changing: If-Match: "<profile.version of GET /v1/admin/users/{id}>"`)
	}
	var req profileChangeRequest
	if err := decodeAdminJSON(c, &req); err != nil {
		return err
	}
	if len(req.Changes) == 0 || string(req.Changes) == "null" {
		return invalid([]engine.FieldError{{Field: "changes", Message: "required: the merge patch to apply"}})
	}
	patch, err := s.dec.DecodeProfilePatch(req.Changes)
	if err != nil {
		return err
	}
	if version == -2 {
		return apiErr(CodePreconditionFailed, "the profile changed since it was read; read it again and retry")
	}
	by := authn.Actor{Name: adminName(c), Reason: req.Reason,
		Client: authn.Client{IP: s.clientIP(c), UserAgent: string(c.Request().Header.UserAgent())}}
	res, err := s.users.UpdateUserProfile(c.UserContext(), c.Params("id"), version, patch, by)
	if err != nil {
		return err
	}
	changed := res.Changed
	if changed == nil {
		changed = []string{}
	}
	c.Set(fiber.HeaderETag, etag(res.Profile.Version))
	return writeJSON(c, http.StatusOK, profileChangeBody{UserID: c.Params("id"), Changed: changed, Profile: adminProfileOf(res.Profile)})
}
