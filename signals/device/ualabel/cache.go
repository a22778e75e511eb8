package ualabel

import (
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
)

// DefaultCacheSize bounds a cache of NewCache(0): 4096 distinct user agents cover
// real traffic many times over (a service sees a few hundred that matter),
// and at the cached length limit the keys take at most 2 MiB (plus half as
// many evicted keys that 2Q remembers).
const DefaultCacheSize = 4096

// maxCachedLen is the longest user agent the cache keeps; longer ones are
// parsed on every call. Both callers cut user agents to 512 bytes already
// (and the engine rejects events with longer than 1024), so this only
// bounds the cache's memory should a new caller forget to.
const maxCachedLen = 512

// minSize is the smallest cache: 2Q sizes its recent queue at a quarter
// and its ghost list at half of the cache, and both must hold an entry.
const minSize = 4

// Cache maps user-agent strings to their Labels. One Cache is shared by
// the readers of a request's user agent (signals/device, then the
// familiarity extractor through ReleaseLabels), so that an evaluation
// parses it at most once; the assembler (signals/standard) builds it and
// passes it to both.
// It is one 2Q cache
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
type Cache struct {
	c *lru.TwoQueueCache[string, *Labels]
}

// NewCache returns a cache of at most max(size, 4) entries;
// DefaultCacheSize when size is 0.
func NewCache(size int) *Cache {
	if size == 0 {
		size = DefaultCacheSize
	}
	return newCache(size)
}

func newCache(size int) *Cache {
	c, err := lru.New2Q[string, *Labels](max(size, minSize))
	if err != nil {
		panic("ualabel: " + err.Error()) // only for sizes excluded above
	}
	return &Cache{c: c}
}

// parse returns ua's labels, from the cache when it holds them. A hit
// counts as a use (promoting ua into the frequent part) unless again is
// set.
func (c *Cache) parse(ua string, again bool) Labels {
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
func (c *Cache) len() int {
	return c.c.Len()
}

// Parse returns the labels of the user agent ua, taken as given (callers
// trim and cut it), from the cache when ua was seen recently. It is safe
// for concurrent use and never fails; the result is the same as parsing
// ua afresh. Use it for the first look at a request's user agent
// (signals/device does); see ParseAgain for later ones.
func (c *Cache) Parse(ua string) Labels {
	return c.parse(ua, false)
}

// ParseAgain is Parse for a second look at a user agent within the same
// request (the familiarity extractor, after signals/device): it is served
// from the cache without counting as another use, so that two readers of
// one request do not promote a user agent seen once into the frequent
// part of the cache, which would defeat its resistance to floods of
// one-off user agents.
func (c *Cache) ParseAgain(ua string) Labels {
	return c.parse(ua, true)
}

// ReleaseLabels is ParseAgain for the familiarity model
// (engine/familiarity.LabelFunc): the browser and OS with their release,
// and the device type.
func (c *Cache) ReleaseLabels(ua string) (browser, os, deviceType string) {
	l := c.parse(ua, true)
	return l.BrowserRelease, l.OSRelease, l.Type
}
