package velocity

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/signals/device/ualabel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// signInWithFamiliarity loads an evaluation whose pending record carries
// familiarity values and records its outcome.
func signInWithFamiliarity(t *testing.T, s engine.StateStore, k engine.Keys, x familiarity.Features, at time.Time, o engine.Outcome) *engine.Snapshot {
	t.Helper()
	id := fmt.Sprintf("fam-%d-%x", evalSeq.Add(1), rand.Uint32())
	snap, err := s.Load(context.Background(), &engine.LoadRequest{Kind: "login", Keys: k, At: at,
		Pending: &engine.Pending{EvaluationID: id, Kind: "login", Keys: k, At: at, Familiarity: &x}})
	require.NoError(t, err)
	_, err = s.RecordOutcome(context.Background(), id, o, at)
	require.NoError(t, err)
	return snap
}

func historyOf(t *testing.T, p engine.Profile) *familiarity.History {
	t.Helper()
	var h familiarity.History
	if len(p.Familiarity) > 0 {
		require.NoError(t, h.UnmarshalBinary(p.Familiarity))
	}
	return &h
}

// TestFamiliarityHistoryPersists: both backends keep the familiarity
// history with the profile, update it on successful sign-ins only, and
// hand it back after the store is reopened (SQLite file, Redis keys).
func TestFamiliarityHistoryPersists(t *testing.T) {
	cfg := Config{Counters: []engine.CounterSpec{counter("fails_user", engine.CountFailure, engine.KeyUser, "", time.Minute)}}
	x := familiarity.Features{IP: "192.0.2.8", ASN: "AS3301", City: "SE/Stockholm", Country: "SE", DeviceID: "dev-q",
		UserAgent: "Mozilla/5.0", Browser: "Firefox 128", OS: "Linux", DeviceType: "desktop"}
	k := engine.Keys{User: "quinn", Device: "dev-q", IP: "192.0.2.8"}
	t0 := base()

	// run signs in twice (and fails once) on the first store, then reads
	// the profile from the second.
	run := func(t *testing.T, first, second engine.StateStore, closeFirst func()) {
		signInWithFamiliarity(t, first, k, x, t0, engine.OutcomeSuccess)
		snap := signInWithFamiliarity(t, first, k, x, t0.Add(time.Hour), engine.OutcomeStepUpPassed)
		assert.Equal(t, uint64(1), historyOf(t, snap.Profile).Logins())
		signInWithFamiliarity(t, first, k, x, t0.Add(2*time.Hour), engine.OutcomeFailure)
		closeFirst()

		snap, _ = load(t, second, "login", k, t0.Add(3*time.Hour), engine.Place{})
		h := historyOf(t, snap.Profile)
		assert.Equal(t, uint64(2), h.Logins(), "two successes, the failure not observed")
		assert.Equal(t, 1, h.Len(familiarity.FeatureDeviceID))
		assert.Equal(t, 2, snap.Profile.Logins)
		// The history is small: 12 bytes per kept value (one per feature
		// here) and a 21-byte header at today's timestamps.
		assert.Equal(t, h.EncodedLen(), len(snap.Profile.Familiarity))
		assert.Equal(t, 21+9*12, len(snap.Profile.Familiarity))
	}

	t.Run("memory_sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "profiles.db")
		p1, err := NewSQLiteProfiles(path)
		require.NoError(t, err)
		m1, err := NewMemory(cfg, p1, nil)
		require.NoError(t, err)
		var m2 *Memory
		run(t, m1, lazyStore(func() engine.StateStore { return m2 }), func() {
			require.NoError(t, m1.Close())
			require.NoError(t, p1.Close())
			p2, err := NewSQLiteProfiles(path)
			require.NoError(t, err)
			t.Cleanup(func() { _ = p2.Close() })
			m2, err = NewMemory(cfg, p2, nil)
			require.NoError(t, err)
			t.Cleanup(func() { _ = m2.Close() })
		})
	})
	t.Run("redis", func(t *testing.T) {
		c := redisStandalone(t)
		cfg := cfg
		cfg.KeyPrefix = testPrefix(t)
		r1 := newTestRedis(t, c, cfg, nil)
		r2 := newTestRedis(t, c, cfg, nil)
		dropSketch(t, r2)
		run(t, r1, r2, func() { require.NoError(t, r1.Close()) })
	})
}

// lazyStore resolves the store on each call, for a store opened mid-test.
type lazyStore func() engine.StateStore

