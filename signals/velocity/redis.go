package velocity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/riskauth/riskauth/engine"
)

// Redis is the StateStore for many instances sharing a Redis or a Redis
// Cluster. Every command touches one key:
//
//	<prefix>{v:<kind>:<value>}:r<layout>         the event counters keyed by one value of
//	                                             one kind (user, ip, subnet, device): a
//	                                             string of ring cells (see redis_ring.go)
//	<prefix>{c:<counter>:<value>}:<window ms>   a distinct counter: a sorted set of
//	                                             member hash -> last seen (unix ms)
//	<prefix>{u:<user>}                                    a profile (JSON string)
//	<prefix>{e:<evaluation id>}                           a pending evaluation (JSON string)
//	<prefix>{e:<evaluation id>}:flow                      marks its flow outcome as recorded
//	<prefix>{fam}:global:<depth>x<width>                  the global familiarity counts (a string
//	                                                      of saturating counters, see famSketch),
//	                                                      or on a Cluster that string cut into
//	                                                      shards, ...{fam<i>.<k>}...:<i>/<n>
//
// One ring per key value keeps a Load at one GET per key value for all of
// its event counters and one BITFIELD (plus a PEXPIRE) to count the event
// in all of them; a distinct counter costs a ZCOUNT of the members seen
// since the window's first bucket, and a ZADD and a PEXPIRE to count (see
// queueDistinct). Every command names one key, so it is Cluster-safe.
// Distinct counts are exact, up to Config.MaxDistinct members per key (the
// newest are kept, so the count saturates there, as in Memory). Members
// are stored as 64-bit hashes: no user id or address is kept in a counter.
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
	// expiries are the key expiries this instance set lately, so that a
	// write soon after sends no PEXPIRE (redis_expiry.go).
	expiries *expiryMemo
	// wall is the wall clock the expiries are remembered on: Redis'
	// time, not the events' (time.Now; tests fix it).
	wall func() time.Time
	// keyHead and keyTail frame a distinct counter's key: head + value +
	// tail.
	keyHead, keyTail []string
	// rings are the event counters' rings, one per key kind that has
	// any (see redis_ring.go).
	rings []ringKind
	// distinctTTL are the distinct counters' keys' expiries (window plus
	// two buckets, ms) and pendingTTLArg the pending evaluations', boxed
	// once for the command builder.
	distinctTTL   []any
	pendingTTLArg any
	metrics       *Metrics
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
	shards := cfg.FamiliarityShards
	if shards == 0 {
		// Nothing to spread a standalone server's load over; a Cluster's
		// nodes share it (see famSketch).
		shards = 1
		if _, ok := client.(*redis.ClusterClient); ok {
			shards = DefaultFamiliarityShards
		}
	}
	fam, err := newFamSketch(cfg.KeyPrefix, cfg.FamiliaritySketch, shards)
	if err != nil {
		return nil, err
	}
	r := &Redis{c: client, cfg: cfg, metrics: metrics, ann: newAnnotator(log), fam: fam, expiries: newExpiryMemo(), wall: time.Now}
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
	r.rings = newRings(&r.cfg, r.windows)
	r.distinctTTL = make([]any, len(cfg.Counters))
	for i, s := range cfg.Counters {
		if s.Distinct != "" {
			w := r.windows[i]
			// Plus one bucket, the horizon within which a write skips
			// the PEXPIRE (redis_expiry.go).
			r.distinctTTL[i] = (w.length + 3*w.bucket) / int64(time.Millisecond)
		}
	}
	r.pendingTTLArg = cfg.PendingTTL.Milliseconds()
	go r.writeAnnotations()
	// Familiarity is always on in this backend (Config.ProfileLimits
	// defaults to the default model), so the refresher always runs.
	r.startFamRefresher(log)
	return r, nil
}

func (r *Redis) counterKey(i int, value string) string {
	return r.keyHead[i] + value + r.keyTail[i]
}

func (r *Redis) profileKey(user string) string { return r.cfg.KeyPrefix + "{u:" + user + "}" }
func (r *Redis) pendingKey(id string) string   { return r.cfg.KeyPrefix + "{e:" + id + "}" }

func (r *Redis) fail(op string, err error) error {
	r.metrics.backendError(backendRedis, op)
	return fmt.Errorf("velocity redis: %s: %w", op, err)
}

// pipelineErr returns the first error (other than redis.Nil) of a
// pipeline's commands, leaving out optional ones, whose failure the
// caller handles. exec is what Exec returned: when no command carries an
// error it is returned as it is (a pipeline that failed as a whole).
func pipelineErr(cmds []redis.Cmder, exec error, optional ...redis.Cmder) error {
	optionalFailed := false
	for _, cmd := range cmds {
		if slices.Contains(optional, cmd) {
			optionalFailed = optionalFailed || cmd.Err() != nil
			continue
		}
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
	}
	if exec != nil && !errors.Is(exec, redis.Nil) && !optionalFailed {
		return exec
	}
	return nil
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
