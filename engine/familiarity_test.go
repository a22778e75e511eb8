package engine_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/signals/device"
	"github.com/riskauth/riskauth/signals/device/ualabel"
	"github.com/riskauth/riskauth/signals/velocity"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// places is an inline signal that locates the test's two networks, as
// signals/geo would: the familiarity model reads the place's country, city
// and ASN.
type places map[string]engine.Place

type placeResult struct{ p engine.Place }

func (places) Name() string { return "places" }
func (places) Inline() bool { return true }
func (ps places) Collect(_ context.Context, ev *engine.Event) (engine.Result, error) {
	p := ps[ev.IP.String()]
	p.IP = ev.IP.String()
	return placeResult{p}, nil
}
func (r placeResult) Apply(*risk.Features, *engine.Profile, time.Time) {}
func (r placeResult) Place() engine.Place                              { return r.p }

// worldCounts is the package's hand-computed world (engine/familiarity
// TestScoreHandComputed): 100,000 logins by 1,000 users, exact counts for
// the home values and the abroad network, zero for anything else. It
// records what the engine feeds it.
type worldCounts struct {
	home, abroad familiarity.Features
	mu           sync.Mutex
	added        []familiarity.Features
	users        int
}

func (w *worldCounts) Lookup(x familiarity.Features) familiarity.Counts {
	homeCounts := [familiarity.NumFeatures]uint64{10, 5000, 2000, 30000, 10, 3000, 20000, 40000, 70000}
	abroadCounts := [familiarity.NumFeatures]uint64{0, 300, 100, 1000}
	c := familiarity.Counts{Total: 100000, Users: 1000}
	for f := familiarity.Feature(0); f < familiarity.NumFeatures; f++ {
		switch x.Value(f) {
		case w.home.Value(f):
			c.Freq[f] = homeCounts[f]
		case w.abroad.Value(f):
			c.Freq[f] = abroadCounts[f]
		}
	}
	return c
}

func (w *worldCounts) Add(x familiarity.Features) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.added = append(w.added, x)
}

func (w *worldCounts) AddUser() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.users++
}

const familiarityRules = `version: 1
thresholds: { step_up: 40, block: 80 }
rules:
  - id: unfamiliar-login
    description: the login looks unlike this user's history
    when: familiarity.available && familiarity.score > 0
    score: 40
  - id: familiarity-watch
    description: every scored login, to read the evidence
    when: familiarity.available
    score: 1
    mode: shadow
`

