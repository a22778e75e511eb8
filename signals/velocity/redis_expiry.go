package velocity

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Skipping a key's PEXPIRE. Every write of a counter key used to be
// followed by a PEXPIRE that pushes the key's expiry to the write plus its
// window plus two buckets: about a quarter of an evaluation's commands. A
// key that this instance gave an expiry less than its skip horizon ago
// (the smallest bucket of its counters) lives long enough without a new
// one, because its expiry was extended by that horizon: the key still
// lives, after its latest write, its window plus two buckets (its own and
// one for clock skew between instances), as before.
//
// The instance remembers the expiries it set in expiryMemo. A key that
// vanished behind its back (an erasure, an eviction, a failover that lost
// writes) would come back without an expiry while the memo says it has
// one: every skipped PEXPIRE is therefore checked against the read the same
// pipeline made of the key (a ring read empty, a distinct count of zero:
// the key did not exist), and such a key gets its PEXPIRE at once, in a
// second round trip that only this rare case costs.

// memoShards × memoSlots keys are remembered (1 MiB); a key whose slot
// another key took since only costs its PEXPIRE.
const (
	memoShards = 64
	memoSlots  = 1024
)

// expiryMemo remembers when this instance last set a key's expiry. Slots
// are indexed by a keyed hash of the key (random per process, so no
// client can choose keys that collide) and hold the whole 64-bit hash, so
// a slot answers only for its own key.
type expiryMemo struct {
	seed   maphash.Seed
	shards [memoShards]memoShard
}

type memoShard struct {
	mu    sync.Mutex
	slots [memoSlots]memoSlot
}

type memoSlot struct {
	h  uint64
	at int64 // unix ns of the PEXPIRE, 0 for an empty slot
}

func newExpiryMemo() *expiryMemo { return &expiryMemo{seed: maphash.MakeSeed()} }

func (m *expiryMemo) slot(h uint64) (*memoShard, int) {
	i := h % (memoShards * memoSlots)
	return &m.shards[i/memoSlots], int(i % memoSlots)
}

// fresh reports whether key's expiry was set by this instance less than
// horizon before now, and returns the key's hash for set or forget.
func (m *expiryMemo) fresh(key string, now, horizon int64) (uint64, bool) {
	h := maphash.String(m.seed, key)
	sh, i := m.slot(h)
	sh.mu.Lock()
	s := sh.slots[i]
	sh.mu.Unlock()
	return h, s.at != 0 && s.h == h && now >= s.at && now-s.at < horizon
}

// set records that the key of hash h got its expiry at at.
func (m *expiryMemo) set(h uint64, at int64) {
	sh, i := m.slot(h)
	sh.mu.Lock()
	sh.slots[i] = memoSlot{h: h, at: at}
	sh.mu.Unlock()
}

// forget drops what the memo knows of the key of hash h.
func (m *expiryMemo) forget(h uint64) {
	sh, i := m.slot(h)
	sh.mu.Lock()
	if sh.slots[i].h == h {
		sh.slots[i] = memoSlot{}
	}
	sh.mu.Unlock()
}

// expiryNote is one key's PEXPIRE of a Load: sent (to be remembered once
// the pipeline succeeded) or skipped (to be checked against the key's
// read).
type expiryNote struct {
	h       uint64
	key     *string
	ttl     any
	skipped bool
	// absent reports, after the pipeline, whether the key's read found
	// no key (nil: not checked).
	ring  *redis.StringCmd
	count *redis.IntCmd
}

// queueExpire queues key's PEXPIRE of ttl unless the memo says this
// instance set it less than horizon before now; either way it notes the
// key in b for settleExpiries. ring or count is the pipeline's read of
// the same key (a ring's GETRANGE or a distinct counter's ZCOUNT). now is
// the wall clock, not the event's time: what matters is when Redis set the
// expiry, and an event's time may be the caller's.
func (r *Redis) queueExpire(ctx context.Context, b *cmdBuf, key *string, ttl any, horizon time.Duration, now time.Time,
	ring *redis.StringCmd, count *redis.IntCmd) {
	h, fresh := r.expiries.fresh(*key, now.UnixNano(), int64(horizon))
	if !fresh {
		b.intCmd(ctx, "pexpire", key, ttl)
	}
	b.expiries = append(b.expiries, expiryNote{h: h, key: key, ttl: ttl, skipped: fresh, ring: ring, count: count})
}

// settleExpiries runs after Load's pipeline succeeded: the PEXPIREs sent
// are remembered, and a skipped one whose key turned out not to exist is
// sent now (and forgotten), so that no key is ever left without an
// expiry. A failure of that second round trip is returned.
func (r *Redis) settleExpiries(ctx context.Context, b *cmdBuf, now time.Time) error {
	var late []redis.Cmder
	for _, e := range b.expiries {
		switch {
		case !e.skipped:
			r.expiries.set(e.h, now.UnixNano())
		case e.ring != nil && e.ring.Val() == "", e.count != nil && e.count.Val() == 0:
			r.expiries.forget(e.h)
			late = append(late, redis.NewIntCmd(ctx, "pexpire", *e.key, e.ttl))
		}
	}
	if len(late) == 0 {
		return nil
	}
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range late {
			_ = p.Process(ctx, c)
		}
		return nil
	})
	return err
}
