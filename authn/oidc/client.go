package oidc

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// ClientConfig registers one relying party. It is the operator's spec
// (configuration file); newClient checks it and builds the client the
// provider uses.
type ClientConfig struct {
	// ID is the client_id: 1 to 128 characters of [A-Za-z0-9_.:-].
	ID string `yaml:"id" json:"id,omitempty"`
	// Name is shown on the login page.
	Name string `yaml:"name" json:"name,omitempty"`
	// SecretHash is the hex SHA-256 of the client secret for a confidential
	// client (client_secret_basic or client_secret_post); empty makes it a
	// public client (SPA, mobile, CLI), which authenticates by PKCE alone.
	// Secrets are generated (≥ 32 random bytes), so a fast hash is right:
	// there is nothing to guess (see authn/token).
	SecretHash string `yaml:"secret_sha256" json:"secret_sha256,omitempty"`
	// RedirectURIs are matched exactly (no wildcards, no prefix match).
	RedirectURIs []string `yaml:"redirect_uris" json:"redirect_uris,omitempty"`
	// PostLogoutRedirectURIs are where RP-initiated logout may return to.
	PostLogoutRedirectURIs []string `yaml:"post_logout_redirect_uris" json:"post_logout_redirect_uris,omitempty"`
	// BackchannelLogoutURI, when set, is told (OpenID Connect
	// Back-Channel Logout 1.0: a signed logout token POSTed to it) when a
	// riskauth session the client got tokens from ends. https, or http on
	// loopback.
	BackchannelLogoutURI string `yaml:"backchannel_logout_uri" json:"backchannel_logout_uri,omitempty"`
	// Scopes are the scopes beyond openid, profile, email and
	// offline_access the client may ask for; the standard ones are allowed
	// to every client.
	Scopes []string `yaml:"scopes" json:"scopes,omitempty"`
	// GrantTypes are the grants allowed: "authorization_code" (default),
	// "refresh_token" and "urn:ietf:params:oauth:grant-type:device_code"
	// (GrantTypeDeviceCode, for devices without a browser).
	GrantTypes []string `yaml:"grant_types" json:"grant_types,omitempty"`
	// Native marks a public client that runs on the user's device: loopback
	// and custom-scheme redirect URIs are allowed (RFC 8252).
	Native bool `yaml:"native" json:"native,omitempty"`
	// FirstParty clients belong to the operator; they skip the consent
	// screen.
	FirstParty bool `yaml:"first_party" json:"first_party,omitempty"`
	// Lifetimes; zero takes the defaults (DefaultAccessTokenTTL,
	// DefaultIDTokenTTL, DefaultRefreshTokenTTL).
	AccessTokenTTL  time.Duration `yaml:"access_token_ttl" json:"access_token_ttl,omitempty"`
	IDTokenTTL      time.Duration `yaml:"id_token_ttl" json:"id_token_ttl,omitempty"`
	RefreshTokenTTL time.Duration `yaml:"refresh_token_ttl" json:"refresh_token_ttl,omitempty"`
	// AuthMethod is how a confidential client authenticates at the token
	// endpoint: client_secret_basic (the default with a secret),
	// client_secret_post, or private_key_jwt (RFC 7523, with JWKS); none
	// is a public client (the default without a secret).
	AuthMethod string `yaml:"auth_method" json:"auth_method,omitempty"`
	// JWKS is the client's public key set (a JSON Web Key Set) for
	// private_key_jwt.
	JWKS string `yaml:"jwks" json:"jwks,omitempty"`
	// Audience are extra aud values of the client's access tokens: the
	// APIs that accept them (the client itself is always one).
	Audience []string `yaml:"audience" json:"audience,omitempty"`
	// Claims put profile values into the client's tokens (claims.go).
	Claims []ClaimMapping `yaml:"claims" json:"claims,omitempty"`
}

// Default token lifetimes.
const (
	DefaultAccessTokenTTL  = 5 * time.Minute
	DefaultIDTokenTTL      = 5 * time.Minute
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
)

