package standard_test

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/signals/device/ualabel"
	"github.com/riskauth/riskauth/signals/standard"
	"github.com/riskauth/riskauth/signals/velocity"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The sizes measured here are what standard.MemoryLimit's split assumes
// (memory.go): each test fails when its measure exceeds the assumed cost,
// so that the caps derived from a budget stay inside it. They measure the
// live heap (runtime.MemStats.HeapAlloc after two collections) before and
// after filling one table, so they depend on the data kept, not on the
// machine's speed; run them with -v to see the figures. None is parallel:
// Go runs the parallel tests of a package only after its other tests, so
// these measure alone.

func heapAlloc() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

const (
	chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	renderer = "ANGLE (Intel, Intel(R) UHD Graphics 620 Direct3D11 vs_5_0 ps_5_0, D3D11)"
)

// requestEvent returns the event of riskload's typical sign-in body for
// user i, its strings as riskauthd's request decoder hands them over: the
// evaluate fast path (internal/httpapi/wire) copies the body's string
// values into one string per request and gives out views of it, so
// whatever keeps one of them keeps all of that request's strings.
func requestEvent(i int, ip netip.Addr) engine.Event {
	cookie := fmt.Sprintf("dvc_%024x", i)
	all := strings.Join([]string{"login", chromeUA, cookie, "Win32", "Europe/Berlin", "0f3a9c2e7b1d4a58", renderer, "en-US", "en", "app", "web"}, "")
	at := 0
	view := func(s string) string { v := all[at : at+len(s)]; at += len(s); return v }
	ev := engine.Event{Kind: view("login"), UserID: fmt.Sprintf("usr_%07d", i), IP: ip, UserAgent: view(chromeUA)}
	ev.Device = &engine.DeviceDescriptor{CookieID: view(cookie), Platform: view("Win32"), Timezone: view("Europe/Berlin"),
		CanvasHash: view("0f3a9c2e7b1d4a58"), WebGLRenderer: view(renderer), Languages: []string{view("en-US"), view("en")},
		ScreenWidth: 1920, ScreenHeight: 1080, ColorDepth: 24, PixelRatio: 1, HardwareConcurrency: 8, DeviceMemory: 8}
	ev.Attributes = map[string]string{view("app"): view("web")}
	return ev
}

// TestMemoryPerPendingEvaluation measures what the in-memory store keeps
// per pending evaluation (an evaluation waiting for its outcome), on
// riskauthd's engine with every signal and a located address. The same
// user, address and device every time, so that counters and caches do not
// grow; only the pending table does.
func TestMemoryPerPendingEvaluation(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates 100,000 events")
	}
	const n = 100_000
	cfg := standard.Config{Device: standard.DeviceConfig{Secret: "a-test-device-key-0123456789abcdef"}}
	cfg.Velocity.MaxPending = 2 * n
	clk := clock.NewManual(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	a, err := standard.New(cfg, standard.WithClock(clk))
	require.NoError(t, err)
	defer a.Close()
	ctx := context.Background()
	ip := netip.MustParseAddr("203.0.113.9") // located by the bundled fixture
	for range 1000 {                         // warm: counters, caches, pools
		_, err := a.Engine.Evaluate(ctx, requestEvent(0, ip))
		require.NoError(t, err)
	}
	before := heapAlloc()
	for range n {
		clk.Advance(time.Millisecond)
		d, err := a.Engine.Evaluate(ctx, requestEvent(0, ip))
		require.NoError(t, err)
		require.NotEmpty(t, d.EvaluationID)
	}
	perPending := float64(heapAlloc()-before) / n
	t.Logf("memory: %.0f bytes per pending evaluation (%d kept)", perPending, n)
	assert.Less(t, perPending, float64(standard.BytesPerPending))
	runtime.KeepAlive(a)
}

