package geo

import (
	"context"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/signals/geo/internal/fixturegen"
)

// variantCity builds a city database from the fixture source in which the
// London networks say city instead, with the given build epoch.
func variantCity(t testing.TB, city string, epoch int64) []byte {
	t.Helper()
	src, err := fixturegen.Load(fixture("fixtures.yaml"))
	require.NoError(t, err)
	src.BuildEpoch = epoch
	for i := range src.Places {
		if src.Places[i].Name == "london" {
			src.Places[i].City = city
		}
	}
	files, err := fixturegen.Build(src)
	require.NoError(t, err)
	return files["city.mmdb"]
}

// replaceFile replaces path atomically (write + rename, as geoipupdate
// does) and gives it a distinct modification time.
func replaceFile(t testing.TB, path string, b []byte, mtime time.Time) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, b, 0o644))
	require.NoError(t, os.Chtimes(tmp, mtime, mtime))
	require.NoError(t, os.Rename(tmp, path))
}

func cityOf(t testing.TB, g *Geo, ip string) string {
	t.Helper()
	rec, err := g.Lookup(netip.MustParseAddr(ip))
	require.NoError(t, err)
	return rec.City
}

type reloadEnv struct {
	dir, path string
	g         *Geo
	m         *Metrics
	reg       *prometheus.Registry
}

func newReloadEnv(t *testing.T) *reloadEnv {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "city.mmdb")
	replaceFile(t, path, variantCity(t, "London", 1764288000), time.Unix(1_700_000_000, 0))
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	g, err := Open(Config{City: []string{path}, AllowDocumentationRanges: true}, nil, nil, m)
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })
	return &reloadEnv{dir, path, g, m, reg}
}

func (e *reloadEnv) counter(c *prometheus.CounterVec) float64 {
	return testutil.ToFloat64(c.WithLabelValues("city.mmdb"))
}

func TestRefreshPicksUpReplacedFile(t *testing.T) {
	t.Parallel()
	e := newReloadEnv(t)
	assert.Equal(t, "London", cityOf(t, e.g, london))

	require.NoError(t, e.g.Refresh())
	assert.Zero(t, e.counter(e.m.reloads), "unchanged file: no reload")

	replaceFile(t, e.path, variantCity(t, "Londinium", 1764374400), time.Unix(1_700_000_100, 0))
	require.NoError(t, e.g.Refresh())
	assert.Equal(t, "Londinium", cityOf(t, e.g, london))
	assert.Equal(t, "Sydney", cityOf(t, e.g, sydney))
	assert.Equal(t, 1.0, e.counter(e.m.reloads))
	assert.Equal(t, float64(1764374400), testutil.ToFloat64(e.m.build.WithLabelValues("city.mmdb")))
	assert.Equal(t, int64(1764374400), e.g.Status()[0].BuildTime.Unix())

	require.NoError(t, e.g.Reload(), "forced reload of an unchanged file")
	assert.Equal(t, 2.0, e.counter(e.m.reloads))
	assert.Equal(t, "Londinium", cityOf(t, e.g, london))
}

func TestReloadKeepsOldOnCorruptOrMissingFile(t *testing.T) {
	t.Parallel()
	e := newReloadEnv(t)
	good := variantCity(t, "London", 1764288000)

	// Corrupt: a truncated copy.
	replaceFile(t, e.path, good[:len(good)/3], time.Unix(1_700_000_200, 0))
	err := e.g.Refresh()
	require.Error(t, err)
	assert.Contains(t, err.Error(), e.path)
	assert.Equal(t, "London", cityOf(t, e.g, london), "the loaded database is kept")
	assert.Equal(t, 1.0, e.counter(e.m.reloadErrors))
	assert.NotEmpty(t, e.g.Status()[0].LastError)

	// The same broken file is reported once, not at every poll.
	require.NoError(t, e.g.Refresh())
	assert.Equal(t, 1.0, e.counter(e.m.reloadErrors))
	// A forced reload reports it again.
	require.Error(t, e.g.Reload())
	assert.Equal(t, 2.0, e.counter(e.m.reloadErrors))

	// Garbage of the same size.
	garbage := make([]byte, len(good))
	for i := range garbage {
		garbage[i] = byte(i * 7)
	}
	replaceFile(t, e.path, garbage, time.Unix(1_700_000_300, 0))
	require.Error(t, e.g.Refresh())
	assert.Equal(t, 3.0, e.counter(e.m.reloadErrors))

	// Missing.
	require.NoError(t, os.Remove(e.path))
	err = e.g.Refresh()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no such file")
	assert.Equal(t, 4.0, e.counter(e.m.reloadErrors))
	assert.Equal(t, "London", cityOf(t, e.g, london))

	// A wrong database type under the same name.
	b, err := os.ReadFile(fixture("asn.mmdb"))
	require.NoError(t, err)
	replaceFile(t, e.path, b, time.Unix(1_700_000_400, 0))
	err = e.g.Refresh()
	require.ErrorIs(t, err, ErrUnsupportedDatabase)
	assert.Equal(t, 5.0, e.counter(e.m.reloadErrors))

	// Fixed: the next poll loads it.
	replaceFile(t, e.path, variantCity(t, "New London", 1764374400), time.Unix(1_700_000_500, 0))
	require.NoError(t, e.g.Refresh())
	assert.Equal(t, "New London", cityOf(t, e.g, london))
	assert.Empty(t, e.g.Status()[0].LastError)
	assert.Equal(t, 1.0, e.counter(e.m.reloads))
}