// TestFamiliarityScore: ten sign-ins from home, then logins from home,
// from a new country with the known device, and from a new country with a
// new device. The engine's familiarity.score must be the package's
// hand-computed values (the same world and history), react to the
// unfamiliar logins, explain itself in the evidence, and feed the global
// counts only with successful sign-ins.
func TestFamiliarityScore(t *testing.T) {
	ctx := context.Background()
	rulesFile := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(rulesFile, []byte(familiarityRules), 0o600))

	homeIP, abroadIP := "198.51.100.7", "203.0.113.9"
	sig := places{
		homeIP:   {Country: "DE", City: "Berlin", ASN: 3320, Located: true},
		abroadIP: {Country: "US", City: "Boston", ASN: 7922, Located: true},
	}
	homeDev := &engine.DeviceDescriptor{CookieID: "frank-laptop-5e1d"}
	newDev := &engine.DeviceDescriptor{CookieID: "attacker-0b7c2e"}
	ids, err := device.New(device.Config{Key: []byte("0123456789abcdef0123456789abcdef")})
	require.NoError(t, err)
	ext := familiarity.NewExtractor(ualabel.NewCache(0).ReleaseLabels)
	home := ext.Extract(familiarity.Input{IP: homeIP, ASN: 3320, Country: "DE", City: "Berlin", UserAgent: chrome,
		DeviceID: ids.Identify(homeDev, chrome).ID})
	abroad := ext.Extract(familiarity.Input{IP: abroadIP, ASN: 7922, Country: "US", City: "Boston", UserAgent: chrome,
		DeviceID: ids.Identify(homeDev, chrome).ID})
	require.Equal(t, "Chrome 131", home.Browser)
	world := &worldCounts{home: home, abroad: abroad}

	f := newEngine(t, options{rulesFile: rulesFile, signals: []engine.Signal{sig}, famGlobal: world})
	t0 := f.clock.Now()
	login := func(ip string, dev *engine.DeviceDescriptor) engine.Event {
		return engine.Event{Kind: engine.KindLogin, UserID: "frank", IP: netip.MustParseAddr(ip), UserAgent: chrome,
			Device: dev, Time: t0}
	}

	// The first login has no history: score 0, cold start.
	d, err := f.engine.Evaluate(ctx, login(homeIP, homeDev))
	require.NoError(t, err)
	fam := d.Features.Familiarity
	assert.True(t, fam.Available)
	assert.True(t, fam.ColdStart)
	assert.Zero(t, fam.Score)
	_, err = f.engine.RecordOutcome(ctx, d.EvaluationID, engine.OutcomeSuccess)
	require.NoError(t, err)
	for range 9 {
		d, err := f.engine.Evaluate(ctx, login(homeIP, homeDev))
		require.NoError(t, err)
		_, err = f.engine.RecordOutcome(ctx, d.EvaluationID, engine.OutcomeSuccess)
		require.NoError(t, err)
	}
	// A failed sign-in teaches neither the history nor the global counts.
	d, err = f.engine.Evaluate(ctx, login(abroadIP, newDev))
	require.NoError(t, err)
	_, err = f.engine.RecordOutcome(ctx, d.EvaluationID, engine.OutcomeFailure)
	require.NoError(t, err)
	require.Len(t, world.added, 10)
	assert.Equal(t, home, world.added[9])
	assert.Equal(t, 1, world.users, "one user: counted on the first observed sign-in only")

	score := func(ev engine.Event) *engine.Decision {
		t.Helper()
		d, err := f.engine.Evaluate(ctx, ev)
		require.NoError(t, err)
		return d
	}
	// The values TestScoreHandComputed derives by hand for this history
	// (10 logins, one value per feature, no decay) in this world.
	familiar := score(login(homeIP, homeDev))
	assert.InDelta(t, -4.9409532, familiar.Features.Familiarity.Score, 1e-6)
	assert.InDelta(t, 1.0, familiar.Features.Familiarity.Prior, 1e-9)
	assert.InDelta(t, 10, familiar.Features.Familiarity.Logins, 1e-6)
	assert.False(t, familiar.Features.Familiarity.ColdStart)
	assert.Empty(t, familiar.Features.Familiarity.Top, "nothing adds to the score")
	assert.Empty(t, familiar.Reasons)

	travelling := score(login(abroadIP, homeDev))
	assert.InDelta(t, -3.0743400, travelling.Features.Familiarity.Score, 1e-6)

	attacker := score(login(abroadIP, newDev))
	fa := attacker.Features.Familiarity
	assert.InDelta(t, 1.4899358, fa.Score, 1e-6)
	assert.Greater(t, fa.Score, travelling.Features.Familiarity.Score)
	assert.Equal(t, "device_id", fa.Top)

	// Evidence: the rule read familiarity fields, so its reason lists the
	// per-feature contributions, most suspicious first, adding up (with
	// the prior) to the score.
	require.Len(t, attacker.Reasons, 1)
	r := attacker.Reasons[0]
	assert.Equal(t, "unfamiliar-login", r.Rule)
	require.Len(t, r.Familiarity, familiarity.NumFeatures)
	assert.Equal(t, "device_id", r.Familiarity[0].Feature)
	assert.Equal(t, abroad.Value(familiarity.FeatureDeviceID) != r.Familiarity[0].Value, true, "the attacker's device id")
	sum := fa.Prior
	for i, c := range r.Familiarity {
		sum += c.Contribution
		if i > 0 {
			assert.LessOrEqual(t, c.Contribution, r.Familiarity[i-1].Contribution)
		}
	}
	assert.InDelta(t, fa.Score, sum, 1e-9)
	require.Len(t, attacker.Shadow, 1)
	assert.Equal(t, r.Familiarity, attacker.Shadow[0].Familiarity, "shadow reasons carry it too")

	// ...and the decision's JSON shows them.
	raw, err := json.Marshal(attacker)
	require.NoError(t, err)
	var decoded struct {
		Reasons []struct {
			Familiarity []map[string]any `json:"familiarity"`
		} `json:"reasons"`
		Signals struct {
			Familiarity map[string]any `json:"familiarity"`
		} `json:"signals"`
	}
	require.NoError(t, json.Unmarshal(raw, &decoded))
	require.Len(t, decoded.Reasons, 1)
	assert.Equal(t, "device_id", decoded.Reasons[0].Familiarity[0]["feature"])
	assert.Equal(t, "country", decoded.Reasons[0].Familiarity[1]["feature"])
	assert.Equal(t, "US", decoded.Reasons[0].Familiarity[1]["value"])
	assert.Equal(t, true, decoded.Signals.Familiarity["available"])
}

