package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/oidc"
	"github.com/riskauth/riskauth/engine"
)

// The OpenID Connect client registry (issue 22): /v1/admin/clients
// registers, lists, shows, changes (PATCH with If-Match, like the other
// admin resources) and deletes relying parties, and gives one a new
// secret (POST .../rotate-secret). The server makes every secret and
// shows it once, in the answer that made it. Configured clients are
// listed read-only. clients:read sees, clients:write changes; every
// change carries a reason and is audited by the provider.

// ClientAdmin is the registry as the admin API needs it; *oidc.Provider
// implements it.
type ClientAdmin interface {
	Clients(ctx context.Context) ([]oidc.ClientView, error)
	Client(ctx context.Context, id string) (*oidc.ClientView, error)
	CreateClient(ctx context.Context, cfg oidc.ClientConfig, by authn.Actor) (*oidc.ClientView, string, error)
	UpdateClient(ctx context.Context, id string, ifMatch int64, change func(*oidc.ClientConfig) error, by authn.Actor) (*oidc.ClientView, string, error)
	RotateClientSecret(ctx context.Context, id string, ifMatch int64, by authn.Actor) (*oidc.ClientView, string, error)
	DeleteClient(ctx context.Context, id string, by authn.Actor) error
}

var _ ClientAdmin = (*oidc.Provider)(nil)

// clientRoutes are the registry's entries of the route table.
func (s *Server) clientRoutes(admin func(method, path, scope string, h fiber.Handler) route) []route {
	return []route{
		admin(http.MethodGet, "/v1/admin/clients", ScopeClientsRead, s.needClients(s.listClients)),
		admin(http.MethodPost, "/v1/admin/clients", ScopeClientsWrite, s.needClients(s.createClient)),
		admin(http.MethodGet, "/v1/admin/clients/:id", ScopeClientsRead, s.needClients(s.getClient)),
		admin(http.MethodPatch, "/v1/admin/clients/:id", ScopeClientsWrite, s.needClients(s.patchClient)),
		admin(http.MethodDelete, "/v1/admin/clients/:id", ScopeClientsWrite, s.needClients(s.deleteClient)),
		admin(http.MethodPost, "/v1/admin/clients/:id/rotate-secret", ScopeClientsWrite, s.needClients(s.rotateClientSecret)),
	}
}

// needClients answers 404 on a server without the provider.
func (s *Server) needClients(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.clients == nil {
			return apiErr(CodeNotFound, "no such route")
		}
		return h(c)
	}
}

// clientFields are a registration's fields on the wire (RFC 7591's names
// where it has one). In a PATCH, the fields present replace the stored
// ones.
type clientFields struct {
	ClientID                *string         `json:"client_id,omitempty"`
	ClientName              *string         `json:"client_name,omitempty"`
	RedirectURIs            *[]string       `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs  *[]string       `json:"post_logout_redirect_uris,omitempty"`
	BackchannelLogoutURI    *string         `json:"backchannel_logout_uri,omitempty"`
	Scopes                  *[]string       `json:"scopes,omitempty"`
	GrantTypes              *[]string       `json:"grant_types,omitempty"`
	TokenEndpointAuthMethod *string         `json:"token_endpoint_auth_method,omitempty"`
	JWKS                    json.RawMessage `json:"jwks,omitempty"`
	Native                  *bool           `json:"native,omitempty"`
	FirstParty              *bool           `json:"first_party,omitempty"`
	AccessTokenTTL          *int64          `json:"access_token_ttl,omitempty"`
	IDTokenTTL              *int64          `json:"id_token_ttl,omitempty"`
	RefreshTokenTTL         *int64          `json:"refresh_token_ttl,omitempty"`
	Audience                *[]string       `json:"audience,omitempty"`
	Claims                  *[]claimMapping `json:"claims,omitempty"`
}

// claimMapping is one oidc.ClaimMapping on the wire.
type claimMapping struct {
	Claim string   `json:"claim"`
	From  string   `json:"from"`
	Scope string   `json:"scope,omitempty"`
	In    []string `json:"in,omitempty"`
}

// apply writes the fields present onto cfg.
func (f *clientFields) apply(cfg *oidc.ClientConfig) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	list := func(dst *[]string, v *[]string) {
		if v != nil {
			*dst = *v
		}
	}
	ttl := func(dst *time.Duration, v *int64) {
		if v != nil {
			*dst = time.Duration(*v) * time.Second
		}
	}
	set(&cfg.ID, f.ClientID)
	set(&cfg.Name, f.ClientName)
	list(&cfg.RedirectURIs, f.RedirectURIs)
	list(&cfg.PostLogoutRedirectURIs, f.PostLogoutRedirectURIs)
	set(&cfg.BackchannelLogoutURI, f.BackchannelLogoutURI)
	list(&cfg.Scopes, f.Scopes)
	list(&cfg.GrantTypes, f.GrantTypes)
	set(&cfg.AuthMethod, f.TokenEndpointAuthMethod)
	if len(f.JWKS) > 0 {
		cfg.JWKS = string(f.JWKS)
		if string(f.JWKS) == "null" {
			cfg.JWKS = ""
		}
	}
	if f.Native != nil {
		cfg.Native = *f.Native
	}
	if f.FirstParty != nil {
		cfg.FirstParty = *f.FirstParty
	}
	ttl(&cfg.AccessTokenTTL, f.AccessTokenTTL)
	ttl(&cfg.IDTokenTTL, f.IDTokenTTL)
	ttl(&cfg.RefreshTokenTTL, f.RefreshTokenTTL)
	list(&cfg.Audience, f.Audience)
	if f.Claims != nil {
		cfg.Claims = make([]oidc.ClaimMapping, len(*f.Claims))
		for i, m := range *f.Claims {
			cfg.Claims[i] = oidc.ClaimMapping(m)
		}
	}
}

// clientBody is a client as the API shows it.
type clientBody struct {
	ClientID                string          `json:"client_id"`
	ClientName              string          `json:"client_name"`
	RedirectURIs            []string        `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string        `json:"post_logout_redirect_uris"`
	BackchannelLogoutURI    string          `json:"backchannel_logout_uri,omitempty"`
	Scopes                  []string        `json:"scopes"`
	GrantTypes              []string        `json:"grant_types"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method"`
	JWKS                    json.RawMessage `json:"jwks,omitempty"`
	Native                  bool            `json:"native"`
	FirstParty              bool            `json:"first_party"`
	AccessTokenTTL          int64           `json:"access_token_ttl"`
	IDTokenTTL              int64           `json:"id_token_ttl"`
	RefreshTokenTTL         int64           `json:"refresh_token_ttl"`
	Audience                []string        `json:"audience"`
	Claims                  []claimMapping  `json:"claims"`
	// ReadOnly: a client of the configuration.
	ReadOnly bool       `json:"read_only"`
	Version  int64      `json:"version"`
	Created  *time.Time `json:"created_at,omitempty"`
	Updated  *time.Time `json:"updated_at,omitempty"`
	// Secret is set only in the answer that made it.
	Secret string `json:"client_secret,omitempty"`
}

