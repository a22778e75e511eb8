package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/oidc"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/internal/httpapi"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
)

// The OpenID Connect tests run riskauth as it runs in production (real
// engine, sign-in service, SQLite store, provider) and talk to it as an
// ordinary relying party does: go-oidc for discovery and ID-token
// verification, x/oauth2 for the code exchange and refresh, and a plain
// HTTP client with a cookie jar as the browser that fills in the login
// form.

const (
	rpRedirect     = "http://127.0.0.1:1/rp/callback" // never dialled: the browser stops at it
	rpSecret       = "rp-secret-0123456789abcdef0123456789abcdef"
	rpConfidential = "web-app"
	rpPublic       = "cli-app"
	rpNativeRedir  = "http://127.0.0.1/native/callback"
)

// oidcEnv is a riskauth server with the provider on, its clock, and the
// count of writes to the provider's state.
type oidcEnv struct {
	*env
	clock  *clock.Manual
	writes *countingOIDC
	events *recordedEvents
}

// recordedEvents keeps the provider's security events.
type recordedEvents struct {
	mu  sync.Mutex
	evs []secevent.Event
}

func (r *recordedEvents) Emit(ev *secevent.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, *ev)
}

// of returns the events of type t so far.
func (r *recordedEvents) of(t secevent.Type) []secevent.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []secevent.Event
	for _, ev := range r.evs {
		if ev.Type == t {
			out = append(out, ev)
		}
	}
	return out
}

// countingOIDC counts the provider's writes, so tests can tell that a
// refused request persisted nothing.
type countingOIDC struct {
	oidc.Store
	n atomic.Int64
}

func (c *countingOIDC) CreateAuthRequest(ctx context.Context, r oidc.RequestRecord) error {
	c.n.Add(1)
	return c.Store.CreateAuthRequest(ctx, r)
}

func (c *countingOIDC) SaveAuthCode(ctx context.Context, id string, h []byte, exp, now time.Time) error {
	c.n.Add(1)
	return c.Store.SaveAuthCode(ctx, id, h, exp, now)
}

func (c *countingOIDC) UseAuthCode(ctx context.Context, id string, now time.Time) error {
	c.n.Add(1)
	return c.Store.UseAuthCode(ctx, id, now)
}

func (c *countingOIDC) InsertToken(ctx context.Context, t oidc.TokenRecord) error {
	c.n.Add(1)
	return c.Store.InsertToken(ctx, t)
}

func (c *countingOIDC) RotateRefreshToken(ctx context.Context, old string, t oidc.TokenRecord, now time.Time) error {
	c.n.Add(1)
	return c.Store.RotateRefreshToken(ctx, old, t, now)
}

func (c *countingOIDC) RevokeTokens(ctx context.Context, id, family string, now time.Time) (int64, error) {
	c.n.Add(1)
	return c.Store.RevokeTokens(ctx, id, family, now)
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func testClients() []oidc.ClientConfig {
	return []oidc.ClientConfig{
		{ID: rpConfidential, Name: "Web App", FirstParty: true, SecretHash: sha256Hex(rpSecret), RedirectURIs: []string{rpRedirect},
			GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"orders:read"}},
		{ID: rpPublic, Name: "CLI", FirstParty: true, Native: true, RedirectURIs: []string{rpNativeRedir}},
	}
}

func newOIDCEnv(t *testing.T, extra ...oidc.ClientConfig) *oidcEnv {
	t.Helper()
	return newOIDCEnvRules(t, "", extra...)
}

// newOIDCEnvRules is newOIDCEnv with the rule file at rulesPath.
func newOIDCEnvRules(t *testing.T, rulesPath string, extra ...oidc.ClientConfig) *oidcEnv {
	t.Helper()
	return newOIDCEnvWith(t, rulesPath, nil, extra...)
}

// newOIDCEnvWith is newOIDCEnvRules with acfg changing the authn
// configuration (nil: none).
func newOIDCEnvWith(t *testing.T, rulesPath string, acfg func(*authn.Config), extra ...oidc.ClientConfig) *oidcEnv {
	t.Helper()
	reg := prometheus.NewRegistry()
	eng, store := newEngineRules(t, reg, rulesPath)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	origin := "http://" + ln.Addr().String()
	logs := &testenv.LogBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var acfgs []func(*authn.Config)
	if acfg != nil {
		acfgs = append(acfgs, acfg)
	}
	ae := newAuthnEnv(t, eng, reg, origin, logger, acfgs...)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	clk := clock.NewManual(time.Now())
	writes := &countingOIDC{Store: ae.store}
	events := &recordedEvents{}
	// authn's events and the provider's own reach the recorder through
	// the session watch, which tells the provider of ended sessions.
	watch := oidc.NewSessionWatch(events)
	prov, err := oidc.New(oidc.Config{Issuer: origin, Clients: append(testClients(), extra...), Keys: []oidc.SigningKey{{ID: "k1", Key: key}},
		BackchannelDelay: 10 * time.Millisecond, DevicePollInterval: time.Second},
		oidc.Deps{Store: writes, Users: ae.store, Risk: eng, Clock: clk, Logger: logger, Events: watch, Sessions: ae.store, Counter: ae.store, Profiles: ae.store})
	require.NoError(t, err)
	watch.Attach(prov)
	ae.events.attach(watch)
	srv, err := httpapi.New(httpapi.Config{APIKeys: []string{testKey}, PublicOrigin: origin,
		AccessTokens: &httpapi.AccessTokenConfig{Keys: []httpapi.AccessTokenKey{{ID: "k1", Key: key}}}, AdminKeys: clientAdminKeys},
		ae.deps(httpapi.Deps{Engine: eng, Registry: reg, Logger: logger, OIDC: prov, Clients: prov}))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	e := &env{t: t, srv: srv, url: origin, reg: reg, store: store, logs: logs,
		http: &http.Client{Timeout: 10 * time.Second}, auth: ae}
	t.Cleanup(func() {
		require.NoError(t, prov.Close())
		e.http.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
		require.NoError(t, <-done)
		require.NotContains(t, logs.String(), userPassword)
		require.NotContains(t, logs.String(), rpSecret)
		for _, secret := range ae.secrets() {
			require.NotContains(t, logs.String(), secret, "a token or code reached the log")
		}
	})
	return &oidcEnv{env: e, clock: clk, writes: writes, events: events}
}