// client is a checked ClientConfig; it implements op.Client.
type client struct {
	cfg        ClientConfig
	secretHash []byte // nil for public and private_key_jwt clients
	method     zoidc.AuthMethod
	jwks       *jose.JSONWebKeySet // private_key_jwt
	grants     []zoidc.GrantType
	loginURL   func(id string) string
}

var _ op.Client = (*client)(nil)

func validClientID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	return !strings.ContainsFunc(id, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("_.:-", r))
	})
}

func newClient(cfg ClientConfig, loginURL func(string) string) (*client, error) {
	if !validClientID(cfg.ID) {
		return nil, fmt.Errorf("client %q: id must be 1-128 of [A-Za-z0-9_.:-]", cfg.ID)
	}
	c := &client{cfg: cfg, loginURL: loginURL}
	if cfg.SecretHash != "" {
		h, err := hex.DecodeString(cfg.SecretHash)
		if err != nil || len(h) != sha256.Size {
			return nil, fmt.Errorf("client %q: secret_sha256 must be 64 hex digits", cfg.ID)
		}
		c.secretHash = h
	}

	if err := c.checkAuthMethod(); err != nil {
		return nil, fmt.Errorf("client %q: %w", cfg.ID, err)
	}
	if err := c.checkClaims(); err != nil {
		return nil, fmt.Errorf("client %q: %w", cfg.ID, err)
	}
	for _, u := range append(slices.Clone(cfg.RedirectURIs), cfg.PostLogoutRedirectURIs...) {
		if err := checkRedirectURI(u, cfg.Native); err != nil {
			return nil, fmt.Errorf("client %q: redirect URI %q: %w", cfg.ID, u, err)
		}
	}
	if u := cfg.BackchannelLogoutURI; u != "" {
		if err := checkRedirectURI(u, false); err != nil {
			return nil, fmt.Errorf("client %q: backchannel_logout_uri %q: %w", cfg.ID, u, err)
		}
	}
	if len(cfg.GrantTypes) == 0 {
		cfg.GrantTypes = []string{string(zoidc.GrantTypeCode)}
	}
	for _, g := range cfg.GrantTypes {
		switch zoidc.GrantType(g) {
		case zoidc.GrantTypeCode, zoidc.GrantTypeRefreshToken, zoidc.GrantTypeDeviceCode:
			c.grants = append(c.grants, zoidc.GrantType(g))
		default:
			return nil, fmt.Errorf("client %q: grant type %q is not supported (authorization_code, refresh_token, %s)", cfg.ID, g, zoidc.GrantTypeDeviceCode)
		}
	}
	if !slices.Contains(c.grants, zoidc.GrantTypeCode) && !slices.Contains(c.grants, zoidc.GrantTypeDeviceCode) {
		return nil, fmt.Errorf("client %q: grant types must include authorization_code or the device code grant", cfg.ID)
	}
	if slices.Contains(c.grants, zoidc.GrantTypeCode) && len(cfg.RedirectURIs) == 0 {
		return nil, fmt.Errorf("client %q: at least one redirect URI is required", cfg.ID)
	}
	for _, d := range []*time.Duration{&c.cfg.AccessTokenTTL, &c.cfg.IDTokenTTL, &c.cfg.RefreshTokenTTL} {
		if *d < 0 {
			return nil, fmt.Errorf("client %q: negative token lifetime", cfg.ID)
		}
	}
	c.cfg.AccessTokenTTL = orDefault(c.cfg.AccessTokenTTL, DefaultAccessTokenTTL)
	c.cfg.IDTokenTTL = orDefault(c.cfg.IDTokenTTL, DefaultIDTokenTTL)
	c.cfg.RefreshTokenTTL = orDefault(c.cfg.RefreshTokenTTL, DefaultRefreshTokenTTL)
	if c.cfg.AccessTokenTTL > time.Hour || c.cfg.IDTokenTTL > time.Hour {
		return nil, fmt.Errorf("client %q: access and ID tokens live at most 1h", cfg.ID)
	}
	if c.cfg.Name == "" {
		c.cfg.Name = cfg.ID
	}
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// checkRedirectURI refuses what exact matching cannot make safe: relative
// URIs, fragments, and plain http away from loopback for web clients.
func checkRedirectURI(raw string, native bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return errors.New("not an absolute URI")
	}
	if strings.Contains(raw, "*") {
		return errors.New("no wildcards: redirect URIs are matched exactly")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return errors.New("a redirect URI has no fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if _, loop := op.HTTPLoopbackOrLocalhost(raw); !loop {
			return errors.New("http is allowed only for loopback addresses")
		}
	default:
		if !native {
			return errors.New("custom schemes are for native clients")
		}
	}
	if u.Host == "" && (u.Scheme == "http" || u.Scheme == "https") {
		return errors.New("no host")
	}
	return nil
}

