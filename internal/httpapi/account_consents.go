package httpapi

import (
	"context"
	"mime"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/httpapi/wire"
)

// The consent half of the self-service API (issue 19): the caller's
// consents, each purpose's state and the whole append-only ledger
// (GET /v1/account/consents), a grant (POST) and a withdrawal (DELETE
// /v1/account/consents/{purpose}) — as easy as the grant, no
// re-authentication — and the communication preferences (GET and PATCH
// /v1/account/preferences, a merge patch with an ETag like the profile's).

// Consents are the caller's consents and preferences; *authn.SelfService
// implements it.
type Consents interface {
	Consents(ctx context.Context, sessionToken string) (*authn.ConsentView, error)
	GrantConsents(ctx context.Context, r authn.GrantConsentsRequest) (*authn.ConsentView, error)
	WithdrawConsent(ctx context.Context, sessionToken, purpose string, c authn.Client) (*authn.ConsentView, error)
	Preferences(ctx context.Context, sessionToken string) (*authn.PreferencesView, error)
	UpdatePreferences(ctx context.Context, r authn.UpdatePreferencesRequest) (*authn.PreferencesView, error)
}

type (
	purposeBody struct {
		Purpose        string     `json:"purpose"`
		Required       bool       `json:"required"`
		Description    string     `json:"description,omitempty"`
		CurrentVersion int        `json:"current_version"`
		URL            string     `json:"url,omitempty"`
		Text           string     `json:"text,omitempty"`
		Granted        bool       `json:"granted"`
		GrantedVersion int        `json:"granted_version,omitempty"`
		At             *time.Time `json:"at,omitempty"`
		Outdated       bool       `json:"outdated"`
		Pending        bool       `json:"pending"`
	}
	consentEntryBody struct {
		ID        string    `json:"id"`
		Purpose   string    `json:"purpose"`
		Version   int       `json:"version"`
		Action    string    `json:"action"`
		At        time.Time `json:"at"`
		Source    string    `json:"source"`
		App       string    `json:"app,omitempty"`
		IP        string    `json:"ip,omitempty"`
		UserAgent string    `json:"user_agent,omitempty"`
	}
	consentsBody struct {
		Purposes []purposeBody      `json:"purposes"`
		History  []consentEntryBody `json:"history"`
	}
	preferencesBody struct {
		Channels  []string      `json:"channels"`
		Topics    []string      `json:"topics"`
		Language  string        `json:"language"`
		Version   int64         `json:"version"`
		UpdatedAt *time.Time    `json:"updated_at,omitempty"`
		Available availableBody `json:"available"`
	}
	availableBody struct {
		Channels  []string `json:"channels"`
		Topics    []string `json:"topics"`
		Languages []string `json:"languages"`
	}
)

// purposesOf renders purpose states (also for consent_required).
func purposesOf(ps []authn.PurposeState) []purposeBody {
	out := make([]purposeBody, len(ps))
	for i, p := range ps {
		b := purposeBody{Purpose: p.Purpose.Name, Required: p.Purpose.Required, Description: p.Purpose.Description,
			CurrentVersion: p.Current.Version, URL: p.Current.URL, Text: p.Current.Text, Granted: p.Granted,
			GrantedVersion: p.GrantedVersion, Outdated: p.Outdated, Pending: p.Pending()}
		if !p.At.IsZero() {
			t := p.At.UTC()
			b.At = &t
		}
		out[i] = b
	}
	return out
}

