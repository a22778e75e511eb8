package velocity

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigValidation(t *testing.T) {
	good := counter("fails_user", engine.CountFailure, engine.KeyUser, "", time.Minute)
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none: valid
	}{
		{name: "empty is valid", cfg: Config{}},
		{name: "one counter", cfg: Config{Counters: []engine.CounterSpec{good}}},
		{
			name: "all errors at once",
			cfg: Config{Counters: []engine.CounterSpec{
				{Name: "Bad Name", On: "sometimes", Key: engine.KeyUser, Window: time.Minute},
				good,
				good,
				{Name: "short", On: engine.CountAttempt, Key: engine.KeyIP, Distinct: engine.KeyIP, Window: time.Millisecond},
			}, MaxKeys: -1, PendingTTL: time.Millisecond},
			want: []string{
				`counters[0]: counter "Bad Name": name`, `on "sometimes"`,
				`counters[2]: duplicate counter name "fails_user"`,
				`counters[3]: counter "short": distinct "ip": same as key`, "window 1ms",
				"max keys: must not be negative", "pending ttl 1ms",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewMemory(tc.cfg, nil, nil)
			if len(tc.want) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	// The caller's slice is copied: later changes do not reach the store.
	specs := []engine.CounterSpec{good}
	m, err := NewMemory(Config{Counters: specs}, nil, nil)
	require.NoError(t, err)
	specs[0].Name = "changed"
	assert.Equal(t, "fails_user", m.cfg.Counters[0].Name)
}

func TestMemoryEviction(t *testing.T) {
	reg := newTestRegistry(t)
	m, err := NewMemory(Config{MaxKeys: 3, Counters: []engine.CounterSpec{
		counter("logins_ip", engine.CountAttempt, engine.KeyIP, "", time.Hour, engine.KindLogin),
	}}, nil, reg.metrics)
	require.NoError(t, err)
	t0 := base()
	read := func(ip string) int {
		t.Helper()
		snap, err := m.Load(context.Background(), &engine.LoadRequest{Kind: "read", At: t0, Keys: engine.Keys{IP: ip}})
		require.NoError(t, err)
		return snap.Counters[0]
	}
	for _, ip := range []string{"a", "b", "c", "a", "a"} {
		load(t, m, "login", engine.Keys{IP: ip}, t0, engine.Place{})
	}
	assert.Equal(t, 0, read("never"), "reads do not create keys")
	assert.Equal(t, 1, read("b"), "a read makes b more recent than c")
	load(t, m, "login", engine.Keys{IP: "d"}, t0, engine.Place{}) // evicts c
	assert.Equal(t, 3, m.TrackedKeys())
	for ip, want := range map[string]int{"a": 3, "b": 1, "c": 0, "d": 1} {
		assert.Equal(t, want, read(ip), ip)
	}
	assert.Equal(t, 3.0, reg.value(t, "riskauth_velocity_tracked_keys", nil))
	assert.Equal(t, 1.0, reg.value(t, "riskauth_velocity_evictions_total", map[string]string{"what": "counter_key"}))
}

func TestMemoryPendingCap(t *testing.T) {
	reg := newTestRegistry(t)
	m, err := NewMemory(Config{MaxPending: 2}, nil, reg.metrics)
	require.NoError(t, err)
	ctx := context.Background()
	t0 := base()
	var ids []string
	for i := range 3 {
		_, id := load(t, m, "login", engine.Keys{}, t0.Add(time.Duration(i)*time.Second), engine.Place{})
		ids = append(ids, id)
	}
	_, err = m.RecordOutcome(ctx, ids[0], engine.OutcomeFailure, t0.Add(3*time.Second))
	assert.ErrorIs(t, err, engine.ErrUnknownEvaluation, "the oldest was dropped")
	for _, id := range ids[1:] {
		_, err = m.RecordOutcome(ctx, id, engine.OutcomeFailure, t0.Add(3*time.Second))
		assert.NoError(t, err)
	}
	assert.Equal(t, 1.0, reg.value(t, "riskauth_velocity_evictions_total", map[string]string{"what": "pending"}))
	// Expired entries are dropped as newer ones arrive.
	_, id := load(t, m, "login", engine.Keys{}, t0.Add(2*time.Hour), engine.Place{})
	_, err = m.RecordOutcome(ctx, id, engine.OutcomeLegit, t0.Add(2*time.Hour))
	assert.NoError(t, err)
	assert.Equal(t, 1.0, reg.value(t, "riskauth_velocity_evictions_total", map[string]string{"what": "pending"}), "expiry is not eviction")
}

func TestMemoryDistinctCap(t *testing.T) {
	m := openMemory(t, Config{MaxDistinct: 20, Counters: []engine.CounterSpec{
		counter("users_per_ip", engine.CountAttempt, engine.KeyIP, engine.KeyUser, 10*time.Minute),
	}})
	t0 := base()
	var snap *engine.Snapshot
	for i := range 50 {
		snap, _ = load(t, m, "login", engine.Keys{IP: "192.0.2.1", User: fmt.Sprint(i)}, t0, engine.Place{})
	}
	assert.Equal(t, 20, snap.Counters[0], "saturates at the cap")
	// Once the old members leave the window there is room again.
	for i := range 5 {
		snap, _ = load(t, m, "login", engine.Keys{IP: "192.0.2.1", User: fmt.Sprint("new", i)}, t0.Add(10*time.Minute), engine.Place{})
		assert.Equal(t, i, snap.Counters[0])
	}
}

func TestMemoryClosed(t *testing.T) {
	m := openMemory(t, Config{})
	require.NoError(t, m.Close())
	_, err := m.Load(context.Background(), &engine.LoadRequest{At: base()})
	assert.ErrorIs(t, err, ErrClosed)
	_, err = m.RecordOutcome(context.Background(), "x", engine.OutcomeSuccess, base())
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, m.Ping(context.Background()), ErrClosed)
}

func TestMemoryLoadHonoursContext(t *testing.T) {
	m := openMemory(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := m.Load(ctx, &engine.LoadRequest{At: base()})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestSlotRing(t *testing.T) {
	var sl slot
	sl.last = 100 - ringSlots
	sl.add(100)
	sl.add(100)
	sl.add(95)
	sl.add(88) // older than the ring (89..100): dropped
	assert.Equal(t, 3, sl.sum(100))
	assert.Equal(t, 1, sl.sum(99), "bucket 100 is in the future of a read in 99")
	sl.add(102)
	assert.Equal(t, 4, sl.sum(102))
	assert.Equal(t, 3, sl.sum(101))
	assert.Equal(t, 3, sl.sum(100), "two buckets behind the newest write is still exact")
	assert.Equal(t, 1, sl.sum(110), "95 is gone from a read in 110 (oldest 101)")
	sl.add(140)
	assert.Equal(t, 1, sl.sum(140))
	assert.Equal(t, 0, sl.sum(130))
	// Negative bucket indices (times before 1970) work too.
	var neg slot
	neg.last = -5 - ringSlots
	neg.add(-5)
	neg.add(-3)
	assert.Equal(t, 2, neg.sum(-1))
	assert.Equal(t, 2, neg.sum(4))
	assert.Equal(t, 1, neg.sum(5))
}

func TestWindowMath(t *testing.T) {
	w := newWindow(10 * time.Minute)
	t0 := time.Unix(1_800_000_000, 0) // a multiple of 60s
	assert.Equal(t, int64(30_000_000), w.index(t0))
	assert.Equal(t, int64(30_000_000), w.index(t0.Add(59*time.Second)))
	assert.Equal(t, int64(30_000_001), w.index(t0.Add(time.Minute)))
	assert.Equal(t, int64(-1), w.index(time.Unix(0, -1)))
	assert.Equal(t, 11*time.Minute, w.ttl(w.index(t0), t0))
	assert.Equal(t, time.Duration(0), w.ttl(w.index(t0), t0.Add(11*time.Minute)))
}

// TestMemoryPerMillionKeys measures what a million tracked counter keys
// cost (the figure in doc.go).
func TestMemoryPerMillionKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~100 MB")
	}
	const n = 1_000_000
	// MaxKeys above n: the shards' LRUs are each capped at MaxKeys/shards,
	// and none may evict here.
	m, err := NewMemory(Config{MaxKeys: 2 * n, Counters: []engine.CounterSpec{
		counter("attempts_ip", engine.CountAttempt, engine.KeyIP, "", 10*time.Minute),
	}}, nil, nil)
	require.NoError(t, err)
	before := heapAlloc()
	t0 := base()
	req := &engine.LoadRequest{Kind: "login", At: t0}
	ctx := context.Background()
	for i := range n {
		req.Keys.IP = ipString(uint32(i))
		_, err := m.Load(ctx, req)
		require.NoError(t, err)
	}
	after := heapAlloc()
	require.Equal(t, n, m.TrackedKeys())
	perKey := float64(after-before) / n
	t.Logf("memory: %d tracked keys cost %.1f MiB, %.0f bytes per key", n, float64(after-before)/(1<<20), perKey)
	assert.Less(t, perKey, 200.0)
	runtime.KeepAlive(m)
}

// TestMemoryFloodIsBounded floods the memory backend with distinct IPs
// (10 million, 1 million with -short): tracked keys never exceed MaxKeys
// and the heap stays bounded.
func TestMemoryFloodIsBounded(t *testing.T) {
	n, maxKeys := 10_000_000, 1_000_000
	if testing.Short() {
		n, maxKeys = 1_000_000, 100_000
	}
	m, err := NewMemory(Config{MaxKeys: maxKeys, MaxPending: 10_000, Counters: []engine.CounterSpec{
		counter("attempts_ip", engine.CountAttempt, engine.KeyIP, "", 10*time.Minute),
		counter("users_per_ip", engine.CountAttempt, engine.KeyIP, engine.KeyUser, 10*time.Minute),
		counter("fails_ip", engine.CountFailure, engine.KeyIP, "", 10*time.Minute),
	}}, nil, nil)
	require.NoError(t, err)
	before := heapAlloc()
	start := time.Now()
	t0 := base()
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			ctx := context.Background()
			req := &engine.LoadRequest{Kind: "login", Keys: engine.Keys{User: "victim@example.com"}}
			for i := w; i < n; i += workers {
				req.Keys.IP = ipString(uint32(i))
				req.At = t0.Add(time.Duration(i) * time.Microsecond)
				if _, err := m.Load(ctx, req); err != nil {
					t.Error(err)
					return
				}
				if i%(n/10) == 0 && m.TrackedKeys() > maxKeys {
					t.Errorf("tracked keys %d > cap %d", m.TrackedKeys(), maxKeys)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	grown := heapAlloc() - before
	assert.LessOrEqual(t, m.TrackedKeys(), maxKeys)
	assert.GreaterOrEqual(t, m.TrackedKeys(), maxKeys*9/10)
	t.Logf("memory: %d distinct IPs × 2 recorded counters in %s (%.0f ns/Load on %d workers), %d keys tracked, heap +%.1f MiB",
		n, elapsed.Round(time.Millisecond), float64(elapsed.Nanoseconds())/float64(n)*float64(workers), workers,
		m.TrackedKeys(), float64(grown)/(1<<20))
	// 2 counter keys per IP are recorded but only maxKeys kept, at about
	// 120 bytes each plus, for half of them, a one-member distinct set.
	assert.Less(t, grown, int64(maxKeys)*400)
	runtime.KeepAlive(m)
}

func heapAlloc() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

func ipString(i uint32) string {
	return netip.AddrFrom4([4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}).String()
}

func TestSQLiteProfilesPersistAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/profiles.db"
	cfg := Config{Counters: []engine.CounterSpec{counter("fails_user", engine.CountFailure, engine.KeyUser, "", time.Minute)}}
	p, err := NewSQLiteProfiles(path)
	require.NoError(t, err)
	m, err := NewMemory(cfg, p, nil)
	require.NoError(t, err)
	t0 := base()
	k := engine.Keys{User: "quinn", Device: "dev-q", Subnet: "192.0.2.0/24"}
	place := engine.Place{IP: "192.0.2.8", Country: "SE", ASN: 3301, Located: true, Lat: 59.3, Lon: 18.1}
	_, id := load(t, m, "login", k, t0, place)
	_, err = m.RecordOutcome(ctx, id, engine.OutcomeStepUpPassed, t0)
	require.NoError(t, err)
	_, id = load(t, m, "login", k, t0.Add(time.Second), place)
	_, err = m.RecordOutcome(ctx, id, engine.OutcomeFailure, t0.Add(time.Second))
	require.NoError(t, err)
	require.NoError(t, m.Close())
	require.NoError(t, p.Close())

	p, err = NewSQLiteProfiles(path)
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Ping(ctx))
	m, err = NewMemory(cfg, p, nil)
	require.NoError(t, err)
	snap, _ := load(t, m, "login", k, t0.Add(time.Minute), place)
	assert.Equal(t, 1, snap.Profile.Logins)
	require.NotNil(t, snap.Profile.Last)
	assert.Equal(t, place, snap.Profile.Last.Place)
	assert.True(t, snap.Profile.Device("dev-q").Trusted)
	assert.True(t, snap.Profile.HasCountry("SE"))
	assert.Equal(t, []int{0}, snap.Counters, "velocity windows are not persisted")
}

// TestSQLiteWarmLoadSkipsSQLite: once a profile (or its absence) is
// cached, Load does not read SQLite; here the reader is closed to prove it.
func TestSQLiteWarmLoadSkipsSQLite(t *testing.T) {
	ctx := context.Background()
	p, err := NewSQLiteProfiles(t.TempDir() + "/profiles.db")
	require.NoError(t, err)
	defer p.Close()
	m := openMemoryWith(t, Config{}, p)
	t0 := base()
	_, id := load(t, m, "login", engine.Keys{User: "rita"}, t0, engine.Place{Country: "NO"})
	_, err = m.RecordOutcome(ctx, id, engine.OutcomeSuccess, t0)
	require.NoError(t, err)
	load(t, m, "login", engine.Keys{User: "nobody"}, t0, engine.Place{})

	// A stored profile that is not cached.
	require.NoError(t, p.Put(ctx, "cold", engine.Profile{Logins: 3}))
	p.cache.remove("cold")

	require.NoError(t, p.read.Close())
	snap, _ := load(t, m, "login", engine.Keys{User: "rita"}, t0, engine.Place{})
	assert.Equal(t, 1, snap.Profile.Logins)
	snap, _ = load(t, m, "login", engine.Keys{User: "nobody"}, t0, engine.Place{})
	assert.Zero(t, snap.Profile.Logins)
	_, err = m.Load(ctx, &engine.LoadRequest{Kind: "login", At: t0, Keys: engine.Keys{User: "cold"}})
	assert.ErrorContains(t, err, "load profile", "a cold user needs the (closed) reader")
	// Mutating a returned profile does not reach the cache.
	snap.Profile.Logins = 99
	got, err := p.Get(ctx, "nobody")
	require.NoError(t, err)
	assert.Zero(t, got.Logins)
}

// TestSQLiteConcurrentSignIns: 64 concurrent sign-ins (many users, some
// shared) never fail with SQLITE_BUSY and lose no update.
func TestSQLiteConcurrentSignIns(t *testing.T) {
	ctx := context.Background()
	p, err := NewSQLiteProfiles(t.TempDir() + "/profiles.db")
	require.NoError(t, err)
	defer p.Close()
	m := openMemoryWith(t, Config{}, p)
	t0 := base()
	const n, users = 64, 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			req := &engine.LoadRequest{Kind: "login", At: t0, Keys: engine.Keys{User: fmt.Sprint("user-", i%users)},
				Pending: &engine.Pending{EvaluationID: fmt.Sprint("signin-", i), Kind: "login", At: t0.Add(time.Duration(i) * time.Millisecond),
					Keys: engine.Keys{User: fmt.Sprint("user-", i%users), Device: fmt.Sprint("d", i%3)}, Place: engine.Place{Country: "FI"}}}
			if _, err := m.Load(ctx, req); err != nil {
				errs <- err
				return
			}
			if _, err := m.RecordOutcome(ctx, req.Pending.EvaluationID, engine.OutcomeSuccess, t0); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// Read back from disk, not from the cache.
	p2, err := NewSQLiteProfiles(p.path)
	require.NoError(t, err)
	defer p2.Close()
	for u := range users {
		got, err := p2.Get(ctx, fmt.Sprint("user-", u))
		require.NoError(t, err)
		assert.Equal(t, n/users, got.Logins)
	}
}

// TestSQLiteUnknownUsersSkipSQLite: identifiers that never signed in (a
// stuffing list) are answered without reading SQLite (the reader is
// closed to prove it) and without taking cache slots from real users.
func TestSQLiteUnknownUsersSkipSQLite(t *testing.T) {
	ctx := context.Background()
	p, err := NewSQLiteProfiles(t.TempDir()+"/profiles.db", WithProfileCacheSize(10))
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Put(ctx, "rita", engine.Profile{Logins: 2}))
	require.NoError(t, p.read.Close())
	const n = 10_000
	reads := 0
	for i := range n {
		got, err := p.Get(ctx, fmt.Sprintf("stuffed-%d@example.com", i))
		if err != nil {
			// A false positive of the filter reads the closed file.
			assert.ErrorContains(t, err, "read profile")
			reads++
			continue
		}
		assert.Zero(t, got.Logins)
	}
	assert.Less(t, reads, n*2/100, "SQLite reads for never-seen users")
	got, ok := p.cache.get("rita")
	require.True(t, ok, "the real user's profile is still cached")
	assert.Equal(t, 2, got.Logins)
}