func (l lazyStore) Load(ctx context.Context, req *engine.LoadRequest) (*engine.Snapshot, error) {
	return l().Load(ctx, req)
}
func (l lazyStore) RecordOutcome(ctx context.Context, id string, o engine.Outcome, at time.Time) (*engine.Pending, error) {
	return l().RecordOutcome(ctx, id, o, at)
}
func (l lazyStore) Ping(ctx context.Context) error { return l().Ping(ctx) }
func (l lazyStore) Close() error                   { return l().Close() }

// TestPendingWithFamiliaritySize: the familiarity values make the pending
// evaluation's JSON (one Redis SET per evaluation) grow by the user agent
// plus under 200 bytes (350 to 639 bytes for this typical login); the
// user agent is cut to 512 bytes.
func TestPendingWithFamiliaritySize(t *testing.T) {
	ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	ext := familiarity.NewExtractor(ualabel.NewCache(0).ReleaseLabels)
	x := ext.Extract(familiarity.Input{IP: "198.51.100.23", ASN: 64496, Country: "GB", City: "London", UserAgent: ua,
		DeviceID: "d_f954ed0fc6fa8040583772abe1c526ca"})
	p := engine.Pending{EvaluationID: "0193a6f2-7c1e-7000-8000-000000000001", Kind: "login",
		Keys: engine.Keys{User: "user-12345", IP: "198.51.100.23", Subnet: "198.51.100.0/24", Device: "d_f954ed0fc6fa8040583772abe1c526ca"},
		At:   base(), Place: engine.Place{IP: "198.51.100.23", Country: "GB", City: "London", Lat: 51.5, Lon: -0.12, AccuracyKm: 10, ASN: 64496, Located: true},
		RuleSetVersion: "default@3f2a9c"}
	without, err := json.Marshal(p)
	require.NoError(t, err)
	p.Familiarity = &x
	with, err := json.Marshal(p)
	require.NoError(t, err)
	t.Logf("pending JSON: %d bytes without familiarity values, %d with", len(without), len(with))
	assert.LessOrEqual(t, len(with)-len(without), len(ua)+200)
}

// cookieDevices identifies a device by its cookie id alone.
type cookieDevices struct{}

func (cookieDevices) Identify(d *engine.DeviceDescriptor, _ string) engine.DeviceInfo {
	if d == nil {
		return engine.DeviceInfo{}
	}
	return engine.DeviceInfo{ID: "d_" + d.CookieID, HasCookie: true}
}

