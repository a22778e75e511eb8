package velocity

import (
	"context"
	"encoding/binary"
	"math"
	"strconv"
	"testing"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallSketch is a sketch size small enough for fuzzing (9 × 2 × 256
// cells, 18 KiB).
var smallSketch = familiarity.GlobalConfig{Width: 256, Depth: 2}

// encodeFamSketch is the value BITFIELD would hold for these totals and
// cells: big-endian i64 totals, then big-endian u32 cells.
func encodeFamSketch(total, users int64, cells []uint32) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(total))
	b = binary.BigEndian.AppendUint64(b, uint64(users))
	for _, c := range cells {
		b = binary.BigEndian.AppendUint32(b, c)
	}
	return string(b)
}

// TestDecodeFamSketch: the values BITFIELD can leave (empty, totals only,
// any prefix of the cells, the whole sketch) decode, missing cells as
// zeros; anything else is an error, never a panic.
func TestDecodeFamSketch(t *testing.T) {
	t.Parallel()
	cfg, err := smallSketch.Sized()
	require.NoError(t, err)
	n := familiarity.NumFeatures * cfg.Depth * cfg.Width
	cells := make([]uint32, n)
	for i := range cells {
		cells[i] = uint32(i) * 2654435761
	}
	cells[n-1] = math.MaxUint32
	full := encodeFamSketch(7, 3, cells)
	for _, tc := range []struct {
		name         string
		v            string
		total, users uint64
		cells        int // how many leading cells are set
		err          string
	}{
		{name: "missing key", v: ""},
		{name: "login total only", v: full[:8], total: 7},
		{name: "totals only", v: full[:16], total: 7, users: 3},
		{name: "some cells", v: full[:16+4*10], total: 7, users: 3, cells: 10},
		{name: "whole sketch", v: full, total: 7, users: 3, cells: n},
		{name: "cut in a total", v: full[:5], err: "do not end on a field"},
		{name: "cut in the users", v: full[:12], err: "do not end on a field"},
		{name: "cut in a cell", v: full[:16+4*10+3], err: "do not end on a field"},
		{name: "too long", v: full + "\x00\x00\x00\x00", err: "more than"},
		{name: "negative total", v: encodeFamSketch(-1, 0, nil), err: "negative"},
		{name: "negative users", v: encodeFamSketch(1, math.MinInt64, nil), err: "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := decodeFamSketch(cfg, tc.v)
			if tc.err != "" {
				require.ErrorIs(t, err, errFamCorrupt)
				assert.ErrorContains(t, err, tc.err)
				assert.Nil(t, m)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.total, m.total.Load())
			assert.Equal(t, tc.users, m.users.Load())
			require.Len(t, m.cells, n)
			for i := range m.cells {
				want := uint32(0)
				if i < tc.cells {
					want = cells[i]
				}
				if m.cells[i].Load() != want {
					t.Fatalf("cell %d = %d, want %d", i, m.cells[i].Load(), want)
				}
			}
		})
	}
}

// FuzzDecodeFamSketch: no value read from Redis makes the decoder panic,
// and what it accepts it accepts whole.
func FuzzDecodeFamSketch(f *testing.F) {
	cfg, err := smallSketch.Sized()
	require.NoError(f, err)
	f.Add("")
	f.Add(encodeFamSketch(1, 1, []uint32{1, 2, 3}))
	f.Add(encodeFamSketch(-5, 1, nil)[:11])
	f.Fuzz(func(t *testing.T, v string) {
		m, err := decodeFamSketch(cfg, v)
		if err != nil {
			require.ErrorIs(t, err, errFamCorrupt)
			return
		}
		x := famLogin(len(v))
		c := m.lookup(&x)
		assert.LessOrEqual(t, c.Total, uint64(math.MaxInt64))
	})
}

// TestFamiliarityMirrorMatchesGlobal: the mirror's lookup and local bump
// are familiarity.Global's Lookup and Add (same cells, same saturation).
func TestFamiliarityMirrorMatchesGlobal(t *testing.T) {
	t.Parallel()
	cfg, err := familiarity.GlobalConfig{}.Sized()
	require.NoError(t, err)
	m := newFamMirror(cfg)
	g, err := familiarity.NewGlobal(familiarity.GlobalConfig{})
	require.NoError(t, err)
	for i := range 40 {
		x := famLogin(i % 9)
		m.add(&x)
		g.Add(x)
	}
	m.users.Add(2)
	g.AddUser()
	g.AddUser()
	for i := range 12 {
		x := famLogin(i)
		assert.Equal(t, g.Lookup(x), *m.lookup(&x), "login %d", i)
	}
}

