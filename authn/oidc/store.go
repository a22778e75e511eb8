package oidc

import (
	"context"
	"time"
)

// The state the provider keeps, declared here (the consumer) and
// implemented by authn/store. Every method takes the time it reads as a
// parameter, so tests run on a virtual clock. Unknown, expired and used
// records are authn.ErrNotFound unless a method says otherwise.

// RequestRecord is one authorization request, from /authorize to the code
// exchange. Data is the request's state (JSON, see authRequest): the store
// does not interpret it.
type RequestRecord struct {
	ID       string
	ClientID string
	Data     []byte
	// ExpiresAt bounds the whole request; the code has its own deadline.
	ExpiresAt time.Time
	// CodeHash is the SHA-256 of the authorization code, nil before the
	// login step completed.
	CodeHash      []byte
	CodeExpiresAt time.Time
	// CodeUsedAt is set once the code was exchanged; the record stays until
	// ExpiresAt so that a replay is recognised (and revokes what the code
	// issued) instead of looking like an unknown code.
	CodeUsedAt time.Time
}

// RequestStore keeps authorization requests.
type RequestStore interface {
	// CreateAuthRequest inserts r (no code yet).
	CreateAuthRequest(ctx context.Context, r RequestRecord) error
	// AuthRequest returns the live request with this id.
	AuthRequest(ctx context.Context, id string, now time.Time) (RequestRecord, error)
	// UpdateAuthRequest replaces the data of a live request that has no
	// code yet (the login step records who signed in); ErrNotFound
	// otherwise.
	UpdateAuthRequest(ctx context.Context, id string, data []byte, now time.Time) error
	// DeleteAuthRequest removes the request.
	DeleteAuthRequest(ctx context.Context, id string) error
}

// CodeStore keeps the authorization codes of requests.
type CodeStore interface {
	// SaveAuthCode sets the code of a live request that has none;
	// ErrNotFound otherwise (a second code for one request is refused).
	SaveAuthCode(ctx context.Context, id string, codeHash []byte, expiresAt, now time.Time) error
	// AuthRequestByCode returns the request whose code hashes to codeHash,
	// used or not (CodeUsedAt tells), while the request lives and the code
	// has not expired.
	AuthRequestByCode(ctx context.Context, codeHash []byte, now time.Time) (RequestRecord, error)
	// UseAuthCode marks the code of request id used, once: ErrNotFound when
	// it was used already or expired, also under concurrent exchanges.
	UseAuthCode(ctx context.Context, id string, now time.Time) error
}

// TokenKind tells access-token records from refresh-token records.
type TokenKind string

// Token kinds.
const (
	TokenAccess  TokenKind = "access"
	TokenRefresh TokenKind = "refresh"
)

// TokenRecord is an issued access token (a JWT, recorded by its id so it
// can be revoked and introspected) or refresh token (opaque, recorded by
// its hash).
type TokenRecord struct {
	ID   string
	Kind TokenKind
	// Hash is SHA-256 of a refresh token; nil for access tokens.
	Hash []byte
	// Family is the grant the token belongs to: the authorization request
	// that started it. Every token issued from one code, through every
	// refresh, shares it, so a replayed code or a reused refresh token
	// revokes them together.
	Family    string
	ClientID  string
	UserID    string
	Data      []byte // the grant (JSON, see grant)
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is when a refresh token was rotated (zero while current).
	UsedAt time.Time
	// RevokedAt is when the token (or its family) was revoked.
	RevokedAt time.Time
}

// TokenStore keeps issued tokens.
type TokenStore interface {
	// InsertToken records t.
	InsertToken(ctx context.Context, t TokenRecord) error
	// Token returns the token with this id, expired, used or revoked
	// alike: callers decide (a used refresh token is reuse, not unknown).
	Token(ctx context.Context, id string) (TokenRecord, error)
	// RefreshTokenByHash returns the refresh token with this hash, in the
	// same way as Token.
	RefreshTokenByHash(ctx context.Context, hash []byte) (TokenRecord, error)
	// RotateRefreshToken marks refresh token oldID used and inserts next,
	// atomically: ErrNotFound (and nothing inserted) when oldID is used,
	// revoked or expired already, also under concurrent rotations.
	RotateRefreshToken(ctx context.Context, oldID string, next TokenRecord, now time.Time) error
	// RevokeTokens revokes the token id, or with family set every token of
	// that family, and says how many were live.
	RevokeTokens(ctx context.Context, id, family string, now time.Time) (int64, error)
}

