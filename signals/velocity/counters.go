package velocity

import (
	"math/bits"
	"sync"
)

// counterTable holds the memory backend's counter keys: a fixed number of
// shards, each a table of pointer-free slots indexed by a 64-bit key hash,
// so that a million keys cost the garbage collector nothing to scan and
// Loads on different keys rarely share a lock.
//
// A full shard evicts with CLOCK, the usual approximation of LRU: every
// access sets a slot's referenced bit, and the clock hand sweeps the slots,
// clearing bits, until it finds one not referenced since its last pass.
// New keys start unreferenced, so keys seen once (a flood of new IPs) are
// evicted before keys that were used again. Compared with an exact LRU list
// an access writes only its own slot, not its neighbours: fewer cache
// misses on the hot path.
type counterTable struct {
	shards      []counterShard
	shift       uint
	maxDistinct int
	metrics     *Metrics
}

type counterShard struct {
	mu    sync.Mutex
	index keyIndex
	slots []slot
	// sets holds the distinct values of distinct-counter slots, by slot;
	// an evicted slot's set is reset and reused.
	sets []*memberSet
	// refs are the slots' referenced bits (CLOCK), one per slot, kept
	// apart so that a slot is exactly one cache line.
	refs []uint64
	hand int // the clock hand: next slot to consider for eviction
	cap  int
	_    [64]byte // keep shards' locks on separate cache lines
}

func newCounterTable(maxKeys, maxDistinct int, m *Metrics) *counterTable {
	// Small tables get one shard so that the cap is exact per key; large
	// ones up to 64 shards of at least 1024 keys.
	n := 1
	for n < 64 && maxKeys/(n*2) >= 1024 {
		n *= 2
	}
	t := &counterTable{
		shards:      make([]counterShard, n),
		shift:       uint(64 - bits.TrailingZeros(uint(n))),
		maxDistinct: maxDistinct,
		metrics:     m,
	}
	for i := range t.shards {
		s := &t.shards[i]
		s.index = newClusteredKeyIndex()
		s.cap = maxKeys / n
	}
	return t
}

// shard returns the shard of the keys whose value hashes to g: every
// counter on one key value lives in one shard, so that a Load takes one
// lock per key value, not one per counter.
func (t *counterTable) shard(g uint64) *counterShard {
	if t.shift >= 64 {
		return &t.shards[0]
	}
	return &t.shards[g>>t.shift]
}

// len reports the tracked keys.
func (t *counterTable) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += s.index.len()
		s.mu.Unlock()
	}
	return n
}

// op is one read and/or write of a counter key.
type op struct {
	read     bool  // return the count as of bucket readAt
	readAt   int64 // bucket of the read
	add      bool  // add one event (or member) to bucket addAt
	addAt    int64
	distinct bool
	member   uint64
}

// apply runs o on key k under its shard's lock, the read before the write,
// and returns the count read. g is the hash of the key's value, which
// picks the shard (see shard).
func (t *counterTable) apply(g, k uint64, o op) int {
	s := t.shard(g)
	s.mu.Lock()
	n := s.apply(t, k, o)
	s.mu.Unlock()
	return n
}

// apply runs o on key k; the caller holds s.mu.
func (s *counterShard) apply(t *counterTable, k uint64, o op) int {
	i, ok := s.index.get(k)
	if !ok {
		if !o.add {
			return 0
		}
		var evicted bool
		i, evicted = s.insert(k, o.addAt)
		if t.metrics != nil {
			if evicted {
				t.metrics.evicted(evictCounterKey)
			} else {
				t.metrics.trackedKeys.Inc()
			}
		}
	} else {
		s.touch(i)
	}
	sl := &s.slots[i]
	n := 0
	if o.read {
		n = sl.sum(o.readAt)
	}
	if o.add {
		if o.distinct {
			set := s.sets[i]
			if set == nil {
				set = &memberSet{}
				s.sets[i] = set
			} else if sl.last < oldest(o.addAt) {
				// Every member is out of the window of this and any
				// later read: start over.
				set.reset()
			}
			set.add(sl, o.member, o.addAt, t.maxDistinct)
		} else {
			sl.add(o.addAt)
		}
	}
	return n
}

// touch sets slot i's referenced bit.
func (s *counterShard) touch(i int32) {
	w, b := &s.refs[i>>6], uint64(1)<<(i&63)
	if *w&b == 0 {
		*w |= b
	}
}

// insert takes a slot for key h, evicting one when the shard is full.
func (s *counterShard) insert(h uint64, at int64) (int32, bool) {
	var i int32
	evicted := false
	if len(s.slots) < s.cap {
		if len(s.slots) == cap(s.slots) {
			c := min(max(2*cap(s.slots), 16), s.cap)
			grown := make([]slot, len(s.slots), c)
			copy(grown, s.slots)
			s.slots = grown
		}
		s.slots = append(s.slots, slot{})
		s.sets = append(s.sets, nil)
		i = int32(len(s.slots) - 1)
		if int(i)>>6 == len(s.refs) {
			s.refs = append(s.refs, 0)
		}
	} else {
		i = s.victim()
		s.index.del(s.slots[i].key)
		if set := s.sets[i]; set != nil {
			set.reset()
		}
		evicted = true
	}
	// A fresh slot starts unreferenced, with every bucket stale.
	s.slots[i] = slot{key: h, last: at - ringSlots}
	s.refs[i>>6] &^= 1 << (i & 63)
	s.index.put(h, i)
	return i, evicted
}

