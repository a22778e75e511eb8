package oidc

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/rs/cors"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/engine/risk"
)

// Paths of the provider's endpoints, relative to the issuer (which has no
// path). The key set is the one riskauth already publishes for its access
// tokens: one set of signing keys, one rotation.
const (
	PathAuthorize  = "/oauth/authorize"
	PathCallback   = PathAuthorize + "/callback"
	PathToken      = "/oauth/token"
	PathIntrospect = "/oauth/introspect"
	PathUserinfo   = "/oauth/userinfo"
	PathRevoke     = "/oauth/revoke"
	PathEndSession = "/oauth/end_session"
	PathKeys       = "/.well-known/jwks.json"
	PathDiscovery  = "/.well-known/openid-configuration"
	// DefaultLoginPath is where /authorize sends the browser to sign in.
	DefaultLoginPath = "/oidc/login"
)

// Defaults of Config's durations.
const (
	DefaultRequestTTL = 15 * time.Minute
	DefaultCodeTTL    = time.Minute
)

// SigningKey is one Ed25519 key and its key id (the access-token keys of
// internal/httpapi: the same keys sign ID tokens and OIDC access tokens).
type SigningKey struct {
	ID  string
	Key ed25519.PrivateKey
}

// Config configures the provider.
type Config struct {
	// Issuer is the public origin ("https://auth.example.com"), no path.
	// http is accepted only for loopback addresses (tests, development).
	Issuer string
	// Clients is the client registry.
	Clients []ClientConfig
	// Keys sign ID tokens and access tokens; the first signs, all are
	// published. Required.
	Keys []SigningKey
	// LoginPath is the login page /authorize redirects to, with ?id= the
	// request id (default DefaultLoginPath).
	LoginPath string
	// RequestTTL bounds an authorization from /authorize to the code
	// exchange (default 15 minutes); CodeTTL the code (default 1 minute).
	RequestTTL time.Duration
	CodeTTL    time.Duration
	// BackchannelAttempts bounds the deliveries of one logout token
	// (default DefaultBackchannelAttempts); BackchannelDelay is the wait
	// before the second, doubling after (default DefaultBackchannelDelay).
	BackchannelAttempts int
	BackchannelDelay    time.Duration
	// DeviceLifetime bounds a device authorization (default
	// DefaultDeviceLifetime); DevicePollInterval is the least time between
	// polls (default DefaultDevicePollInterval).
	DeviceLifetime     time.Duration
	DevicePollInterval time.Duration
	// ClientCacheTTL is how long an instance keeps a client registered
	// through the admin API before reading it from the store again
	// (default DefaultClientCacheTTL; negative: read on every lookup).
	ClientCacheTTL time.Duration
}

// Deps are the provider's collaborators.
type Deps struct {
	Store Store
	// Users resolves the subject of tokens to the account (claims; a
	// disabled or deleted account gets no more tokens).
	Users authn.UserReader
	Clock clock.Clock
	// Risk evaluates every authorization and refresh (risk.go); nil skips
	// the evaluation (tests of the protocol alone).
	Risk Risk
	// Logger (nil discards) never receives a code, token or secret.
	Logger *slog.Logger
	// Events receives consents given and withdrawn, RP-initiated
	// logouts and back-channel deliveries (nil: none).
	Events SecurityEvents
	// Sessions are riskauth's sessions: RP-initiated logout ends one, and
	// back-channel logout tells clients of the ended ones (nil: logout
	// only redirects, and back-channel logout sees every session as ended
	// once a session-ending event names the user).
	Sessions Sessions
	// Counter bounds user-code entries of the device grant (the account
	// store implements it); nil refuses every entry.
	Counter authn.EventCounter
	// Profiles are the users' profiles, for the claims clients map from
	// them (claims.go; the account store implements it); nil maps none.
	Profiles ProfileReader
	// HTTPClient delivers logout tokens (nil: a client with a 5 s
	// timeout that follows no redirect).
	HTTPClient *http.Client
}

// Provider is the OpenID Connect provider: Handler serves its endpoints,
// LoginRequest and CompleteLogin are the login page's side of it.
type Provider struct {
	op      *op.Provider
	st      *storage
	issuer  string
	clients map[string]*client
}

var kidPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// New checks cfg and builds the provider.
func New(cfg Config, deps Deps) (*Provider, error) {
	if deps.Store == nil || deps.Users == nil {
		return nil, errors.New("oidc: Deps.Store and Deps.Users are required")
	}
	if deps.Clock == nil {
		deps.Clock = clock.System{}
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	iss, err := url.Parse(cfg.Issuer)
	if err != nil || (iss.Scheme != "https" && iss.Scheme != "http") || iss.Host == "" || (iss.Path != "" && iss.Path != "/") || iss.RawQuery != "" {
		return nil, fmt.Errorf("oidc: issuer %q: want https://host[:port]", cfg.Issuer)
	}
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	_, loopback := op.HTTPLoopbackOrLocalhost(cfg.Issuer)
	if iss.Scheme == "http" && !loopback {
		return nil, fmt.Errorf("oidc: issuer %q: http only on loopback addresses", cfg.Issuer)
	}
	if len(cfg.Keys) == 0 {
		return nil, errors.New("oidc: no signing key")
	}
	seen := map[string]bool{}
	for i, k := range cfg.Keys {
		if !kidPattern.MatchString(k.ID) || seen[k.ID] || len(k.Key) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("oidc: key #%d: want a unique id of 1-64 [A-Za-z0-9_.-] and an Ed25519 private key", i+1)
		}
		seen[k.ID] = true
	}
	if cfg.LoginPath == "" {
		cfg.LoginPath = DefaultLoginPath
	}
	cfg.RequestTTL = orDefault(cfg.RequestTTL, DefaultRequestTTL)
	cfg.CodeTTL = orDefault(cfg.CodeTTL, DefaultCodeTTL)
	cfg.DeviceLifetime = orDefault(cfg.DeviceLifetime, DefaultDeviceLifetime)
	cfg.DevicePollInterval = orDefault(cfg.DevicePollInterval, DefaultDevicePollInterval)
	if cfg.DevicePollInterval < time.Second || cfg.DeviceLifetime < time.Minute {
		return nil, errors.New("oidc: device polls at least 1s apart, device codes live at least 1 minute")
	}
	if cfg.RequestTTL < 0 || cfg.CodeTTL < 0 || cfg.CodeTTL > 10*time.Minute {
		return nil, errors.New("oidc: request and code lifetimes must be positive, codes at most 10 minutes")
	}
	p := &Provider{issuer: cfg.Issuer, clients: map[string]*client{}}
	cfg.ClientCacheTTL = orDefault(cfg.ClientCacheTTL, DefaultClientCacheTTL)
	login := func(id string) string { return cfg.LoginPath + "?id=" + url.QueryEscape(id) }
	scopes := []string{"openid", "profile", "email", "offline_access"}
	for _, cc := range cfg.Clients {
		c, err := newClient(cc, login)
		if err != nil {
			return nil, fmt.Errorf("oidc: %w", err)
		}
		if p.clients[c.cfg.ID] != nil {
			return nil, fmt.Errorf("oidc: client %q registered twice", c.cfg.ID)
		}
		p.clients[c.cfg.ID] = c
		scopes = appendNew(scopes, c.cfg.Scopes...)
	}
	reg := &registry{static: p.clients, store: deps.Store, clock: deps.Clock, ttl: cfg.ClientCacheTTL, loginURL: login,
		cache: map[string]cachedClient{}}
	p.st = &storage{cfg: cfg, store: deps.Store, users: deps.Users, clock: deps.Clock, log: deps.Logger, reg: reg, risk: deps.Risk,
		events: deps.Events, sessions: deps.Sessions, counter: deps.Counter, profiles: deps.Profiles}
	p.st.signing, p.st.keys = signingKeys(cfg.Keys)
	if cfg.BackchannelAttempts <= 0 {
		cfg.BackchannelAttempts = DefaultBackchannelAttempts
	}
	cfg.BackchannelDelay = orDefault(cfg.BackchannelDelay, DefaultBackchannelDelay)

	// The crypto key encrypts opaque access tokens, which this provider
	// does not issue (its access tokens are JWTs); it is random so that
	// nothing predictable is ever accepted.
	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	opCfg := &op.Config{
		CryptoKey:      cryptoKey,
		CodeMethodS256: true,
		AuthMethodPost: true,
		// Checked by riskauth itself (assertion.go), before the op
		// package reads the request.
		AuthMethodPrivateKeyJWT: true,
		GrantTypeRefreshToken:   true,
		SupportedUILocales:      []language.Tag{language.English},
		SupportedScopes:         scopes,
		SupportedClaims:         append(slices.Clone(op.DefaultSupportedClaims), "sid"),
		// Logout: back-channel, with sid; the page RP-initiated logout
		// ends on when the client names none.
		BackChannelLogoutSupported:        true,
		BackChannelLogoutSessionSupported: true,
		DefaultLogoutRedirectURI:          DefaultLoggedOutPath,
		DeviceAuthorization: op.DeviceAuthorizationConfig{Lifetime: cfg.DeviceLifetime, PollInterval: cfg.DevicePollInterval,
			UserFormPath: DefaultDevicePath, UserCode: op.UserCodeBase20},
	}
	// Tokens are sent as bearer headers or form posts, never with cookies,
	// so any origin may call the token and userinfo endpoints, but
	// without credentials.
	corsOpts := &cors.Options{
		AllowedHeaders:  []string{"Accept", "Authorization", "Content-Type"},
		AllowedMethods:  []string{http.MethodGet, http.MethodHead, http.MethodPost},
		AllowOriginFunc: func(string) bool { return true },
	}
	opts := []op.Option{
		op.WithCustomEndpoints(op.NewEndpoint(PathAuthorize), op.NewEndpoint(PathToken), op.NewEndpoint(PathUserinfo),
			op.NewEndpoint(PathRevoke), op.NewEndpoint(PathEndSession), op.NewEndpoint(PathKeys)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(PathIntrospect)),
		op.WithCustomDeviceAuthorizationEndpoint(op.NewEndpoint(PathDeviceAuthorization)),
		op.WithAccessTokenVerifierOpts(op.WithSupportedAccessTokenSigningAlgorithms(string(jose.EdDSA))),
		op.WithIDTokenHintVerifierOpts(op.WithSupportedIDTokenHintSigningAlgorithms(string(jose.EdDSA))),
		op.WithCORSOptions(corsOpts),
	}
	if iss.Scheme == "http" {
		opts = append(opts, op.WithAllowInsecure())
	}
	p.op, err = op.NewProvider(opCfg, p.st, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	p.st.bc = newBackchannel(p.st, deps.HTTPClient, cfg.BackchannelAttempts, cfg.BackchannelDelay)
	return p, nil
}

// Close stops the back-channel logout worker; deliveries waiting for a
// retry give up (and are audited as failed). Safe to call twice.
func (p *Provider) Close() error {
	p.st.bc.close()
	return nil
}

func appendNew(to []string, more ...string) []string {
	for _, s := range more {
		if !contains(to, s) {
			to = append(to, s)
		}
	}
	return to
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Handler serves the provider's endpoints (the Path constants but the
// login page and the key set, which the HTTP layer serves).
func (p *Provider) Handler() http.Handler { return p.st.withAssertions(p.op) }

// Issuer is the issuer identifier.
func (p *Provider) Issuer() string { return p.issuer }

// LoginPrompt is what the login page needs to know about a request.
type LoginPrompt struct {
	ClientID   string
	ClientName string
	// RedirectURI is where the authorization ends (the login page's
	// form-action must allow its origin).
	RedirectURI string
	// LoginHint prefills the identifier.
	LoginHint string
	// AAL is the assurance level the client asked for (acr_values): 2
	// means a second factor whatever the risk decision.
	AAL int
	// ExpiresAt is when the request lapses.
	ExpiresAt time.Time
	// Prompt is the client's prompt values ("none", "login", "consent").
	Prompt []string
	// MaxAge, when set, is how old a sign-in may be (max_age; 0 with
	// prompt=login): an older session signs in again.
	MaxAge *time.Duration
}

// ErrUnknownRequest is an authorization request that does not exist (any
// more), or whose login step is over.
var ErrUnknownRequest = errors.New("oidc: unknown or expired authorization request")

// LoginRequest describes the live request id for the login page.
func (p *Provider) LoginRequest(ctx context.Context, id string) (*LoginPrompt, error) {
	a, rec, err := p.st.request(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Login != nil {
		return nil, ErrUnknownRequest
	}
	c := p.st.find(ctx, a.ClientID)
	if c == nil {
		return nil, ErrUnknownRequest
	}
	lp := &LoginPrompt{ClientID: c.cfg.ID, ClientName: c.cfg.Name, LoginHint: a.LoginHint, RedirectURI: a.RedirectURI,
		AAL: requestedAAL(a.ACRValues), ExpiresAt: rec.ExpiresAt, Prompt: a.Prompt}
	if a.MaxAge != nil {
		d := time.Duration(*a.MaxAge) * time.Second
		lp.MaxAge = &d
	}
	return lp, nil
}

// Deny ends request id with an OAuth error for the client
// (login_required for prompt=none without a usable session,
// access_denied) and returns the URL of the client's redirect URI that
// carries it. The redirect URI was checked against the registry when the
// request was made.
func (p *Provider) Deny(ctx context.Context, id, code string) (string, error) {
	a, _, err := p.st.request(ctx, id)
	if err != nil {
		return "", err
	}
	if a.Login != nil && !a.Login.ConsentPending {
		return "", ErrUnknownRequest
	}
	return p.deny(ctx, a, code)
}

// deny ends request a with the OAuth error code for the client.
func (p *Provider) deny(ctx context.Context, a *authRequest, code string) (string, error) {
	if err := p.st.store.DeleteAuthRequest(ctx, a.ID); err != nil {
		return "", fmt.Errorf("oidc: deny: %w", err)
	}
	q := url.Values{"error": {code}}
	if a.State != "" {
		q.Set("state", a.State)
	}
	sep := "?"
	if strings.Contains(a.RedirectURI, "?") {
		sep = "&"
	}
	return a.RedirectURI + sep + q.Encode(), nil
}

// requestedAAL maps acr_values onto an assurance level: the strongest one
// named (a client that asks for AAL2 gets a second factor).
func requestedAAL(acr []string) int {
	aal := 1
	for _, v := range acr {
		if v == ACRAAL2 {
			aal = 2
		}
	}
	return aal
}

// Login is what the login step established.
type Login struct {
	UserID    string
	SessionID string
	// AAL is the session's assurance level (1 or 2).
	AAL int
	// AMR are the RFC 8176 methods used (AMRPassword, AMROTP, AMRMFA).
	AMR []string
	// AuthTime is when the user authenticated: now for a sign-in on the
	// login page (the zero value), the session's start for a session
	// reused (single sign-on).
	AuthTime time.Time
	// Reused is a session that was already there (single sign-on): a
	// step_up decision refuses it (ErrStepUp), where a fresh sign-in,
	// judged by the engine itself, stands.
	Reused bool
}

// ErrAssuranceTooLow is a login below the level the request asked for.
var ErrAssuranceTooLow = errors.New("oidc: the sign-in is below the requested assurance level")

// CompleteLogin records who signed in for request id and returns the URL
// (relative to the issuer) the browser goes on to, where the provider
// issues the code.
func (p *Provider) CompleteLogin(ctx context.Context, id string, l Login) (string, error) {
	a, _, err := p.st.request(ctx, id)
	if err != nil {
		return "", err
	}
	if a.Login != nil {
		return "", ErrUnknownRequest
	}
	if l.UserID == "" || l.AAL < 1 {
		return "", errors.New("oidc: a login needs a user and an assurance level")
	}
	if l.AAL < requestedAAL(a.ACRValues) {
		return "", ErrAssuranceTooLow
	}
	action, err := p.st.evaluate(ctx, EventAuthorize, l.UserID, a.ClientID)
	switch {
	case err != nil:
		return "", err
	case action == risk.Block:
		return "", ErrDenied
	case action == risk.StepUp && l.Reused:
		return "", ErrStepUp
	}
	c := p.st.find(ctx, a.ClientID)
	if c == nil {
		return "", ErrUnknownRequest
	}
	consent, err := p.st.needsConsent(ctx, c, a, l.UserID)
	if err != nil {
		return "", err
	}
	if consent && slices.Contains(a.Prompt, zoidc.PromptNone) {
		return p.deny(ctx, a, "consent_required")
	}
	at := l.AuthTime
	if at.IsZero() {
		at = p.st.clock.Now()
	}
	a.Login = &loginState{UserID: l.UserID, SessionID: l.SessionID, AuthTime: at.UTC().Truncate(time.Second),
		AMR: l.AMR, ACR: ACR(l.AAL), ConsentPending: consent}
	data, err := json.Marshal(a)
	if err != nil {
		return "", fmt.Errorf("oidc: %w", err)
	}
	if err := p.st.store.UpdateAuthRequest(ctx, id, data, p.st.clock.Now()); err != nil {
		if errors.Is(err, authn.ErrNotFound) {
			return "", ErrUnknownRequest
		}
		return "", fmt.Errorf("oidc: complete login: %w", err)
	}
	if consent {
		return DefaultConsentPath + "?id=" + url.QueryEscape(id), nil
	}
	return PathCallback + "?id=" + url.QueryEscape(id), nil
}
