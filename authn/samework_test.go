package authn_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/authn/seal"
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

// work counts what a request does behind authn's interfaces: every store
// call by method (token issues by kind), every risk call, mails put on the
// queue (sent or dropped) and argon2id hashes. Two requests that answer
// alike must do the same work, or their timing tells them apart.
type work struct {
	mu sync.Mutex
	n  map[string]int
}

func (w *work) add(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n[name]++
}

func (w *work) snapshot() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.n)
}

// diff is what happened between two snapshots, zero entries left out.
func diff(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func format(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// The counting wrappers embed the real store, so a method added to an
// interface later still works; every method authn has today is counted.

type countUsers struct {
	authn.UserStore
	w *work
}

func (c countUsers) UserByID(ctx context.Context, id string) (authn.User, error) {
	c.w.add("UserByID")
	return c.UserStore.UserByID(ctx, id)
}

func (c countUsers) UserByEmail(ctx context.Context, email string) (authn.User, error) {
	c.w.add("UserByEmail")
	return c.UserStore.UserByEmail(ctx, email)
}

func (c countUsers) CreateUser(ctx context.Context, u authn.User) error {
	c.w.add("CreateUser")
	return c.UserStore.CreateUser(ctx, u)
}

func (c countUsers) SetPassword(ctx context.Context, userID, hash string, at time.Time) error {
	c.w.add("SetPassword")
	return c.UserStore.SetPassword(ctx, userID, hash, at)
}

func (c countUsers) ReplacePasswordHash(ctx context.Context, userID, old, hash string, at time.Time) error {
	c.w.add("ReplacePasswordHash")
	return c.UserStore.ReplacePasswordHash(ctx, userID, old, hash, at)
}

func (c countUsers) MarkEmailVerified(ctx context.Context, userID string, at time.Time) error {
	c.w.add("MarkEmailVerified")
	return c.UserStore.MarkEmailVerified(ctx, userID, at)
}

func (c countUsers) SetDisabled(ctx context.Context, userID string, disabled bool, at time.Time) error {
	c.w.add("SetDisabled")
	return c.UserStore.SetDisabled(ctx, userID, disabled, at)
}

type countFlows struct {
	authn.FlowStore
	w *work
}

func (c countFlows) CreateFlow(ctx context.Context, f authn.LoginFlow) error {
	c.w.add("CreateFlow")
	return c.FlowStore.CreateFlow(ctx, f)
}

func (c countFlows) FlowByID(ctx context.Context, id string, now time.Time) (authn.LoginFlow, error) {
	c.w.add("FlowByID")
	return c.FlowStore.FlowByID(ctx, id, now)
}

func (c countFlows) AdvanceFlow(ctx context.Context, id string, tr authn.FlowTransition, now time.Time) (authn.LoginFlow, error) {
	c.w.add("AdvanceFlow")
	return c.FlowStore.AdvanceFlow(ctx, id, tr, now)
}

type countTokens struct {
	authn.TokenStore
	w *work
}

func (c countTokens) IssueToken(ctx context.Context, t authn.OneTimeToken) error {
	c.w.add("IssueToken:" + string(t.Kind))
	return c.TokenStore.IssueToken(ctx, t)
}

func (c countTokens) ConsumeToken(ctx context.Context, kind authn.TokenKind, hash []byte, now time.Time) (authn.OneTimeToken, error) {
	c.w.add("ConsumeToken:" + string(kind))
	return c.TokenStore.ConsumeToken(ctx, kind, hash, now)
}

func (c countTokens) VerifyCode(ctx context.Context, kind authn.TokenKind, flowID string, hash []byte, now time.Time) (authn.OneTimeToken, error) {
	c.w.add("VerifyCode:" + string(kind))
	return c.TokenStore.VerifyCode(ctx, kind, flowID, hash, now)
}

func (c countTokens) LiveToken(ctx context.Context, kind authn.TokenKind, hash []byte, now time.Time) (authn.OneTimeToken, error) {
	c.w.add("LiveToken:" + string(kind))
	return c.TokenStore.LiveToken(ctx, kind, hash, now)
}

func (c countTokens) CountTokensSince(ctx context.Context, userID string, kind authn.TokenKind, since time.Time) (int, error) {
	c.w.add("CountTokensSince:" + string(kind))
	return c.TokenStore.CountTokensSince(ctx, userID, kind, since)
}

type countSessions struct {
	authn.SessionBackend
	w *work
}

func (c countSessions) CreateSession(ctx context.Context, s authn.Session) error {
	c.w.add("CreateSession")
	return c.SessionBackend.CreateSession(ctx, s)
}

func (c countSessions) SessionByTokenHash(ctx context.Context, h []byte, now time.Time) (authn.Session, error) {
	c.w.add("SessionByTokenHash")
	return c.SessionBackend.SessionByTokenHash(ctx, h, now)
}

func (c countSessions) TouchSession(ctx context.Context, id string, now, idle time.Time) error {
	c.w.add("TouchSession")
	return c.SessionBackend.TouchSession(ctx, id, now, idle)
}

func (c countSessions) RevokeSession(ctx context.Context, userID, id string, at time.Time) error {
	c.w.add("RevokeSession")
	return c.SessionBackend.RevokeSession(ctx, userID, id, at)
}

func (c countSessions) ListSessions(ctx context.Context, userID string, now time.Time) ([]authn.Session, error) {
	c.w.add("ListSessions")
	return c.SessionBackend.ListSessions(ctx, userID, now)
}

func (c countSessions) RevokeOtherSessions(ctx context.Context, userID, exceptID string, at time.Time) (int, error) {
	c.w.add("RevokeOtherSessions")
	return c.SessionBackend.RevokeOtherSessions(ctx, userID, exceptID, at)
}

type countAttempts struct {
	authn.AttemptStore
	w *work
}

func (c countAttempts) RecordAttempt(ctx context.Context, a authn.Attempt) error {
	c.w.add("RecordAttempt")
	return c.AttemptStore.RecordAttempt(ctx, a)
}

func (c countAttempts) CountFailures(ctx context.Context, userID string, f authn.Factor, since time.Time) (int, error) {
	c.w.add("CountFailures")
	return c.AttemptStore.CountFailures(ctx, userID, f, since)
}

func (c countAttempts) CountFailuresFrom(ctx context.Context, userID, ip, deviceID string, since time.Time) (int, error) {
	c.w.add("CountFailuresFrom")
	return c.AttemptStore.CountFailuresFrom(ctx, userID, ip, deviceID, since)
}

func (c countAttempts) RecentLogins(ctx context.Context, userID string, limit int) ([]authn.Attempt, error) {
	c.w.add("RecentLogins")
	return c.AttemptStore.RecentLogins(ctx, userID, limit)
}

type countTOTP struct {
	authn.TOTPStore
	w *work
}

func (c countTOTP) BeginTOTP(ctx context.Context, f authn.TOTPFactor) error {
	c.w.add("BeginTOTP")
	return c.TOTPStore.BeginTOTP(ctx, f)
}

func (c countTOTP) PendingTOTP(ctx context.Context, userID string) (authn.TOTPFactor, error) {
	c.w.add("PendingTOTP")
	return c.TOTPStore.PendingTOTP(ctx, userID)
}

func (c countTOTP) ConfirmTOTP(ctx context.Context, userID, factorID string, step int64, at time.Time) error {
	c.w.add("ConfirmTOTP")
	return c.TOTPStore.ConfirmTOTP(ctx, userID, factorID, step, at)
}

func (c countTOTP) ActiveTOTP(ctx context.Context, userID string) (authn.TOTPFactor, error) {
	c.w.add("ActiveTOTP")
	return c.TOTPStore.ActiveTOTP(ctx, userID)
}

func (c countTOTP) UseTOTPStep(ctx context.Context, factorID string, step int64) error {
	c.w.add("UseTOTPStep")
	return c.TOTPStore.UseTOTPStep(ctx, factorID, step)
}

func (c countTOTP) DeleteTOTP(ctx context.Context, userID, factorID string) error {
	c.w.add("DeleteTOTP")
	return c.TOTPStore.DeleteTOTP(ctx, userID, factorID)
}

type countRecovery struct {
	authn.RecoveryCodeStore
	w *work
}

func (c countRecovery) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, at time.Time) error {
	c.w.add("ReplaceRecoveryCodes")
	return c.RecoveryCodeStore.ReplaceRecoveryCodes(ctx, userID, hashes, at)
}

func (c countRecovery) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time) error {
	c.w.add("ConsumeRecoveryCode")
	return c.RecoveryCodeStore.ConsumeRecoveryCode(ctx, userID, hash, at)
}

