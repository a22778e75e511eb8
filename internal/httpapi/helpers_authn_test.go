package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/authntest"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/passkey"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/authn/seal"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/store"
	authtotp "github.com/riskauth/riskauth/authn/totp"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/internal/httpapi"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/signals/breached"
)

// userPassword passes the default policy (15+ code points, not breached).
const userPassword = "violet tractor umbrella 42"

// authnEnv is the real sign-in service behind a test server: SQLite store,
// outbox mailer, argon2id (with small parameters, to keep tests fast), the
// embedded breached-password list and the server's own engine.
type authnEnv struct {
	svc    *authn.Services
	store  *store.SQLite
	outbox string
	// calls counts the services' store calls (the store under them all).
	calls *authntest.Counting
	// events passes authn's security events on to what a test attaches.
	events *forwardEvents

	mu   sync.Mutex
	seen []string // tokens, codes and flow ids handed out, for the log check
}

// deps adds the sign-in services to d.
func (a *authnEnv) deps(d httpapi.Deps) httpapi.Deps {
	d.Registration, d.SignIn, d.PasswordReset = a.svc.Registration, a.svc.SignIn, a.svc.Recovery
	d.Sessions, d.Account = a.svc.Sessions, a.svc.Account
	d.SelfService = a.svc.SelfService
	d.Users = a.svc.Admin
	d.Passkeys = a.svc.Passkeys
	return d
}

func newAuthnEnv(t *testing.T, eng *engine.Engine, reg *prometheus.Registry, origin string, log *slog.Logger, acfg ...func(*authn.Config)) *authnEnv {
	t.Helper()
	return newAuthnEnvDeps(t, eng, reg, origin, log, nil, acfg...)
}

// newAuthnEnvDeps is newAuthnEnv with more dependencies: more, when not
// nil, changes the services' Deps before they are built (upstream_helpers_test.go).
func newAuthnEnvDeps(t *testing.T, eng *engine.Engine, reg *prometheus.Registry, origin string, log *slog.Logger, more func(*authn.Deps, *store.SQLite),
	acfg ...func(*authn.Config)) *authnEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "authn.db"), store.SQLiteOptions{Timeouts: store.Timeouts{Read: testenv.Budget, Write: testenv.Budget}})
	require.NoError(t, err)
	hasher, err := password.NewHasher(password.HasherConfig{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, Concurrency: 2, Metrics: password.NewMetrics(reg)})
	require.NoError(t, err)
	list := breached.NewEmbedded(breached.EmbeddedOptions{})
	checker, err := password.NewChecker(password.Policy{ServiceName: "riskauth"},
		password.BreachCheckerFunc(func(ctx context.Context, pw string) (bool, error) {
			r, err := list.Check(ctx, pw)
			return r.Breached, err
		}))
	require.NoError(t, err)
	sealer, err := seal.New(map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")}, "k1")
	require.NoError(t, err)
	rh, err := authtotp.NewRecoveryHasher([]byte("recovery-key-0123456789abcdef-0123"))
	require.NoError(t, err)
	outbox, err := mail.NewOutbox(dir, nil, nil)
	require.NoError(t, err)
	renderer, err := mail.NewRenderer(mail.RendererConfig{PublicOrigin: origin, ServiceName: "riskauth"})
	require.NoError(t, err)
	calls := authntest.NewCounting(st)
	// Passkeys for the relying party "localhost": the page may be the
	// public origin (127.0.0.1, for ceremonies driven from Go) or its
	// localhost twin (a browser refuses an IP address as an RP id).
	pk := passkey.Config{RPID: "localhost", RPName: "riskauth", Origins: []string{origin, localhostOrigin(origin)}}
	fwd := &forwardEvents{}
	cfg := authn.Config{ServiceName: "riskauth", Account: testAccountConfig(), Passkeys: pk}
	for _, f := range acfg {
		if f != nil {
			f(&cfg)
		}
	}
	deps := authn.Deps{
		Users: calls, Flows: calls, Tokens: calls, Sessions: calls, Attempts: calls, TOTP: calls, Recovery: calls, Counters: calls, FlowClients: calls,
		Risk: eng, Hasher: hasher, Policy: checker, Sealer: sealer, RecoveryHasher: rh,
		CodeKey: []byte("code-key-0123456789abcdef-0123456789"), Mailer: outbox, Renderer: renderer, Logger: log,
		SelfService: authn.SelfServiceDeps{Profiles: st, Devices: st, Activity: st, Profiler: eng, Consents: st, EmailChanges: st},
		Directory:   st, RequiredActions: st,
		Passkeys: st,
		Privacy:  authn.PrivacyDeps{Store: st, Locker: st, State: eng},
		Events:   fwd,
	}
	if more != nil {
		more(&deps, st)
	}
	svc, err := authn.New(cfg, deps)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = svc.Close(context.Background())
		_ = outbox.Close()
		_ = st.Close()
	})
	return &authnEnv{svc: svc, store: st, outbox: outbox.Path(), calls: calls, events: fwd}
}

