package httpapi

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/httpapi/wire"
)

// Access tokens are short-lived EdDSA JWTs that a signed-in client trades
// its session for, so that resource servers can check a request offline
// against the JWKS instead of asking riskauth about every session. They
// are not refresh tokens: when one expires the client exchanges its
// session again, and a revoked session stops yielding new ones.

// AccessTokenKey is one Ed25519 signing key and its key id.
type AccessTokenKey struct {
	// ID is the JWS "kid": 1 to 64 characters of [A-Za-z0-9_.-].
	ID  string
	Key ed25519.PrivateKey
}

// AccessTokenConfig enables access tokens.
type AccessTokenConfig struct {
	// Keys are the signing keys; the first signs, every one is published
	// in the JWKS. Rotation: put the new key first, keep the old ones
	// listed for at least TTL so tokens they signed still verify.
	Keys []AccessTokenKey
	// Issuer is the "iss" claim (the public origin). Required.
	Issuer string
	// Audience, optional, is the "aud" claim.
	Audience string
	// TTL is the token lifetime: default 5 minutes, at most 1 hour.
	TTL time.Duration
}

// DefaultAccessTokenTTL is the lifetime of an access token when
// AccessTokenConfig.TTL is zero.
const DefaultAccessTokenTTL = 5 * time.Minute

var kidPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// accessTokens signs tokens and serves the JWKS.
type accessTokens struct {
	signer   jose.Signer
	issuer   string
	audience string
	ttl      time.Duration
	jwks     []byte
}

func newAccessTokens(cfg *AccessTokenConfig) (*accessTokens, error) {
	if len(cfg.Keys) == 0 {
		return nil, errors.New("access tokens: no signing key")
	}
	if cfg.Issuer == "" {
		return nil, errors.New("access tokens: issuer is required")
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultAccessTokenTTL
	}
	if cfg.TTL < 0 || cfg.TTL > time.Hour {
		return nil, fmt.Errorf("access tokens: TTL %s outside (0, 1h]", cfg.TTL)
	}
	set := jose.JSONWebKeySet{}
	seen := map[string]bool{}
	for i, k := range cfg.Keys {
		if !kidPattern.MatchString(k.ID) || seen[k.ID] {
			return nil, fmt.Errorf("access tokens: key #%d: key id must be unique, 1-64 of [A-Za-z0-9_.-]", i+1)
		}
		if len(k.Key) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("access tokens: key %q is not an Ed25519 private key", k.ID)
		}
		seen[k.ID] = true
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Key.Public(), KeyID: k.ID, Algorithm: string(jose.EdDSA), Use: "sig"})
	}
	active := cfg.Keys[0]
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: active.Key, KeyID: active.ID}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return nil, fmt.Errorf("access tokens: %w", err)
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("access tokens: jwks: %w", err)
	}
	return &accessTokens{signer: signer, issuer: cfg.Issuer, audience: cfg.Audience, ttl: cfg.TTL, jwks: jwks}, nil
}

// sessionClaims are riskauth's private claims: the session the token was
// derived from (so a resource server can tie it to sign-out) and its
// assurance level.
type sessionClaims struct {
	SessionID string `json:"sid"`
	AAL       int    `json:"aal"`
}

// issue signs a token for the session, never outliving it.
func (a *accessTokens) issue(userID, sessionID string, aal int, attrs map[string]any, sessionEnd, now time.Time) (string, time.Duration, error) {
	exp := now.Add(a.ttl)
	if sessionEnd.Before(exp) {
		exp = sessionEnd
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", 0, err
	}
	cl := jwt.Claims{Issuer: a.issuer, Subject: userID, IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
		Expiry: jwt.NewNumericDate(exp), ID: hex.EncodeToString(id[:])}
	if a.audience != "" {
		cl.Audience = jwt.Audience{a.audience}
	}
	b := jwt.Signed(a.signer).Claims(cl).Claims(sessionClaims{SessionID: sessionID, AAL: aal})
	if len(attrs) > 0 {
		// The profile attributes declared in_tokens (authn.AttributeSpec).
		b = b.Claims(map[string]any{"attributes": attrs})
	}
	tok, err := b.Serialize()
	if err != nil {
		return "", 0, fmt.Errorf("sign access token: %w", err)
	}
	return tok, exp.Sub(now).Truncate(time.Second), nil
}

// accessTokenBody is the 200 body of POST /v1/token.
type accessTokenBody struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// accessToken trades a live session for a short-lived JWT.
func (s *Server) accessToken(c *fiber.Ctx, _ *wire.AuthnBody, _ authn.Client) error {
	if s.tokens == nil {
		return apiErr(CodeUnavailable, "access tokens are not enabled on this server")
	}
	info, err := s.sessions.AuthenticateClient(c.UserContext(), sessionToken(c), s.sessionClient(c))
	if err != nil {
		return sessionError(c, err)
	}
	end := info.IdleExpiresAt
	if info.AbsoluteExpiresAt.Before(end) {
		end = info.AbsoluteExpiresAt
	}
	var attrs map[string]any
	if s.self != nil {
		if attrs, err = s.self.TokenAttributes(c.UserContext(), info.UserID); err != nil {
			return err
		}
	}
	tok, ttl, err := s.tokens.issue(info.UserID, info.ID, int(info.AAL), attrs, end, time.Now())
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, accessTokenBody{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(ttl / time.Second)})
}

// jwksHandler publishes the access-token verification keys; an empty set
// when access tokens are off. Keys are public, so the set may be cached
// briefly, unlike every other answer.
func (s *Server) jwksHandler(c *fiber.Ctx) error {
	body := []byte(`{"keys":[]}`)
	if s.tokens != nil {
		body = s.tokens.jwks
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Status(http.StatusOK).Send(body)
}