func (c countRecovery) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	c.w.add("CountRecoveryCodes")
	return c.RecoveryCodeStore.CountRecoveryCodes(ctx, userID)
}

type countCounters struct {
	authn.EventCounter
	w *work
}

func (c countCounters) CountEvents(ctx context.Context, key []byte, since time.Time) (int, error) {
	c.w.add("CountEvents")
	return c.EventCounter.CountEvents(ctx, key, since)
}

func (c countCounters) AddEvent(ctx context.Context, key []byte, at, expires time.Time) error {
	c.w.add("AddEvent")
	return c.EventCounter.AddEvent(ctx, key, at, expires)
}

func (c countCounters) ReserveEvent(ctx context.Context, key []byte, limit int, since, at, expires time.Time) (bool, error) {
	c.w.add("ReserveEvent")
	return c.EventCounter.ReserveEvent(ctx, key, limit, since, at, expires)
}

func (c countCounters) ClearEvents(ctx context.Context, key []byte) error {
	c.w.add("ClearEvents")
	return c.EventCounter.ClearEvents(ctx, key)
}

type countFlowClients struct {
	authn.FlowClientStore
	w *work
}

func (c countFlowClients) SaveFlowClient(ctx context.Context, fc authn.FlowClient) error {
	c.w.add("SaveFlowClient")
	return c.FlowClientStore.SaveFlowClient(ctx, fc)
}