func TestRunPolls(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "city.mmdb")
	replaceFile(t, path, variantCity(t, "London", 1764288000), time.Unix(1_700_000_000, 0))
	g, err := Open(Config{City: []string{path}, AllowDocumentationRanges: true, PollInterval: 5 * time.Millisecond}, nil, nil, nil)
	require.NoError(t, err)
	defer g.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()

	replaceFile(t, path, variantCity(t, "Polled", 1764374400), time.Unix(1_700_000_100, 0))
	testenv.Eventually(t, "the poller to load the new file", func() bool { return cityOf(t, g, london) == "Polled" })
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(testenv.Patience):
		t.Fatal("Run did not return after cancel")
	}
}

// TestLookupsDuringReload hammers lookups while the file is replaced and
// reloaded over and over: every answer must come from one of the two
// generations, and no lookup may touch an unmapped file (which would crash
// the test binary). Run with -race.
func TestLookupsDuringReload(t *testing.T) {
	t.Parallel()
	e := newReloadEnv(t)
	versions := [][]byte{variantCity(t, "London", 1764288000), variantCity(t, "Londres", 1764374400)}
	ips := []netip.Addr{netip.MustParseAddr(london), netip.MustParseAddr("2001:db8:1::5")}

	var stop atomic.Bool
	var lookups atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				rec, err := e.g.Lookup(ips[i%len(ips)])
				if err != nil || (rec.City != "London" && rec.City != "Londres") {
					t.Errorf("lookup during reload: %q, %v", rec.City, err)
					return
				}
				lookups.Add(1)
			}
		}()
	}
	for i := 0; i < 60; i++ {
		replaceFile(t, e.path, versions[i%2], time.Unix(1_700_001_000+int64(i), 0))
		if i%3 == 0 {
			require.NoError(t, e.g.Reload())
		} else {
			require.NoError(t, e.g.Refresh())
		}
	}
	stop.Store(true)
	wg.Wait()
	assert.Positive(t, lookups.Load())
	assert.Equal(t, 60.0, e.counter(e.m.reloads))
	// Every retired generation was closed: only the current one holds a reference.
	s := e.g.cur.Load()
	assert.Equal(t, int64(1), s.refs.Load())
	assert.Equal(t, int64(1), s.dbs[0].refs.Load())
}

// TestCloseWaitsForInFlightLookups holds a snapshot (as a lookup does)
// across Close: the database stays mapped until it is released.
func TestCloseWaitsForInFlightLookups(t *testing.T) {
	t.Parallel()
	e := newReloadEnv(t)
	s := e.g.acquire()
	require.NotNil(t, s)
	require.NoError(t, e.g.Close())
	var rec Record
	ok, err := s.city[0].lookup(netip.MustParseAddr(london), &rec, &e.g.assumed, new(scratch))
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "London", rec.City)
	e.g.release(s)
	assert.Zero(t, s.dbs[0].refs.Load(), "released and closed")
	assert.ErrorIs(t, e.g.Reload(), ErrClosed)
	_, err = e.g.Lookup(netip.MustParseAddr(london))
	assert.ErrorIs(t, err, ErrClosed)
}

func TestReloadFailureIsLogged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "city.mmdb")
	replaceFile(t, path, variantCity(t, "London", 1764288000), time.Unix(1_700_000_000, 0))
	var logs testenv.LogBuffer
	g, err := Open(Config{City: []string{path}, AllowDocumentationRanges: true}, nil, slog.New(slog.NewJSONHandler(&logs, nil)), nil)
	require.NoError(t, err)
	defer g.Close()
	assert.Contains(t, logs.String(), `"msg":"geo database loaded"`)
	replaceFile(t, path, []byte("garbage"), time.Unix(1_700_000_100, 0))
	require.Error(t, g.Refresh())
	out := logs.String()
	assert.Contains(t, out, `"level":"ERROR"`)
	assert.Contains(t, out, `"msg":"geo database reload failed; keeping the loaded one"`)
	assert.Contains(t, out, `"db":"city.mmdb"`)
	assert.Contains(t, out, `"path":"`+path+`"`)
}
