package geo

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/engine/clock"
)

// An operator rewrites a live database file in place (cp over it, : > it,
// a download straight into it) while lookups run. A reader that serves
// lookups from the file's own pages dies of SIGBUS inside the tree walk
// (a fatal signal, not a panic), which would take the whole test binary
// with it: each case runs in a child process, and the parent reports how
// the child ended.

// envInPlaceChild tells the test binary that it is the child of
// TestInPlaceRewrite and runs one case.
const envInPlaceChild = "RISKAUTH_GEO_INPLACE_CHILD"

var inPlaceCases = map[string]func(*inPlaceEnv){
	"truncate-to-zero": func(e *inPlaceEnv) {
		e.rewrite(func() { require.NoError(e.t, os.Truncate(e.path, 0)) })
		e.refreshFails("file is empty")
	},
	"partial-copy": func(e *inPlaceEnv) {
		e.rewrite(func() { e.copyInPlace(e.newer[:len(e.newer)/3]) })
		e.refreshFails("")
	},
	"copy-valid-file": func(e *inPlaceEnv) {
		e.rewrite(func() { e.copyInPlace(e.newer) })
		// Accepted at the next reload, and only then.
		e.refreshAccepts("Londinium")
		// The accepted copy is private: the file going away under it
		// changes nothing.
		e.rewrite(func() { require.NoError(e.t, os.Truncate(e.path, 0)) })
		e.refreshFails("file is empty")
		// A valid database of the wrong kind copied over it is refused.
		asn, err := os.ReadFile(fixture("asn.mmdb"))
		require.NoError(e.t, err)
		e.rewrite(func() { e.copyInPlace(asn) })
		e.refreshFails("unsupported database")
	},
}

func TestInPlaceRewrite(t *testing.T) {
	if name := os.Getenv(envInPlaceChild); name != "" {
		run, ok := inPlaceCases[name]
		require.True(t, ok, "unknown case %q", name)
		run(newInPlaceEnv(t))
		return
	}
	t.Parallel()
	for name := range inPlaceCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestInPlaceRewrite$", "-test.count=1", "-test.v", "-test.timeout=5m")
			cmd.Env = append(os.Environ(), envInPlaceChild+"="+name)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "the child died or failed; its output:\n%s", excerpt(out))
			assert.Contains(t, string(out), "--- PASS: TestInPlaceRewrite")
		})
	}
}

