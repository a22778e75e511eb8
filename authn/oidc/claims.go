package oidc

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/riskauth/riskauth/authn"
)

// Claim mapping: an operator puts profile values (custom attributes, the
// standard profile fields) into a client's tokens under names the client
// expects, each released only by a scope the client was granted, and
// gives the client's access tokens extra audiences (the APIs that accept
// them). Per client, in ClientConfig.Claims and ClientConfig.Audience.

// ClaimMapping puts one profile value into a client's tokens.
type ClaimMapping struct {
	// Claim is the claim's name: 1 to 64 of [A-Za-z0-9_.:-], not one the
	// provider sets itself (sub, aud, email, acr, ...).
	Claim string `yaml:"claim" json:"claim"`
	// From is the value: "attributes.<name>" (a custom attribute) or
	// "profile.<field>" (display_name, given_name, family_name, locale,
	// time_zone). An unset value puts no claim.
	From string `yaml:"from" json:"from"`
	// Scope is the scope that releases it (default "profile"): a token
	// whose grant lacks it does not carry the claim.
	Scope string `yaml:"scope" json:"scope,omitempty"`
	// In are the tokens that carry it: id_token, userinfo, access_token
	// (default all three).
	In []string `yaml:"in" json:"in,omitempty"`
}

// Where a mapped claim can go.
const (
	ClaimInIDToken     = "id_token"
	ClaimInUserinfo    = "userinfo"
	ClaimInAccessToken = "access_token"
)

// maxClaimMappings bounds a client's mappings and audiences.
const maxClaimMappings = 32

var claimNameRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// reservedClaims are set by the provider; a mapping may not shadow them.
var reservedClaims = []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "azp", "nonce", "acr", "amr", "auth_time",
	"sid", "at_hash", "c_hash", "scope", "client_id", "email", "email_verified", "preferred_username", "name",
	"given_name", "family_name", "locale", "zoneinfo", "updated_at", "act", "cnf", "typ"}

// profileFields are the standard profile fields a mapping may read.
var profileFields = map[string]func(authn.Profile) any{
	"display_name": func(p authn.Profile) any { return p.DisplayName },
	"given_name":   func(p authn.Profile) any { return p.GivenName },
	"family_name":  func(p authn.Profile) any { return p.FamilyName },
	"locale":       func(p authn.Profile) any { return p.Locale },
	"time_zone":    func(p authn.Profile) any { return p.TimeZone },
}

// checkClaims checks a client's mappings and audiences and fills in the
// defaults.
func (c *client) checkClaims() error {
	if len(c.cfg.Claims) > maxClaimMappings || len(c.cfg.Audience) > maxClaimMappings {
		return fmt.Errorf("at most %d claim mappings and %d audiences", maxClaimMappings, maxClaimMappings)
	}
	for _, a := range c.cfg.Audience {
		if a == "" || len(a) > 256 || a == c.cfg.ID || strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return fmt.Errorf("audience %q: 1 to 256 printable characters, not the client id itself", a)
		}
	}
	seen := map[string]bool{}
	mapped := make([]ClaimMapping, len(c.cfg.Claims))
	for i, m := range c.cfg.Claims {
		if !claimNameRe.MatchString(m.Claim) || slices.Contains(reservedClaims, m.Claim) || seen[m.Claim] {
			return fmt.Errorf("claim mapping #%d: claim %q must be 1-64 of [A-Za-z0-9_.:-], not a standard claim, and named once", i+1, m.Claim)
		}
		seen[m.Claim] = true
		src, name, _ := strings.Cut(m.From, ".")
		switch {
		case src == "attributes" && name != "":
		case src == "profile" && profileFields[name] != nil:
		default:
			return fmt.Errorf("claim mapping %q: from must be attributes.<name> or profile.<display_name|given_name|family_name|locale|time_zone>", m.Claim)
		}
		if m.Scope == "" {
			m.Scope = zoidc.ScopeProfile
		}
		if !slices.Contains(standardScopes, m.Scope) && !slices.Contains(c.cfg.Scopes, m.Scope) {
			return fmt.Errorf("claim mapping %q: scope %q is not one the client may ask for", m.Claim, m.Scope)
		}
		if len(m.In) == 0 {
			m.In = []string{ClaimInIDToken, ClaimInUserinfo, ClaimInAccessToken}
		}
		for _, in := range m.In {
			if in != ClaimInIDToken && in != ClaimInUserinfo && in != ClaimInAccessToken {
				return fmt.Errorf("claim mapping %q: in must name id_token, userinfo or access_token", m.Claim)
			}
		}
		mapped[i] = m
	}
	c.cfg.Claims = mapped
	return nil
}

