package promshard

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// cacheLine is the padding, in bytes, around the words a shard writes. 128
// rather than 64: x86's adjacent-line prefetcher pulls cache lines in
// pairs, and some arm64 cores have 128-byte lines.
const cacheLine = 128

// shards hands out the shards of one series: sync.Pool keeps a shard per
// P, so in the uncontended case Get returns the shard this P used last and
// nobody else writes it. Every shard ever created is kept in all, which
// Collect sums over; GC empties pools, so the number created is capped and
// past the cap New hands out existing shards round-robin. A shard shared
// that way is still correct, because every update is atomic; it is only
// slower.
type shards[T any] struct {
	pool sync.Pool
	mu   sync.Mutex
	all  []*T // append-only, guarded by mu
	max  int
	next int // round-robin position once len(all) == max
}

// maxShards is the cap on shards per series: a few per P at construction,
// so that pools refilled after a GC mostly reuse shards, not share them.
func maxShards() int { return max(8, 4*runtime.GOMAXPROCS(0)) }

func (s *shards[T]) init(newShard func() *T) {
	s.max = maxShards()
	s.pool.New = func() any {
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.all) < s.max {
			t := newShard()
			s.all = append(s.all, t)
			return t
		}
		t := s.all[s.next]
		s.next = (s.next + 1) % len(s.all)
		return t
	}
}

func (s *shards[T]) get() *T  { return s.pool.Get().(*T) }
func (s *shards[T]) put(t *T) { s.pool.Put(t) }

// snapshot returns every shard created so far. The slice is only ever
// appended to, so the prefix returned stays valid without the lock.
func (s *shards[T]) snapshot() []*T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all
}

// addFloat adds v to the float64 stored as bits in u. The loop only retries
// when another goroutine wrote the same shard in between, which sharding
// makes rare.
func addFloat(u *atomic.Uint64, v float64) {
	for {
		old := u.Load()
		if u.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// valueShard is the shard of a counter or gauge: whole increments in ival
// (one atomic add, exact), anything else in fbits, as client_golang's
// counter does.
type valueShard struct {
	_     [cacheLine]byte
	ival  atomic.Uint64 // two's complement for a gauge's decrements
	fbits atomic.Uint64
	_     [cacheLine]byte
}

// values is the sharded state of one counter or gauge series.
type values struct{ shards shards[valueShard] }

func newValues() *values {
	v := &values{}
	v.shards.init(func() *valueShard { return new(valueShard) })
	return v
}

// addInt adds a whole amount (possibly negative, for gauges).
func (v *values) addInt(n int64) {
	s := v.shards.get()
	s.ival.Add(uint64(n))
	v.shards.put(s)
}

func (v *values) addFloat(f float64) {
	s := v.shards.get()
	addFloat(&s.fbits, f)
	v.shards.put(s)
}

// sum is the series' value: signed whole part plus the float part, summed
// over shards.
func (v *values) sum() float64 {
	var n int64
	var f float64
	for _, s := range v.shards.snapshot() {
		n += int64(s.ival.Load())
		f += math.Float64frombits(s.fbits.Load())
	}
	return float64(n) + f
}
