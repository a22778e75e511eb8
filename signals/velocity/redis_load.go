package velocity

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/redis/go-redis/v9"
	"github.com/riskauth/riskauth/engine"
)

// windowStartMs is the start, in unix ms, of the oldest bucket of the
// window that ends in bucket c.
func (w window) startMs(c int64) int64 { return oldest(c) * w.bucket / int64(time.Millisecond) }

// Load implements engine.StateStore in one pipelined round trip: the
// counter reads (one GET per key value's ring of event counters, one ZCOUNT
// per distinct counter), then the attempt writes (one BITFIELD and one
// PEXPIRE per ring, a ZADD and a PEXPIRE per distinct counter; no PEXPIRE
// for a key this instance gave its expiry within the key's horizon,
// redis_expiry.go), the pending evaluation and the profile read. When the pending evaluation carries
// familiarity values, their global counts (Snapshot.FamiliarityCounts) are
// looked up in the in-process mirror of the Redis sketch, at most one
// refresh interval (Config.FamiliarityRefresh) behind other instances'
// sign-ins; a failed refresh leaves the previous mirror in use.
func (r *Redis) Load(ctx context.Context, req *engine.LoadRequest) (*engine.Snapshot, error) {
	if err := validateLoad(req); err != nil {
		return nil, err
	}
	var pendingJSON []byte
	if req.Pending != nil {
		var err error
		if pendingJSON, err = json.Marshal(req.Pending); err != nil {
			return nil, fmt.Errorf("velocity redis: encode pending evaluation: %w", err)
		}
	}
	n := len(r.cfg.Counters)
	snap := &engine.Snapshot{Counters: make([]int, n)}
	now := r.wall() // for the expiries Redis keeps (redis_expiry.go)
	b := getCmdBuf()
	defer b.release()
	// Reads first, so that they exclude this event: GETRANGE rather than
	// GET, so that a key that does not exist reads as "" instead of a
	// redis.Nil error (go-redis allocates while classifying errors).
	var ringKeys [4]*string // at most one ring per key kind
	var rings [4]*redis.StringCmd
	for k := range r.rings {
		if v := req.Keys.Get(r.rings[k].kind); v != "" {
			ringKeys[k] = b.str(r.rings[k].key(v))
			rings[k] = b.stringCmd(ctx, "getrange", ringKeys[k], 0, -1)
		}
	}
	distinctKeys, zcounts := b.perCounter(n)
	for i := range r.cfg.Counters {
		spec := &r.cfg.Counters[i]
		if spec.Distinct == "" {
			continue
		}
		if v := req.Keys.Get(spec.Key); v != "" {
			w := r.windows[i]
			distinctKeys[i] = b.str(r.counterKey(i, v))
			zcounts[i] = b.intCmd(ctx, "zcount", distinctKeys[i], b.num(w.startMs(w.index(req.At))), "+inf")
		}
	}
	for k := range r.rings {
		if ringKeys[k] != nil {
			if r.queueRing(ctx, b, k, ringKeys[k], engine.CountAttempt, req.Kind, req.At, req.At, false) {
				r.queueExpire(ctx, b, ringKeys[k], r.rings[k].ttlArg, r.rings[k].horizon, now, rings[k], nil)
			}
		}
	}
	for i := range r.cfg.Counters {
		spec := &r.cfg.Counters[i]
		if distinctKeys[i] == nil || !spec.Counts(engine.CountAttempt, req.Kind) {
			continue
		}
		if member := req.Keys.Get(spec.Distinct); member != "" {
			r.queueDistinct(ctx, b, i, distinctKeys[i], member, r.windows[i].index(req.At), req.At)
			r.queueExpire(ctx, b, distinctKeys[i], r.distinctTTL[i], time.Duration(r.windows[i].bucket), now, nil, zcounts[i])
		}
	}
	if pendingJSON != nil {
		b.add(redis.NewStatusCmd(ctx, b.argv("set", b.str(r.pendingKey(req.Pending.EvaluationID)), pendingJSON, "px", r.pendingTTLArg)...))
	}
	var profile *redis.StringCmd
	if req.Keys.User != "" {
		profile = b.stringCmd(ctx, "getrange", b.str(r.profileKey(req.Keys.User)), 0, -1)
	}
	sctx, span := startRoundTrip(ctx, "Load")
	cmds, err := b.exec(sctx, r.c)
	err = pipelineErr(cmds, err)
	endRoundTrip(span, "Load", len(b.cmds), err)
	if err != nil {
		return nil, r.fail(opLoad, err)
	}
	if err := r.settleExpiries(ctx, b, now); err != nil {
		return nil, r.fail(opLoad, err)
	}
	for k, cmd := range rings {
		if cmd == nil {
			continue
		}
		s := cmd.Val()
		for blk, i := range r.rings[k].counters {
			w := r.windows[i]
			snap.Counters[i] = ringSum(s, blk, w, w.index(req.At))
		}
	}
	for i, cmd := range zcounts {
		if cmd != nil {
			// Trimming to MaxDistinct is lazy (see queueDistinct): the
			// count saturates at the cap, as in Memory.
			snap.Counters[i] = int(min(cmd.Val(), int64(r.cfg.MaxDistinct)))
		}
	}
	if profile != nil && profile.Val() != "" {
		if err := json.Unmarshal([]byte(profile.Val()), &snap.Profile); err != nil {
			return nil, r.fail(opLoad, fmt.Errorf("%w: %w", errCorruptProfile, err))
		}
	}
	if req.Pending != nil && req.Pending.Familiarity != nil {
		snap.FamiliarityCounts = r.mirror.Load().lookup(req.Pending.Familiarity)
	}
	return snap, nil
}

// trimEvery is how many distinct-member writes of a key there are per trim,
// on average: trimming is for memory only (reads count by score and clamp
// at MaxDistinct), so it need not run on every write. A key grows by about
// this many members beyond the cap or the window between trims.
const trimEvery = 8

// queueDistinct adds distinct member (a hash of it) of counter i's key for
// value, seen at at in bucket c, and keeps the key for the window plus two
// buckets from now:
//
//   - ZADD GT the member's hash with its time (a member seen again moves
//     forward, never back);
//   - one write in trimEvery (at random, so that no caller can steer it):
//     forget members last seen before the window and keep the newest
//     MaxDistinct;
//
// The caller queues the key's PEXPIRE (the same lifetime for every write
// of the key, so a later write never shortens it), or skips it
// (queueExpire).
func (r *Redis) queueDistinct(ctx context.Context, b *cmdBuf, i int, key *string, member string, c int64, at time.Time) {
	h := b.str(strconv.FormatUint(xxhash.Sum64String(member), 36))
	b.intCmd(ctx, "zadd", key, "gt", b.num(at.UnixMilli()), h)
	if rand.Uint32()%trimEvery == 0 {
		b.intCmd(ctx, "zremrangebyscore", key, "-inf", b.str("("+strconv.FormatInt(r.windows[i].startMs(c), 10)))
		b.intCmd(ctx, "zremrangebyrank", key, 0, b.num(-int64(r.cfg.MaxDistinct)-1))
	}
}
