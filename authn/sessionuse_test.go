package authn_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/signals/device"
	"github.com/riskauth/riskauth/signals/velocity"
)

// sessionRules decide session uses by network: the documentation ranges
// stand for a network the rules step up (192.0.2.0/24) and one they block
// (203.0.113.0/24), and a TLS fingerprint for an anti-detect browser.
const sessionRules = `version: 1
description: session-use test rules
thresholds: { step_up: 40, block: 80 }
rules:
  - id: session-stepup-net
    description: test network that must re-authenticate
    when: event.kind == "session_use" && event.ip startsWith "192.0.2."
    action: step_up
    alert: medium
  - id: session-block-net
    description: test network whose uses are revoked
    when: event.kind == "session_use" && event.ip startsWith "203.0.113."
    action: block
    alert: high
  - id: session-antidetect
    description: test fingerprint of an anti-detect browser
    when: event.kind == "session_use" && event.ja4 == "t13d1516h2_8daaf6152771_000000000000"
    action: block
    alert: high
`

// countingRisk is the real engine, counting the session_use evaluations.
type countingRisk struct {
	authn.Risk
	uses atomic.Int32
}

func (r *countingRisk) Evaluate(ctx context.Context, ev engine.Event) (*engine.Decision, error) {
	if ev.Kind == engine.KindSessionUse {
		r.uses.Add(1)
	}
	return r.Risk.Evaluate(ctx, ev)
}

// sessionRiskService is an instance over f's stores whose engine runs
// sessionRules.
func sessionRiskService(t *testing.T, f *fixture) (*service, *countingRisk) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(sessionRules), 0o600))
	counters := engine.DefaultCounters()
	schema, err := rules.NewSchema(engine.CounterNames(counters))
	require.NoError(t, err)
	src, err := rules.NewSource(rules.SourceConfig{Path: path, Schema: schema})
	require.NoError(t, err)
	mem, err := velocity.NewMemory(velocity.Config{Counters: counters}, velocity.NewMemProfiles(0), nil)
	require.NoError(t, err)
	t.Cleanup(func() { mem.Close() })
	devices, err := device.New(device.Config{Key: []byte("0123456789abcdef0123456789abcdef")})
	require.NoError(t, err)
	eng, err := engine.New(engine.Config{}, engine.Deps{Clock: f.clock, Rules: src, State: mem, Devices: devices, Counters: counters})
	require.NoError(t, err)
	r := &countingRisk{Risk: eng}
	d := f.deps
	d.Metrics, d.Risk = nil, r
	svc, err := authn.New(f.cfg, d)
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close(context.Background()) })
	return newService(svc), r
}

// at is the home browser at another address (and TLS fingerprint).
func at(ip, ja4 string) authn.Client {
	c := home
	c.IP, c.JA4 = netip.MustParseAddr(ip), ja4
	return c
}

// TestSessionUseRisk: a session is evaluated when it is used from another
// network or TLS fingerprint than before, and only then; the rules'
// step-up asks that use to re-authenticate, their block revokes the
// session; both raise session_hijack_suspected.
func TestSessionUseRisk(t *testing.T) {
	const chrome = "t13d1516h2_8daaf6152771_d8a2da3f94cd"
	type use struct {
		c     authn.Client
		code  authn.Code // "" for success
		evals int32      // session_use evaluations so far
	}
	for _, tc := range []struct {
		name    string
		uses    []use
		hijacks int
		revoked bool
	}{
		{"same network as issued: no evaluation", []use{
			{c: at("198.51.100.77", ""), evals: 0},
			{c: at("198.51.100.10", chrome), evals: 0},
		}, 0, false},
		{"another network, allowed: evaluated once", []use{
			{c: at("198.18.0.5", ""), evals: 1},
			{c: at("198.18.0.9", ""), evals: 1},
			{c: at("198.51.100.10", ""), evals: 2},
		}, 0, false},
		{"a backend's use (no client) is not checked", []use{
			{c: authn.Client{}, evals: 0},
		}, 0, false},
		{"step-up network: re-authenticate, asked once", []use{
			{c: at("192.0.2.9", ""), code: authn.CodeReauthenticationRequired, evals: 1},
			{c: at("192.0.2.10", ""), code: authn.CodeReauthenticationRequired, evals: 1},
		}, 1, false},
		{"block network: the session is revoked", []use{
			{c: at("203.0.113.5", ""), code: authn.CodeSessionInvalid, evals: 1},
			{c: home, code: authn.CodeSessionInvalid, evals: 1},
		}, 1, true},
		{"another TLS stack on the same network: evaluated, revoked", []use{
			{c: at("198.51.100.10", chrome), evals: 0},
			{c: at("198.51.100.10", "t13d1516h2_8daaf6152771_000000000000"), code: authn.CodeSessionInvalid, evals: 1},
		}, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{})
			svc, r := sessionRiskService(t, f)
			f.register(t, "sam@example.com")
			res, err := svc.Login(context.Background(), authn.LoginRequest{Identifier: "sam@example.com", Password: goodPassword, Client: home})
			require.NoError(t, err)
			require.NotNil(t, res.Session)
			userID := res.Session.UserID
			for i, u := range tc.uses {
				f.clock.Advance(time.Minute)
				info, err := svc.AuthenticateClient(context.Background(), res.Session.Token, u.c)
				if u.code == "" {
					require.NoError(t, err, "use %d", i)
					require.Equal(t, res.Session.ID, info.ID)
				} else {
					require.Equal(t, u.code, authn.CodeOf(err), "use %d: %v", i, err)
				}
				require.Equal(t, u.evals, r.uses.Load(), "use %d", i)
			}
			require.Equal(t, tc.hijacks, f.events.count(secevent.SessionHijackSuspected, userID))
			_, err = svc.Authenticate(context.Background(), res.Session.Token)
			if tc.revoked {
				require.Equal(t, authn.CodeSessionInvalid, authn.CodeOf(err))
			} else {
				require.NoError(t, err)
			}
			if tc.hijacks > 0 {
				acts, err := f.store.ListActivity(context.Background(), userID, time.Time{}, "", 50)
				require.NoError(t, err)
				found := false
				for _, a := range acts {
					found = found || a.Kind == string(secevent.SessionHijackSuspected)
				}
				require.True(t, found, "the user's activity shows it: %+v", acts)
			}
		})
	}
}