// TestMemoryPerProfile measures a cached user risk profile: a user who
// signed in from two networks in two countries with two devices, with
// the familiarity history those sign-ins built, held by the in-memory
// profile LRU (the SQLite store's cache keeps the same entries).
func TestMemoryPerProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 50,000 profiles")
	}
	const n = 50_000
	cfg := standard.Config{Device: standard.DeviceConfig{Secret: "a-test-device-key-0123456789abcdef"}}
	clk := clock.NewManual(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	a, err := standard.New(cfg, standard.WithClock(clk))
	require.NoError(t, err)
	defer a.Close()
	ctx := context.Background()
	var p *engine.Pending
	for i, ip := range []string{"203.0.113.9", "203.0.113.9", "198.51.100.7", "203.0.113.9"} {
		clk.Advance(time.Hour)
		ev := requestEvent(i%2, netip.MustParseAddr(ip))
		ev.UserID = "usr_0000001"
		d, err := a.Engine.Evaluate(ctx, ev)
		require.NoError(t, err)
		p, err = a.Engine.RecordOutcome(ctx, d.EvaluationID, engine.OutcomeSuccess)
		require.NoError(t, err)
	}
	snap, err := a.State.Load(ctx, &engine.LoadRequest{Kind: engine.KindLogin, Keys: p.Keys, At: clk.Now()})
	require.NoError(t, err)
	profile := snap.Profile
	require.Equal(t, 4, profile.Logins)
	require.Len(t, profile.Devices, 2)
	require.NotEmpty(t, profile.Familiarity)

	profiles := velocity.NewMemProfiles(2 * n)
	before := heapAlloc()
	for i := range n {
		require.NoError(t, profiles.Put(ctx, fmt.Sprintf("usr_%07d", i), profile))
	}
	perProfile := float64(heapAlloc()-before) / n
	t.Logf("memory: %.0f bytes per cached profile (%d countries, %d ASNs, %d devices, %d-byte familiarity history)",
		perProfile, len(profile.Countries), len(profile.ASNs), len(profile.Devices), len(profile.Familiarity))
	assert.Less(t, perProfile, float64(standard.BytesPerProfile))
	runtime.KeepAlive(profiles)
}

// TestMemoryPerCounterKey measures a tracked counter key (one counter of
// the default catalogue for one user, address, subnet or device) under
// traffic where every event brings a new user, address and device: the
// growth of the in-memory counters, pending evaluations capped small.
func TestMemoryPerCounterKey(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates 50,000 events")
	}
	const n = 50_000
	cfg := standard.Config{Device: standard.DeviceConfig{Secret: "a-test-device-key-0123456789abcdef"}}
	cfg.Velocity.MaxPending = 1000
	clk := clock.NewManual(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	a, err := standard.New(cfg, standard.WithClock(clk), standard.WithSignals())
	require.NoError(t, err)
	defer a.Close()
	mem, ok := a.State.(*velocity.Memory)
	require.True(t, ok)
	ctx := context.Background()
	evaluate := func(i int) {
		ip := netip.AddrFrom4([4]byte{100, byte(i >> 16), byte(i >> 8), byte(i)})
		_, err := a.Engine.Evaluate(ctx, requestEvent(i, ip))
		require.NoError(t, err)
	}
	for i := range 2000 { // warm, and fill the pending table
		evaluate(1<<22 + i)
	}
	before, keys := heapAlloc(), mem.TrackedKeys()
	for i := range n {
		clk.Advance(time.Millisecond)
		evaluate(i)
	}
	added := mem.TrackedKeys() - keys
	perKey := float64(heapAlloc()-before) / float64(added)
	t.Logf("memory: %.0f bytes per tracked counter key (%d keys for %d new users, addresses and devices: %.1f each)",
		perKey, added, n, float64(added)/n)
	assert.Less(t, perKey, float64(standard.BytesPerCounterKey))
	runtime.KeepAlive(a)
}

// TestMemoryPerUserAgent measures the user-agent label cache per entry
// at its worst: user agents of the longest cached length (512 bytes), and
// enough of them that 2Q's list of evicted keys is full too.
func TestMemoryPerUserAgent(t *testing.T) {
	const size = 4096
	base := strings.Repeat("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) ", 8)[:500]
	uas := make([]string, 3*size)
	for i := range uas {
		uas[i] = fmt.Sprintf("Agent/%08d %s", i, base)[:512]
	}
	ualabel.NewCache(ualabel.DefaultCacheSize).Parse(uas[0]) // the parser's tables, built once per process
	before := heapAlloc()
	c := ualabel.NewCache(size)
	for _, ua := range uas {
		c.Parse(ua)
	}
	perEntry := float64(heapAlloc()-before) / size
	t.Logf("memory: %.0f bytes per user-agent cache entry (512-byte user agents)", perEntry)
	assert.Less(t, perEntry, float64(standard.BytesPerUserAgent))
	runtime.KeepAlive(c)
	runtime.KeepAlive(uas)
}
