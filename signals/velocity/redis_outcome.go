package velocity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/riskauth/riskauth/engine"
)

// maxProfileTxRetries bounds the optimistic profile update attempts.
const maxProfileTxRetries = 100

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
	b := getCmdBuf()
	defer b.release()
	for k := range r.rings {
		if v := pe.Keys.Get(r.rings[k].kind); v != "" {
			if key := b.str(r.rings[k].key(v)); r.queueRing(ctx, b, k, key, on, pe.Kind, pe.At, at, true) {
				b.intCmd(ctx, "pexpire", key, r.rings[k].ttlArg)
			}
		}
	}
	for i := range r.cfg.Counters {
		spec := &r.cfg.Counters[i]
		if spec.Distinct == "" || !spec.Counts(on, pe.Kind) {
			continue
		}
		v, member := pe.Keys.Get(spec.Key), pe.Keys.Get(spec.Distinct)
		if v == "" || member == "" {
			continue
		}
		w := r.windows[i]
		idx := w.index(pe.At)
		if w.ttl(idx, at) <= 0 {
			continue // already out of every window from now on
		}
		key := b.str(r.counterKey(i, v))
		r.queueDistinct(ctx, b, i, key, member, idx, pe.At)
		b.intCmd(ctx, "pexpire", key, r.distinctTTL[i])
	}
	pipe := b.pipeline(r.c)
	_ = pipe.BatchProcess(ctx, b.cmds...) // only appends
	signIn := on == engine.CountSuccess && pe.Keys.User != ""
	var famAdd []redis.Cmder
	if signIn && pe.Familiarity != nil {
		// In the counter pipeline, not after the profile update: no round
		// trip of its own. Its failure alone is counted, not returned: the
		// counts are an estimate, and the outcome's meaning is the profile.
		famAdd = r.fam.queueAdd(ctx, pipe, pe.Familiarity)
	}
	if pipe.Len() > 0 {
		cmds, err := pipe.Exec(ctx)
		if err := pipelineErr(cmds, err, famAdd...); err != nil {
			return nil, r.fail(opOutcome, fmt.Errorf("bump counters: %w", err))
		}
		if famAdd != nil {
			if slices.ContainsFunc(famAdd, func(c redis.Cmder) bool { return c.Err() != nil }) {
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
	return r.watchProfile(ctx, r.profileKey(pe.Keys.User), "update profile", func(p *engine.Profile) bool {
		return engine.ApplyOutcome(p, pe, o, r.cfg.ProfileLimits)
	}, func(err error) error { return err })
}

// watchProfile applies edit to the profile under key in an optimistic
// transaction (WATCH, read, SET), retried with a short random backoff
// while other instances update it meanwhile: the one read-modify-write
// of a profile, for outcomes and for the account's own edits. A corrupt
// profile is replaced; edit returning false writes nothing. what names
// the operation in errors; onErr wraps a failed transaction.
func (r *Redis) watchProfile(ctx context.Context, key, what string, edit func(*engine.Profile) bool, onErr func(error) error) error {
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
		if !edit(&p) {
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
				return onErr(fmt.Errorf("%s: %w", what, err))
			}
			return nil
		}
		r.metrics.conflict()
		backoff := time.Duration(rand.Int64N(int64(min(time.Duration(attempt+1)*time.Millisecond, 20*time.Millisecond)) + 1))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
	return fmt.Errorf("%s: gave up after %d conflicting updates", what, maxProfileTxRetries)
}