// localhostOrigin is origin with its 127.0.0.1 host named localhost.
func localhostOrigin(origin string) string {
	return strings.Replace(origin, "127.0.0.1", "localhost", 1)
}

// forwardEvents passes security events on to the sink attached, if any.
type forwardEvents struct {
	to atomic.Pointer[authn.SecurityEvents]
}

func (f *forwardEvents) Emit(ev *secevent.Event) {
	if to := f.to.Load(); to != nil {
		(*to).Emit(ev)
	}
}

func (f *forwardEvents) attach(to authn.SecurityEvents) { f.to.Store(&to) }

func (a *authnEnv) track(s string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s != "" {
		a.seen = append(a.seen, s)
	}
	return s
}

func (a *authnEnv) secrets() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

// mails returns the outbox records to to of kind, after the queue drained.
func (a *authnEnv) mails(t *testing.T, to string, kind mail.Kind) []mail.OutboxRecord {
	t.Helper()
	require.NoError(t, a.svc.Flush(context.Background()))
	f, err := os.Open(a.outbox)
	require.NoError(t, err)
	defer f.Close()
	var out []mail.OutboxRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r mail.OutboxRecord
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		if r.To == to && (kind == "" || r.Kind == kind) {
			out = append(out, r)
		}
	}
	return out
}

var (
	linkRe = regexp.MustCompile(`https?://[^\s]+\?token=[A-Za-z0-9_-]+`)
	codeRe = regexp.MustCompile(`(?m)^\s+(\d{6,10})\s*$`)
)

// link is the URL in the newest mail of kind to to.
func (a *authnEnv) link(t *testing.T, to string, kind mail.Kind) string {
	t.Helper()
	ms := a.mails(t, to, kind)
	require.NotEmpty(t, ms, "no %s mail to %s", kind, to)
	l := linkRe.FindString(ms[len(ms)-1].Text)
	require.NotEmpty(t, l, "no link in the %s mail", kind)
	_, tok, _ := strings.Cut(l, "token=")
	a.track(tok)
	return l
}

// token is the token of that link.
func (a *authnEnv) token(t *testing.T, to string, kind mail.Kind) string {
	t.Helper()
	_, tok, _ := strings.Cut(a.link(t, to, kind), "token=")
	return tok
}

// code is the numeric code of the newest sign-in code mail to to.
func (a *authnEnv) code(t *testing.T, to string) string {
	t.Helper()
	ms := a.mails(t, to, mail.KindLoginCode)
	require.NotEmpty(t, ms)
	m := codeRe.FindStringSubmatch(ms[len(ms)-1].Text)
	require.NotNil(t, m)
	return a.track(m[1])
}

// totpAt is what an authenticator app shows at at.
func totpAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	require.NoError(t, err)
	return c
}

