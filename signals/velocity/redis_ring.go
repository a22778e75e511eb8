package velocity

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/redis/go-redis/v9"
	"github.com/riskauth/riskauth/engine"
)

// The Redis backend's event counters (those without Distinct) live in one
// string per key value, a "ring" of fixed-size cells:
//
//	<prefix>{v:<kind>:<value>}:r<layout>
//
// holding, for every event counter keyed by that kind (user, ip, subnet or
// device), ringCells cells of 64 bits, the counter's block after the blocks
// of the counters before it in the configuration. Cell k of a block holds
// one bucket of that counter: BITFIELD's unsigned 63-bit field at bit
// offset 64·(ringCells·block + k), the bucket's tag (its index counted from
// ringEpoch) in the high bits and its count in the low ringCountBits. A
// bucket with tag t lives in cell t mod ringCells.
//
// A Load reads every counter of the key value with one GETRANGE of the string
// (the client sums the cells whose tag lies in the window, so stale cells
// are ignored without ever being deleted) and counts an event with one
// BITFIELD of two saturating increments per counter, which computes
// max(cell, tag<<ringCountBits) + 1: a cell still holding an older bucket
// restarts at a count of 1, the current bucket's cell counts on. No script,
// no read before the write, and the string never grows beyond its cells,
// so nothing needs trimming. Expiry is one PEXPIRE per write of the
// longest window's lifetime (ringKind.ttl), the same for every write of
// the key, so a later write never shortens it.
//
// Before this layout each counter had a key of its own (a hash of bucket
// fields: one HMGET to read, HINCRBY, HDEL and two PEXPIREs to count):
// about 11 HMGETs per sign-in evaluation instead of 4 GETs, and 5 commands
// per counted event instead of 2 per key value (see docs/benchmarks.md,
// "A faster Redis mode"). The layout id in the key name is a hash of the
// kind's event counters (names and windows, in order), so a changed
// catalogue starts fresh rings instead of misreading old cells; the old
// keys expire by their TTL (docs/operations.md, "Upgrades").
//
// The one inexactness: an event recorded ringCells or more buckets behind
// the newest one already counted in its cell (only a replay that goes back
// in time does this; live events and outcomes are at most a window late,
// see RecordOutcome) adds its 1 to that newer bucket. The memory backend
// drops such an event.

// ringCells is the number of cells of a counter's ring: the window's
// buckets plus six, so that writes up to 15 buckets late (an outcome is at
// most 11) land in their own cell.
const ringCells = 16

// ringCountBits is the width of a cell's count: 2^28-1 events per bucket,
// far beyond any real key value's (a 90-day window's bucket would need
// 345 events/s for nine days). The tag gets the other 35 bits: with the
// shortest bucket (100 ms, a 1s window) that lasts 109 years after
// ringEpoch.
const ringCountBits = 28

const ringCountMask = 1<<ringCountBits - 1

// ringEpoch is where bucket tags start counting, so that they fit in 35
// bits (see ringCountBits). Events before it are neither counted nor read.
var ringEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// ringKind is the ring of one key kind: its key and its counters.
type ringKind struct {
	kind engine.KeyKind
	// head and tail frame the key: head + value + tail.
	head, tail string
	// counters are the indexes in Config.Counters of the kind's event
	// counters; counter counters[b] owns block b.
	counters []int
	// ttlMs is the key's expiry after every write: the longest window
	// plus two of its buckets (the event's own and one for clock skew
	// between instances), so a bucket lives at least until its end plus
	// its window, plus horizon. ttlArg is the same, boxed once for PEXPIRE.
	ttlMs  int64
	ttlArg any
	// horizon is the smallest bucket of the ring's counters: a write
	// less than horizon after this instance set the key's expiry sends
	// no PEXPIRE (redis_expiry.go).
	horizon time.Duration
}

