package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/engine/clock"
)

// The client registry: the clients of the configuration (read-only,
// built once) and those registered through the admin API, kept in the
// account store so that every instance sees them. A lookup reads the
// configured clients first, then a short per-instance cache of the stored
// ones (Config.ClientCacheTTL), then the store: a change made on one
// instance reaches the others within the cache's lifetime, and on the
// instance that made it at once.

// ClientRecord is a registered client as the store keeps it. Data is the
// client's ClientConfig as JSON (its secret only as SHA-256): the store
// does not interpret it.
type ClientRecord struct {
	ID        string
	Data      []byte
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ClientStore keeps the registered clients.
type ClientStore interface {
	// CreateClient inserts r; authn.ErrConflict when the id is taken.
	CreateClient(ctx context.Context, r ClientRecord) error
	// Client returns the client with this id.
	Client(ctx context.Context, id string) (ClientRecord, error)
	// Clients lists every registered client, by id.
	Clients(ctx context.Context) ([]ClientRecord, error)
	// UpdateClient replaces the data, version and update time of the
	// client r.ID when its stored version is prev: authn.ErrConflict when
	// it is another, authn.ErrNotFound when there is no such client.
	UpdateClient(ctx context.Context, r ClientRecord, prev int64) error
	// DeleteClient removes the client and, in the same transaction,
	// revokes every token it holds and removes its consents and its
	// relying-party sessions.
	DeleteClient(ctx context.Context, id string, now time.Time) error
}

// AssertionStore remembers the private_key_jwt assertions seen, so that
// one is accepted once on whichever instance it reaches.
type AssertionStore interface {
	// UseAssertion records the assertion jti of clientID until expiresAt;
	// authn.ErrConflict when it was recorded already and has not expired
	// (a replay).
	UseAssertion(ctx context.Context, clientID, jti string, expiresAt, now time.Time) error
}

// DefaultClientCacheTTL is how long an instance keeps a stored client
// before reading it again.
const DefaultClientCacheTTL = 2 * time.Second

// maxCachedClients bounds the cache; past it the cache starts over.
const maxCachedClients = 10_000

// registry resolves client ids.
type registry struct {
	static   map[string]*client
	store    ClientStore
	clock    clock.Clock
	ttl      time.Duration // ≤ 0: no cache
	loginURL func(string) string

	mu    sync.Mutex
	cache map[string]cachedClient
}

type cachedClient struct {
	c  *client // nil: no such client
	at time.Time
}

// lookup returns the client with this id: errUnknownClient when there is
// none, another error when the store failed.
func (r *registry) lookup(ctx context.Context, id string) (*client, error) {
	if c := r.static[id]; c != nil {
		return c, nil
	}
	if !validClientID(id) {
		return nil, errUnknownClient
	}
	now := r.clock.Now()
	if r.ttl > 0 {
		r.mu.Lock()
		e, ok := r.cache[id]
		r.mu.Unlock()
		if ok && now.Sub(e.at) < r.ttl && now.Sub(e.at) >= 0 {
			if e.c == nil {
				return nil, errUnknownClient
			}
			return e.c, nil
		}
	}
	c, _, err := r.load(ctx, id)
	if err != nil && !errors.Is(err, errUnknownClient) {
		return nil, err
	}
	r.remember(id, c, now)
	if c == nil {
		return nil, errUnknownClient
	}
	return c, nil
}

// load reads a stored client.
func (r *registry) load(ctx context.Context, id string) (*client, ClientRecord, error) {
	rec, err := r.store.Client(ctx, id)
	if errors.Is(err, authn.ErrNotFound) {
		return nil, rec, errUnknownClient
	}
	if err != nil {
		return nil, rec, fmt.Errorf("oidc: client %s: %w", id, err)
	}
	c, err := r.decode(rec)
	return c, rec, err
}

// decode builds a stored client.
func (r *registry) decode(rec ClientRecord) (*client, error) {
	var cfg ClientConfig
	if err := json.Unmarshal(rec.Data, &cfg); err != nil {
		return nil, fmt.Errorf("oidc: client %s: %w", rec.ID, err)
	}
	c, err := newClient(cfg, r.loginURL)
	if err != nil {
		return nil, fmt.Errorf("oidc: stored %w", err)
	}
	return c, nil
}

func (r *registry) remember(id string, c *client, now time.Time) {
	if r.ttl <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cache) >= maxCachedClients {
		clear(r.cache)
	}
	r.cache[id] = cachedClient{c: c, at: now}
}

// forget drops id from the cache after a change on this instance.
func (r *registry) forget(id string) {
	r.mu.Lock()
	delete(r.cache, id)
	r.mu.Unlock()
}

// find is lookup for callers that treat a store failure like an unknown
// client (it is logged).
func (s *storage) find(ctx context.Context, id string) *client {
	c, err := s.reg.lookup(ctx, id)
	if err != nil && !errors.Is(err, errUnknownClient) {
		s.log.ErrorContext(ctx, "oidc: client lookup", "client_id", id, "err", err)
	}
	return c
}
