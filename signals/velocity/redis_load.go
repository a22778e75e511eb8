package velocity

import (
	"context"
	"encoding/json"
	"fmt"
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
// counter reads, then the attempt writes, the pending evaluation and the
// profile read. When the pending evaluation carries familiarity values,
// their global counts (Snapshot.FamiliarityCounts) are looked up in the
// in-process mirror of the Redis sketch, at most one refresh interval
// (Config.FamiliarityRefresh) behind other instances' sign-ins; a failed
// refresh leaves the previous mirror in use.
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
	reads := make([]redis.Cmder, n)
	var fields [numBuckets]any
	for i := range r.cfg.Counters {
		spec := &r.cfg.Counters[i]
		v := req.Keys.Get(spec.Key)
		if v == "" {
			continue
		}
		w := r.windows[i]
		c := w.index(req.At)
		key := r.counterKey(i, v)
		if spec.Distinct != "" {
			reads[i] = pipe.ZCount(ctx, key, strconv.FormatInt(w.startMs(c), 10), "+inf")
			continue
		}
		for k := range fields {
			fields[k] = oldest(c) + int64(k)
		}
		reads[i] = pipe.Do(ctx, append([]any{"hmget", key}, fields[:]...)...)
	}
	for i := range r.cfg.Counters {
		spec := &r.cfg.Counters[i]
		if reads[i] == nil || !spec.Counts(engine.CountAttempt, req.Kind) {
			continue
		}
		var member string
		if spec.Distinct != "" {
			if member = req.Keys.Get(spec.Distinct); member == "" {
				continue
			}
		}
		w := r.windows[i]
		c := w.index(req.At)
		r.queueBump(ctx, pipe, i, req.Keys.Get(spec.Key), member, c, req.At, w.ttl(c, req.At))
	}
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
	for i, cmd := range reads {
		switch cmd := cmd.(type) {
		case *redis.IntCmd:
			snap.Counters[i] = int(cmd.Val())
		case *redis.Cmd:
			vals, err := cmd.Slice()
			if err != nil {
				return nil, r.fail(opLoad, fmt.Errorf("counter %q: %w", r.cfg.Counters[i].Name, err))
			}
			for _, v := range vals {
				if s, ok := v.(string); ok {
					x, err := strconv.Atoi(s)
					if err != nil {
						return nil, r.fail(opLoad, fmt.Errorf("counter %q: bad bucket value: %w", r.cfg.Counters[i].Name, err))
					}
					snap.Counters[i] += x
				}
			}
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

// queueBump adds one event (member == "") or one distinct member seen at
// at to counter i's key for value, in bucket c, and keeps the key for at
// least ttl. Plain commands on one key each (no script), all cheap:
//
//   - events: HINCRBY the bucket; HDEL two buckets that have left the window
//     (like Memory's ring, two buckets beyond it are kept, so that reads up
//     to two buckets in the past stay exact; a bucket skipped by a gap in
//     traffic may linger until the key expires, and reads never look at it);
//   - distinct members: ZADD GT the member's hash with its time; forget
//     members last seen before the window; keep the newest MaxDistinct;
//   - PEXPIRE NX then PEXPIRE GT: set the expiry on a new key, only ever
//     extend it on an old one (an out-of-order event must not shorten it).
func (r *Redis) queueBump(ctx context.Context, pipe redis.Pipeliner, i int, value, member string, c int64, at time.Time, ttl time.Duration) {
	key := r.counterKey(i, value)
	if member == "" {
		pipe.HIncrBy(ctx, key, strconv.FormatInt(c, 10), 1)
		pipe.HDel(ctx, key, strconv.FormatInt(c-numBuckets-2, 10), strconv.FormatInt(c-numBuckets-3, 10))
	} else {
		h := strconv.FormatUint(xxhash.Sum64String(member), 36)
		pipe.ZAddGT(ctx, key, redis.Z{Score: float64(at.UnixMilli()), Member: h})
		pipe.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatInt(r.windows[i].startMs(c), 10))
		pipe.ZRemRangeByRank(ctx, key, 0, -int64(r.cfg.MaxDistinct)-1)
	}
	ttlMs := max(ttl.Milliseconds(), 1)
	pipe.Do(ctx, "pexpire", key, ttlMs, "nx")
	pipe.Do(ctx, "pexpire", key, ttlMs, "gt")
}