func clientBodyOf(v *oidc.ClientView, secret string) clientBody {
	c := v.Config
	b := clientBody{ClientID: c.ID, ClientName: c.Name, RedirectURIs: nonNil(c.RedirectURIs),
		PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs), BackchannelLogoutURI: c.BackchannelLogoutURI,
		Scopes: nonNil(c.Scopes), GrantTypes: nonNil(c.GrantTypes), TokenEndpointAuthMethod: c.AuthMethod,
		Native: c.Native, FirstParty: c.FirstParty, AccessTokenTTL: int64(c.AccessTokenTTL / time.Second),
		IDTokenTTL: int64(c.IDTokenTTL / time.Second), RefreshTokenTTL: int64(c.RefreshTokenTTL / time.Second),
		ReadOnly: v.ReadOnly, Version: v.Version, Created: optTime(v.CreatedAt), Updated: optTime(v.UpdatedAt), Secret: secret}
	if c.JWKS != "" {
		b.JWKS = json.RawMessage(c.JWKS)
	}
	b.Audience = nonNil(c.Audience)
	b.Claims = make([]claimMapping, len(c.Claims))
	for i, m := range c.Claims {
		b.Claims[i] = claimMapping(m)
	}
	return b
}

// clientList is the body of GET /v1/admin/clients.
type clientList struct {
	Clients []clientBody `json:"clients"`
}

func (s *Server) listClients(c *fiber.Ctx) error {
	vs, err := s.clients.Clients(c.UserContext())
	if err != nil {
		return clientErr(err)
	}
	out := clientList{Clients: make([]clientBody, len(vs))}
	for i := range vs {
		out.Clients[i] = clientBodyOf(&vs[i], "")
	}
	return writeJSON(c, http.StatusOK, out)
}

func (s *Server) getClient(c *fiber.Ctx) error {
	v, err := s.clients.Client(c.UserContext(), strings.Clone(c.Params("id")))
	if err != nil {
		return clientErr(err)
	}
	return s.clientAnswer(c, http.StatusOK, v, "")
}

// clientAnswer writes a client with its version as the ETag.
func (s *Server) clientAnswer(c *fiber.Ctx, status int, v *oidc.ClientView, secret string) error {
	if !v.ReadOnly {
		c.Set(fiber.HeaderETag, etag(v.Version))
	}
	if secret != "" {
		// The secret is in this answer only: no cache may keep it.
		c.Set(fiber.HeaderCacheControl, "no-store")
	}
	return writeJSON(c, status, clientBodyOf(v, secret))
}