// filterBytes is the memory a knownUsers' filters take.
func filterBytes(k *knownUsers) uint {
	var b uint
	for _, f := range k.filters {
		b += f.Cap() / 8
	}
	return b
}

// TestKnownUsers: no false negatives while the filter grows past its
// first size, and a false-positive rate within what it promises.
func TestKnownUsers(t *testing.T) {
	k := &knownUsers{}
	k.grow(1000, knownUsersFP)
	const added = 10_000
	for i := range added {
		k.add(fmt.Sprint("user-", i))
		k.add(fmt.Sprint("user-", i)) // again: not counted twice
	}
	assert.Len(t, k.filters, 4, "1000, 2000, 4000, then 8000")
	for i := range added {
		require.True(t, k.mayContain(fmt.Sprint("user-", i)), "user-%d", i)
	}
	fp := 0
	const probes = 100_000
	for i := range probes {
		if k.mayContain(fmt.Sprint("other-", i)) {
			fp++
		}
	}
	assert.Less(t, float64(fp)/probes, 2*knownUsersFP, "false-positive rate")
	t.Logf("false positives: %d of %d; filters: %d bytes", fp, probes, filterBytes(k))

	big := newKnownUsers(0)
	assert.InDelta(t, 1.2e6, float64(filterBytes(big)), 0.1e6, "about 1.2 MB for the first million users")
}

