package authn_test

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/netip"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/authntest"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/authn/seal"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/store"
	"github.com/riskauth/riskauth/authn/totp"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/signals/device"
	"github.com/riskauth/riskauth/signals/velocity"
	"github.com/stretchr/testify/require"
)

const browserUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// goodPassword passes the default policy (15+ code points, not breached).
const goodPassword = "correct horse battery staple"

// breachedPassword is in the test's breach corpus.
const breachedPassword = "password1234567890"

// events collects security events: the real consumer interface.
type events struct {
	mu  sync.Mutex
	all []*secevent.Event
}

func (e *events) Emit(ev *secevent.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) count(t secevent.Type, userID string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.all {
		if ev.Type == t && (userID == "" || ev.UserID == userID) {
			n++
		}
	}
	return n
}

// service puts every authn service behind one handle for the tests: each
// flow method is promoted from the service that owns it, Flush and Close
// from Services.
type service struct {
	*authn.Services
	*authn.SignIn
	*authn.Registration
	*authn.Recovery
	*authn.Account
	*authn.Sessions
}

func newService(s *authn.Services) *service {
	return &service{Services: s, SignIn: s.SignIn, Registration: s.Registration, Recovery: s.Recovery,
		Account: s.Account, Sessions: s.Sessions}
}

type fixture struct {
	svc    *service
	clock  *clock.Manual
	store  *store.SQLite
	outbox string
	events *events
	reg    *prometheus.Registry
	// calls counts the store calls of the services (every store but a
	// wrapped user store goes through it).
	calls *authntest.Counting
	// cfg and deps built svc; instance builds another instance from them.
	cfg  authn.Config
	deps authn.Deps
}

type fixtureOpts struct {
	params password.Params
	cfg    func(*authn.Config)
	// users wraps the user store the service sees (to inject failures).
	users func(authn.UserStore) authn.UserStore
	// noSelfService leaves out the self-service stores (a sign-in then
	// writes no device or activity).
	noSelfService bool
	// privacy turns the export and the erasure on (privacy.go).
	privacy bool
}

