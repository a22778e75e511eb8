package velocity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/riskauth/riskauth/engine"
)

// Erasure (engine.UserStateEraser): what this package keeps about a user
// beyond the profile. In Redis, the counter keys carry the user key in
// clear (the ring {v:user:<user>} and the distinct counters'
// {c:<counter>:<user>}) and pending evaluations name the user in their
// value; all go. In memory, counters are keyed by a 64-bit hash
// (never the id) and expire with their window; pending evaluations go.

var (
	_ engine.UserStateEraser = (*Memory)(nil)
	_ engine.UserStateEraser = (*Redis)(nil)
)

// eraseScanCount is the SCAN batch of the pending-evaluation sweep.
const eraseScanCount = 1000

// EraseUserState implements engine.UserStateEraser: the pending
// evaluations that name one of userKeys. Counters are hashed here.
func (m *Memory) EraseUserState(_ context.Context, userKeys []string) (int, int, error) {
	return 0, m.pending.eraseUsers(userKeys), nil
}

// eraseUsers drops the pending evaluations of any of users; the freed
// slots stay in the ring, empty, until they reach its front.
func (t *pendingTable) eraseUsers(users []string) int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for j := 0; j < s.n; j++ {
			e := &s.ring[(s.head+j)%len(s.ring)]
			if e.packed == "" {
				continue
			}
			var p engine.Pending
			if unpackPending(e.packed, &p) != nil || !slices.Contains(users, p.Keys.User) {
				continue
			}
			if pos, ok := s.index.get(e.hash); ok && int(pos) == (s.head+j)%len(s.ring) {
				s.index.del(e.hash)
			}
			e.packed, e.rules = "", nil
			n++
		}
		s.mu.Unlock()
	}
	return n
}

// EraseUserState implements engine.UserStateEraser: the counter keys of
// the counters keyed by user, for each of userKeys, and the pending
// evaluations naming one of them, found by a SCAN of the pending keys on
// every master (a background erasure's cost: the evaluations of the
// last pending TTL).
func (r *Redis) EraseUserState(ctx context.Context, userKeys []string) (int, int, error) {
	var keys []string
	for _, u := range userKeys {
		if u == "" {
			continue
		}
		// The event counters keyed by user share one ring per user
		// (redis_ring.go); distinct counters keep a key each.
		for _, rk := range r.rings {
			if rk.kind == engine.KeyUser {
				keys = append(keys, rk.head+u+rk.tail)
			}
		}
		for i, s := range r.cfg.Counters {
			if s.Key == engine.KeyUser && s.Distinct != "" {
				keys = append(keys, r.counterKey(i, u))
			}
		}
	}
	counters := 0
	if len(keys) > 0 {
		cmds, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.Del(ctx, k)
			}
			return nil
		})
		if err != nil {
			return 0, 0, r.fail(opProfile, err)
		}
		for _, c := range cmds {
			counters += int(c.(*redis.IntCmd).Val())
		}
	}
	pending := 0
	sweep := func(ctx context.Context, c redis.UniversalClient) error {
		n, err := r.erasePending(ctx, c, userKeys)
		pending += n
		return err
	}
	var err error
	if cc, ok := r.c.(*redis.ClusterClient); ok {
		var mu sync.Mutex // the masters are swept concurrently
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			return sweep(ctx, c)
		})
	} else {
		err = sweep(ctx, r.c)
	}
	if err != nil {
		return counters, pending, r.fail(opProfile, err)
	}
	return counters, pending, nil
}

// erasePending scans one node's pending evaluations and deletes those
// naming one of users (and their flow marks).
func (r *Redis) erasePending(ctx context.Context, c redis.UniversalClient, users []string) (int, error) {
	n := 0
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, r.cfg.KeyPrefix+"{e:*}", eraseScanCount).Result()
		if err != nil {
			return n, fmt.Errorf("scan pending: %w", err)
		}
		if len(keys) > 0 {
			vals := make([]*redis.StringCmd, len(keys))
			if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i, k := range keys {
					vals[i] = p.Get(ctx, k)
				}
				return nil
			}); err != nil && !errors.Is(err, redis.Nil) {
				return n, fmt.Errorf("read pending: %w", err)
			}
			for i, v := range vals {
				var p struct {
					Keys engine.Keys `json:"keys"`
				}
				b, err := v.Bytes()
				if err != nil || json.Unmarshal(b, &p) != nil || !slices.Contains(users, p.Keys.User) {
					continue
				}
				// One slot: the flow mark shares the key's hash tag.
				if err := c.Del(ctx, keys[i], keys[i]+":flow").Err(); err != nil {
					return n, fmt.Errorf("delete pending: %w", err)
				}
				n++
			}
		}
		if cursor = next; cursor == 0 {
			return n, nil
		}
	}
}
