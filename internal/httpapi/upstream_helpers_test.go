package httpapi_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/store"
	"github.com/riskauth/riskauth/authn/upstream"
	"github.com/riskauth/riskauth/internal/httpapi"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
)

// The upstream tests run a second OpenID Connect provider in process,
// built with zitadel/oidc's op package over its example storage: a real
// protocol peer (discovery, PKCE, nonce, RS256 ID tokens, userinfo).
// Its login step is automatic: it signs in as the user the test chose.

const (
	idpClientID = "riskauth"
	idpSecret   = "idp-secret-0123456789abcdef0123456789"
	idpPassword = "idp-password"
)

// idpUser is a user of the test IdP.
type idpUser struct {
	id, email string
	verified  bool
}

// idp is the upstream provider of a test.
type idp struct {
	t    *testing.T
	url  string
	st   *storage.Storage
	prov *op.Provider

	mu    sync.Mutex
	users map[string]*storage.User
	next  string // the user the login step signs in as
}

// idpUsers implements the example storage's UserStore.
type idpUsers struct{ i *idp }

func (u idpUsers) GetUserByID(id string) *storage.User {
	u.i.mu.Lock()
	defer u.i.mu.Unlock()
	return u.i.users[id]
}

func (u idpUsers) GetUserByUsername(name string) *storage.User { return u.GetUserByID(name) }

func (u idpUsers) ExampleClientID() string { return "service" }

// newIDP starts the IdP on ln, for riskauth's callback redirect.
func newIDP(t *testing.T, ln net.Listener, redirects ...string) *idp {
	t.Helper()
	i := &idp{t: t, url: "http://" + ln.Addr().String(), users: map[string]*storage.User{}}
	i.st = storage.NewStorageWithClients(idpUsers{i}, map[string]*storage.Client{
		idpClientID: storage.WebClient(idpClientID, idpSecret, redirects...),
	})
	var err error
	i.prov, err = op.NewProvider(&op.Config{CryptoKey: sha256.Sum256([]byte("idp")), CodeMethodS256: true, AuthMethodPost: true,
		SupportedUILocales: []language.Tag{language.English}}, i.st, op.StaticIssuer(i.url), op.WithAllowInsecure(),
		op.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("/login/username", i.login)
	mux.Handle("/", i.prov)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return i
}

// add creates a user; as makes the login step sign in as id.
func (i *idp) add(u idpUser) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.users[u.id] = &storage.User{ID: u.id, Username: u.id, Password: idpPassword, FirstName: "Test", LastName: u.id,
		Email: u.email, EmailVerified: u.verified, PreferredLanguage: language.English}
}

func (i *idp) as(id string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.next = id
}

// login is the IdP's login step: the chosen user, at once.
func (i *idp) login(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	i.mu.Lock()
	who := i.next
	i.mu.Unlock()
	if err := i.st.CheckUsernamePassword(who, idpPassword, id); err != nil {
		http.Error(w, "login refused", http.StatusForbidden)
		return
	}
	http.Redirect(w, r, op.AuthCallbackURL(i.prov)(r.Context(), id), http.StatusFound)
}

// upstreamEnv is riskauth with the upstream providers "idp" and "idp2"
// (both the test IdP) and "down" (which never answers), and the IdP.
type upstreamEnv struct {
	*env
	idp *idp
}