// TestFamiliarityUnavailable: without the history (state store down, or a
// history that cannot be decoded) familiarity.available is false and the
// unavailable floor applies; an event without a user is simply not scored.
func TestFamiliarityUnavailable(t *testing.T) {
	ctx := context.Background()
	// Rules that read only familiarity fields: nothing else raises the
	// decision, so the floor shows.
	rulesFile := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(rulesFile, []byte(familiarityRules), 0o600))
	ev := engine.Event{Kind: engine.KindLogin, UserID: "gina", IP: netip.MustParseAddr("192.0.2.9"), UserAgent: chrome,
		Device: &engine.DeviceDescriptor{CookieID: "gina-pc-0c4d"}}

	t.Run("state store down", func(t *testing.T) {
		client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 50 * time.Millisecond})
		defer client.Close()
		st, err := velocity.NewRedis(client, velocity.Config{Counters: engine.DefaultCounters()}, nil)
		require.NoError(t, err)
		defer st.Close()
		f := newEngine(t, options{rulesFile: rulesFile, state: st})
		d, err := f.engine.Evaluate(ctx, ev)
		require.NoError(t, err)
		assert.False(t, d.Features.Familiarity.Available)
		assert.True(t, d.Floored)
		assert.Equal(t, risk.StepUp, d.Action)
	})

	t.Run("unreadable history", func(t *testing.T) {
		profiles := velocity.NewMemProfiles(0)
		require.NoError(t, profiles.Put(ctx, "gina", engine.Profile{Logins: 3, Familiarity: []byte("not a history")}))
		mem, err := velocity.NewMemory(velocity.Config{Counters: engine.DefaultCounters()}, profiles, nil)
		require.NoError(t, err)
		defer mem.Close()
		f := newEngine(t, options{rulesFile: rulesFile, state: mem})
		d, err := f.engine.Evaluate(ctx, ev)
		require.NoError(t, err)
		assert.True(t, d.Features.User.Available)
		assert.False(t, d.Features.Familiarity.Available)
		assert.True(t, d.Floored)
		// A successful sign-in replaces the unreadable history.
		_, err = f.engine.RecordOutcome(ctx, d.EvaluationID, engine.OutcomeStepUpPassed)
		require.NoError(t, err)
		d, err = f.engine.Evaluate(ctx, ev)
		require.NoError(t, err)
		assert.True(t, d.Features.Familiarity.Available)
		assert.InDelta(t, 1, d.Features.Familiarity.Logins, 1e-9)
		assert.False(t, d.Floored)
	})

	t.Run("no user", func(t *testing.T) {
		f := newEngine(t, options{rulesFile: rulesFile})
		anon := ev
		anon.UserID = ""
		d, err := f.engine.Evaluate(ctx, anon)
		require.NoError(t, err)
		assert.False(t, d.Features.Familiarity.Available)
		assert.False(t, d.Floored)
	})
}

// keeperStore is a state store that keeps the global familiarity counts
// itself (as velocity.Redis does): Load hands back counts, or none, as if
// its read had failed.
type keeperStore struct {
	*velocity.Memory
	counts *familiarity.Counts
}

func (k keeperStore) KeepsFamiliarityCounts() bool { return true }

func (k keeperStore) Load(ctx context.Context, req *engine.LoadRequest) (*engine.Snapshot, error) {
	snap, err := k.Memory.Load(ctx, req)
	if err == nil && req.Pending != nil && req.Pending.Familiarity != nil {
		snap.FamiliarityCounts = k.counts
	}
	return snap, err
}

// TestFamiliarityCountsFromStore: with a store that keeps the counts, the
// engine scores against the counts Load returned, and when the store read
// none the namespace is unavailable (zeros would pass for a cold start).
func TestFamiliarityCountsFromStore(t *testing.T) {
	ctx := context.Background()
	rulesFile := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(rulesFile, []byte(familiarityRules), 0o600))
	ev := engine.Event{Kind: engine.KindLogin, UserID: "hana", IP: netip.MustParseAddr("192.0.2.9"), UserAgent: chrome,
		Device: &engine.DeviceDescriptor{CookieID: "hana-pc-1d2e"}}
	for _, tc := range []struct {
		name      string
		counts    *familiarity.Counts
		available bool
	}{
		{"counts read", &familiarity.Counts{Total: 5000, Users: 100}, true},
		{"counts not read", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem, err := velocity.NewMemory(velocity.Config{Counters: engine.DefaultCounters()}, velocity.NewMemProfiles(0), nil)
			require.NoError(t, err)
			defer mem.Close()
			f := newEngine(t, options{rulesFile: rulesFile, state: keeperStore{Memory: mem, counts: tc.counts}})
			for range 3 {
				d, err := f.engine.Evaluate(ctx, ev)
				require.NoError(t, err)
				_, err = f.engine.RecordOutcome(ctx, d.EvaluationID, engine.OutcomeSuccess)
				require.NoError(t, err)
			}
			d, err := f.engine.Evaluate(ctx, ev)
			require.NoError(t, err)
			fa := d.Features.Familiarity
			assert.Equal(t, tc.available, fa.Available)
			assert.Equal(t, !tc.available, d.Floored)
			if tc.available {
				// 3 sign-ins of history and 5000 logins counted (by the
				// store): no longer a cold start, which the engine's own
				// (empty) counts would be.
				assert.False(t, fa.ColdStart)
			}
		})
	}
}