// rp is a relying party: go-oidc's provider and verifier, x/oauth2's
// configuration.
type rp struct {
	ctx      context.Context
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	conf     *oauth2.Config
}

func (e *oidcEnv) rp(clientID, secret, redirect string, scopes ...string) *rp {
	t := e.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	ctx = gooidc.ClientContext(ctx, e.http)
	p, err := gooidc.NewProvider(ctx, e.url)
	require.NoError(t, err, "discovery")
	return &rp{ctx: ctx, provider: p, verifier: p.Verifier(&gooidc.Config{ClientID: clientID}),
		conf: &oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: redirect,
			Scopes: append([]string{gooidc.ScopeOpenID}, scopes...)}}
}

// secureJar keeps the server's Secure (__Host-) cookies on the plain-http
// loopback test server, as browsers do for localhost.
type secureJar struct{ *cookiejar.Jar }

func asHTTPS(u *url.URL) *url.URL { v := *u; v.Scheme = "https"; return &v }

func (j secureJar) SetCookies(u *url.URL, cs []*http.Cookie) { j.Jar.SetCookies(asHTTPS(u), cs) }
func (j secureJar) Cookies(u *url.URL) []*http.Cookie        { return j.Jar.Cookies(asHTTPS(u)) }

// userAgent is a browser: a cookie jar, a browser's user agent, and
// redirects followed until they leave for the relying party.
type userAgent struct {
	e      *oidcEnv
	client *http.Client
}

func (e *oidcEnv) userAgent() *userAgent {
	jar, err := cookiejar.New(nil)
	require.NoError(e.t, err)
	c := &http.Client{Timeout: 10 * time.Second, Jar: secureJar{jar}, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if !strings.HasPrefix(r.URL.String(), e.url) {
			return http.ErrUseLastResponse
		}
		r.Header.Set("User-Agent", browserUA)
		return nil
	}}
	return &userAgent{e: e, client: c}
}

// page is an answer the browser got: status, final URL, body.
type page struct {
	status   int
	url      *url.URL
	location string
	body     string
}

func (b *userAgent) do(req *http.Request) page {
	t := b.e.t
	t.Helper()
	req.Header.Set("User-Agent", browserUA)
	resp, err := b.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return page{status: resp.StatusCode, url: resp.Request.URL, location: resp.Header.Get("Location"), body: string(raw)}
}

func (b *userAgent) get(u string) page {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(b.e.t, err)
	return b.do(req)
}

var hiddenRe = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)

// submit posts the form of p with the fields it holds plus more.
func (b *userAgent) submit(p page, more map[string]string) page {
	t := b.e.t
	t.Helper()
	action := regexp.MustCompile(`<form id="form" method="post" action="([^"]+)">`).FindStringSubmatch(p.body)
	require.NotNil(t, action, "a form on the page: %s", p.body)
	form := url.Values{}
	for _, m := range hiddenRe.FindAllStringSubmatch(p.body, -1) {
		form.Set(m[1], m[2])
	}
	for k, v := range more {
		form.Set(k, v)
	}
	req, err := http.NewRequest(http.MethodPost, b.e.url+action[1], strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// authorize runs the browser part of the code flow with a password and
// returns the redirect back to the client.
func (b *userAgent) authorize(authURL, email string) *url.URL {
	t := b.e.t
	t.Helper()
	p := b.get(authURL)
	require.Equal(t, http.StatusOK, p.status, "the login page: %s", p.body)
	require.Equal(t, oidc.DefaultLoginPath, p.url.Path)
	p = b.submit(p, map[string]string{"identifier": email, "password": userPassword})
	require.Equal(t, http.StatusFound, p.status, "redirected to the client: %s", p.body)
	back, err := url.Parse(p.location)
	require.NoError(t, err)
	return back
}

// pkce is a fresh verifier and the options that send its S256 challenge.
func pkce() (string, oauth2.AuthCodeOption) {
	v := oauth2.GenerateVerifier()
	return v, oauth2.S256ChallengeOption(v)
}

// uaTransport sets the User-Agent of the relying party's back-channel
// requests.
type uaTransport struct{ ua string }

func (u uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return http.DefaultTransport.RoundTrip(r)
}

// oauth2WithUA makes x/oauth2 send its token requests with user agent ua.
func oauth2WithUA(ctx context.Context, ua string) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: 10 * time.Second, Transport: uaTransport{ua}})
}
