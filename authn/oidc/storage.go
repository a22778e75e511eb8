package oidc

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-jose/go-jose/v4"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/engine/clock"
)

// storage implements op.Storage over Store: the op package parses and
// answers the protocol, storage decides and keeps state.
type storage struct {
	cfg     Config
	store   Store
	users   authn.UserReader
	clock   clock.Clock
	log     *slog.Logger
	reg     *registry
	signing signingKey
	keys    []op.Key
	risk    Risk // nil: no evaluation
	events  SecurityEvents
	// sessions ends riskauth sessions at RP-initiated logout (nil:
	// logout only redirects); bc tells clients of ended sessions.
	sessions Sessions
	bc       *backchannel
	counter  authn.EventCounter // device code entries
	profiles ProfileReader      // mapped claims (nil: none)
}

var _ op.Storage = (*storage)(nil)

// errUnknownClient is deliberately plain: the op package answers it as
// invalid_client (token endpoint) or as an error page without redirect
// (/authorize), never as a server error.
var errUnknownClient = errors.New("unknown client")

// dummySecretHash makes a secret check for an unknown client cost what
// one for a known client costs.
var dummySecretHash = sha256.Sum256([]byte("riskauth/oidc/no-such-client"))

// maxCodeLen bounds what is hashed and looked up as a code (the op
// package's codes are the encrypted request id, about 70 characters).
const maxCodeLen = 512

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// createAuthRequest stores a validated request; PKCE with S256 is
// required of every client, so a request without it is refused here,
// before anything is stored (the op package redirects the error to the
// already-validated redirect URI).
func (s *storage) createAuthRequest(ctx context.Context, r *zoidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	if r.CodeChallenge == "" {
		return nil, zoidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")
	}
	if r.CodeChallengeMethod != zoidc.CodeChallengeMethodS256 {
		return nil, zoidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if len(r.CodeChallenge) != 43 {
		return nil, zoidc.ErrInvalidRequest().WithDescription("code_challenge must be a base64url SHA-256 (43 characters)")
	}
	id, err := token.New()
	if err != nil {
		return nil, err
	}
	now := s.clock.Now().UTC()
	a := &authRequest{
		ID: id, ClientID: r.ClientID, RedirectURI: r.RedirectURI, State: r.State, Nonce: r.Nonce,
		Scopes: r.Scopes, ResponseType: r.ResponseType, ResponseMode: r.ResponseMode,
		CodeChallenge: r.CodeChallenge, CodeChallengeMethod: r.CodeChallengeMethod,
		Prompt: r.Prompt, MaxAge: r.MaxAge, LoginHint: r.LoginHint, ACRValues: r.ACRValues,
		HintSubject: hintSubject, CreatedAt: now,
	}
	data, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	rec := RequestRecord{ID: id, ClientID: r.ClientID, Data: data, ExpiresAt: now.Add(s.cfg.RequestTTL)}
	if err := s.store.CreateAuthRequest(ctx, rec); err != nil {
		return nil, fmt.Errorf("oidc: create auth request: %w", err)
	}
	return a, nil
}

// request loads a live request by id.
func (s *storage) request(ctx context.Context, id string) (*authRequest, RequestRecord, error) {
	if !token.Valid(id) {
		return nil, RequestRecord{}, ErrUnknownRequest
	}
	rec, err := s.store.AuthRequest(ctx, id, s.clock.Now())
	if err != nil {
		if errors.Is(err, authn.ErrNotFound) {
			return nil, rec, ErrUnknownRequest
		}
		return nil, rec, fmt.Errorf("oidc: auth request: %w", err)
	}
	a := new(authRequest)
	if err := json.Unmarshal(rec.Data, a); err != nil {
		return nil, rec, fmt.Errorf("oidc: auth request %s: %w", id, err)
	}
	return a, rec, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	a, _, err := s.request(ctx, id)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// AuthRequestByCode finds the request of a code. A code that was
// exchanged already is a replay: RFC 6749 §4.1.2 asks to revoke what it
// issued, so the whole family goes, and the exchange fails like an
// unknown code.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	if code == "" || len(code) > maxCodeLen {
		return nil, ErrUnknownRequest
	}
	now := s.clock.Now()
	rec, err := s.store.AuthRequestByCode(ctx, hashOf(code), now)
	if err != nil {
		if errors.Is(err, authn.ErrNotFound) {
			return nil, ErrUnknownRequest
		}
		return nil, fmt.Errorf("oidc: auth request by code: %w", err)
	}
	if !rec.CodeUsedAt.IsZero() {
		n, err := s.store.RevokeTokens(ctx, "", rec.ID, now)
		if err != nil {
			return nil, fmt.Errorf("oidc: revoke after code replay: %w", err)
		}
		s.log.WarnContext(ctx, "oidc: authorization code replayed; its tokens are revoked", "client_id", rec.ClientID, "revoked", n)
		return nil, ErrUnknownRequest
	}
	a := new(authRequest)
	if err := json.Unmarshal(rec.Data, a); err != nil {
		return nil, fmt.Errorf("oidc: auth request %s: %w", rec.ID, err)
	}
	return a, nil
}