// TestRedisFamiliarityIsOneRoundTrip runs the engine with the familiarity
// model on Redis, two engines (instances) on two stores sharing one Redis
// or Redis Cluster: the history comes back with the profile and the global
// counts from the store's mirror of the sketch, so an evaluation still
// makes exactly one round trip (the Load pipeline), and once B has
// refreshed its mirror it scores against the sign-ins A recorded.
//
// Both engines run on one virtual clock that does not move: the history's
// weights decay with the time between the sign-ins and the evaluation, and
// on the wall clock a loaded machine took long enough for three logins to
// decay by more than the 1e-6 the test compares with.
func TestRedisFamiliarityIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range redisTopologies {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			counters := engine.DefaultCounters()
			fam, err := familiarity.New(familiarity.Config{})
			require.NoError(t, err)
			prefix := testPrefix(t)
			clk := clock.NewManual(base())
			newEngine := func(c redis.UniversalClient) (*engine.Engine, *Redis) {
				s := newTestRedis(t, c, Config{Counters: counters, KeyPrefix: prefix,
					ProfileLimits: engine.ProfileLimits{Familiarity: fam}}, nil)
				dropSketch(t, s)
				waitFirstRefresh(t, s)
				schema, err := rules.NewSchema(engine.CounterNames(counters))
				require.NoError(t, err)
				path := filepath.Join(t.TempDir(), "rules.yaml")
				require.NoError(t, os.WriteFile(path, []byte("version: 1\nthresholds: {step_up: 40, block: 80}\nrules:\n"+
					"  - id: scored\n    description: every scored login, to read its evidence\n    when: familiarity.available\n    score: 10\n"), 0o644))
				src, err := rules.NewSource(rules.SourceConfig{Path: path, Schema: schema})
				require.NoError(t, err)
				// The store keeps the global counts: the engine must not
				// be handed a Global of its own.
				g, err := familiarity.NewGlobal(familiarity.GlobalConfig{})
				require.NoError(t, err)
				_, err = engine.New(engine.Config{Deadline: testenv.Budget}, engine.Deps{Clock: clk, Rules: src, State: s, Devices: cookieDevices{},
					Counters: counters, Familiarity: fam, FamiliarityGlobal: g, UserAgentLabels: ualabel.NewCache(0).ReleaseLabels})
				require.ErrorContains(t, err, "keeps the global familiarity counts")
				e, err := engine.New(engine.Config{Deadline: testenv.Budget}, engine.Deps{Clock: clk, Rules: src, State: s, Devices: cookieDevices{},
					Counters: counters, Familiarity: fam, UserAgentLabels: ualabel.NewCache(0).ReleaseLabels})
				require.NoError(t, err)
				return e, s
			}
			ca, cb := tc.client(t), tc.client(t)
			hook := &markHook{}
			cb.AddHook(hook)
			ea, _ := newEngine(ca)
			eb, sb := newEngine(cb)

			ctx := context.Background()
			ev := engine.Event{Kind: engine.KindLogin, UserID: "ursula", IP: netip.MustParseAddr("192.0.2.10"),
				UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
				Device:    &engine.DeviceDescriptor{CookieID: "ursula-laptop"}}
			for range 3 { // on instance A
				d, err := ea.Evaluate(ctx, ev)
				require.NoError(t, err)
				_, err = ea.RecordOutcome(ctx, d.EvaluationID, engine.OutcomeSuccess)
				require.NoError(t, err)
			}
			// Warm up B: connections and (cluster) slot map; and its
			// mirror of the sketch, as its refresher will.
			_, err = eb.Evaluate(ctx, engine.Event{Kind: engine.KindLogin, UserID: "warm", IP: netip.MustParseAddr("192.0.2.1")})
			require.NoError(t, err)
			require.NoError(t, sb.refreshFamiliarity(ctx))
			flushAnnotations(t, sb)
			hook.reset()
			const n = 5
			mctx := context.WithValue(ctx, ctxMark{}, true)
			var d *engine.Decision
			for range n {
				d, err = eb.Evaluate(mctx, ev)
				require.NoError(t, err)
			}
			hook.mu.Lock()
			assert.Equal(t, n, hook.marked, "round trips for the evaluations: one Load pipeline each")
			hook.mu.Unlock()
			fa := d.Features.Familiarity
			assert.True(t, fa.Available)
			assert.False(t, d.Floored)
			assert.InDelta(t, 3, fa.Logins, 1e-6, "three observed sign-ins, read with the profile")
			assert.True(t, fa.ColdStart, "3 sign-ins counted globally: the score is computed but weak")
			require.Len(t, d.Reasons, 1)
			var device *engine.FamiliarityContribution
			for i, c := range d.Reasons[0].Familiarity {
				if c.Feature == "device_id" {
					device = &d.Reasons[0].Familiarity[i]
				}
			}
			require.NotNil(t, device, "evidence: %+v", d.Reasons[0].Familiarity)
			assert.EqualValues(t, 3, device.GlobalCount, "instance B reads the sign-ins instance A counted")
		})
	}
}

// TestRedisLoadReadsFamiliarityCounts: the counts cost the Load pipeline
// no command (they come from the in-process mirror, which counted this
// store's own sign-in before any refresh), and are returned only for an
// evaluation that carries familiarity values.
func TestRedisLoadReadsFamiliarityCounts(t *testing.T) {
	t.Parallel()
	for _, tc := range redisTopologies {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tc.client(t)
			hook := &countingHook{}
			c.AddHook(hook)
			s := openRedis(t, c, Config{Counters: []engine.CounterSpec{
				counter("fails_user", engine.CountFailure, engine.KeyUser, "", time.Minute)}})
			x := famLogin(1)
			k := engine.Keys{User: "vera", IP: x.IP}
			signInWithFamiliarity(t, s, k, x, base(), engine.OutcomeSuccess) // warm up
			hook.reset()
			snap, err := s.Load(context.Background(), &engine.LoadRequest{Kind: "login", Keys: k, At: base(),
				Pending: &engine.Pending{EvaluationID: "fam-read", Kind: "login", Keys: k, At: base(), Familiarity: &x}})
			require.NoError(t, err)
			require.NotNil(t, snap.FamiliarityCounts)
			assert.EqualValues(t, 1, snap.FamiliarityCounts.Total)
			assert.EqualValues(t, 1, snap.FamiliarityCounts.Users)
			snap, _ = load(t, s, "login", k, base(), engine.Place{})
			assert.Nil(t, snap.FamiliarityCounts, "no familiarity values, no read")
			hook.mu.Lock()
			defer hook.mu.Unlock()
			assert.Empty(t, hook.singles, "single commands")
			require.Len(t, hook.pipelines, 2)
			assert.Equal(t, strings.Fields("getrange set getrange"), hook.pipelines[0])
			assert.Equal(t, strings.Fields("getrange set getrange"), hook.pipelines[1])
		})
	}
}
