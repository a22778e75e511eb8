package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/engine"
)

// UserAdmin is the user administration behind /v1/admin/users (issue 20);
// *authn.Admin implements it.
type UserAdmin interface {
	SearchUsers(ctx context.Context, q authn.UserQuery) (*authn.UserPage, error)
	ViewUser(ctx context.Context, userID string) (*authn.UserView, error)
	Act(ctx context.Context, action authn.AdminAction, userID string, by authn.Actor) (*authn.ActionResult, error)
	UpdateUserProfile(ctx context.Context, userID string, ifMatch int64, patch authn.ProfilePatch, by authn.Actor) (*authn.ProfileResult, error)
}

var _ UserAdmin = (*authn.Admin)(nil)

// userAction is one action route: its path segment, what it does and the
// scope it asks for.
type userAction struct {
	segment string
	action  authn.AdminAction
	scope   string
}

// userActions are the action routes, POST /v1/admin/users/{id}/<segment>.
// The helpdesk's (users:support) help the owner back in; the rest
// (users:admin) change who may use the account, or remove it.
var userActions = []userAction{
	{"disable", authn.ActionDisable, ScopeUsersAdmin},
	{"enable", authn.ActionEnable, ScopeUsersAdmin},
	{"unlock", authn.ActionUnlock, ScopeUsersSupport},
	{"reset-mfa", authn.ActionResetMFA, ScopeUsersSupport},
	{"revoke-sessions", authn.ActionRevokeSessions, ScopeUsersSupport},
	{"resend-verification", authn.ActionResendVerification, ScopeUsersSupport},
	{"mark-verified", authn.ActionMarkVerified, ScopeUsersAdmin},
	{"password-reset", authn.ActionPasswordReset, ScopeUsersSupport},
	{"delete", authn.ActionDelete, ScopeUsersAdmin},
}

// userRoutes are the user administration's entries of the route table.
func (s *Server) userRoutes(admin func(method, path, scope string, h fiber.Handler) route) []route {
	rs := []route{
		admin(http.MethodGet, "/v1/admin/users", ScopeUsersRead, s.needUsers(s.searchUsers)),
		admin(http.MethodGet, "/v1/admin/users/:id", ScopeUsersRead, s.needUsers(s.viewUser)),
		admin(http.MethodPost, "/v1/admin/users/import", ScopeUsersAdmin, s.needUsers(s.importUsers)),
		admin(http.MethodPatch, "/v1/admin/users/:id/profile", ScopeUsersSupport, s.needUsers(s.patchUserProfile)),
	}
	for _, a := range userActions {
		rs = append(rs, admin(http.MethodPost, "/v1/admin/users/:id/"+a.segment, a.scope, s.needUsers(s.userAction(a.action))))
	}
	return rs
}

// needUsers answers 404 on the user routes of a server without the user
// administration (a risk-check-only deployment).
func (s *Server) needUsers(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.users == nil {
			return apiErr(CodeNotFound, "no such route")
		}
		return h(c)
	}
}