// newUpstreamEnv starts riskauth (rules at rulesPath, "" for the
// defaults) with the providers, and the IdP.
func newUpstreamEnv(t *testing.T, rulesPath string) *upstreamEnv {
	t.Helper()
	reg := prometheus.NewRegistry()
	eng, mem := newEngineRules(t, reg, rulesPath)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	idpLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	origin := "http://" + ln.Addr().String()
	i := newIDP(t, idpLn, origin+"/login/upstream/idp/callback", origin+"/login/upstream/idp2/callback")
	// "down" accepts connections and never answers: discovery must end
	// at its deadline.
	downLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = downLn.Close() })
	go func() {
		var held []net.Conn
		for {
			c, err := downLn.Accept()
			if err != nil {
				for _, c := range held {
					_ = c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	var provs []authn.UpstreamProvider
	for _, c := range []upstream.ProviderConfig{
		{Name: "idp", DisplayName: "Test IdP", Issuer: i.url, ClientID: idpClientID, ClientSecret: idpSecret},
		{Name: "idp2", DisplayName: "Test IdP 2", Issuer: i.url, ClientID: idpClientID, ClientSecret: idpSecret},
		{Name: "down", Issuer: "http://" + downLn.Addr().String(), ClientID: "x", ClientSecret: "y", Timeout: time.Second},
	} {
		p, err := upstream.New(c, origin+"/login/upstream/"+c.Name+"/callback", nil, nil)
		require.NoError(t, err)
		provs = append(provs, p)
	}
	logs := &testenv.LogBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ae := newAuthnEnvDeps(t, eng, reg, origin, logger, func(d *authn.Deps, st *store.SQLite) {
		d.Upstream, d.Identities = provs, st
	})
	srv, err := httpapi.New(httpapi.Config{APIKeys: []string{testKey}, PublicOrigin: origin,
		AdminKeys: []httpapi.AdminKey{{Name: "helpdesk-1", Key: usersKeySupport, Scopes: []string{"users:support"}}}},
		ae.deps(httpapi.Deps{Engine: eng, Registry: reg, Logger: logger, Upstream: ae.svc.Upstream}))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	e := &env{t: t, srv: srv, url: origin, reg: reg, store: mem, logs: logs, http: &http.Client{Timeout: 30 * time.Second}, auth: ae}
	t.Cleanup(func() {
		e.http.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
		require.NoError(t, <-done)
		require.NotContains(t, logs.String(), idpSecret)
		for _, secret := range ae.secrets() {
			require.NotContains(t, logs.String(), secret, "a token or code reached the log")
		}
	})
	return &upstreamEnv{env: e, idp: i}
}

// upstreamBrowser is a browser that follows redirects between riskauth
// and the IdP, and stops (stop) at riskauth's callback when asked to.
type upstreamBrowser struct {
	*userAgent
	stop bool
}

func (e *upstreamEnv) browser2() *upstreamBrowser {
	jar, err := cookiejar.New(nil)
	require.NoError(e.t, err)
	b := &upstreamBrowser{}
	c := &http.Client{Timeout: 30 * time.Second, Jar: secureJar{jar}, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if b.stop && strings.HasPrefix(r.URL.String(), e.url) && strings.HasSuffix(r.URL.Path, "/callback") {
			return http.ErrUseLastResponse
		}
		if len(via) > 20 {
			return errors.New("too many redirects")
		}
		r.Header.Set("User-Agent", browserUA)
		return nil
	}}
	b.userAgent = &userAgent{e: &oidcEnv{env: e.env}, client: c}
	return b
}

// signInWith follows "Sign in with Test IdP" from the sign-in page as
// the IdP user id and returns the page it ends on.
func (b *upstreamBrowser) signInWith(id string, ie *idp) page {
	return b.signInVia("idp", id, ie)
}

// signInVia is signInWith through the provider name.
func (b *upstreamBrowser) signInVia(name, id string, ie *idp) page {
	t := b.e.t
	t.Helper()
	ie.as(id)
	p := b.get(b.e.url + "/login")
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, `href="/login/upstream/`+name+`"`, "the button")
	return b.get(b.e.url + "/login/upstream/" + name)
}

// cookie returns the browser's cookie name for riskauth, "" when none.
func (b *upstreamBrowser) cookie(name string) string {
	u, _ := url.Parse(b.e.url)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// signedIn reports whether the browser's session cookie is a live
// session (GET /v1/session).
func (b *upstreamBrowser) signedIn() bool {
	req, err := http.NewRequest(http.MethodGet, b.e.url+"/v1/session", nil)
	require.NoError(b.e.t, err)
	req.Header.Set("User-Agent", browserUA)
	resp, err := b.client.Do(req)
	require.NoError(b.e.t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// api calls the JSON API with the browser's cookies, as a same-origin
// page would, and returns the status and body.
func (b *upstreamBrowser) api(method, path string) (int, string) {
	t := b.e.t
	t.Helper()
	req, err := http.NewRequest(method, b.e.url+path, nil)
	require.NoError(t, err)
	req.Header.Set("User-Agent", browserUA)
	req.Header.Set("Origin", b.e.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(raw)
}
