package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/riskauth/riskauth/authn"
)

// private_key_jwt (RFC 7523 §2.2, OpenID Connect Core §9): the client
// signs a short JWT with a key whose public half it registered (the
// client's JWKS) and sends it as client_assertion. The op package's own
// check accepts only the issuer as audience, only RS256, and any number
// of uses of one assertion, so riskauth checks the assertion itself,
// before the op package reads the request, and hands the request on with
// the assertion replaced by the authenticated client id
// (AuthorizeClientIDSecret then accepts that id for this request only).
//
// Checked: the signature, by a key of the client's set, with an
// algorithm of the allow-list (asymmetric only: no HS*, no none);
// iss = sub = the client id; aud names the issuer, the token endpoint or
// the endpoint called; exp present, not past, and at most
// MaxAssertionLifetime ahead; nbf and iat not in the future; a jti, used
// once: the store remembers it until exp on every instance, so a replay is
// refused wherever it lands.

// AssertionAlgorithms are the signing algorithms a client assertion may
// use.
var AssertionAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.ES384, jose.EdDSA}

// Bounds of client assertions and key sets.
const (
	// MaxAssertionLifetime is the furthest exp may lie ahead: the jti is
	// remembered until then.
	MaxAssertionLifetime = 10 * time.Minute
	// assertionLeeway is the clock skew allowed on exp, nbf and iat.
	assertionLeeway = 30 * time.Second
	maxAssertionLen = 8 << 10
	maxJTILen       = 256
	maxJWKSLen      = 64 << 10
	maxJWKSKeys     = 10
)

// ClientAssertionType is the only client_assertion_type there is.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// parseClientJWKS checks a client's key set: public signing keys only
// (RSA of at least 2048 bits, P-256/P-384, Ed25519), unique key ids.
func parseClientJWKS(raw string) (*jose.JSONWebKeySet, error) {
	if raw == "" {
		return nil, errors.New("private_key_jwt needs the client's key set (jwks)")
	}
	if len(raw) > maxJWKSLen {
		return nil, fmt.Errorf("the key set is over %d bytes", maxJWKSLen)
	}
	var ks jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(raw), &ks); err != nil {
		return nil, fmt.Errorf("the key set is not a JSON Web Key Set: %w", err)
	}
	if len(ks.Keys) == 0 || len(ks.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("the key set holds 1 to %d keys", maxJWKSKeys)
	}
	seen := map[string]bool{}
	for i, k := range ks.Keys {
		if !k.IsPublic() {
			return nil, fmt.Errorf("key #%d: only public keys belong in a key set", i+1)
		}
		if k.Use != "" && k.Use != "sig" {
			return nil, fmt.Errorf("key #%d: use must be sig", i+1)
		}
		if seen[k.KeyID] {
			return nil, fmt.Errorf("key #%d: key id %q used twice", i+1, k.KeyID)
		}
		seen[k.KeyID] = true
		switch pk := k.Key.(type) {
		case *rsa.PublicKey:
			if pk.N.BitLen() < 2048 {
				return nil, fmt.Errorf("key #%d: RSA keys have at least 2048 bits", i+1)
			}
		case *ecdsa.PublicKey, ed25519.PublicKey:
		default:
			return nil, fmt.Errorf("key #%d: RSA, EC or Ed25519 public keys only", i+1)
		}
		if k.Algorithm != "" && !slices.Contains(AssertionAlgorithms, jose.SignatureAlgorithm(k.Algorithm)) {
			return nil, fmt.Errorf("key #%d: algorithm %s is not allowed", i+1, k.Algorithm)
		}
	}
	return &ks, nil
}

// errBadAssertion is every refused assertion: the client learns
// invalid_client, the log the reason.
var errBadAssertion = errors.New("oidc: client assertion refused")

type assertedClientKey struct{}

// assertedClient is the client id a checked assertion authenticated for
// this request.
func assertedClient(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(assertedClientKey{}).(string)
	return id, ok
}

