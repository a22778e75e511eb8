package httpapi

import (
	"context"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/httpapi/wire"
)

// The profile half of the self-service API (issue 19): GET and PATCH
// /v1/account. The account is one resource: who the user is to the
// service (read-only here) and their profile, whose fields sit at the top
// level so that a PATCH is a JSON merge patch of what a GET returned. The
// ETag is the profile's version; a PATCH must say which version it was
// made against (If-Match), so that two tabs cannot silently overwrite each
// other: 428 without If-Match, 412 when another write came first.

// Profiles is the profile of the caller's account; *authn.SelfService
// implements it.
type Profiles interface {
	Account(ctx context.Context, sessionToken string) (*authn.AccountView, error)
	UpdateProfile(ctx context.Context, r authn.UpdateProfileRequest) (*authn.AccountView, error)
	// TokenAttributes are the attributes declared in_tokens, for the
	// access tokens of POST /v1/token.
	TokenAttributes(ctx context.Context, userID string) (map[string]any, error)
}

var _ SelfService = (*authn.SelfService)(nil)

type (
	// accountBody is GET /v1/account: the account and, at the top level,
	// the profile fields a PATCH may change.
	accountBody struct {
		UserID          string         `json:"user_id"`
		Email           string         `json:"email"`
		EmailVerified   bool           `json:"email_verified"`
		CreatedAt       time.Time      `json:"created_at"`
		DisplayName     string         `json:"display_name"`
		GivenName       string         `json:"given_name"`
		FamilyName      string         `json:"family_name"`
		Locale          string         `json:"locale"`
		TimeZone        string         `json:"time_zone"`
		Attributes      map[string]any `json:"attributes"`
		Version         int64          `json:"version"`
		UpdatedAt       *time.Time     `json:"updated_at,omitempty"`
		AttributeSchema []attrDefBody  `json:"attribute_definitions"`
	}
	// attrDefBody describes one declared attribute, so that a form can be
	// built from the answer.
	attrDefBody struct {
		Name         string   `json:"name"`
		Type         string   `json:"type"`
		UserEditable bool     `json:"user_editable"`
		PersonalData bool     `json:"personal_data"`
		MaxLength    int      `json:"max_length,omitempty"`
		Values       []string `json:"values,omitempty"`
		Min          *float64 `json:"min,omitempty"`
		Max          *float64 `json:"max,omitempty"`
	}
)

func accountOf(v *authn.AccountView) accountBody {
	p := v.Profile
	b := accountBody{UserID: v.UserID, Email: v.Email, EmailVerified: !v.EmailVerifiedAt.IsZero(), CreatedAt: v.CreatedAt.UTC(),
		DisplayName: p.DisplayName, GivenName: p.GivenName, FamilyName: p.FamilyName, Locale: p.Locale, TimeZone: p.TimeZone,
		Attributes: p.Attributes, Version: p.Version, AttributeSchema: make([]attrDefBody, len(v.Attributes))}
	if b.Attributes == nil {
		b.Attributes = map[string]any{}
	}
	if !p.UpdatedAt.IsZero() {
		t := p.UpdatedAt.UTC()
		b.UpdatedAt = &t
	}
	for i, a := range v.Attributes {
		b.AttributeSchema[i] = attrDefBody{Name: a.Name, Type: string(a.Type), UserEditable: a.UserEditable, PersonalData: a.PersonalData,
			MaxLength: a.MaxLength, Values: a.Values, Min: a.Min, Max: a.Max}
	}
	return b
}

// etag is the profile version as a strong entity tag.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch reads If-Match: "*" is any version, a strong tag of a version
// is that version. Anything else (a list, a weak tag, a tag this server
// never issued) can match no version: -2.
func ifMatch(h string) (version int64, present bool) {
	h = strings.TrimSpace(h)
	switch {
	case h == "":
		return 0, false
	case h == "*":
		return authn.AnyVersion, true
	}
	if len(h) < 3 || h[0] != '"' || h[len(h)-1] != '"' {
		return -2, true
	}
	v, err := strconv.ParseInt(h[1:len(h)-1], 10, 64)
	if err != nil || v < 0 {
		return -2, true
	}
	return v, true
}

func (s *Server) getAccount(c *fiber.Ctx) error {
	v, err := s.self.Account(c.UserContext(), sessionToken(c))
	if err != nil {
		return sessionError(c, err)
	}
	c.Set(fiber.HeaderETag, etag(v.Profile.Version))
	return writeJSON(c, http.StatusOK, accountOf(v))
}

// patchAccount applies a JSON merge patch (application/merge-patch+json,
// or application/json) to the profile.
func (s *Server) patchAccount(c *fiber.Ctx) error {
	if mt, _, err := mime.ParseMediaType(string(c.Request().Header.ContentType())); err != nil ||
		(mt != "application/merge-patch+json" && !jsonContentType(c.Request().Header.ContentType())) {
		return apiErr(CodeUnsupportedMediaType, "send the patch as Content-Type: application/merge-patch+json or application/json")
	}
	version, ok := ifMatch(c.Get(fiber.HeaderIfMatch))
	if !ok {
		return apiErr(CodePreconditionRequired, `say which version you are changing: If-Match: "<ETag of GET /v1/account>"`)
	}
	patch, err := s.dec.DecodeProfilePatch(c.Request().Body())
	if err != nil {
		return err
	}
	cl, err := s.client(c, &wire.Client{})
	if err != nil {
		return err
	}
	if version == -2 {
		// Still resolve the session first: a stale tag is a 412 only for
		// someone signed in.
		if _, err := s.self.Account(c.UserContext(), sessionToken(c)); err != nil {
			return sessionError(c, err)
		}
		return apiErr(CodePreconditionFailed, "the account changed since it was read; read it again and retry")
	}
	v, err := s.self.UpdateProfile(c.UserContext(), authn.UpdateProfileRequest{SessionToken: sessionToken(c), IfMatch: version,
		Patch: patch, Client: cl})
	if err != nil {
		return sessionError(c, err)
	}
	c.Set(fiber.HeaderETag, etag(v.Profile.Version))
	return writeJSON(c, http.StatusOK, accountOf(v))
}
