package familiarity

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newGlobal(t testing.TB, cfg GlobalConfig) *Global {
	t.Helper()
	g, err := NewGlobal(cfg)
	require.NoError(t, err)
	return g
}

// TestCountMinError checks the sketch's guarantees on a synthetic,
// Zipf-distributed stream of IPs: no estimate is below the true count, and
// the share of values whose estimate exceeds the truth by more than ε·N is
// within δ.
func TestCountMinError(t *testing.T) {
	t.Parallel()
	n := 100000
	if testing.Short() {
		n = 20000
	}
	g := newGlobal(t, GlobalConfig{Width: 1 << 10, Depth: 4})
	eps, delta := g.Epsilon(), g.Delta()
	assert.InDelta(t, math.E/1024, eps, 1e-15)
	assert.InDelta(t, math.Exp(-4), delta, 1e-15)
	rng := rand.New(rand.NewPCG(8, 2016))
	zipf := rand.NewZipf(rng, 1.2, 1, 19999)
	truth := map[string]uint64{}
	for range n {
		x := home
		x.IP = fmt.Sprint("ip-", zipf.Uint64())
		truth[x.IP]++
		g.Add(x)
	}
	require.EqualValues(t, n, g.Total())
	bound := eps * float64(n)
	over, maxErr := 0, uint64(0)
	for v, c := range truth {
		est := g.Freq(FeatureIP, v)
		require.GreaterOrEqual(t, est, c, "count-min never underestimates")
		maxErr = max(maxErr, est-c)
		if float64(est-c) > bound {
			over++
		}
	}
	t.Logf("%d logins, %d distinct IPs, width %d depth %d: ε·N = %.1f, max error %d, %d values over the bound (δ allows %.0f)",
		n, len(truth), 1<<10, 4, bound, maxErr, over, delta*float64(len(truth)))
	assert.LessOrEqual(t, float64(over), delta*float64(len(truth)))
	// Features with one value are exact.
	assert.EqualValues(t, n, g.Freq(FeatureCountry, home.Country))
	assert.Zero(t, g.Freq(FeatureCountry, "ZZ"))
}

// TestGlobalDefaults checks the documented default size and bounds.
func TestGlobalDefaults(t *testing.T) {
	t.Parallel()
	g := newGlobal(t, GlobalConfig{})
	assert.InDelta(t, 8.3e-5, g.Epsilon(), 1e-6)
	assert.InDelta(t, 0.0183, g.Delta(), 1e-4)
	assert.Equal(t, NumFeatures*4*(1<<15)*4, g.MemoryBytes()) // 4.5 MiB
	for _, cfg := range []GlobalConfig{{Width: 1000}, {Width: 128}, {Width: 1 << 25}, {Depth: 17}, {Depth: -1}, {Width: -4}} {
		_, err := NewGlobal(cfg)
		assert.ErrorIs(t, err, ErrGlobalConfig, "%+v", cfg)
	}
}

// TestGlobalConcurrent adds, looks up and snapshots from many goroutines;
// run it with -race.
func TestGlobalConcurrent(t *testing.T) {
	t.Parallel()
	g := newGlobal(t, GlobalConfig{Width: 1 << 8, Depth: 2})
	const workers, adds = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range adds {
				x := home
				x.IP = fmt.Sprint(w, ".", i)
				g.Add(x)
				if i == 0 {
					g.AddUser()
				}
				if i%100 == 0 {
					c := g.Lookup(home)
					assert.LessOrEqual(t, c.Freq[FeatureCountry], uint64(workers*adds))
					_, err := g.MarshalBinary()
					assert.NoError(t, err)
				}
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, workers*adds, g.Total())
	assert.EqualValues(t, workers, g.Users())
	assert.EqualValues(t, workers*adds, g.Freq(FeatureDeviceType, home.DeviceType))
}

