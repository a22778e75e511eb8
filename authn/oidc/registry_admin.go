package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/token"
)

// The client registry's administration (the admin API's
// /v1/admin/clients): register, list, view, change, delete a client and
// give it a new secret. Secrets are generated here (token.New: 32 random
// bytes), shown once, and kept as SHA-256 only. Configured clients are
// listed too, read-only: they change in the configuration. Every change
// needs a reason and is emitted as a secevent naming the admin key, which
// puts it on the audit trail.

// Errors of the client registry.
var (
	ErrNoClient       = errors.New("oidc: no such client")
	ErrClientExists   = errors.New("oidc: a client with this id exists")
	ErrClientReadOnly = errors.New("oidc: a configured client changes in the configuration, not through the API")
	// ErrClientChanged is a change made against a version that is no
	// longer the stored one.
	ErrClientChanged = errors.New("oidc: the client changed since it was read")
	// ErrNoSecret is a secret rotation of a client without a secret.
	ErrNoSecret = errors.New("oidc: the client does not authenticate with a secret")
)

// ClientError is a client registration that does not check out; Error
// says what to fix.
type ClientError struct{ Msg string }

func (e *ClientError) Error() string { return e.Msg }

// AnyClientVersion as an ifMatch skips the version check.
const AnyClientVersion int64 = -1

// ClientView is a client as the administration shows it: its
// registration with the defaults filled in and without the secret hash.
type ClientView struct {
	Config ClientConfig
	// HasSecret: the client authenticates with a secret.
	HasSecret bool
	// ReadOnly: a client of the configuration.
	ReadOnly bool
	// Version is what a change names in If-Match (0 for configured
	// clients).
	Version              int64
	CreatedAt, UpdatedAt time.Time
}

func viewOf(c *client, rec *ClientRecord) *ClientView {
	cfg := c.cfg
	cfg.SecretHash = ""
	cfg.AuthMethod = string(c.method)
	cfg.GrantTypes = make([]string, len(c.grants))
	for i, g := range c.grants {
		cfg.GrantTypes[i] = string(g)
	}
	v := &ClientView{Config: cfg, HasSecret: c.secretHash != nil, ReadOnly: rec == nil}
	if rec != nil {
		v.Version, v.CreatedAt, v.UpdatedAt = rec.Version, rec.CreatedAt, rec.UpdatedAt
	}
	return v
}

// Clients lists the configured clients, then the registered ones, each
// by id.
func (p *Provider) Clients(ctx context.Context) ([]ClientView, error) {
	ids := slices.Sorted(maps.Keys(p.clients))
	out := make([]ClientView, 0, len(ids))
	for _, id := range ids {
		out = append(out, *viewOf(p.clients[id], nil))
	}
	recs, err := p.st.store.Clients(ctx)
	if err != nil {
		return nil, fmt.Errorf("oidc: clients: %w", err)
	}
	for _, rec := range recs {
		c, err := p.st.reg.decode(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, *viewOf(c, &rec))
	}
	return out, nil
}

// Client shows one client; ErrNoClient when there is none.
func (p *Provider) Client(ctx context.Context, id string) (*ClientView, error) {
	if c := p.clients[id]; c != nil {
		return viewOf(c, nil), nil
	}
	c, rec, err := p.stored(ctx, id)
	if err != nil {
		return nil, err
	}
	return viewOf(c, &rec), nil
}

// stored reads a registered client: ErrNoClient when there is none.
func (p *Provider) stored(ctx context.Context, id string) (*client, ClientRecord, error) {
	if !validClientID(id) {
		return nil, ClientRecord{}, ErrNoClient
	}
	c, rec, err := p.st.reg.load(ctx, id)
	if errors.Is(err, errUnknownClient) {
		return nil, rec, ErrNoClient
	}
	return c, rec, err
}

// usesSecret reports whether an auth method authenticates with a secret.
func usesSecret(m string) bool {
	return m == string(zoidc.AuthMethodBasic) || m == string(zoidc.AuthMethodPost)
}