// SaveAuthCode keeps the code's hash; a request gets one code only.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	now := s.clock.Now()
	if err := s.store.SaveAuthCode(ctx, id, hashOf(code), now.Add(s.cfg.CodeTTL), now); err != nil {
		return fmt.Errorf("oidc: save code: %w", err)
	}
	return nil
}

// DeleteAuthRequest is called by the op package after the code exchange.
// The request stays until it expires, marked used, so that a replay of
// its code is recognised (AuthRequestByCode); the store sweeps it later.
func (s *storage) DeleteAuthRequest(context.Context, string) error { return nil }

// GetClientByClientID looks a client up in the registry.
func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.reg.lookup(ctx, id)
	if errors.Is(err, errUnknownClient) {
		// invalid_client wherever the op package asks (a refresh of a
		// deleted client's token included), not a server error.
		return nil, zoidc.ErrInvalidClient().WithDescription("unknown client").WithParent(err)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret in
// constant time; an unknown client costs the same comparison.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := s.reg.lookup(ctx, id)
	if err != nil && !errors.Is(err, errUnknownClient) {
		return err
	}
	if c == nil {
		sum := sha256.Sum256([]byte(secret))
		subtle.ConstantTimeCompare(sum[:], dummySecretHash[:])
		return errUnknownClient
	}
	if asserted, ok := assertedClient(ctx); ok {
		// withAssertions checked this client's private_key_jwt assertion.
		if asserted != c.cfg.ID || c.method != zoidc.AuthMethodPrivateKeyJWT {
			return errors.New("wrong client assertion")
		}
		return nil
	}
	if !c.checkSecret(secret) {
		return errors.New("wrong client secret")
	}
	return nil
}

// Health is the op package's readiness probe; riskauth has its own.
func (s *storage) Health(context.Context) error { return nil }

// signingKey is an Ed25519 op.SigningKey; publicKey an op.Key.
type signingKey struct {
	id  string
	key ed25519.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.EdDSA }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.id }

type publicKey struct {
	id  string
	key ed25519.PublicKey
}

func (k publicKey) ID() string                         { return k.id }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.EdDSA }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.key }

func signingKeys(ks []SigningKey) (signingKey, []op.Key) {
	var pub []op.Key
	for _, k := range ks {
		pub = append(pub, publicKey{id: k.ID, key: k.Key.Public().(ed25519.PublicKey)})
	}
	return signingKey{id: ks[0].ID, key: ks[0].Key}, pub
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.signing, nil }
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.EdDSA}, nil
}
func (s *storage) KeySet(context.Context) ([]op.Key, error) { return s.keys, nil }

// No JWT-profile grants; private_key_jwt assertions are checked before
// the op package sees them (assertion.go), so it never asks for a key.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

// now is the store's time, for lifetimes.
func (s *storage) now() time.Time { return s.clock.Now().UTC() }
