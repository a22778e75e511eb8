package ualabel

import (
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
)

// cacheSize bounds the process-wide cache: 4096 distinct user agents cover
// real traffic many times over (a service sees a few hundred that matter),
// and at the cached length limit the keys take at most 2 MiB (plus half as
// many evicted keys that 2Q remembers).
const cacheSize = 4096

// maxCachedLen is the longest user agent the cache keeps; longer ones are
// parsed on every call. Both callers cut user agents to 512 bytes already
// (and the engine rejects events with longer than 1024), so this only
// bounds the cache's memory should a new caller forget to.
const maxCachedLen = 512

// minSize is the smallest cache: 2Q sizes its recent queue at a quarter
// and its ghost list at half of the cache, and both must hold an entry.
const minSize = 4

// cache maps user-agent strings to their Labels. It is one 2Q cache
// (hashicorp/golang-lru): a user agent enters a small "recent" queue when
// first parsed and moves to the "frequent" part only when asked for again,
// so a flood of one-off user agents (a scanner, a credential-stuffing tool
// rotating its user agent) churns the recent queue and leaves the user
// agents of real traffic in place.
//
// Values are pointers (a hit costs half as much as with Labels values,
// which 2Q copies several times) to Labels that are never changed once
// cached; lookups return a copy, made of strings only, so callers cannot
// change what others read.
//
// One lock serves every lookup (a 2Q hit moves the entry, so even hits
// take it exclusively). In BenchmarkParseParallel with -cpu 2 goroutines
// waited for it under 1% of the time (mutex profile) and 16 shards chosen
// by maphash were no faster, so the cache is not sharded; if profiles on
// machines with many more cores show the lock, shard by maphash of the key.
type cache struct {
	c *lru.TwoQueueCache[string, *Labels]
}

// newCache returns a cache of at most max(size, minSize) entries.
func newCache(size int) *cache {
	c, err := lru.New2Q[string, *Labels](max(size, minSize))
	if err != nil {
		panic("ualabel: " + err.Error()) // only for sizes excluded above
	}
	return &cache{c: c}
}

// parse returns ua's labels, from the cache when it holds them. A hit
// counts as a use (promoting ua into the frequent part) unless again is
// set.
func (c *cache) parse(ua string, again bool) Labels {
	if len(ua) > maxCachedLen {
		return parse(ua)
	}
	var (
		l  *Labels
		ok bool
	)
	if again {
		l, ok = c.c.Peek(ua)
	} else {
		l, ok = c.c.Get(ua)
	}
	if ok {
		return *l
	}
	l = new(parse(ua))
	// Cloned: ua may be a slice of a larger string (a request body, a
	// header cut to length) that the cache would otherwise keep alive.
	c.c.Add(strings.Clone(ua), l)
	return *l
}

// len returns the number of user agents cached.
func (c *cache) len() int {
	return c.c.Len()
}

// shared is the process-wide cache behind Parse and ParseAgain, so that
// signals/device and signals/familiarity share their parses.
var shared = newCache(cacheSize)

// Parse returns the labels of the user agent ua, taken as given (callers
// trim and cut it), from a process-wide cache when ua was seen recently.
// It is safe for concurrent use and never fails; the result is the same
// as parsing ua afresh. Use it for the first look at a request's user
// agent (signals/device does); see ParseAgain for later ones.
func Parse(ua string) Labels {
	return shared.parse(ua, false)
}

// ParseAgain is Parse for a second look at a user agent within the same
// request (signals/familiarity, after signals/device): it is served from
// the cache without counting as another use, so that two readers of one
// request do not promote a user agent seen once into the frequent part of
// the cache, which would defeat its resistance to floods of one-off user
// agents.
func ParseAgain(ua string) Labels {
	return shared.parse(ua, true)
}
