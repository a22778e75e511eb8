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
// PEXPIRE per ring, a ZADD and a PEXPIRE per distinct counter), the pending
// evaluation and the profile read. When the pending evaluation carries
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
	pipe := r.c.Pipeline()
	rings := make([]*redis.StringCmd, len(r.rings))
	for k := range r.rings {
		if v := req.Keys.Get(r.rings[k].kind); v != "" {
			rings[k] = pipe.Get(ctx, r.rings[k].key(v))
		}
	}
	zcounts := make([]*redis.IntCmd, n)
	for i := range r.cfg.Counters {
		spec := &r.cfg.Counters[i]
		if spec.Distinct == "" {
			continue
		}
		if v := req.Keys.Get(spec.Key); v != "" {
			w := r.windows[i]
			zcounts[i] = pipe.ZCount(ctx, r.counterKey(i, v), strconv.FormatInt(w.startMs(w.index(req.At)), 10), "+inf")
		}
	}
	rw := r.newRingWriter()
	for i := range r.cfg.Counters {
		spec := &r.cfg.Counters[i]
		if !spec.Counts(engine.CountAttempt, req.Kind) {
			continue
		}
		v := req.Keys.Get(spec.Key)
		if v == "" {
			continue
		}
		w := r.windows[i]
		c := w.index(req.At)
		if spec.Distinct == "" {
			rw.add(i, v, c)
			continue
		}
		if member := req.Keys.Get(spec.Distinct); member != "" {
			r.queueDistinct(ctx, pipe, i, v, member, c, req.At)
		}
	}
	rw.queue(ctx, pipe)
	if pendingJSON != nil {
		pipe.Set(ctx, r.pendingKey(req.Pending.EvaluationID), pendingJSON, r.cfg.PendingTTL)
	}
	var profile *redis.StringCmd
	if req.Keys.User != "" {
		profile = pipe.Get(ctx, r.profileKey(req.Keys.User))
	}
	cmds, err := pipe.Exec(ctx)
	if err := pipelineErr(cmds, err, nil); err != nil {
		return nil, r.fail(opLoad, err)
	}
	for k, cmd := range rings {
		if cmd == nil {
			continue
		}
		s := cmd.Val() // "" for a key that does not exist (redis.Nil)
		for b, i := range r.rings[k].counters {
			w := r.windows[i]
			snap.Counters[i] = ringSum(s, b, w, w.index(req.At))
		}
	}
	for i, cmd := range zcounts {
		if cmd != nil {
			// Trimming to MaxDistinct is lazy (see queueDistinct): the
			// count saturates at the cap, as in Memory.
			snap.Counters[i] = int(min(cmd.Val(), int64(r.cfg.MaxDistinct)))
		}
	}
	if profile != nil {
		data, err := profile.Bytes()
		if err == nil {
			if err := json.Unmarshal(data, &snap.Profile); err != nil {
				return nil, r.fail(opLoad, fmt.Errorf("%w: %w", errCorruptProfile, err))
			}
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
//   - PEXPIRE, the same lifetime for every write of the key, so a later
//     write never shortens it.
func (r *Redis) queueDistinct(ctx context.Context, pipe redis.Pipeliner, i int, value, member string, c int64, at time.Time) {
	key := r.counterKey(i, value)
	w := r.windows[i]
	h := strconv.FormatUint(xxhash.Sum64String(member), 36)
	pipe.ZAddGT(ctx, key, redis.Z{Score: float64(at.UnixMilli()), Member: h})
	if rand.Uint32()%trimEvery == 0 {
		pipe.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatInt(w.startMs(c), 10))
		pipe.ZRemRangeByRank(ctx, key, 0, -int64(r.cfg.MaxDistinct)-1)
	}
	pipe.PExpire(ctx, key, time.Duration(w.length+2*w.bucket))
}