func TestSQLiteBadPath(t *testing.T) {
	_, err := NewSQLiteProfiles("")
	assert.Error(t, err)
	_, err = NewSQLiteProfiles("/tmp/x?mode=ro")
	assert.Error(t, err)
	_, err = NewSQLiteProfiles(t.TempDir() + "/no/such/dir/p.db")
	assert.Error(t, err)
}

func TestSQLiteCorruptProfileIsReplaced(t *testing.T) {
	ctx := context.Background()
	p, err := NewSQLiteProfiles(t.TempDir()+"/profiles.db", WithProfileCacheSize(10), WithBusyTimeout(time.Second))
	require.NoError(t, err)
	defer p.Close()
	_, err = p.write.Exec(`INSERT INTO velocity_profiles (user_key, profile) VALUES ('sam', '{not json')`)
	require.NoError(t, err)
	// Written behind the store's back: seen once the file is reopened.
	require.NoError(t, p.Close())
	p, err = NewSQLiteProfiles(p.path, WithProfileCacheSize(10), WithBusyTimeout(time.Second))
	require.NoError(t, err)
	defer p.Close()
	m := openMemoryWith(t, Config{}, p)
	_, err = m.Load(ctx, &engine.LoadRequest{Kind: "login", At: base(), Keys: engine.Keys{User: "sam"}})
	assert.ErrorContains(t, err, "corrupt")
	_, err = m.Load(ctx, &engine.LoadRequest{Kind: "login", At: base(), Keys: engine.Keys{User: "sam"},
		Pending: &engine.Pending{EvaluationID: "e1", At: base(), Keys: engine.Keys{User: "sam"}}})
	require.Error(t, err)
	_, err = m.RecordOutcome(ctx, "e1", engine.OutcomeSuccess, base())
	require.NoError(t, err)
	got, err := p.Get(ctx, "sam")
	require.NoError(t, err)
	assert.Equal(t, 1, got.Logins)
}