func (c countFlowClients) FlowClient(ctx context.Context, flowID string, now time.Time) (authn.FlowClient, error) {
	c.w.add("FlowClient")
	return c.FlowClientStore.FlowClient(ctx, flowID, now)
}

type countRisk struct {
	authn.Risk
	w *work
}

func (c countRisk) Evaluate(ctx context.Context, ev engine.Event) (*engine.Decision, error) {
	c.w.add("Evaluate")
	return c.Risk.Evaluate(ctx, ev)
}

func (c countRisk) RecordOutcome(ctx context.Context, id string, o engine.Outcome) (*engine.Pending, error) {
	c.w.add("RecordOutcome")
	return c.Risk.RecordOutcome(ctx, id, o)
}

// countedDeps puts the counting wrappers between authn and d's stores and
// risk engine.
func countedDeps(d *authn.Deps, w *work) {
	d.Users = countUsers{d.Users, w}
	d.Flows = countFlows{d.Flows, w}
	d.Tokens = countTokens{d.Tokens, w}
	d.Sessions = countSessions{d.Sessions, w}
	d.Attempts = countAttempts{d.Attempts, w}
	d.TOTP = countTOTP{d.TOTP, w}
	d.Recovery = countRecovery{d.Recovery, w}
	d.Counters = countCounters{d.Counters, w}
	d.FlowClients = countFlowClients{d.FlowClients, w}
	d.Risk = countRisk{d.Risk, w}
}

// measured is a fixture whose services run behind the counting wrappers.
type measured struct {
	*fixture
	w *work
}