// excerpt keeps the head of a child's output and the lines that say how it
// died, not the goroutine dump of a crash.
func excerpt(out []byte) string {
	lines := strings.Split(string(out), "\n")
	var keep []string
	for i, l := range lines {
		if i < 40 || strings.Contains(l, "SIGBUS") || strings.Contains(l, "fatal error") || strings.Contains(l, "_test.go") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// inPlaceEnv is one child's scenario: a city database loaded from a file
// that says "London" for the London networks, and lookups running on it
// until the test ends.
type inPlaceEnv struct {
	t     *testing.T
	path  string
	newer []byte // a valid database of the same kind that says "Londinium"
	g     *Geo
	clk   *clock.Manual
	m     *Metrics
	mtime time.Time

	// allowed is the set of answers a lookup may give right now: the
	// accepted generation, and during a reload that may accept a new one,
	// both.
	allowed atomic.Pointer[map[string]bool]
	lookups atomic.Int64
	bad     atomic.Pointer[string]
	stop    atomic.Bool
	wg      sync.WaitGroup
}

var inPlaceIPs = []netip.Addr{netip.MustParseAddr(london), netip.MustParseAddr("2001:db8:1::5")}

func newInPlaceEnv(t *testing.T) *inPlaceEnv {
	e := &inPlaceEnv{t: t, path: filepath.Join(t.TempDir(), "city.mmdb"),
		newer: variantCity(t, "Londinium", 1764374400), mtime: time.Unix(1_700_000_000, 0),
		clk: clock.NewManual(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))}
	e.copyInPlace(variantCity(t, "London", 1764288000))
	e.m = NewMetrics(prometheus.NewPedanticRegistry())
	g, err := Open(Config{City: []string{e.path}, AllowDocumentationRanges: true}, e.clk, nil, e.m)
	require.NoError(t, err)
	e.g = g
	e.allow("London")
	assert.Equal(t, float64(len(variantCity(t, "London", 1764288000))), testutil.ToFloat64(e.m.bytes.WithLabelValues("city.mmdb")))
	for w := 0; w < 4; w++ {
		e.wg.Add(1)
		go e.lookupLoop()
	}
	t.Cleanup(func() {
		e.stop.Store(true)
		e.wg.Wait()
		require.NoError(t, g.Close())
		e.requireGoodLookups("at the end")
	})
	e.waitLookups() // the lookups run before anything is rewritten
	return e
}

func (e *inPlaceEnv) allow(cities ...string) {
	m := map[string]bool{}
	for _, c := range cities {
		m[c] = true
	}
	e.allowed.Store(&m)
}

// lookupLoop looks the London networks up until the test ends, and keeps
// the first answer that is not allowed.
func (e *inPlaceEnv) lookupLoop() {
	defer e.wg.Done()
	for i := 0; !e.stop.Load(); i++ {
		// What was allowed when the lookup started or when it ended: a
		// reload publishes between the two.
		before := *e.allowed.Load()
		rec, err := e.g.Lookup(inPlaceIPs[i%len(inPlaceIPs)])
		after := *e.allowed.Load()
		if err != nil || !(before[rec.City] || after[rec.City]) {
			msg := fmt.Sprintf("%s: city %q, err %v", inPlaceIPs[i%len(inPlaceIPs)], rec.City, err)
			e.bad.CompareAndSwap(nil, &msg)
		}
		e.lookups.Add(1)
	}
}

// waitLookups waits until every lookup worker has had time for a few more
// lookups: a condition, with a deadline generous enough for a loaded host.
func (e *inPlaceEnv) waitLookups() {
	e.t.Helper()
	target := e.lookups.Load() + 200
	require.Eventually(e.t, func() bool { return e.lookups.Load() >= target }, 2*time.Minute, time.Millisecond,
		"the lookups stopped making progress")
}

// copyInPlace writes b over the file the way cp does (open with O_TRUNC,
// write in chunks, never rename), letting lookups run between chunks.
func (e *inPlaceEnv) copyInPlace(b []byte) {
	e.t.Helper()
	f, err := os.OpenFile(e.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	require.NoError(e.t, err)
	for off := 0; off < len(b); off += 1024 {
		_, err := f.Write(b[off:min(off+1024, len(b))])
		require.NoError(e.t, err)
		if e.g != nil {
			e.waitLookups()
		}
	}
	require.NoError(e.t, f.Close())
}

// rewrite changes the file in place with lookups running, gives it a new
// modification time (file systems with coarse timestamps could otherwise
// hide a change made within one tick), and checks that the lookups go on
// answering from the accepted data.
func (e *inPlaceEnv) rewrite(change func()) {
	e.t.Helper()
	change()
	e.mtime = e.mtime.Add(time.Minute)
	require.NoError(e.t, os.Chtimes(e.path, e.mtime, e.mtime))
	e.waitLookups()
	e.requireGoodLookups("after the file was rewritten in place")
}

// requireGoodLookups stops the test at the first lookup that did not
// answer from the accepted data.
func (e *inPlaceEnv) requireGoodLookups(when string) {
	e.t.Helper()
	if bad := e.bad.Load(); bad != nil {
		e.t.Fatalf("%s, a lookup did not answer from the accepted data: %s", when, *bad)
	}
}

// refreshFails polls for changes: the rewritten file must be refused, with
// an error containing want, and the accepted generation kept.
func (e *inPlaceEnv) refreshFails(want string) {
	e.t.Helper()
	loaded := e.g.Status()[0].LoadedAt
	e.clk.Advance(time.Minute)
	err := e.g.Refresh()
	require.Error(e.t, err)
	assert.Contains(e.t, err.Error(), e.path)
	assert.Contains(e.t, err.Error(), want)
	assert.Equal(e.t, loaded, e.g.Status()[0].LoadedAt, "the accepted generation stays")
	e.waitLookups()
	e.requireGoodLookups("after a refused reload")
}

// refreshAccepts polls for changes: the rewritten file must be accepted,
// and from then on lookups answer city.
func (e *inPlaceEnv) refreshAccepts(city string) {
	e.t.Helper()
	old := *e.allowed.Load()
	both := []string{city}
	for c := range old {
		both = append(both, c)
	}
	e.allow(both...)
	e.clk.Advance(time.Minute)
	require.NoError(e.t, e.g.Refresh())
	e.allow(city)
	st := e.g.Status()[0]
	assert.Equal(e.t, e.clk.Now(), st.LoadedAt, "loaded at the injected clock's time")
	assert.Empty(e.t, st.LastError)
	assert.Equal(e.t, float64(len(e.newer)), testutil.ToFloat64(e.m.bytes.WithLabelValues("city.mmdb")))
	rec, err := e.g.Lookup(inPlaceIPs[0])
	require.NoError(e.t, err)
	assert.Equal(e.t, city, rec.City)
	e.waitLookups()
	e.requireGoodLookups("after the reload")
}