func openMemoryWith(t testing.TB, cfg Config, p ProfileStore) *Memory {
	m, err := NewMemory(cfg, p, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func TestMemProfilesCopies(t *testing.T) {
	ctx := context.Background()
	mp := NewMemProfiles(2)
	p := engine.Profile{Logins: 1, Countries: []engine.Seen{{Value: "NL", Count: 1}}}
	require.NoError(t, mp.Put(ctx, "u", p))
	p.Countries[0].Count = 5
	got, err := mp.Get(ctx, "u")
	require.NoError(t, err)
	assert.Equal(t, 1, got.Countries[0].Count)
	got.Countries[0].Count = 7
	again, _ := mp.Get(ctx, "u")
	assert.Equal(t, 1, again.Countries[0].Count)
}

func TestDistinctMembersMoveBetweenBuckets(t *testing.T) {
	m := openMemory(t, Config{Counters: []engine.CounterSpec{
		counter("users_per_ip", engine.CountAttempt, engine.KeyIP, engine.KeyUser, 10*time.Minute),
	}})
	t0 := base()
	at := func(d time.Duration, user string) int {
		t.Helper()
		snap, err := m.Load(context.Background(), &engine.LoadRequest{Kind: "login", At: t0.Add(d), Keys: engine.Keys{IP: "ip", User: user}})
		require.NoError(t, err)
		return snap.Counters[0]
	}
	assert.Equal(t, 0, at(0, "u1"))
	assert.Equal(t, 1, at(time.Minute, "u2"))
	assert.Equal(t, 2, at(5*time.Minute, "u1"), "u1 moves to bucket 5, counted once")
	assert.Equal(t, 2, at(5*time.Minute, ""))
	assert.Equal(t, 2, at(10*time.Minute+30*time.Second, ""), "u2 (bucket 1) and u1 (bucket 5)")
	assert.Equal(t, 1, at(11*time.Minute, ""), "u2 left the window, u1 did not")
	assert.Equal(t, 1, at(14*time.Minute, "u1"))
	assert.Equal(t, 1, at(15*time.Minute, ""))
	assert.Equal(t, 1, at(23*time.Minute, ""))
	assert.Equal(t, 0, at(24*time.Minute, "u3"))
	assert.Equal(t, 0, at(time.Hour, "u1"), "everything is older than the window: the set starts over")
	assert.Equal(t, 1, at(time.Hour, "u1"))
	assert.Equal(t, 1, at(time.Hour, "u3"))
	assert.Equal(t, 2, at(time.Hour, ""))
}
