package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/riskauth/riskauth/engine/clock"
)

// ErrUnavailable: the provider did not answer discovery (or the code
// exchange) within its deadline, or answered nonsense. The sign-in can
// be tried again later; callers answer 503 with Retry-After.
var ErrUnavailable = errors.New("upstream: provider unavailable")

// ErrRejected: the provider's answer did not verify (an error from the
// provider, a wrong nonce, a bad signature, issuer or audience, an
// expired token, a code that was already used). Nobody signs in.
var ErrRejected = errors.New("upstream: answer rejected")

// Identity is what a verified ID token says about the user.
type Identity struct {
	// Provider is the configured provider's Name.
	Provider string
	// Issuer and Subject identify the user at the provider for ever
	// (OpenID Connect Core §5.7: the only stable pair).
	Issuer  string
	Subject string
	// Email is the address the provider gave ("" when none);
	// EmailVerified says whether the provider vouches for it, by the
	// preset's rule.
	Email         string
	EmailVerified bool
	// Name is a display name, "" when the token has none.
	Name string
}

// Provider is one configured upstream provider. Discovery runs on first
// use under the provider's deadline; a success is kept, a failure is
// answered as ErrUnavailable for DefaultRetryAfter without asking again.
// Safe for concurrent use.
type Provider struct {
	cfg      ProviderConfig
	redirect string
	client   *http.Client
	clock    clock.Clock

	mu       sync.Mutex
	disc     *gooidc.Provider
	failedAt time.Time
}

// New builds the provider for cfg (Normalize'd), whose callback is
// redirectURL. client makes the requests to the provider (nil: a client
// with the provider's timeout).
func New(cfg ProviderConfig, redirectURL string, client *http.Client, clk clock.Clock) (*Provider, error) {
	if err := cfg.Normalize(); err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout}
	}
	if clk == nil {
		clk = clock.System{}
	}
	return &Provider{cfg: cfg, redirect: redirectURL, client: client, clock: clk}, nil
}

// Name is the provider's handle.
func (p *Provider) Name() string { return p.cfg.Name }

// DisplayName is what the sign-in button names.
func (p *Provider) DisplayName() string { return p.cfg.DisplayName }

// FormPost: the provider answers the callback with a cross-site form
// post (Apple), so the state cookie must be SameSite=None.
func (p *Provider) FormPost() bool { return p.cfg.Preset == PresetApple }

// discover returns the discovered provider, discovering it under the
// deadline when needed.
func (p *Provider) discover(ctx context.Context) (*gooidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.disc != nil {
		return p.disc, nil
	}
	if !p.failedAt.IsZero() && p.clock.Now().Sub(p.failedAt) < DefaultRetryAfter {
		return nil, fmt.Errorf("%w: %s: discovery failed recently", ErrUnavailable, p.cfg.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	d, err := gooidc.NewProvider(gooidc.ClientContext(ctx, p.client), p.cfg.Issuer)
	if err != nil {
		p.failedAt = p.clock.Now()
		return nil, fmt.Errorf("%w: %s: discovery: %w", ErrUnavailable, p.cfg.Name, err)
	}
	p.disc, p.failedAt = d, time.Time{}
	return d, nil
}

func (p *Provider) oauth(d *gooidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: d.Endpoint(),
		RedirectURL: p.redirect, Scopes: append([]string{gooidc.ScopeOpenID}, p.cfg.Scopes...)}
}

// AuthURL is where the browser goes to sign in at the provider: the
// code flow with state, a nonce and the S256 challenge of verifier.
func (p *Provider) AuthURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce)}
	if p.FormPost() {
		opts = append(opts, oauth2.SetAuthURLParam("response_mode", "form_post"))
	}
	return p.oauth(d).AuthCodeURL(state, opts...), nil
}

// Exchange redeems code with verifier, verifies the ID token (issuer,
// audience, expiry, signature by the provider's published keys, and
// nonce) and maps its claims by the preset.
func (p *Provider) Exchange(ctx context.Context, code, verifier, nonce string) (Identity, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	ctx = context.WithValue(gooidc.ClientContext(ctx, p.client), oauth2.HTTPClient, p.client)
	tok, err := p.oauth(d).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return Identity{}, fmt.Errorf("%w: %s: code exchange: %s", ErrRejected, p.cfg.Name, re.ErrorCode)
		}
		return Identity{}, fmt.Errorf("%w: %s: code exchange: %w", ErrUnavailable, p.cfg.Name, err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, fmt.Errorf("%w: %s: no id_token in the token response", ErrRejected, p.cfg.Name)
	}
	v := d.Verifier(&gooidc.Config{ClientID: p.cfg.ClientID, Now: p.clock.Now})
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %s: id token: %w", ErrRejected, p.cfg.Name, err)
	}
	if idt.Nonce == "" || !equal(idt.Nonce, nonce) {
		return Identity{}, fmt.Errorf("%w: %s: nonce mismatch", ErrRejected, p.cfg.Name)
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		return Identity{}, fmt.Errorf("%w: %s: claims: %w", ErrRejected, p.cfg.Name, err)
	}
	if c.Email == "" && d.UserInfoEndpoint() != "" {
		// Some providers put the address only in userinfo (OpenID
		// Connect Core §5.4): ask it, for the same subject (§5.3.2).
		ui, err := d.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return Identity{}, fmt.Errorf("%w: %s: userinfo: %w", ErrUnavailable, p.cfg.Name, err)
		}
		if ui.Subject != idt.Subject {
			return Identity{}, fmt.Errorf("%w: %s: userinfo is about another subject", ErrRejected, p.cfg.Name)
		}
		if err := ui.Claims(&c); err != nil {
			return Identity{}, fmt.Errorf("%w: %s: userinfo claims: %w", ErrRejected, p.cfg.Name, err)
		}
	}
	id := c.identity(p.cfg.Preset)
	id.Provider, id.Issuer, id.Subject = p.cfg.Name, idt.Issuer, idt.Subject
	if id.Subject == "" {
		return Identity{}, fmt.Errorf("%w: %s: no subject", ErrRejected, p.cfg.Name)
	}
	return id, nil
}