// browser is a user agent talking to the sign-in API the way a same-origin
// page does: JSON bodies, Origin and Sec-Fetch-Site headers, and the
// session cookie kept by hand (net/http's jar never sends a Secure cookie
// over plain http, and the tests run on loopback http).
type browser struct {
	e      *env
	cookie string
	ua     string
	// reg is the registration cookie (the binding of a registration made
	// from this browser).
	reg string
}

func (e *env) browser() *browser { return &browser{e: e, ua: browserUA} }

// call sends one request; a nil body sends none.
func (b *browser) call(method, path string, body any, opts ...reqOpt) response {
	b.e.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, ok := body.(string)
		if !ok {
			j, err := json.Marshal(body)
			require.NoError(b.e.t, err)
			raw = string(j)
		}
		rd = strings.NewReader(raw)
	}
	req, err := http.NewRequest(method, b.e.url+path, rd)
	require.NoError(b.e.t, err)
	req.Header.Set("User-Agent", b.ua)
	req.Header.Set("Origin", b.e.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	var cookies []string
	if b.cookie != "" {
		cookies = append(cookies, httpapi.SessionCookie+"="+b.cookie)
	}
	if b.reg != "" {
		cookies = append(cookies, httpapi.RegistrationCookie+"="+b.reg)
	}
	if len(cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(cookies, "; "))
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := b.e.http.Do(req)
	require.NoError(b.e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.e.t, err)
	for _, c := range resp.Cookies() {
		if c.Name == httpapi.RegistrationCookie {
			b.reg = c.Value
			if c.MaxAge < 0 || c.Value == "" {
				b.reg = ""
			}
			b.e.auth.track(c.Value)
		}
		if c.Name == httpapi.SessionCookie {
			b.cookie = c.Value
			if c.MaxAge < 0 || c.Value == "" {
				b.cookie = ""
			}
			b.e.auth.track(c.Value)
		}
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: raw}
	var lb struct {
		FlowID  string `json:"flow_id"`
		Session struct {
			Token string `json:"token"`
		} `json:"session"`
	}
	if json.Unmarshal(raw, &lb) == nil {
		b.e.auth.track(lb.FlowID)
		b.e.auth.track(lb.Session.Token)
	}
	return r
}

func (b *browser) post(path string, body any, opts ...reqOpt) response {
	b.e.t.Helper()
	return b.call(http.MethodPost, path, body, opts...)
}

func (b *browser) get(path string, opts ...reqOpt) response {
	b.e.t.Helper()
	return b.call(http.MethodGet, path, nil, opts...)
}

// register creates and verifies an account through the API, from this
// browser (which keeps the registration cookie, so the password stays).
func (b *browser) register(email string) {
	t := b.e.t
	t.Helper()
	r := b.post("/v1/register", map[string]any{"email": email, "password": userPassword})
	require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	r = b.post("/v1/verify-email", map[string]any{"token": b.e.auth.token(t, email, mail.KindVerifyEmail)})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
}

// registerWith is register with the consents the client showed.
func (b *browser) registerWith(email string, consents []map[string]any) {
	t := b.e.t
	t.Helper()
	r := b.post("/v1/register", map[string]any{"email": email, "password": userPassword, "consents": consents})
	require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	r = b.post("/v1/verify-email", map[string]any{"token": b.e.auth.token(t, email, mail.KindVerifyEmail)})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
}

// signIn signs in with the password and expects a session.
func (b *browser) signIn(email string) map[string]any {
	t := b.e.t
	t.Helper()
	r := b.post("/v1/login", map[string]any{"identifier": email, "password": userPassword})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	m := r.json(t)
	require.Equal(t, "authenticated", m["status"], "body: %s", r.body)
	require.NotEmpty(t, b.cookie, "a session cookie was set")
	return m
}

// hashes counts argon2id computations (hash, verify, dummy) so far.
func (e *env) hashes() uint64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	require.NoError(e.t, err)
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() != "riskauth_password_hash_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			n += m.GetHistogram().GetSampleCount()
		}
	}
	return n
}