// victim advances the clock hand to a slot not referenced since its last
// pass, clearing the bits it passes over.
func (s *counterShard) victim() int32 {
	for {
		i := s.hand
		s.hand++
		if s.hand == len(s.slots) {
			s.hand = 0
		}
		w, b := &s.refs[i>>6], uint64(1)<<(i&63)
		if *w&b == 0 {
			return int32(i)
		}
		*w &^= b
	}
}

// ringSlots is the length of a slot's ring: the window's buckets plus two,
// so that a read up to two buckets older than the newest write (events
// arriving slightly out of order from several instances) is still exact.
const ringSlots = numBuckets + 2

// slot is one counter key's window: a ring of counts whose newest bucket is
// last; bucket k lives in n[k mod ringSlots]. It is 64 bytes: one cache
// line (the slots' backing arrays are 64-byte aligned size classes).
type slot struct {
	key  uint64
	last int64
	n    [ringSlots]uint32
}

// add counts one event in bucket j. An event older than every bucket the
// ring still holds is dropped: no read from now on could see it.
func (sl *slot) add(j int64) {
	switch {
	case j > sl.last:
		if j-sl.last >= ringSlots {
			sl.n = [ringSlots]uint32{}
		} else {
			for k := sl.last + 1; k <= j; k++ {
				sl.n[ringOf(k)] = 0
			}
		}
		sl.last = j
		sl.n[ringOf(j)] = 1
	case j > sl.last-ringSlots:
		if c := &sl.n[ringOf(j)]; *c < ^uint32(0) {
			*c++
		}
	}
}

// sum counts the events of the window read in bucket c.
func (sl *slot) sum(c int64) int {
	lo := max(oldest(c), sl.last-(ringSlots-1))
	hi := min(c, sl.last)
	n := 0
	for k := lo; k <= hi; k++ {
		n += int(sl.n[ringOf(k)])
	}
	return n
}

// memberSet is the exact set of distinct values (as 64-bit hashes) of one
// distinct-counter key, each with the newest bucket it was seen in. The
// key's slot ring counts the members by that bucket, so a distinct count is
// read like an event count, in constant time whatever the set's size. It is
// a small slice until it outgrows smallSet, then a map.
type memberSet struct {
	small []member
	m     map[uint64]int64
}

type member struct {
	h uint64
	b int64
}

const smallSet = 16

func (s *memberSet) reset() {
	s.small = s.small[:0]
	s.m = nil
}

func (s *memberSet) size() int {
	if s.m != nil {
		return len(s.m)
	}
	return len(s.small)
}

// add records member h in bucket j of the slot sl: a member seen before
// moves from its bucket to j. When the set holds limit members it first
// drops those no longer in the window of its newest bucket; if it is still
// full the member is not added and counts saturate at limit.
//
// Dropped members leave their count in the ring: they are out of every
// window that could include a later sighting, so nothing counts twice.
func (s *memberSet) add(sl *slot, h uint64, j int64, limit int) {
	if j <= sl.last-ringSlots {
		return // older than the ring
	}
	if b, ok := s.lookup(h); ok {
		if b >= j {
			return
		}
		if b > sl.last-ringSlots {
			if c := &sl.n[ringOf(b)]; *c > 0 {
				*c--
			}
		}
		s.set(h, j)
		sl.add(j)
		return
	}
	if s.size() >= limit {
		s.prune(oldest(max(j, sl.last)))
		if s.size() >= limit {
			return
		}
	}
	s.set(h, j)
	sl.add(j)
}

func (s *memberSet) lookup(h uint64) (int64, bool) {
	if s.m != nil {
		b, ok := s.m[h]
		return b, ok
	}
	for _, e := range s.small {
		if e.h == h {
			return e.b, true
		}
	}
	return 0, false
}

func (s *memberSet) set(h uint64, b int64) {
	if s.m != nil {
		s.m[h] = b
		return
	}
	for i := range s.small {
		if s.small[i].h == h {
			s.small[i].b = b
			return
		}
	}
	if len(s.small) < smallSet {
		s.small = append(s.small, member{h, b})
		return
	}
	s.m = make(map[uint64]int64, 2*smallSet)
	for _, e := range s.small {
		s.m[e.h] = e.b
	}
	s.m[h] = b
	s.small = nil
}

// prune drops the members last seen before bucket lo.
func (s *memberSet) prune(lo int64) {
	if s.m != nil {
		for h, b := range s.m {
			if b < lo {
				delete(s.m, h)
			}
		}
		return
	}
	kept := s.small[:0]
	for _, e := range s.small {
		if e.b >= lo {
			kept = append(kept, e)
		}
	}
	s.small = kept
}

// ringOf maps a bucket index onto a slot's ring.
func ringOf(idx int64) int {
	s := idx % ringSlots
	if s < 0 {
		s += ringSlots
	}
	return int(s)
}
