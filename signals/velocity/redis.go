package velocity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/redis/go-redis/v9"
	"github.com/riskauth/riskauth/engine"
)

// Redis is the StateStore for many instances sharing a Redis or a Redis
// Cluster. Every command touches keys of one hash slot:
//
//	<prefix>{c:<counter>:<value>}:<window ms>   a counter: a hash of bucket -> count,
//	                                             or for a distinct counter a sorted set of
//	                                             member hash -> last seen (unix ms)
//	<prefix>{u:<user>}                                    a profile (JSON string)
//	<prefix>{e:<evaluation id>}                           a pending evaluation (JSON string)
//	<prefix>{e:<evaluation id>}:flow                      marks its flow outcome as recorded
//	<prefix>{fam}:global:<depth>x<width>                  the global familiarity counts (a string
//	                                                      of saturating counters, see famSketch)
//
// One key per counter and key value keeps a Load at one cheap command per
// counter (HMGET of the window's buckets, or ZCOUNT of the members seen
// since the window's first bucket) and a bump at a few cheap commands on
// that key only (see queueBump), so it is Cluster-safe. Distinct counts are exact,
// up to Config.MaxDistinct members per key (the newest are kept, so the
// count saturates there, as in Memory). Members are stored as 64-bit
// hashes: no user id or address is kept in a counter.
//
// Load is one pipelined round trip; the global familiarity counts of the
// login's values, when the evaluation carries them, come from the
// in-process mirror of the sketch (see famMirror), not from Redis.
// RecordOutcome takes several: an atomic script that reads the pending
// evaluation and claims its flow outcome (so that concurrent reports
// cannot both win), a pipeline of counter bumps
// (and, for a successful sign-in, the familiarity counts), and for a
// successful sign-in an optimistic WATCH/GET/MULTI/SET/EXEC profile
// update, retried with jittered backoff when a concurrent update wins,
// then on a user's first observed sign-in one command that counts the
// user. A failure after the claim leaves the outcome claimed: outcomes are
// applied at most once.
//
// AnnotatePending (the matched rules, written after the rules ran) costs
// the evaluation no round trip: a background writer, started by NewRedis
// and stopped by Close, sends the annotations in batched pipelines.
type Redis struct {
	c       redis.UniversalClient
	cfg     Config
	windows []window
	// keyHead and keyTail frame a counter key: head + value + tail.
	keyHead, keyTail []string
	metrics          *Metrics
	// ann queues AnnotatePending's writes for the writer goroutine.
	ann *annotator
	// fam is the global familiarity sketch's key and layout.
	fam famSketch
	// mirror is the in-process copy of the sketch that Load reads,
	// replaced whole by the refresher (see famMirror).
	mirror    atomic.Pointer[famMirror]
	refresher *famRefresher
}

var _ engine.StateStore = (*Redis)(nil)

// maxProfileTxRetries bounds the optimistic profile update attempts.
const maxProfileTxRetries = 100

// NewRedis returns a Redis StateStore on client (a *redis.Client or a
// *redis.ClusterClient) and starts its annotation writer; Close stops it.
// The caller keeps ownership of client: Close does not close it, and must
// come before the client's Close so that queued annotations are written.
// metrics may be nil. The writer's (rate-limited) warnings go to
// slog.Default().
func NewRedis(client redis.UniversalClient, cfg Config, metrics *Metrics) (*Redis, error) {
	return newRedis(client, cfg, metrics, slog.Default())
}

