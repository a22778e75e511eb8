package geo

import (
	"math/bits"
	"sync"
)

// partCache remembers decoded records by their offset in one database
// generation (an offset identifies a record only within its file, so each
// generation has its own cache and drops it with the reader). Many networks
// share a record (every address of a city), so after warm-up most lookups
// skip the decode, which is over half the cost of a lookup in the GeoLite2
// city file. It is direct-mapped: a slot holds the last record hashed to
// it; each slot has its own lock, and a writer that finds the slot busy
// simply does not cache. Entries take about 150 bytes.
type partCache struct {
	shift uint
	slots []partSlot
}

type partSlot struct {
	mu  sync.RWMutex
	key uintptr // offset+1; 0 is empty
	p   part
}

// newPartCache returns a cache of about n slots (a power of two), or nil
// when n is not positive.
func newPartCache(n int) *partCache {
	if n <= 0 {
		return nil
	}
	b := bits.Len(uint(n - 1))
	return &partCache{shift: uint(64 - b), slots: make([]partSlot, 1<<b)}
}

func (c *partCache) slot(off uintptr) *partSlot {
	if c.shift >= 64 {
		return &c.slots[0]
	}
	return &c.slots[(uint64(off)*0x9E3779B97F4A7C15)>>c.shift]
}

func (c *partCache) get(off uintptr, p *part) bool {
	s := c.slot(off)
	s.mu.RLock()
	ok := s.key == off+1
	if ok {
		*p = s.p
	}
	s.mu.RUnlock()
	return ok
}

func (c *partCache) put(off uintptr, p *part) {
	s := c.slot(off)
	if !s.mu.TryLock() {
		return
	}
	s.key, s.p = off+1, *p
	s.mu.Unlock()
}
