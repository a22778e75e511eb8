package ualabel

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// oneOff returns the i-th of a stream of distinct, realistic user agents,
// as a tool rotating its user agent sends them.
func oneOff(i int) string {
	return fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.%d.0 Safari/537.36", 100+i%50, i)
}

// TestCacheBounded checks that no stream of distinct user agents grows the
// cache past its bound, and that user agents over maxCachedLen are not
// cached at all.
func TestCacheBounded(t *testing.T) {
	t.Parallel()
	const size = 256
	c := newCache(size)
	for i := range 20 * size {
		c.parse(oneOff(i), i%2 == 1)
		if n := c.len(); n > size {
			t.Fatalf("after %d user agents the cache holds %d, bound %d", i+1, n, size)
		}
	}
	if n := c.len(); n < size/2 {
		t.Errorf("cache holds %d of %d after a long stream", n, size)
	}

	long := strings.Repeat("Mozilla/5.0 ", 100)[:maxCachedLen+1]
	c = newCache(size)
	for range 3 {
		if got, want := c.parse(long, false), parse(long); got != want {
			t.Fatalf("long user agent: %+v, want %+v", got, want)
		}
	}
	if n := c.len(); n != 0 {
		t.Errorf("a user agent over %d bytes was cached (%d entries)", maxCachedLen, n)
	}
}

// TestDefaultCacheBounded checks the default cache's bound.
func TestDefaultCacheBounded(t *testing.T) {
	t.Parallel()
	shared := NewCache(0)
	for i := range 2 * DefaultCacheSize {
		shared.Parse(oneOff(1_000_000 + i))
	}
	if n := shared.len(); n > DefaultCacheSize {
		t.Errorf("shared cache holds %d, bound %d", n, DefaultCacheSize)
	}
}

// TestFloodKeepsRepeatedAgents checks 2Q's point: user agents that come
// back stay cached while a flood of one-off user agents, each read twice
// as an evaluation reads it (Parse, then ParseAgain), passes through.
func TestFloodKeepsRepeatedAgents(t *testing.T) {
	t.Parallel()
	c := newCache(DefaultCacheSize)
	regular := make([]string, 200)
	for i := range regular {
		regular[i] = fmt.Sprintf("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.%d Safari/605.1.15", i)
	}
	for range 2 {
		for _, ua := range regular {
			c.parse(ua, false)
			c.parse(ua, true)
		}
	}
	for i := range 4 * DefaultCacheSize {
		ua := oneOff(i)
		c.parse(ua, false)
		c.parse(ua, true)
	}
	for _, ua := range regular {
		if !c.c.Contains(ua) {
			t.Fatalf("%q evicted by a flood of one-off user agents", ua)
		}
	}
}

// TestCacheConcurrent has goroutines share a small cache (constant
// evictions) and checks every answer; run it with -race.
func TestCacheConcurrent(t *testing.T) {
	t.Parallel()
	c := newCache(64)
	want := make(map[string]Labels)
	uas := corpus
	for _, ua := range uas {
		want[ua] = parse(ua)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				ua := uas[(g*7+i)%len(uas)]
				if got := c.parse(ua, i%3 == 0); got != want[ua] {
					t.Errorf("parse(%q) = %+v, want %+v", ua, got, want[ua])
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestCacheAllocations checks that a cache hit allocates nothing.
func TestCacheAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	ua := corpus[1]
	c := NewCache(0)
	c.Parse(ua)
	for name, f := range map[string]func(){
		"Parse":      func() { c.Parse(ua) },
		"ParseAgain": func() { c.ParseAgain(ua) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per cache hit, want 0", name, n)
		}
	}
}

// benchAgents is a realistic mix: a few dozen user agents repeating.
var benchAgents = func() []string {
	uas := make([]string, 64)
	for i := range uas {
		uas[i] = corpus[i%20] + strings.Repeat(" ", i/20)
	}
	return uas
}()

// BenchmarkParse compares a cache hit (as the first and as the second
// reader) with a parse without the cache.
func BenchmarkParse(b *testing.B) {
	ua := corpus[1]
	cache := NewCache(0)
	for _, c := range []struct {
		name string
		f    func(string) Labels
	}{{"hit", cache.Parse}, {"again", cache.ParseAgain}, {"uncached", parse}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			c.f(ua)
			for b.Loop() {
				_ = c.f(ua)
			}
		})
	}
}

// BenchmarkParseParallel is cache hits from all Ps over a mix of user
// agents; with -cpu 1,2,... it shows lock contention.
func BenchmarkParseParallel(b *testing.B) {
	c := NewCache(0)
	for _, ua := range benchAgents {
		c.Parse(ua)
	}
	b.ReportAllocs()
	var start atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(start.Add(17)) // goroutines out of step, as requests are
		for pb.Next() {
			c.Parse(benchAgents[i%len(benchAgents)])
			c.ParseAgain(benchAgents[i%len(benchAgents)])
			i++
		}
	})
}