func newRedis(client redis.UniversalClient, cfg Config, metrics *Metrics, log *slog.Logger) (*Redis, error) {
	if client == nil {
		return nil, errors.New("velocity redis: nil client")
	}
	if strings.ContainsAny(cfg.KeyPrefix, "{}") {
		return nil, fmt.Errorf("velocity config: key prefix %q must not contain { or }", cfg.KeyPrefix)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	fam, err := newFamSketch(cfg.KeyPrefix)
	if err != nil {
		return nil, err
	}
	r := &Redis{c: client, cfg: cfg, metrics: metrics, ann: newAnnotator(log), fam: fam}
	// Empty until the first refresh, which the refresher starts at once
	// (no I/O here: a Redis briefly down must not fail the start).
	empty := newFamMirror(fam.cfg)
	empty.fetched = time.Now() // for the age gauge: nothing newer known
	r.mirror.Store(empty)
	for _, s := range cfg.Counters {
		r.windows = append(r.windows, newWindow(s.Window))
		r.keyHead = append(r.keyHead, cfg.KeyPrefix+"{c:"+s.Name+":")
		r.keyTail = append(r.keyTail, "}:"+strconv.FormatInt(s.Window.Milliseconds(), 10))
	}
	go r.writeAnnotations()
	// Familiarity is always on in this backend (Config.ProfileLimits
	// defaults to the default model), so the refresher always runs.
	r.startFamRefresher(log)
	return r, nil
}

func (r *Redis) counterKey(i int, value string) string {
	return r.keyHead[i] + value + r.keyTail[i]
}

// windowStartMs is the start, in unix ms, of the oldest bucket of the
// window that ends in bucket c.
func (w window) startMs(c int64) int64 { return oldest(c) * w.bucket / int64(time.Millisecond) }

func (r *Redis) profileKey(user string) string { return r.cfg.KeyPrefix + "{u:" + user + "}" }
func (r *Redis) pendingKey(id string) string   { return r.cfg.KeyPrefix + "{e:" + id + "}" }

func (r *Redis) fail(op string, err error) error {
	r.metrics.backendError(backendRedis, op)
	return fmt.Errorf("velocity redis: %s: %w", op, err)
}

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

// pipelineErr returns the first error (other than redis.Nil) of a
// pipeline's commands, leaving out optional, whose failure the caller
// handles. exec is what Exec returned: when no command carries an error
// it is returned as it is (a pipeline that failed as a whole).
func pipelineErr(cmds []redis.Cmder, exec error, optional redis.Cmder) error {
	for _, cmd := range cmds {
		if cmd == optional {
			continue
		}
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
	}
	if exec != nil && !errors.Is(exec, redis.Nil) && (optional == nil || optional.Err() == nil) {
		return exec
	}
	return nil
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

var _ engine.PendingAnnotator = (*Redis)(nil)

// AnnotatePending implements engine.PendingAnnotator by rewriting the
// pending evaluation's JSON: XX so that an expired (or never stored)
// evaluation is not brought back, KEEPTTL so that it expires when it
// would have. The flow-outcome claim is a key of its own (see
// claimScript) and stays.
//
// The write is asynchronous, so that an evaluation stays at one round
// trip (Load): p is encoded here, on the caller's goroutine, and queued
// without blocking for the writer goroutine, which sends what is queued
// in pipelines of up to 256 SETs after waiting up to 2 ms for more. ctx
// is not used: the write outlives the request, under its own timeout.
// When the queue is full the annotation is dropped
// (riskauth_velocity_annotations_dropped_total) and nil returned: a lost
// annotation costs the attribution of one evaluation, never a decision;
// so does a failed write (riskauth_velocity_backend_errors_total with
// op="annotate", logged at most every 10 s).
//
// The trade-off: a label may be recorded before the rule ids are written.
// A label recorded through this store first waits for the annotations
// queued so far (see RecordOutcome); one sent to another instance within
// milliseconds of the evaluation may find the pending evaluation without
// its rules and count for none. Labels normally come minutes to days
// later. After Close it returns ErrClosed.
func (r *Redis) AnnotatePending(_ context.Context, p *engine.Pending) error {
	if p == nil || p.EvaluationID == "" {
		return errors.New("velocity: pending evaluation without an id")
	}
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("velocity redis: encode pending evaluation: %w", err)
	}
	queued, err := r.ann.enqueue(annotation{key: r.pendingKey(p.EvaluationID), val: data})
	if err != nil {
		return err
	}
	if !queued {
		r.metrics.annotationDropped()
	}
	return nil
}

// claimScript reads a pending evaluation and, when ARGV[1] is "1", claims
// its flow outcome by setting a marker that lives as long as the pending
// evaluation. It returns 0 for an unknown id, else {pending, claimed}.
var claimScript = redis.NewScript(`
local p = redis.call('GET', KEYS[1])
if not p then return 0 end
if ARGV[1] == '1' then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl <= 0 then ttl = tonumber(ARGV[2]) end
  if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ttl) then return {p, 0} end
end
return {p, 1}
`)

// RecordOutcome implements engine.StateStore. Expiry of pending
// evaluations follows the Redis server's clock; at only decides whether a
// counter bucket is still worth bumping and for how long.
//
// A label (fraud, legit) first waits, within ctx, for the annotations this
// store has queued so far, so that it reads the matched rules of an
// evaluation made on this instance even right after it. Labels are rare;
// flow outcomes, which do not read the rules, never wait.
func (r *Redis) RecordOutcome(ctx context.Context, id string, o engine.Outcome, at time.Time) (*engine.Pending, error) {
	if !o.Valid() {
		return nil, fmt.Errorf("velocity: unknown outcome %q", o)
	}
	flow := "0"
	if !o.Label() {
		flow = "1"
	} else {
		r.ann.wait(ctx)
	}
	pk := r.pendingKey(id)
	res, err := claimScript.Run(ctx, r.c, []string{pk, pk + ":flow"}, flow, r.cfg.PendingTTL.Milliseconds()).Result()
	if err != nil {
		return nil, r.fail(opOutcome, fmt.Errorf("claim evaluation: %w", err))
	}
	arr, ok := res.([]interface{})
	if !ok {
		return nil, fmt.Errorf("velocity redis: %w", engine.ErrUnknownEvaluation)
	}
	if len(arr) != 2 {
		return nil, r.fail(opOutcome, fmt.Errorf("claim evaluation: unexpected reply %T", res))
	}
	data, _ := arr[0].(string)
	pe := new(engine.Pending)
	if err := json.Unmarshal([]byte(data), pe); err != nil {
		return nil, r.fail(opOutcome, fmt.Errorf("decode pending evaluation: %w", err))
	}
	if claimed, _ := arr[1].(int64); claimed != 1 {
		return nil, fmt.Errorf("velocity redis: %w", engine.ErrOutcomeRecorded)
	}
	if o.Label() {
		return pe, nil
	}
	on := outcomeOn(o)
	if at.IsZero() {
		at = pe.At
	}
	pipe := r.c.Pipeline()
	for i := range r.cfg.Counters {
		spec := &r.cfg.Counters[i]
		if !spec.Counts(on, pe.Kind) {
			continue
		}
		v := pe.Keys.Get(spec.Key)
		if v == "" {
			continue
		}
		var member string
		if spec.Distinct != "" {
			if member = pe.Keys.Get(spec.Distinct); member == "" {
				continue
			}
		}
		w := r.windows[i]
		idx := w.index(pe.At)
		ttl := w.ttl(idx, at)
		if ttl <= 0 {
			continue // already out of every window from now on
		}
		r.queueBump(ctx, pipe, i, v, member, idx, pe.At, ttl)
	}
	signIn := on == engine.CountSuccess && pe.Keys.User != ""
	var famAdd redis.Cmder
	if signIn && pe.Familiarity != nil {
		// In the counter pipeline, not after the profile update: no round
		// trip of its own. Its failure alone is counted, not returned: the
		// counts are an estimate, and the outcome's meaning is the profile.
		famAdd = r.fam.queueAdd(ctx, pipe, pe.Familiarity)
	}
	if pipe.Len() > 0 {
		cmds, err := pipe.Exec(ctx)
		if err := pipelineErr(cmds, err, famAdd); err != nil {
			return nil, r.fail(opOutcome, fmt.Errorf("bump counters: %w", err))
		}
		if famAdd != nil {
			if famAdd.Err() != nil {
				r.metrics.backendError(backendRedis, opFamiliarity)
			} else {
				// So that this instance's sign-ins count here before the
				// next refresh. A refresh whose GET ran before this write
				// may replace the mirror after it: the bump is then lost
				// here for one interval, never counted twice.
				r.mirror.Load().add(pe.Familiarity)
			}
		}
	}
	if signIn {
		if err := r.updateProfile(ctx, pe, o); err != nil {
			return nil, r.fail(opOutcome, err)
		}
		if pe.Familiarity != nil && pe.FirstObserved() {
			// Known only once the profile's history was read: one more
			// command, on a user's first observed sign-in only.
			if err := r.fam.addUser(ctx, r.c); err != nil {
				r.metrics.backendError(backendRedis, opFamiliarity)
			} else {
				r.mirror.Load().users.Add(1)
			}
		}
	}
	return pe, nil
}

// updateProfile applies the outcome to the stored profile in an optimistic
// transaction, retried with jittered backoff when another update wins.
func (r *Redis) updateProfile(ctx context.Context, pe *engine.Pending, o engine.Outcome) error {
	key := r.profileKey(pe.Keys.User)
	apply := func(tx *redis.Tx) error {
		var p engine.Profile
		data, err := tx.Get(ctx, key).Bytes()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return err
		default:
			if err := json.Unmarshal(data, &p); err != nil {
				p = engine.Profile{} // a corrupt profile is replaced
			}
		}
		if !engine.ApplyOutcome(&p, pe, o, r.cfg.ProfileLimits) {
			return nil
		}
		enc, err := json.Marshal(p)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.Set(ctx, key, enc, r.cfg.ProfileTTL)
			return nil
		})
		return err
	}
	for attempt := 0; attempt < maxProfileTxRetries; attempt++ {
		err := r.c.Watch(ctx, apply, key)
		if !errors.Is(err, redis.TxFailedErr) {
			if err != nil {
				return fmt.Errorf("update profile: %w", err)
			}
			return nil
		}
		r.metrics.conflict()
		backoff := time.Duration(rand.Int64N(int64(min(time.Duration(attempt+1)*time.Millisecond, 20*time.Millisecond)) + 1))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("update profile: %w", ctx.Err())
		case <-t.C:
		}
	}
	return fmt.Errorf("update profile: gave up after %d conflicting updates", maxProfileTxRetries)
}

// Ping implements engine.StateStore.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return r.fail(opPing, err)
	}
	return nil
}

// Close implements engine.StateStore: it stops the familiarity refresher
// (cancelling a read in flight) and the annotation writer once it has
// written what was queued, waiting at most a few seconds (an error says
// it gave up; the writer then ends when its pipeline does). Later
// AnnotatePending calls return ErrClosed; Load keeps scoring against the
// last mirror. It is safe to call more than once. The client stays open:
// its owner closes it, after Close.
func (r *Redis) Close() error {
	// Cancel the refresher first, so that its read in flight ends while
	// the annotation writer drains instead of after it: Close waits for
	// the longer of the two, not their sum.
	r.refresher.cancel()
	return errors.Join(r.ann.close(), r.refresher.close())
}