func consentsOf(v *authn.ConsentView) consentsBody {
	b := consentsBody{Purposes: purposesOf(v.Purposes), History: make([]consentEntryBody, len(v.History))}
	for i, r := range v.History {
		b.History[i] = consentEntryBody{ID: r.ID, Purpose: r.Purpose, Version: r.Version, Action: string(r.Action), At: r.At.UTC(),
			Source: r.Source, App: r.App, IP: r.IP, UserAgent: r.UserAgent}
	}
	return b
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func preferencesOf(v *authn.PreferencesView) preferencesBody {
	p := v.Preferences
	b := preferencesBody{Channels: nonNil(p.Channels), Topics: nonNil(p.Topics), Language: p.Language, Version: p.Version,
		Available: availableBody{Channels: nonNil(v.Spec.Channels), Topics: nonNil(v.Spec.Topics), Languages: nonNil(v.Spec.Languages)}}
	if !p.UpdatedAt.IsZero() {
		t := p.UpdatedAt.UTC()
		b.UpdatedAt = &t
	}
	return b
}

func (s *Server) getConsents(c *fiber.Ctx) error {
	v, err := s.self.Consents(c.UserContext(), sessionToken(c))
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, consentsOf(v))
}

func (s *Server) grantConsents(c *fiber.Ctx) error {
	if !jsonContentType(c.Request().Header.ContentType()) {
		return apiErr(CodeUnsupportedMediaType, "send the body as Content-Type: application/json")
	}
	choices, err := s.dec.DecodeConsents(c.Request().Body(), true, true)
	if err != nil {
		return err
	}
	cl, err := s.client(c, &wire.Client{})
	if err != nil {
		return err
	}
	v, err := s.self.GrantConsents(c.UserContext(), authn.GrantConsentsRequest{SessionToken: sessionToken(c), Consents: choices, Client: cl})
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, consentsOf(v))
}

func (s *Server) withdrawConsent(c *fiber.Ctx) error {
	purpose := c.Params("purpose")
	if purpose == "" || len(purpose) > 64 {
		return apiErr(CodeNotFound, "no such purpose")
	}
	cl, err := s.client(c, &wire.Client{})
	if err != nil {
		return err
	}
	v, err := s.self.WithdrawConsent(c.UserContext(), sessionToken(c), purpose, cl)
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, consentsOf(v))
}

func (s *Server) getPreferences(c *fiber.Ctx) error {
	v, err := s.self.Preferences(c.UserContext(), sessionToken(c))
	if err != nil {
		return sessionError(c, err)
	}
	c.Set(fiber.HeaderETag, etag(v.Preferences.Version))
	return writeJSON(c, http.StatusOK, preferencesOf(v))
}

// patchPreferences applies a JSON merge patch to the preferences, made
// against the version in If-Match (428 without, 412 when stale).
func (s *Server) patchPreferences(c *fiber.Ctx) error {
	if mt, _, err := mime.ParseMediaType(string(c.Request().Header.ContentType())); err != nil ||
		(mt != "application/merge-patch+json" && !jsonContentType(c.Request().Header.ContentType())) {
		return apiErr(CodeUnsupportedMediaType, "send the patch as Content-Type: application/merge-patch+json or application/json")
	}
	version, ok := ifMatch(c.Get(fiber.HeaderIfMatch))
	if !ok {
		return apiErr(CodePreconditionRequired, `say which version you are changing: If-Match: "<ETag of GET /v1/account/preferences>"`)
	}
	patch, err := s.dec.DecodePreferencesPatch(c.Request().Body())
	if err != nil {
		return err
	}
	cl, err := s.client(c, &wire.Client{})
	if err != nil {
		return err
	}
	if version == -2 {
		// A stale tag is a 412 only for someone signed in.
		if _, err := s.self.Preferences(c.UserContext(), sessionToken(c)); err != nil {
			return sessionError(c, err)
		}
		return apiErr(CodePreconditionFailed, "the preferences changed since they were read; read them again and retry")
	}
	v, err := s.self.UpdatePreferences(c.UserContext(), authn.UpdatePreferencesRequest{SessionToken: sessionToken(c),
		IfMatch: version, Patch: patch, Client: cl})
	if err != nil {
		return sessionError(c, err)
	}
	c.Set(fiber.HeaderETag, etag(v.Preferences.Version))
	return writeJSON(c, http.StatusOK, preferencesOf(v))
}