// newRings lays out the event counters of cfg by key kind.
func newRings(cfg *Config, windows []window) []ringKind {
	var rings []ringKind
	for _, kind := range []engine.KeyKind{engine.KeyUser, engine.KeyIP, engine.KeySubnet, engine.KeyDevice} {
		rk := ringKind{kind: kind}
		var layout strings.Builder
		for i, s := range cfg.Counters {
			if s.Key != kind || s.Distinct != "" {
				continue
			}
			rk.counters = append(rk.counters, i)
			layout.WriteString(s.Name + "/" + strconv.FormatInt(s.Window.Milliseconds(), 10) + ";")
			rk.ttlMs = max(rk.ttlMs, (windows[i].length+2*windows[i].bucket)/int64(time.Millisecond))
			if rk.horizon == 0 || time.Duration(windows[i].bucket) < rk.horizon {
				rk.horizon = time.Duration(windows[i].bucket)
			}
		}
		if len(rk.counters) == 0 {
			continue
		}
		rk.ttlMs += rk.horizon.Milliseconds()
		rk.head = cfg.KeyPrefix + "{v:" + string(kind) + ":"
		rk.tail = "}:r" + strconv.FormatUint(xxhash.Sum64String(layout.String())&0xffffffff, 36)
		rk.ttlArg = rk.ttlMs
		rings = append(rings, rk)
	}
	return rings
}

func (rk *ringKind) key(value string) string { return rk.head + value + rk.tail }

// ringTag is bucket c's tag, 0 when it cannot be stored (before ringEpoch
// or beyond the 35 bits).
func (w window) ringTag(c int64) int64 {
	t := c - floorDiv(ringEpoch.UnixNano(), w.bucket) + 1
	if t < 1 || t >= 1<<(63-ringCountBits) {
		return 0
	}
	return t
}

// ringSum sums, from the ring string s, block b's cells whose buckets lie
// in the window read in bucket c. A short or empty s (a new key, cells
// never written) reads as zeros.
func ringSum(s string, b int, w window, c int64) int {
	hi := w.ringTag(c)
	lo := w.ringTag(oldest(c))
	if hi == 0 || lo == 0 {
		return 0
	}
	n := 0
	for k := range ringCells {
		off := 8 * (ringCells*b + k)
		if off+8 > len(s) {
			break
		}
		v := be64s(s[off:off+8]) >> 1 // u63 is the word's top 63 bits
		if t := int64(v >> ringCountBits); t >= lo && t <= hi {
			n += int(v & ringCountMask)
		}
	}
	return n
}

// be64s reads a big-endian 64-bit word from the first 8 bytes of s, as
// be64 does from a []byte (no copy of the reply to convert it).
func be64s(s string) uint64 {
	_ = s[7]
	return uint64(s[0])<<56 | uint64(s[1])<<48 | uint64(s[2])<<40 | uint64(s[3])<<32 |
		uint64(s[4])<<24 | uint64(s[5])<<16 | uint64(s[6])<<8 | uint64(s[7])
}

// queueRing adds to b the counting of one event in ring k (key): for
// each of the ring's counters that counts moments on of events of kind
// evKind, two saturating increments of the cell of the event's bucket
// that compute max(cell, tag<<ringCountBits) + 1, all in one BITFIELD.
// late (an outcome reported at at) skips the counters whose bucket is
// already out of every window at at. Nothing is queued when no counter
// counts the event; it reports whether something was, and the caller then
// queues the key's PEXPIRE (or skips it, queueExpire).
func (r *Redis) queueRing(ctx context.Context, b *cmdBuf, k int, key *string, on engine.CountOn, evKind string, evAt, at time.Time, late bool) bool {
	rk := &r.rings[k]
	start := b.open()
	open := false
	for blk, i := range rk.counters {
		if !r.cfg.Counters[i].Counts(on, evKind) {
			continue
		}
		w := r.windows[i]
		c := w.index(evAt)
		if late && w.ttl(c, at) <= 0 {
			continue // already out of every window from now on
		}
		t := w.ringTag(c)
		if t == 0 {
			continue
		}
		if !open {
			b.more("bitfield", key, "OVERFLOW", "SAT")
			open = true
		}
		off := b.num(int64(64 * (ringCells*blk + int(t%ringCells))))
		base := t << ringCountBits
		b.more("INCRBY", "u63", off, b.num(-base), "INCRBY", "u63", off, b.num(base+1))
	}
	if !open {
		return false
	}
	b.add(redis.NewIntSliceCmd(ctx, b.done(start)...))
	return true
}
