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
// insert/delete churn of a full ring; see keyIndex.)
type pendingTable struct {
	shards  []pendingShard
	ttl     time.Duration
	metrics *Metrics
}

type pendingShard struct {
	mu      sync.Mutex
	index   keyIndex
	ring    []*pendingEntry
	head, n int
	_       [64]byte
}

type pendingEntry struct {
	p        engine.Pending
	hash     uint64
	expires  int64 // unix ns, on the time axis of the requests
	flowDone bool
}

func newPendingTable(maxPending int, ttl time.Duration, m *Metrics) *pendingTable {
	n := 1
	for n < 16 && maxPending/(n*2) >= 1024 {
		n *= 2
	}
	t := &pendingTable{shards: make([]pendingShard, n), ttl: ttl, metrics: m}
	for i := range t.shards {
		t.shards[i].index = newKeyIndex()
		t.shards[i].ring = make([]*pendingEntry, maxPending/n)
	}
	return t
}

func (t *pendingTable) shard(h uint64) *pendingShard {
	return &t.shards[(h>>32)%uint64(len(t.shards))]
}

// put stores a copy of p, received at time at. The entry of an expired or
// evicted evaluation is reused: nothing outside the shard lock points to
// an entry (take and annotate copy in and out under it).
func (t *pendingTable) put(p *engine.Pending, at time.Time) {
	h := xxhash.Sum64String(p.EvaluationID)
	s := t.shard(h)
	now := at.UnixNano()
	s.mu.Lock()
	var e *pendingEntry
	for s.n > 0 && s.ring[s.head].expires <= now {
		e = s.popFront()
	}
	if s.n == len(s.ring) {
		e = s.popFront()
		t.metrics.evicted(evictPending)
	}
	if e == nil {
		e = new(pendingEntry)
	}
	*e = pendingEntry{p: *p, hash: h, expires: now + int64(t.ttl)}
	pos := (s.head + s.n) % len(s.ring)
	s.ring[pos] = e
	s.n++
	s.index.put(h, int32(pos))
	s.mu.Unlock()
}

// popFront drops the oldest entry and returns it for reuse.
func (s *pendingShard) popFront() *pendingEntry {
	e := s.ring[s.head]
	if pos, ok := s.index.get(e.hash); ok && int(pos) == s.head {
		s.index.del(e.hash)
	}
	s.ring[s.head] = nil
	s.head = (s.head + 1) % len(s.ring)
	s.n--
	return e
}

// take returns a copy of the pending evaluation id as of time at (zero: no
// expiry check) and, for a flow outcome, marks it as having one.
func (t *pendingTable) take(id string, flow bool, at time.Time) (*engine.Pending, error) {
	h := xxhash.Sum64String(id)
	s := t.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	var e *pendingEntry
	if pos, ok := s.index.get(h); ok {
		e = s.ring[pos]
	}
	if e == nil || e.p.EvaluationID != id || (!at.IsZero() && at.UnixNano() >= e.expires) {
		return nil, fmt.Errorf("velocity memory: %w", engine.ErrUnknownEvaluation)
	}
	if flow {
		if e.flowDone {
			return nil, fmt.Errorf("velocity memory: %w", engine.ErrOutcomeRecorded)
		}
		e.flowDone = true
	}
	p := e.p
	return &p, nil
}

// annotate replaces the rule fields of the pending evaluation p names, if
// it is still kept. Other fields and the flow-outcome mark stay.
func (t *pendingTable) annotate(p *engine.Pending) {
	h := xxhash.Sum64String(p.EvaluationID)
	s := t.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	pos, ok := s.index.get(h)
	if !ok {
		return
	}
	e := s.ring[pos]
	if e == nil || e.p.EvaluationID != p.EvaluationID {
		return
	}
	e.p.Rules, e.p.ShadowRules = p.Rules, p.ShadowRules
	e.p.CandidateVersion, e.p.CandidateRules = p.CandidateVersion, p.CandidateRules
}