// clientCreate is the body of POST /v1/admin/clients.
type clientCreate struct {
	Reason string       `json:"reason"`
	Client clientFields `json:"client"`
}

func (s *Server) createClient(c *fiber.Ctx) error {
	var req clientCreate
	if err := decodeAdminJSON(c, &req); err != nil {
		return err
	}
	if req.Client.ClientID == nil {
		return invalid([]engine.FieldError{{Field: "client.client_id", Message: "required"}})
	}
	var cfg oidc.ClientConfig
	req.Client.apply(&cfg)
	v, secret, err := s.clients.CreateClient(c.UserContext(), cfg, s.adminActor(c, req.Reason))
	if err != nil {
		return clientErr(err)
	}
	c.Set(fiber.HeaderLocation, "/v1/admin/clients/"+url.PathEscape(v.Config.ID))
	return s.clientAnswer(c, http.StatusCreated, v, secret)
}

// clientChange is the body of PATCH /v1/admin/clients/{id}.
type clientChange struct {
	Reason  string        `json:"reason"`
	Changes *clientFields `json:"changes"`
}

func (s *Server) patchClient(c *fiber.Ctx) error {
	version, ok := ifMatch(c.Get(fiber.HeaderIfMatch))
	if !ok {
		return apiErr(CodePreconditionRequired, `say which version you are changing: If-Match: "<ETag of GET /v1/admin/clients/{id}>"`)
	}
	var req clientChange
	if err := decodeAdminJSON(c, &req); err != nil {
		return err
	}
	if req.Changes == nil {
		return invalid([]engine.FieldError{{Field: "changes", Message: "required: the fields to replace"}})
	}
	if version == -2 {
		return apiErr(CodePreconditionFailed, "the client changed since it was read; read it again and retry")
	}
	v, secret, err := s.clients.UpdateClient(c.UserContext(), strings.Clone(c.Params("id")), version, func(cfg *oidc.ClientConfig) error {
		req.Changes.apply(cfg)
		return nil
	}, s.adminActor(c, req.Reason))
	if err != nil {
		return clientErr(err)
	}
	return s.clientAnswer(c, http.StatusOK, v, secret)
}

func (s *Server) rotateClientSecret(c *fiber.Ctx) error {
	version := oidc.AnyClientVersion
	if v, ok := ifMatch(c.Get(fiber.HeaderIfMatch)); ok {
		if v == -2 {
			return apiErr(CodePreconditionFailed, "the client changed since it was read; read it again and retry")
		}
		version = v
	}
	var req actionRequest
	if err := decodeAdminJSON(c, &req); err != nil {
		return err
	}
	v, secret, err := s.clients.RotateClientSecret(c.UserContext(), strings.Clone(c.Params("id")), version, s.adminActor(c, req.Reason))
	if err != nil {
		return clientErr(err)
	}
	return s.clientAnswer(c, http.StatusOK, v, secret)
}

func (s *Server) deleteClient(c *fiber.Ctx) error {
	var req actionRequest
	if err := decodeAdminJSON(c, &req); err != nil {
		return err
	}
	id := strings.Clone(c.Params("id"))
	if err := s.clients.DeleteClient(c.UserContext(), id, s.adminActor(c, req.Reason)); err != nil {
		return clientErr(err)
	}
	return writeJSON(c, http.StatusOK, clientDeleted{ClientID: id, Deleted: true})
}

// clientDeleted is the answer of DELETE /v1/admin/clients/{id}.
type clientDeleted struct {
	ClientID string `json:"client_id"`
	Deleted  bool   `json:"deleted"`
}

// adminActor is the admin key behind c, with the reason it gave.
func (s *Server) adminActor(c *fiber.Ctx, reason string) authn.Actor {
	return authn.Actor{Name: adminName(c), Reason: reason,
		Client: authn.Client{IP: s.clientIP(c), UserAgent: string(c.Request().Header.UserAgent())}}
}

// clientErr maps the registry's errors onto the API's.
func clientErr(err error) error {
	var ce *oidc.ClientError
	switch {
	case errors.As(err, &ce):
		return invalid([]engine.FieldError{{Field: "client", Message: ce.Msg}})
	case errors.Is(err, oidc.ErrNoClient):
		return apiErr(CodeNotFound, "no such client")
	case errors.Is(err, oidc.ErrClientExists):
		return apiErr(CodeClientExists, "a client with this id exists (configured or registered)")
	case errors.Is(err, oidc.ErrClientReadOnly):
		return apiErr(CodeClientReadOnly, "this client comes from the configuration; change it there")
	case errors.Is(err, oidc.ErrClientChanged):
		return apiErr(CodePreconditionFailed, "the client changed since it was read; read it again and retry")
	case errors.Is(err, oidc.ErrNoSecret):
		return apiErr(CodeNoSecret, "this client does not authenticate with a secret")
	}
	return err
}