// checkAssertion verifies a client assertion sent to endpoint (its full
// URL) and returns the client it authenticates.
func (s *storage) checkAssertion(ctx context.Context, assertion, endpoint string) (*client, error) {
	if len(assertion) > maxAssertionLen {
		return nil, fmt.Errorf("%w: over %d bytes", errBadAssertion, maxAssertionLen)
	}
	tok, err := jwt.ParseSigned(assertion, AssertionAlgorithms)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadAssertion, err)
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadAssertion, err)
	}
	c, err := s.reg.lookup(ctx, unverified.Issuer)
	if err != nil {
		if errors.Is(err, errUnknownClient) {
			return nil, fmt.Errorf("%w: unknown client", errBadAssertion)
		}
		return nil, err
	}
	if c.method != zoidc.AuthMethodPrivateKeyJWT || len(tok.Headers) != 1 {
		return nil, fmt.Errorf("%w: client %s does not use private_key_jwt", errBadAssertion, c.cfg.ID)
	}
	h := tok.Headers[0]
	var claims jwt.Claims
	verified := false
	for _, k := range c.jwks.Keys {
		if (h.KeyID != "" && k.KeyID != h.KeyID) || (k.Algorithm != "" && k.Algorithm != h.Algorithm) {
			continue
		}
		if err := tok.Claims(k.Key, &claims); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, fmt.Errorf("%w: no key of client %s verifies the signature", errBadAssertion, c.cfg.ID)
	}
	now := s.clock.Now()
	switch {
	case claims.Issuer != c.cfg.ID || claims.Subject != c.cfg.ID:
		return nil, fmt.Errorf("%w: iss and sub must be the client id", errBadAssertion)
	case !audienceOK(claims.Audience, s.cfg.Issuer, s.cfg.Issuer+PathToken, endpoint):
		return nil, fmt.Errorf("%w: aud must name the issuer or the token endpoint", errBadAssertion)
	case claims.Expiry == nil:
		return nil, fmt.Errorf("%w: no exp", errBadAssertion)
	case !now.Before(claims.Expiry.Time().Add(assertionLeeway)):
		return nil, fmt.Errorf("%w: expired", errBadAssertion)
	case claims.Expiry.Time().After(now.Add(MaxAssertionLifetime)):
		return nil, fmt.Errorf("%w: exp more than %s ahead", errBadAssertion, MaxAssertionLifetime)
	case claims.NotBefore != nil && claims.NotBefore.Time().After(now.Add(assertionLeeway)):
		return nil, fmt.Errorf("%w: not valid yet", errBadAssertion)
	case claims.IssuedAt != nil && claims.IssuedAt.Time().After(now.Add(assertionLeeway)):
		return nil, fmt.Errorf("%w: issued in the future", errBadAssertion)
	case claims.ID == "" || len(claims.ID) > maxJTILen:
		return nil, fmt.Errorf("%w: jti missing or over %d characters", errBadAssertion, maxJTILen)
	}
	err = s.store.UseAssertion(ctx, c.cfg.ID, claims.ID, claims.Expiry.Time().Add(assertionLeeway), now)
	if errors.Is(err, authn.ErrConflict) {
		return nil, fmt.Errorf("%w: jti replayed", errBadAssertion)
	}
	if err != nil {
		return nil, fmt.Errorf("oidc: client assertion: %w", err)
	}
	return c, nil
}

func audienceOK(aud jwt.Audience, want ...string) bool {
	for _, a := range aud {
		if slices.Contains(want, a) {
			return true
		}
	}
	return false
}

// assertionEndpoints are the endpoints a client authenticates at.
var assertionEndpoints = []string{PathToken, PathIntrospect, PathRevoke}

// withAssertions checks a client assertion before next (the op package)
// sees the request, and replaces it by the client id it proved.
func (s *storage) withAssertions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !slices.Contains(assertionEndpoints, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		if err := r.ParseForm(); err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the form could not be read")
			return
		}
		typ, assertion := r.PostForm.Get("client_assertion_type"), r.PostForm.Get("client_assertion")
		if typ == "" && assertion == "" {
			next.ServeHTTP(w, r)
			return
		}
		if typ != ClientAssertionType || assertion == "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "client_assertion_type must be "+ClientAssertionType+", with client_assertion")
			return
		}
		if _, _, basic := r.BasicAuth(); basic || r.PostForm.Get("client_secret") != "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "client authentication must not use more than one method")
			return
		}
		c, err := s.checkAssertion(r.Context(), assertion, s.cfg.Issuer+r.URL.Path)
		if err != nil {
			if !errors.Is(err, errBadAssertion) {
				s.log.ErrorContext(r.Context(), "oidc: client assertion", "err", err)
				w.Header().Set("Retry-After", "1")
				writeOAuthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again")
				return
			}
			s.log.InfoContext(r.Context(), "oidc: client assertion refused", "reason", err.Error())
			writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
			return
		}
		if id := r.PostForm.Get("client_id"); id != "" && id != c.cfg.ID {
			writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
			return
		}
		for _, f := range []map[string][]string{r.PostForm, r.Form} {
			delete(f, "client_assertion")
			delete(f, "client_assertion_type")
			f["client_id"] = []string{c.cfg.ID}
			// A placeholder: the op package wants a secret to hand to
			// AuthorizeClientIDSecret, which accepts the asserted client
			// of this request's context instead.
			f["client_secret"] = []string{"private_key_jwt"}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), assertedClientKey{}, c.cfg.ID)))
	})
}

// writeOAuthError answers in the OAuth error shape (RFC 6749 §5.2).
func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}