// newSecret makes a client secret and its hash.
func newSecret() (secret, hash string, err error) {
	secret, err = token.New()
	if err != nil {
		return "", "", fmt.Errorf("oidc: client secret: %w", err)
	}
	sum := sha256.Sum256([]byte(secret))
	return secret, hex.EncodeToString(sum[:]), nil
}

// encode checks cfg as a registration (a ClientError when it does not
// check out) and returns the client and what the store keeps.
func (p *Provider) encode(cfg ClientConfig) (*client, []byte, error) {
	c, err := p.checked(cfg)
	if err != nil {
		return nil, nil, err
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("oidc: %w", err)
	}
	return c, data, nil
}

// checked validates cfg as a registration: a ClientError when it does not
// check out.
func (p *Provider) checked(cfg ClientConfig) (*client, error) {
	c, err := newClient(cfg, p.st.reg.loginURL)
	if err != nil {
		// newClient's messages start with `client "<id>": `.
		msg := err.Error()
		if _, rest, ok := strings.Cut(msg, `": `); ok && strings.HasPrefix(msg, "client ") {
			msg = rest
		}
		return nil, &ClientError{Msg: msg}
	}
	return c, nil
}

// CreateClient registers cfg (AuthMethod empty is client_secret_basic)
// and returns it with its secret, which is shown this once ("" for
// clients without one). cfg.SecretHash must be empty: the server makes
// the secret.
func (p *Provider) CreateClient(ctx context.Context, cfg ClientConfig, by authn.Actor) (*ClientView, string, error) {
	if err := authn.CheckReason(by.Reason); err != nil {
		return nil, "", err
	}
	if cfg.SecretHash != "" {
		return nil, "", &ClientError{Msg: "the server makes the secret: send none"}
	}
	if cfg.AuthMethod == "" {
		cfg.AuthMethod = string(zoidc.AuthMethodBasic)
	}
	if p.clients[cfg.ID] != nil {
		return nil, "", ErrClientExists
	}
	var secret string
	if usesSecret(cfg.AuthMethod) {
		s, h, err := newSecret()
		if err != nil {
			return nil, "", err
		}
		secret, cfg.SecretHash = s, h
	}
	c, data, err := p.encode(cfg)
	if err != nil {
		return nil, "", err
	}
	now := p.st.now()
	rec := ClientRecord{ID: cfg.ID, Data: data, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := p.st.store.CreateClient(ctx, rec); err != nil {
		if errors.Is(err, authn.ErrConflict) {
			return nil, "", ErrClientExists
		}
		return nil, "", fmt.Errorf("oidc: create client: %w", err)
	}
	p.st.reg.forget(cfg.ID)
	p.auditClient(secevent.OIDCClientCreated, "create", cfg.ID, by, nil)
	return viewOf(c, &rec), secret, nil
}

// UpdateClient changes the registered client id, whose stored version
// must be ifMatch (or AnyClientVersion), by change. A change to a secret
// method of a client without a secret makes one, returned this once; a
// change away from one drops it.
func (p *Provider) UpdateClient(ctx context.Context, id string, ifMatch int64, change func(*ClientConfig) error,
	by authn.Actor) (*ClientView, string, error) {
	if err := authn.CheckReason(by.Reason); err != nil {
		return nil, "", err
	}
	return p.rewrite(ctx, id, ifMatch, by, secevent.OIDCClientUpdated, "update", func(cfg *ClientConfig) (string, error) {
		if err := change(cfg); err != nil {
			return "", err
		}
		if cfg.ID != id {
			return "", &ClientError{Msg: "the client id cannot change"}
		}
		switch {
		case !usesSecret(cfg.AuthMethod):
			cfg.SecretHash = ""
		case cfg.SecretHash == "":
			s, h, err := newSecret()
			cfg.SecretHash = h
			return s, err
		}
		return "", nil
	})
}

// RotateClientSecret gives the client id a new secret, returned this
// once; the old one stops working at once.
func (p *Provider) RotateClientSecret(ctx context.Context, id string, ifMatch int64, by authn.Actor) (*ClientView, string, error) {
	if err := authn.CheckReason(by.Reason); err != nil {
		return nil, "", err
	}
	return p.rewrite(ctx, id, ifMatch, by, secevent.OIDCClientSecretRotated, "rotate_secret", func(cfg *ClientConfig) (string, error) {
		if !usesSecret(cfg.AuthMethod) {
			return "", ErrNoSecret
		}
		s, h, err := newSecret()
		cfg.SecretHash = h
		return s, err
	})
}

// rewrite is a compare-and-set of the registered client id through fn,
// which returns the new secret if it made one.
func (p *Provider) rewrite(ctx context.Context, id string, ifMatch int64, by authn.Actor, t secevent.Type, action string,
	fn func(*ClientConfig) (string, error)) (*ClientView, string, error) {
	if p.clients[id] != nil {
		return nil, "", ErrClientReadOnly
	}
	_, rec, err := p.stored(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if ifMatch != AnyClientVersion && ifMatch != rec.Version {
		return nil, "", ErrClientChanged
	}
	var cfg ClientConfig
	if err := json.Unmarshal(rec.Data, &cfg); err != nil {
		return nil, "", fmt.Errorf("oidc: client %s: %w", id, err)
	}
	before := fieldsOf(cfg)
	if cfg.AuthMethod == "" { // stored before the method was recorded
		cfg.AuthMethod = string(zoidc.AuthMethodBasic)
		if cfg.SecretHash == "" {
			cfg.AuthMethod = string(zoidc.AuthMethodNone)
		}
	}
	secret, err := fn(&cfg)
	if err != nil {
		return nil, "", err
	}
	c, data, err := p.encode(cfg)
	if err != nil {
		return nil, "", err
	}
	prev := rec.Version
	rec.Data, rec.Version, rec.UpdatedAt = data, prev+1, p.st.now()
	if err := p.st.store.UpdateClient(ctx, rec, prev); err != nil {
		switch {
		case errors.Is(err, authn.ErrConflict):
			return nil, "", ErrClientChanged
		case errors.Is(err, authn.ErrNotFound):
			return nil, "", ErrNoClient
		}
		return nil, "", fmt.Errorf("oidc: update client: %w", err)
	}
	p.st.reg.forget(id)
	p.auditClient(t, action, id, by, changedFields(before, fieldsOf(cfg)))
	return viewOf(c, &rec), secret, nil
}

// DeleteClient removes the registered client id; its tokens are revoked
// and its consents removed with it.
func (p *Provider) DeleteClient(ctx context.Context, id string, by authn.Actor) error {
	if err := authn.CheckReason(by.Reason); err != nil {
		return err
	}
	if p.clients[id] != nil {
		return ErrClientReadOnly
	}
	if !validClientID(id) {
		return ErrNoClient
	}
	if err := p.st.store.DeleteClient(ctx, id, p.st.now()); err != nil {
		if errors.Is(err, authn.ErrNotFound) {
			return ErrNoClient
		}
		return fmt.Errorf("oidc: delete client: %w", err)
	}
	p.st.reg.forget(id)
	p.auditClient(secevent.OIDCClientDeleted, "delete", id, by, nil)
	return nil
}

// fieldsOf is a registration as its JSON fields, for the list of what a
// change changed.
func fieldsOf(cfg ClientConfig) map[string]string {
	data, _ := json.Marshal(cfg)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(data, &m)
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

func changedFields(before, after map[string]string) []string {
	var out []string
	for k, v := range after {
		if before[k] != v {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// auditClient emits a registry change: who (the admin key), why, what.
func (p *Provider) auditClient(t secevent.Type, action, clientID string, by authn.Actor, fields []string) {
	if p.st.events == nil {
		return
	}
	d := map[string]string{"admin": by.Name, "reason": by.Reason, "action": action, "client_id": clientID}
	if len(fields) > 0 {
		d["fields"] = strings.Join(fields, ",")
	}
	p.st.events.Emit(&secevent.Event{Type: t, IP: by.Client.IP, UserAgent: by.Client.UserAgent, Time: p.st.clock.Now(), Details: d})
}