// ConsentRecord is what a user let a third-party client receive: the
// scopes granted, and when.
type ConsentRecord struct {
	UserID    string
	ClientID  string
	Scopes    []string
	GrantedAt time.Time
}

// ConsentStore keeps consents, one per user and client.
type ConsentStore interface {
	// SaveConsent records c, replacing the user's earlier consent to the
	// same client.
	SaveConsent(ctx context.Context, c ConsentRecord) error
	// Consent returns the user's consent to the client.
	Consent(ctx context.Context, userID, clientID string) (ConsentRecord, error)
	// Consents lists the user's consents, by client id.
	Consents(ctx context.Context, userID string) ([]ConsentRecord, error)
	// DeleteConsent removes the user's consent to the client and revokes,
	// in the same transaction, every token the client holds for the user;
	// ErrNotFound when there was no consent.
	DeleteConsent(ctx context.Context, userID, clientID string, now time.Time) error
}

// RPSession is a relying party that got tokens from a riskauth session
// (back-channel logout tells it when the session ends).
type RPSession struct {
	ClientID  string
	SessionID string
	UserID    string
	CreatedAt time.Time
}

// RPSessionStore keeps which clients hold tokens from which sessions.
type RPSessionStore interface {
	// AddRPSession records r; recording it again changes nothing.
	AddRPSession(ctx context.Context, r RPSession) error
	// RPSessions lists the user's records.
	RPSessions(ctx context.Context, userID string) ([]RPSession, error)
	// DeleteRPSession removes a record (the client was told).
	DeleteRPSession(ctx context.Context, clientID, sessionID string) error
}

// DeviceState is where a device authorization stands.
type DeviceState string

// Device authorization states.
const (
	DevicePending  DeviceState = "pending"
	DeviceApproved DeviceState = "approved"
	DeviceDenied   DeviceState = "denied"
	DeviceConsumed DeviceState = "consumed"
)

// DeviceRecord is one device authorization (RFC 8628).
type DeviceRecord struct {
	DeviceCodeHash []byte
	UserCodeHash   []byte
	ClientID       string
	Scopes         []string
	ExpiresAt      time.Time
	// LastPollAt is the previous poll (zero before the first).
	LastPollAt time.Time
	State      DeviceState
	// Set by the approval.
	UserID, SessionID string
	AuthTime          time.Time
	AMR               []string
}

// DeviceStore keeps device authorizations.
type DeviceStore interface {
	// CreateDeviceAuth inserts r (pending); ErrConflict when a live
	// authorization has the same user code. Expired ones are purged.
	CreateDeviceAuth(ctx context.Context, r DeviceRecord, now time.Time) error
	// DeviceAuthByUserCode returns the live pending authorization.
	DeviceAuthByUserCode(ctx context.Context, userCodeHash []byte, now time.Time) (DeviceRecord, error)
	// DecideDeviceAuth moves a live pending authorization to d.State
	// (approved or denied), with d's user fields; ErrNotFound otherwise.
	DecideDeviceAuth(ctx context.Context, userCodeHash []byte, d DeviceRecord, now time.Time) error
	// PollDeviceAuth returns the client's authorization as it was before
	// this poll, records the poll, and consumes an approved one (a second
	// poll then sees it consumed).
	PollDeviceAuth(ctx context.Context, deviceCodeHash []byte, clientID string, now time.Time) (DeviceRecord, error)
}

// Store is everything the provider keeps.
type Store interface {
	RequestStore
	CodeStore
	TokenStore
	ConsentStore
	RPSessionStore
	DeviceStore
	ClientStore
	AssertionStore
}