// checkSecret reports, in constant time, whether secret is the client's.
// A public client has no secret to present.
func (c *client) checkSecret(secret string) bool {
	if c.secretHash == nil {
		return false
	}
	sum := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(sum[:], c.secretHash) == 1
}

func (c *client) confidential() bool { return c.method != zoidc.AuthMethodNone }

func (c *client) GetID() string                    { return c.cfg.ID }
func (c *client) RedirectURIs() []string           { return c.cfg.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.cfg.PostLogoutRedirectURIs }

func (c *client) ApplicationType() op.ApplicationType {
	if c.cfg.Native {
		return op.ApplicationTypeNative
	}
	if c.confidential() {
		return op.ApplicationTypeWeb
	}
	return op.ApplicationTypeUserAgent
}

// AuthMethod is what the op package sees. A private_key_jwt client's
// assertion is checked before the op package reads the request
// (assertion.go), which then hands it on as an authenticated client id:
// for the op package it is a client with a secret.
func (c *client) AuthMethod() zoidc.AuthMethod {
	if c.method == zoidc.AuthMethodPrivateKeyJWT {
		return zoidc.AuthMethodBasic
	}
	return c.method
}

func (c *client) ResponseTypes() []zoidc.ResponseType {
	return []zoidc.ResponseType{zoidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []zoidc.GrantType       { return c.grants }
func (c *client) LoginURL(id string) string           { return c.loginURL(id) }
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration      { return c.cfg.IDTokenTTL }
func (c *client) DevMode() bool                       { return false }
func (c *client) ClockSkew() time.Duration            { return 0 }

// The ID token carries the user's claims for the scopes asked for (the
// client does not have to call userinfo), whether or not an access token
// was issued with it.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed is asked about scopes beyond the standard ones.
func (c *client) IsScopeAllowed(scope string) bool { return slices.Contains(c.cfg.Scopes, scope) }

// checkAuthMethod settles how the client authenticates: a secret (basic
// or post), a key (private_key_jwt, with a key set) or nothing (public,
// PKCE alone); the default follows from whether it has a secret.
func (c *client) checkAuthMethod() error {
	m := zoidc.AuthMethod(c.cfg.AuthMethod)
	if m == "" {
		m = zoidc.AuthMethodNone
		if c.secretHash != nil {
			m = zoidc.AuthMethodBasic
		}
	}
	switch m {
	case zoidc.AuthMethodBasic, zoidc.AuthMethodPost:
		if c.secretHash == nil {
			return fmt.Errorf("auth method %s needs a secret", m)
		}
	case zoidc.AuthMethodNone:
		if c.secretHash != nil {
			return errors.New("a public client (auth method none) has no secret")
		}
		if c.cfg.JWKS != "" {
			return errors.New("a public client (auth method none) has no key set")
		}
	case zoidc.AuthMethodPrivateKeyJWT:
		if c.secretHash != nil {
			return errors.New("a private_key_jwt client has no secret")
		}
		ks, err := parseClientJWKS(c.cfg.JWKS)
		if err != nil {
			return err
		}
		c.jwks = ks
	default:
		return fmt.Errorf("auth method %q is not supported (client_secret_basic, client_secret_post, private_key_jwt, none)", m)
	}
	if m != zoidc.AuthMethodPrivateKeyJWT && c.cfg.JWKS != "" {
		return errors.New("a key set is for private_key_jwt clients")
	}
	c.method = m
	return nil
}