// userSummary is an account as lists show it.
type userSummary struct {
	ID              string     `json:"id"`
	Email           string     `json:"email"`
	Status          string     `json:"status"`
	EmailVerifiedAt *time.Time `json:"email_verified_at"`
	Disabled        bool       `json:"disabled"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func summarize(u authn.User) userSummary {
	st := authn.StatusActive
	switch {
	case u.Disabled:
		st = authn.StatusDisabled
	case u.EmailVerifiedAt.IsZero():
		st = authn.StatusUnverified
	}
	return userSummary{ID: u.ID, Email: u.Email, Status: string(st), EmailVerifiedAt: optTime(u.EmailVerifiedAt),
		Disabled: u.Disabled, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

// searchBody is the body of GET /v1/admin/users.
type searchBody struct {
	Users []userSummary `json:"users"`
	// NextCursor continues the search (?cursor=); absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// The cursor is the last account of a page, (created_at, id), opaque to
// clients: base64url of "<unix ms>.<id>".
func encodeCursor(u authn.User) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(u.CreatedAt.UnixMilli(), 10) + "." + u.ID))
}

func decodeCursor(s string) (time.Time, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", false
	}
	msStr, id, ok := strings.Cut(string(b), ".")
	ms, err := strconv.ParseInt(msStr, 10, 64)
	if !ok || err != nil || id == "" || len(id) > 128 {
		return time.Time{}, "", false
	}
	return time.UnixMilli(ms).UTC(), id, true
}

func (s *Server) searchUsers(c *fiber.Ctx) error {
	q := authn.UserQuery{ID: c.Query("id"), EmailPrefix: c.Query("email"), Status: authn.UserStatus(c.Query("status")),
		Attribute: c.Query("attribute")}
	var fs []engine.FieldError
	bad := func(field, msg string) { fs = append(fs, engine.FieldError{Field: field, Message: msg}) }
	if c.Request().URI().QueryArgs().Has("value") {
		q.AttributeValue = c.Query("value") // authn converts it to the attribute's type
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"created_from", &q.CreatedFrom}, {"created_before", &q.CreatedBefore}} {
		if v := c.Query(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				bad(p.name, "an RFC 3339 time, e.g. 2026-12-01T00:00:00Z")
			}
			*p.dst = t
		}
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > authn.MaxPageSize {
			bad("limit", fmt.Sprintf("an integer from 1 to %d", authn.MaxPageSize))
		}
		q.Limit = n
	}
	if v := c.Query("cursor"); v != "" {
		at, id, ok := decodeCursor(v)
		if !ok {
			bad("cursor", "not a cursor this API returned")
		}
		q.AfterCreated, q.AfterID = at, id
	}
	switch q.Status {
	case "", authn.StatusActive, authn.StatusUnverified, authn.StatusDisabled:
	default:
		bad("status", "one of active, unverified, disabled")
	}
	if len(fs) > 0 {
		return invalid(fs)
	}
	page, err := s.users.SearchUsers(c.UserContext(), q)
	if err != nil {
		return err
	}
	body := searchBody{Users: make([]userSummary, len(page.Users))}
	for i, u := range page.Users {
		body.Users[i] = summarize(u)
	}
	if page.More && len(page.Users) > 0 {
		body.NextCursor = encodeCursor(page.Users[len(page.Users)-1])
	}
	return writeJSON(c, http.StatusOK, body)
}

// actionRequest is the body of every action route.
type actionRequest struct {
	// Reason is why, for the audit trail (required).
	Reason string `json:"reason"`
}

// actionBody is the 200 body of an action route.
type actionBody struct {
	Action          string `json:"action"`
	UserID          string `json:"user_id"`
	Changed         bool   `json:"changed"`
	SessionsRevoked int    `json:"sessions_revoked"`
	FailuresCleared int64  `json:"failures_cleared"`
	FactorsRemoved  int    `json:"factors_removed"`
	MailSent        bool   `json:"mail_sent"`
	// EnrolmentRequired: the owner's next sign-in enrols an app first
	// (reset-mfa).
	EnrolmentRequired bool `json:"enrolment_required"`
}

func (s *Server) userAction(a authn.AdminAction) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req actionRequest
		if err := decodeAdminJSON(c, &req); err != nil {
			return err
		}
		by := authn.Actor{Name: adminName(c), Reason: req.Reason,
			Client: authn.Client{IP: s.clientIP(c), UserAgent: string(c.Request().Header.UserAgent())}}
		res, err := s.users.Act(c.UserContext(), a, c.Params("id"), by)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, actionBody{Action: string(res.Action), UserID: res.UserID, Changed: res.Changed,
			SessionsRevoked: res.SessionsRevoked, FailuresCleared: res.FailuresCleared, FactorsRemoved: res.FactorsRemoved,
			MailSent: res.MailSent, EnrolmentRequired: res.EnrolmentRequired})
	}
}

// decodeAdminJSON decodes a small JSON request body of the user
// administration into v strictly: JSON content type, identity encoding,
// one object, no unknown fields.
func decodeAdminJSON(c *fiber.Ctx, v any) error {
	if err := checkEncoding(c); err != nil {
		return err
	}
	mt, _, err := mime.ParseMediaType(string(c.Request().Header.ContentType()))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return apiErr(CodeUnsupportedMediaType, "send the body as application/json")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Request().Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &ute):
			return invalid([]engine.FieldError{{Field: ute.Field, Message: "wrong type"}})
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return invalid([]engine.FieldError{{Field: strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), Message: "unknown field"}})
		}
		return apiErr(CodeMalformedJSON, "the body is not one JSON object")
	}
	if rest := c.Request().Body()[dec.InputOffset():]; len(bytes.TrimSpace(rest)) > 0 {
		return apiErr(CodeMalformedJSON, "the body is not one JSON object")
	}
	return nil
}