// newMeasured builds what newFixture builds, with the counting wrappers in
// between. It does not reuse newFixture, which takes no such hook, so that
// the two stay independent (newFixture is shared with the flows' other
// tests).
func newMeasured(tb testing.TB) *measured {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	st, err := store.OpenSQLite(ctx, dir+"/authn.db", store.SQLiteOptions{Timeouts: store.Timeouts{Read: testenv.Budget, Write: testenv.Budget}})
	require.NoError(tb, err)
	tb.Cleanup(func() { st.Close() })
	clk := clock.NewManual(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
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
	eng, err := engine.New(engine.Config{}, engine.Deps{Clock: clk, Rules: src, State: mem, Devices: devices, Counters: counters})
	require.NoError(tb, err)
	reg := prometheus.NewRegistry()
	hasher, err := password.NewHasher(password.HasherConfig{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		Concurrency: 2, Metrics: password.NewMetrics(reg)})
	require.NoError(tb, err)
	checker, err := password.NewChecker(password.Policy{ServiceName: "Riskauth Test"},
		password.BreachCheckerFunc(func(context.Context, string) (bool, error) { return false, nil }))
	require.NoError(tb, err)
	sealer, err := seal.New(map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")}, "k1")
	require.NoError(tb, err)
	rh, err := totp.NewRecoveryHasher([]byte("recovery-key-0123456789abcdef-0123"))
	require.NoError(tb, err)
	outbox, err := mail.NewOutbox(dir, clk, nil)
	require.NoError(tb, err)
	tb.Cleanup(func() { outbox.Close() })
	renderer, err := mail.NewRenderer(mail.RendererConfig{PublicOrigin: "https://auth.example.com", ServiceName: "Riskauth Test"})
	require.NoError(tb, err)
	w, ev := &work{n: map[string]int{}}, &events{}
	d := authn.Deps{Users: st, Flows: st, Tokens: st, Sessions: st, Attempts: st, TOTP: st, Recovery: st, Counters: st, FlowClients: st,
		Risk: eng, Hasher: hasher, Policy: checker, Sealer: sealer, RecoveryHasher: rh,
		CodeKey: []byte("code-key-0123456789abcdef-0123456789"), Mailer: outbox, Renderer: renderer,
		Events: ev, Clock: clk, Metrics: authn.NewMetrics(reg), Logger: testLogger()}
	countedDeps(&d, w)
	svc, err := authn.New(authn.Config{ServiceName: "Riskauth Test"}, d)
	require.NoError(tb, err)
	tb.Cleanup(func() { svc.Close(context.Background()) })
	f := &fixture{svc: newService(svc), clock: clk, store: st, outbox: outbox.Path(), events: ev, reg: reg}
	return &measured{fixture: f, w: w}
}

// do runs req and returns the work it did.
func (m *measured) do(tb testing.TB, req func() error) map[string]int {
	tb.Helper()
	before, mails, hashes := m.w.snapshot(), authn.QueuedMails(m.svc.Services), m.hashes(tb)
	require.NoError(tb, req())
	d := diff(before, m.w.snapshot())
	if n := authn.QueuedMails(m.svc.Services) - mails; n != 0 {
		d["mails queued"] = int(n)
	}
	if n := m.hashes(tb) - hashes; n != 0 {
		d["argon2id"] = int(n)
	}
	return d
}

// TestSameWorkWhateverTheAccount: mailed requests (reset link, sign-in
// code) for a known address, below and over the per-account send limit,
// and for an unknown one, do the same work: the same store calls by kind,
// risk calls, mails queued and hashes. Time is left out on purpose: on a
// shared machine it is noise, the work is what makes it differ (issue
// 17, item 4: the throttled branch skipped its writes and answered
// faster than an unknown address in ~95 % of interleaved pairs).
func TestSameWorkWhateverTheAccount(t *testing.T) {
	t.Parallel()
	const known, unknown = "known@example.com", "nobody@example.com"
	// requests per identifier: past the default send limit (5), so the
	// known address is throttled for the last ones.
	const requests = 8
	cases := []struct {
		name string
		kind mail.Kind // of the mails the known address gets
		// setup runs once per identifier before its requests; its state
		// (a flow handle) is passed to each.
		setup func(t *testing.T, m *measured, id string, c authn.Client) string
		req   func(m *measured, state, id string, c authn.Client) func() error
	}{
		{"password reset", mail.KindPasswordReset, nil, func(m *measured, _, id string, c authn.Client) func() error {
			return func() error {
				return m.svc.RequestPasswordReset(context.Background(), authn.PasswordResetRequest{Email: id, Client: c})
			}
		}},
		{"email code, a new flow each time", mail.KindLoginCode, nil, func(m *measured, _, id string, c authn.Client) func() error {
			res, err := m.svc.StartLogin(context.Background(), authn.StartLoginRequest{Identifier: id, Client: c})
			return func() error {
				if err != nil {
					return err
				}
				_, err := m.svc.RequestEmailCode(context.Background(), authn.FlowRequest{FlowID: res.FlowID, Client: c})
				return err
			}
		}},
		{"email code, resent in one flow", mail.KindLoginCode, func(t *testing.T, m *measured, id string, c authn.Client) string {
			res, err := m.svc.StartLogin(context.Background(), authn.StartLoginRequest{Identifier: id, Client: c})
			require.NoError(t, err)
			return res.FlowID
		}, func(m *measured, flow, _ string, c authn.Client) func() error {
			return func() error {
				_, err := m.svc.RequestEmailCode(context.Background(), authn.FlowRequest{FlowID: flow, Client: c})
				return err
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newMeasured(t)
			m.register(t, known)
			type row struct {
				label string
				work  map[string]int
			}
			var rows []row
			for _, id := range []string{known, unknown} {
				c := client("198.51.100.20", "prober-"+id)
				state := ""
				if tc.setup != nil {
					state = tc.setup(t, m, id, c)
				}
				for i := range requests {
					// Past the resend interval, within the send window.
					m.clock.Advance(31 * time.Second)
					label := fmt.Sprintf("%s, request %d", id, i+1)
					if id == known && i >= 5 {
						label += " (over the send limit)"
					}
					rows = append(rows, row{label, m.do(t, tc.req(m, state, id, c))})
				}
			}
			var report strings.Builder
			for _, r := range rows {
				fmt.Fprintf(&report, "%-45s %s\n", r.label, format(r.work))
			}
			for _, r := range rows[1:] {
				require.Equal(t, rows[0].work, r.work, "%s did other work than %s:\n%s", r.label, rows[0].label, report.String())
			}
			require.Len(t, m.mails(t, known, tc.kind), 5, "the known address got the mails under its send limit, no more")
			require.Empty(t, m.mails(t, unknown, ""), "nothing went to the unknown address")
		})
	}
}
