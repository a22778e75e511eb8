package velocity

import (
	"fmt"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/riskauth/riskauth/engine"
)

// pendingTable keeps the memory backend's pending evaluations: per shard a
// FIFO ring that bounds them and a keyIndex from the hash of the id to the
// ring position. Every entry has the same TTL, so the oldest inserted is
// also the first to expire. (A Go map here degrades under the constant
// insert/delete churn of a full ring; see keyIndex.) Entries are values in
// the ring and hold their evaluation packed (pending_pack.go): one
// allocation per evaluation, of the bytes an outcome needs.
type pendingTable struct {
	shards  []pendingShard
	ttl     time.Duration
	metrics *Metrics
}

type pendingShard struct {
	mu      sync.Mutex
	index   keyIndex
	ring    []pendingEntry
	head, n int
	_       [64]byte
}

// pendingEntry is one pending evaluation: 64 bytes besides its packed
// string.
type pendingEntry struct {
	hash    uint64
	expires int64  // unix ns, on the time axis of the requests
	packed  string // packPending's form; "" for a free slot
	// version is the rule set's version, shared with the rule set (not
	// a copy of the request's bytes), as are the rule ids in rules.
	version  string
	rules    *pendingRules // nil until annotate attaches matched rules
	flowDone bool
}

// pendingRules are the rule fields of an annotated pending evaluation.
type pendingRules struct {
	rules, shadow []string
	candVersion   string
	cand          []string
}

func newPendingTable(maxPending int, ttl time.Duration, m *Metrics) *pendingTable {
	n := 1
	for n < 16 && maxPending/(n*2) >= 1024 {
		n *= 2
	}
	t := &pendingTable{shards: make([]pendingShard, n), ttl: ttl, metrics: m}
	for i := range t.shards {
		t.shards[i].index = newKeyIndex()
		t.shards[i].ring = make([]pendingEntry, max(maxPending/n, 1))
	}
	return t
}

func (t *pendingTable) shard(h uint64) *pendingShard {
	return &t.shards[(h>>32)%uint64(len(t.shards))]
}

// put stores p, received at time at, packed (copied): nothing of p is
// kept but its rule set version and matched rules.
func (t *pendingTable) put(p *engine.Pending, at time.Time) {
	h := xxhash.Sum64String(p.EvaluationID)
	packed := packPending(p) // outside the lock: it allocates
	s := t.shard(h)
	now := at.UnixNano()
	s.mu.Lock()
	for s.n > 0 && s.ring[s.head].expires <= now {
		s.popFront()
	}
	if s.n == len(s.ring) {
		s.popFront()
		t.metrics.evicted(evictPending)
	}
	pos := (s.head + s.n) % len(s.ring)
	s.ring[pos] = pendingEntry{hash: h, expires: now + int64(t.ttl), packed: packed, version: p.RuleSetVersion}
	if p.HasRules() || p.CandidateVersion != "" {
		s.ring[pos].rules = &pendingRules{rules: p.Rules, shadow: p.ShadowRules, candVersion: p.CandidateVersion, cand: p.CandidateRules}
	}
	s.n++
	s.index.put(h, int32(pos))
	s.mu.Unlock()
}

// popFront drops the oldest entry.
func (s *pendingShard) popFront() {
	e := &s.ring[s.head]
	if pos, ok := s.index.get(e.hash); ok && int(pos) == s.head {
		s.index.del(e.hash)
	}
	*e = pendingEntry{} // lets the packed string and the rules go
	s.head = (s.head + 1) % len(s.ring)
	s.n--
}

// find returns the entry of evaluation id (hashed to h), or nil. The
// shard's lock must be held.
func (s *pendingShard) find(h uint64, id string) *pendingEntry {
	pos, ok := s.index.get(h)
	if !ok {
		return nil
	}
	if e := &s.ring[pos]; packedID(e.packed, id) {
		return e
	}
	return nil
}

// take returns a copy of the pending evaluation id as of time at (zero: no
// expiry check) and, for a flow outcome, marks it as having one.
func (t *pendingTable) take(id string, flow bool, at time.Time) (*engine.Pending, error) {
	h := xxhash.Sum64String(id)
	s := t.shard(h)
	s.mu.Lock()
	e := s.find(h, id)
	if e == nil || (!at.IsZero() && at.UnixNano() >= e.expires) {
		s.mu.Unlock()
		return nil, fmt.Errorf("velocity memory: %w", engine.ErrUnknownEvaluation)
	}
	if flow {
		if e.flowDone {
			s.mu.Unlock()
			return nil, fmt.Errorf("velocity memory: %w", engine.ErrOutcomeRecorded)
		}
		e.flowDone = true
	}
	packed, version, rules := e.packed, e.version, e.rules
	s.mu.Unlock()
	// Unpacked outside the lock: the entry's fields were read under it,
	// and none of them is changed in place (annotate replaces rules).
	p := &engine.Pending{RuleSetVersion: version}
	if err := unpackPending(packed, p); err != nil {
		return nil, fmt.Errorf("velocity memory: %w", err)
	}
	if rules != nil {
		p.Rules, p.ShadowRules = rules.rules, rules.shadow
		p.CandidateVersion, p.CandidateRules = rules.candVersion, rules.cand
	}
	return p, nil
}

// annotate replaces the rule fields of the pending evaluation p names, if
// it is still kept. Other fields and the flow-outcome mark stay.
func (t *pendingTable) annotate(p *engine.Pending) {
	h := xxhash.Sum64String(p.EvaluationID)
	s := t.shard(h)
	r := &pendingRules{rules: p.Rules, shadow: p.ShadowRules, candVersion: p.CandidateVersion, cand: p.CandidateRules}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.find(h, p.EvaluationID); e != nil {
		e.rules = r
	}
}