// TestRedisFamiliarityMirror: instance B scores against its mirror, which
// holds its own sign-ins at once and instance A's once B has refreshed
// (the test refreshes explicitly; the refresher does so every
// FamiliarityRefresh); a deleted key reads as an empty sketch.
func TestRedisFamiliarityMirror(t *testing.T) {
	t.Parallel()
	for _, tc := range redisTopologies {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			cfg := Config{KeyPrefix: testPrefix(t)}
			open := func() *Redis {
				// Refreshes every testRefresh (an hour): "B has not
				// refreshed" below must hold however long the run takes.
				s := newTestRedis(t, tc.client(t), cfg, nil)
				dropSketch(t, s)
				waitFirstRefresh(t, s)
				return s
			}
			a, b := open(), open()
			x := famLogin(4)
			read := func(s *Redis) familiarity.Counts {
				t.Helper()
				snap, err := s.Load(ctx, &engine.LoadRequest{Kind: "login", At: base(),
					Pending: &engine.Pending{EvaluationID: "read-" + strconv.FormatUint(evalSeq.Add(1), 10), Kind: "login", At: base(), Familiarity: &x}})
				require.NoError(t, err)
				require.NotNil(t, snap.FamiliarityCounts)
				return *snap.FamiliarityCounts
			}
			for range 3 {
				signInWithFamiliarity(t, a, engine.Keys{User: "amir", IP: x.IP}, x, base(), engine.OutcomeSuccess)
			}
			signInWithFamiliarity(t, b, engine.Keys{User: "bea", IP: x.IP}, x, base(), engine.OutcomeSuccess)
			assert.Equal(t, familiarity.Counts{Total: 3, Users: 1, Freq: freqs(3)}, read(a), "A's own sign-ins, bumped locally")
			assert.Equal(t, familiarity.Counts{Total: 1, Users: 1, Freq: freqs(1)}, read(b), "B has not refreshed: its own only")
			require.NoError(t, b.refreshFamiliarity(ctx))
			assert.Equal(t, familiarity.Counts{Total: 4, Users: 2, Freq: freqs(4)}, read(b), "B after its refresh: Redis's truth")
			assert.Equal(t, familiarity.Counts{Total: 3, Users: 1, Freq: freqs(3)}, read(a), "A until it refreshes")
			require.NoError(t, a.refreshFamiliarity(ctx))
			assert.Equal(t, read(b), read(a))

			for _, k := range a.fam.keys {
				require.NoError(t, a.c.Del(ctx, k).Err())
			}
			require.NoError(t, a.refreshFamiliarity(ctx))
			assert.Equal(t, familiarity.Counts{}, read(a), "a missing key is an empty sketch")
		})
	}
}

func freqs(n uint64) (f [familiarity.NumFeatures]uint64) {
	for i := range f {
		f[i] = n
	}
	return f
}

// TestRedisCloseStopsRefresher: Close stops the refresher goroutine (and
// the annotation writer), a second Close too; Load still answers from the
// last mirror.
func TestRedisCloseStopsRefresher(t *testing.T) {
	t.Parallel()
	c := redisStandalone(t)
	s, err := NewRedis(c, Config{KeyPrefix: testPrefix(t), FamiliarityRefresh: 1e9}, nil)
	require.NoError(t, err)
	dropSketch(t, s)
	require.NoError(t, s.Close())
	select {
	case <-s.refresher.done:
	default:
		t.Fatal("the refresher goroutine is still running after Close")
	}
	require.NoError(t, s.Close(), "a second Close")
	x := famLogin(1)
	assert.NotNil(t, s.mirror.Load().lookup(&x))
}

// TestConfigFamiliarityRefresh: the interval defaults to 30s and must be
// at least a second.
func TestConfigFamiliarityRefresh(t *testing.T) {
	t.Parallel()
	c, err := Config{}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, DefaultFamiliarityRefresh, c.FamiliarityRefresh)
	_, err = Config{FamiliarityRefresh: 500 * 1e6}.withDefaults()
	assert.ErrorContains(t, err, "familiarity refresh 500ms: want at least 1s")
	_, err = Config{FamiliarityRefresh: -1}.withDefaults()
	assert.ErrorContains(t, err, "familiarity refresh: must not be negative")
}