// TestGlobalMergeAndSnapshot checks Merge and the binary round trip.
func TestGlobalMergeAndSnapshot(t *testing.T) {
	t.Parallel()
	a := newGlobal(t, GlobalConfig{Width: 1 << 8, Depth: 3})
	b := newGlobal(t, GlobalConfig{Width: 1 << 8, Depth: 3})
	for range 3 {
		a.Add(home)
	}
	a.AddUser()
	for range 2 {
		b.Add(abroad)
	}
	b.Add(home)
	b.AddUser()
	require.NoError(t, a.Merge(b))
	assert.EqualValues(t, 6, a.Total())
	assert.EqualValues(t, 2, a.Users())
	assert.EqualValues(t, 4, a.Freq(FeatureCountry, "DE"))
	assert.EqualValues(t, 2, a.Freq(FeatureCountry, "US"))
	assert.ErrorIs(t, a.Merge(newGlobal(t, GlobalConfig{Width: 1 << 9, Depth: 3})), ErrGlobalConfig)

	snap, err := a.MarshalBinary()
	require.NoError(t, err)
	assert.Len(t, snap, globalHeader+a.MemoryBytes())
	var c Global
	require.NoError(t, c.UnmarshalBinary(snap))
	assert.Equal(t, a.Lookup(abroad), c.Lookup(abroad))
	assert.Equal(t, a.Lookup(home), c.Lookup(home))
	c.Add(home) // usable after loading
	assert.EqualValues(t, 7, c.Total())

	bad := func(edit func([]byte) []byte) []byte { return edit(append([]byte(nil), snap...)) }
	for name, in := range map[string][]byte{
		"empty":       nil,
		"magic":       bad(func(b []byte) []byte { b[0] = 'X'; return b }),
		"truncated":   snap[:len(snap)-1],
		"trailing":    append(append([]byte(nil), snap...), 0),
		"features":    bad(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[10:], 3); return b }),
		"width":       bad(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[2:], 1000); return b }),
		"huge width":  bad(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[2:], 1<<31); return b }),
		"header only": snap[:globalHeader],
		"largest size, no counters": bad(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[2:], 1<<24)
			binary.LittleEndian.PutUint32(b[6:], 16)
			return b[:globalHeader+8]
		}),
		"zero depth":   bad(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[6:], 0); return b }),
		"short header": snap[:globalHeader-1],
	} {
		var g Global
		assert.ErrorIs(t, g.UnmarshalBinary(in), ErrCorrupt, name)
	}
}

// TestSaturation checks that counters stop at the largest uint32.
func TestSaturation(t *testing.T) {
	t.Parallel()
	var c atomic.Uint32
	c.Store(math.MaxUint32 - 1)
	incSaturating(&c, 1)
	incSaturating(&c, 1)
	incSaturating(&c, 100)
	assert.EqualValues(t, uint32(math.MaxUint32), c.Load())
}

// TestScoreWithGlobal runs the model end to end on an in-memory Global: a
// population of users at home, then the same user at home and abroad.
func TestScoreWithGlobal(t *testing.T) {
	t.Parallel()
	m := newModel(t, Config{})
	g := newGlobal(t, GlobalConfig{Width: 1 << 10, Depth: 4})
	var mine *History
	for u := range 200 {
		h := new(History)
		x := home
		x.IP, x.DeviceID = fmt.Sprint("198.51.100.", u), fmt.Sprint("d_", u)
		if u%4 == 0 {
			x.Country, x.City, x.ASN = "US", "US/Boston", "AS7922"
		}
		for i := range 10 {
			if h.Logins() == 0 {
				g.AddUser()
			}
			m.Observe(h, x, t0.Add(-24*time.Hour*time.Duration(10-i)))
			g.Add(x)
		}
		if u == 1 {
			mine = h
		}
	}
	x := home
	x.IP, x.DeviceID = "198.51.100.1", "d_1"
	atHome := m.Score(mine, g, x, t0)
	y := abroad
	y.DeviceID = "d_attacker"
	attacker := m.Score(mine, g, y, t0)
	assert.False(t, atHome.ColdStart)
	assert.Less(t, atHome.Score, attacker.Score)
	assert.Positive(t, attacker.Score)
	assert.Negative(t, atHome.Score)
	assert.InDelta(t, 0.0, atHome.Prior, 1e-9, "an average user: 10 logins of 2000 by 200 users")
}

// TestColumnsAreGlobalsCells: GlobalConfig.Columns names exactly the
// counters Global.Add bumps, so that a sketch kept elsewhere (Redis) with
// the same size estimates what a Global fed with the same logins does.
func TestColumnsAreGlobalsCells(t *testing.T) {
	t.Parallel()
	_, err := GlobalConfig{Width: 1000}.Sized()
	require.ErrorIs(t, err, ErrGlobalConfig)
	cfg, err := GlobalConfig{Width: 1 << 8, Depth: 3}.Sized()
	require.NoError(t, err)
	def, err := GlobalConfig{}.Sized()
	require.NoError(t, err)
	assert.Equal(t, GlobalConfig{Width: 1 << 15, Depth: 4}, def)

	g := newGlobal(t, cfg)
	x := Features{IP: "192.0.2.1", Country: "SE", Browser: "Firefox 128"}
	g.Add(x)
	snap, err := g.MarshalBinary()
	require.NoError(t, err)
	cells := snap[globalHeader:]
	want := map[int]bool{}
	for f := Feature(0); f < NumFeatures; f++ {
		cols := cfg.Columns(nil, x.Value(f))
		require.Len(t, cols, cfg.Depth)
		for r, c := range cols {
			require.True(t, c >= 0 && c < cfg.Width)
			want[(int(f)*cfg.Depth+r)*cfg.Width+c] = true
		}
	}
	for i := 0; i < len(cells)/4; i++ {
		v := binary.LittleEndian.Uint32(cells[4*i:])
		assert.Equal(t, want[i], v == 1, "cell %d", i)
	}
}