func newFixture(tb testing.TB, o fixtureOpts) *fixture {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	st, err := store.OpenSQLite(ctx, dir+"/authn.db", store.SQLiteOptions{Timeouts: store.Timeouts{Read: testenv.Budget, Write: testenv.Budget}})
	require.NoError(tb, err)
	tb.Cleanup(func() { st.Close() })

	clock := clock.NewManual(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	counters := engine.DefaultCounters()
	schema, err := rules.NewSchema(engine.CounterNames(counters))
	require.NoError(tb, err)
	src, err := rules.NewSource(rules.SourceConfig{Schema: schema})
	require.NoError(tb, err)
	mem, err := velocity.NewMemory(velocity.Config{Counters: counters}, velocity.NewMemProfiles(0), nil)
	require.NoError(tb, err)
	tb.Cleanup(func() { mem.Close() })
	devices, err := device.New(device.Config{Key: []byte("0123456789abcdef0123456789abcdef")})
	require.NoError(tb, err)
	eng, err := engine.New(engine.Config{}, engine.Deps{Clock: clock, Rules: src, State: mem, Devices: devices, Counters: counters})
	require.NoError(tb, err)

	reg := prometheus.NewRegistry()
	params := o.params
	if params == (password.Params{}) {
		params = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	}
	hasher, err := password.NewHasher(password.HasherConfig{Params: params, Concurrency: 2, Metrics: password.NewMetrics(reg)})
	require.NoError(tb, err)
	corpus := map[string]bool{breachedPassword: true}
	checker, err := password.NewChecker(password.Policy{ServiceName: "Riskauth Test"},
		password.BreachCheckerFunc(func(_ context.Context, pw string) (bool, error) { return corpus[pw], nil }))
	require.NoError(tb, err)
	sealer, err := seal.New(map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")}, "k1")
	require.NoError(tb, err)
	rh, err := totp.NewRecoveryHasher([]byte("recovery-key-0123456789abcdef-0123"))
	require.NoError(tb, err)
	outbox, err := mail.NewOutbox(dir, clock, nil)
	require.NoError(tb, err)
	tb.Cleanup(func() { outbox.Close() })
	renderer, err := mail.NewRenderer(mail.RendererConfig{PublicOrigin: "https://auth.example.com", ServiceName: "Riskauth Test"})
	require.NoError(tb, err)
	ev := &events{}
	cfg := authn.Config{ServiceName: "Riskauth Test"}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	calls := authntest.NewCounting(st)
	var users authn.UserStore = calls
	if o.users != nil {
		users = o.users(calls)
	}
	deps := authn.Deps{
		Users: users, Flows: calls, Tokens: calls, Sessions: calls, Attempts: calls, TOTP: calls, Recovery: calls, Counters: calls, FlowClients: calls,
		Risk: eng, Hasher: hasher, Policy: checker, Sealer: sealer, RecoveryHasher: rh,
		CodeKey: []byte("code-key-0123456789abcdef-0123456789"), Mailer: outbox, Renderer: renderer,
		Events: ev, Clock: clock, Metrics: authn.NewMetrics(reg), Logger: testLogger(),
		Directory: st, RequiredActions: st,
		SelfService: authn.SelfServiceDeps{Profiles: st, Devices: st, Activity: st, Profiler: eng, Consents: st, EmailChanges: st},
		// Passkeys are on only when the test configures a relying party.
		Passkeys: st,
	}
	if o.noSelfService {
		deps.SelfService = authn.SelfServiceDeps{}
	}
	if o.privacy {
		deps.Privacy = authn.PrivacyDeps{Store: st, Locker: st, State: eng}
	}
	svc, err := authn.New(cfg, deps)
	require.NoError(tb, err)
	tb.Cleanup(func() { svc.Close(context.Background()) })
	return &fixture{svc: newService(svc), clock: clock, store: st, outbox: outbox.Path(), events: ev, reg: reg,
		calls: calls, cfg: cfg, deps: deps}
}

// instance is another authn instance over the same database, engine,
// clock and outbox: a second server behind the load balancer.
func (f *fixture) instance(tb testing.TB) *service {
	tb.Helper()
	d := f.deps
	d.Metrics = nil
	svc, err := authn.New(f.cfg, d)
	require.NoError(tb, err)
	tb.Cleanup(func() { svc.Close(context.Background()) })
	return newService(svc)
}

// client is a browser on its own device (cookie id) at ip.
func client(ip, cookie string) authn.Client {
	return authn.Client{IP: netip.MustParseAddr(ip), UserAgent: browserUA,
		Device: &engine.DeviceDescriptor{CookieID: cookie, Platform: "Win32", Timezone: "Europe/Paris"}}
}

var home = client("198.51.100.10", "home-laptop-cookie-0001")

// mails returns the outbox records for to (all when empty) of kind (all
// when empty), after the mail queue drained.
func (f *fixture) mails(tb testing.TB, to string, kind mail.Kind) []mail.OutboxRecord {
	tb.Helper()
	require.NoError(tb, f.svc.Flush(context.Background()))
	fh, err := os.Open(f.outbox)
	require.NoError(tb, err)
	defer fh.Close()
	var out []mail.OutboxRecord
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r mail.OutboxRecord
		require.NoError(tb, json.Unmarshal(sc.Bytes(), &r))
		if (to == "" || r.To == to) && (kind == "" || r.Kind == kind) {
			out = append(out, r)
		}
	}
	require.NoError(tb, sc.Err())
	return out
}

var (
	tokenRe = regexp.MustCompile(`token=([A-Za-z0-9_-]+)`)
	codeRe  = regexp.MustCompile(`(?m)^\s+(\d{6,10})\s*$`)
)

// lastToken is the link token in the newest mail of kind to to.
func (f *fixture) lastToken(tb testing.TB, to string, kind mail.Kind) string {
	tb.Helper()
	ms := f.mails(tb, to, kind)
	require.NotEmpty(tb, ms, "no %s mail to %s", kind, to)
	m := tokenRe.FindStringSubmatch(ms[len(ms)-1].Text)
	require.NotNil(tb, m, "no link in %s mail", kind)
	return m[1]
}

// lastCode is the numeric code in the newest login_code mail to to.
func (f *fixture) lastCode(tb testing.TB, to string) string {
	tb.Helper()
	ms := f.mails(tb, to, mail.KindLoginCode)
	require.NotEmpty(tb, ms, "no login code mail to %s", to)
	m := codeRe.FindStringSubmatch(ms[len(ms)-1].Text)
	require.NotNil(tb, m)
	return m[1]
}

// hashes counts argon2id computations (hash, verify, dummy) so far.
func (f *fixture) hashes(tb testing.TB) uint64 {
	tb.Helper()
	mfs, err := f.reg.Gather()
	require.NoError(tb, err)
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

// register creates an account with goodPassword and verifies it in the
// registering client (with its binding), so the password stays.
func (f *fixture) register(tb testing.TB, email string) {
	tb.Helper()
	ctx := context.Background()
	res, err := f.svc.Register(ctx, authn.RegisterRequest{Email: email, Password: goodPassword, Client: home})
	require.NoError(tb, err)
	vr, err := f.svc.VerifyEmail(ctx, authn.VerifyEmailRequest{Token: f.lastToken(tb, email, mail.KindVerifyEmail),
		Binding: res.Binding, Client: home})
	require.NoError(tb, err)
	require.Empty(tb, vr.PasswordToken, "verified where it was registered: the password stays")
}

// login signs in with goodPassword from c.
func (f *fixture) login(tb testing.TB, email string, c authn.Client) *authn.LoginResult {
	tb.Helper()
	res, err := f.svc.Login(context.Background(), authn.LoginRequest{Identifier: email, Password: goodPassword, Client: c})
	require.NoError(tb, err)
	return res
}

// totpCode computes the current code for secret at the clock's time.
func totpCode(tb testing.TB, secret string, at time.Time) string {
	tb.Helper()
	code, err := hotpAt(secret, at)
	require.NoError(tb, err)
	return code
}

// enrolTOTP sets up an authenticator app for the fresh session s and
// returns its secret and recovery codes. The enrolment rotates the
// session: s is updated in place to the token it goes on with.
func (f *fixture) enrolTOTP(tb testing.TB, s *authn.IssuedSession) (string, []string) {
	tb.Helper()
	ctx := context.Background()
	en, err := f.svc.BeginTOTP(ctx, s.Token)
	require.NoError(tb, err)
	require.NotEmpty(tb, en.QRPNG)
	require.Contains(tb, en.URI, "otpauth://totp/")
	rc, err := f.svc.ConfirmTOTP(ctx, authn.ConfirmTOTPRequest{SessionToken: s.Token, FactorID: en.FactorID,
		Code: totpCode(tb, en.Secret, f.clock.Now()), Client: home})
	require.NoError(tb, err)
	require.Len(tb, rc.Codes, 10)
	*s = *rc.Session
	return en.Secret, rc.Codes
}

func requireCode(tb testing.TB, err error, code authn.Code) {
	tb.Helper()
	require.Error(tb, err)
	require.Equal(tb, code, authn.CodeOf(err), "error: %v", err)
}

func testLogger() *slog.Logger {
	if os.Getenv("AUTHN_TEST_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