// standardScopes are allowed to every client.
var standardScopes = []string{zoidc.ScopeOpenID, zoidc.ScopeProfile, zoidc.ScopeEmail, zoidc.ScopeOfflineAccess}

// ProfileReader reads a user's profile for mapped claims;
// authn.ProfileStore implements it.
type ProfileReader interface {
	Profile(ctx context.Context, userID string) (authn.Profile, error)
}

// mappedClaims returns the claims of client c's mappings for token kind
// in, for a grant of scopes: only mappings whose scope was granted, only
// values that are set.
func (s *storage) mappedClaims(ctx context.Context, c *client, userID, in string, scopes []string) (map[string]any, error) {
	var todo []ClaimMapping
	for _, m := range c.cfg.Claims {
		if slices.Contains(m.In, in) && slices.Contains(scopes, m.Scope) {
			todo = append(todo, m)
		}
	}
	if len(todo) == 0 || s.profiles == nil {
		return nil, nil
	}
	p, err := s.profiles.Profile(ctx, userID)
	if err != nil && !errors.Is(err, authn.ErrNotFound) {
		return nil, fmt.Errorf("oidc: profile claims: %w", err)
	}
	out := map[string]any{}
	for _, m := range todo {
		src, name, _ := strings.Cut(m.From, ".")
		var v any
		if src == "attributes" {
			v = p.Attributes[name]
		} else {
			v = profileFields[name](p)
		}
		if v == nil || v == "" {
			continue
		}
		out[m.Claim] = v
	}
	return out, nil
}

// addMappedClaims puts c's mapped claims for in onto ui.
func (s *storage) addMappedClaims(ctx context.Context, ui *zoidc.UserInfo, clientID, userID, in string, scopes []string) error {
	c := s.find(ctx, clientID)
	if c == nil {
		return nil
	}
	claims, err := s.mappedClaims(ctx, c, userID, in, scopes)
	if err != nil {
		return err
	}
	for k, v := range claims {
		ui.AppendClaims(k, v)
	}
	return nil
}

// accessAudience is the aud of client c's access tokens: the client, and
// the audiences the operator gave it.
func accessAudience(c *client) []string {
	return append([]string{c.cfg.ID}, c.cfg.Audience...)
}

var _ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)

// GetPrivateClaimsFromRequest adds to an access token (a JWT) the
// client's mapped claims for the scopes granted (the op package's own
// scope list leaves out profile and email, which release claims too, so
// the request's are read).
func (s *storage) GetPrivateClaimsFromRequest(ctx context.Context, req op.TokenRequest, _ []string) (map[string]any, error) {
	cr, ok := req.(interface{ GetClientID() string })
	if !ok {
		return nil, nil
	}
	c := s.find(ctx, cr.GetClientID())
	if c == nil {
		return nil, nil
	}
	// The JWT has its aud by now: the ID token made next names the
	// client alone.
	switch r := req.(type) {
	case *authRequest:
		r.accessAud = nil
	case *refreshRequest:
		r.accessAud = nil
	}
	return s.mappedClaims(ctx, c, req.GetSubject(), ClaimInAccessToken, req.GetScopes())
}

// setAccessAudience gives the access token about to be made from req the
// client's extra audiences (the op package reads them from
// req.GetAudience when it builds the JWT).
func (s *storage) setAccessAudience(ctx context.Context, req op.TokenRequest, clientID string) {
	c := s.find(ctx, clientID)
	if c == nil || len(c.cfg.Audience) == 0 {
		return
	}
	switch r := req.(type) {
	case *authRequest:
		r.accessAud = slices.Clone(c.cfg.Audience)
	case *refreshRequest:
		r.accessAud = slices.Clone(c.cfg.Audience)
	}
}
