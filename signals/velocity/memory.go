package velocity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/riskauth/riskauth/engine"
)

// ErrClosed is returned by a store's methods after Close.
var ErrClosed = errors.New("velocity: store closed")

// errCorruptProfile marks a stored profile that could not be decoded; a
// successful outcome then replaces it with a fresh one.
var errCorruptProfile = errors.New("corrupt stored profile")

// Memory is the embedded, single-process StateStore: counters and pending
// evaluations in bounded memory (lost on restart), profiles in a
// ProfileStore. It is safe for concurrent use.
type Memory struct {
	cfg     Config
	windows []window
	salts   []uint64
	// near[i] is counter i's group salt and position in its group: see
	// counterKey.
	near []nearKey
	// groups are the counters by key kind, each kind's in config order: a
	// key value's counters share a shard and are applied under one lock.
	groups []counterGroup
	// kinds are the key kinds the counters use as key or distinct value,
	// hashed before any lock is taken.
	kinds    []engine.KeyKind
	counters *counterTable
	pending  *pendingTable
	profiles ProfileStore
	metrics  *Metrics
	// userLocks serialise the read-modify-write of one user's profile.
	userLocks [256]sync.Mutex
	closed    atomic.Bool
}

var _ engine.StateStore = (*Memory)(nil)

// NewMemory returns a memory StateStore. profiles keeps user profiles; nil
// means an in-memory MemProfiles (lost on restart). The caller keeps
// ownership of profiles: Close does not close it. metrics may be nil.
func NewMemory(cfg Config, profiles ProfileStore, metrics *Metrics) (*Memory, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if profiles == nil {
		profiles = NewMemProfiles(0)
	}
	m := &Memory{
		cfg:      cfg,
		counters: newCounterTable(cfg.MaxKeys, cfg.MaxDistinct, metrics),
		pending:  newPendingTable(cfg.MaxPending, cfg.PendingTTL, metrics),
		profiles: profiles,
		metrics:  metrics,
	}
	for i, s := range cfg.Counters {
		m.windows = append(m.windows, newWindow(s.Window))
		m.salts = append(m.salts, mix64(uint64(i+1)*0x9e3779b97f4a7c15))
		g := slices.IndexFunc(m.groups, func(g counterGroup) bool { return g.key == s.Key })
		if g < 0 {
			g = len(m.groups)
			m.groups = append(m.groups, counterGroup{key: s.Key})
		}
		m.near = append(m.near, nearKey{salt: mix64(uint64(g+1) * 0xc2b2ae3d27d4eb4f), pos: uint32(len(m.groups[g].counters))})
		m.groups[g].counters = append(m.groups[g].counters, i)
		for _, k := range []engine.KeyKind{s.Key, s.Distinct} {
			if k != "" && !slices.Contains(m.kinds, k) {
				m.kinds = append(m.kinds, k)
			}
		}
	}
	return m, nil
}

// nearKey places the keys of one key value's counters next to each other
// in their shard's index.
type nearKey struct {
	salt uint64
	pos  uint32
}

// counterKey returns the key of counter i for the key value hashed to h.
// Its high 32 bits are a hash of (counter, value); its low 32 bits, which
// pick the key's home cell in the shard's index, are a hash of (key kind,
// value) plus the counter's position among the counters on that key kind:
// the counters of one key value have adjacent home cells, so that a Load
// finds them in one or two cache lines of the index instead of one each.
// Two keys collide only when both halves do.
func (m *Memory) counterKey(i int, h uint64) uint64 {
	nk := m.near[i]
	return mix64(h^m.salts[i])&^0xffffffff | uint64(uint32(mix64(h^nk.salt))+nk.pos)
}

// counterGroup is the counters on one key kind.
type counterGroup struct {
	key      engine.KeyKind
	counters []int // indices into Config.Counters
}

// mix64 is the splitmix64 finaliser: a bijection that spreads bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// keyHashes caches the hash of each key value of one request.
type keyHashes struct {
	keys engine.Keys
	h    [5]uint64
	ok   [5]bool
}

func kindSlot(k engine.KeyKind) int {
	switch k {
	case engine.KeyUser:
		return 0
	case engine.KeyIP:
		return 1
	case engine.KeySubnet:
		return 2
	case engine.KeyDomainASN:
		return 4
	default:
		return 3
	}
}

// get returns the value of kind k and its hash; "" when absent.
func (kh *keyHashes) get(k engine.KeyKind) (string, uint64) {
	v := kh.keys.Get(k)
	if v == "" {
		return "", 0
	}
	i := kindSlot(k)
	if !kh.ok[i] {
		kh.h[i], kh.ok[i] = xxhash.Sum64String(v), true
	}
	return v, kh.h[i]
}

func validateLoad(req *engine.LoadRequest) error {
	switch {
	case req == nil:
		return errors.New("velocity: nil load request")
	case req.At.IsZero():
		return errors.New("velocity: load request without a time")
	case req.Pending != nil && req.Pending.EvaluationID == "":
		return errors.New("velocity: pending evaluation without an id")
	}
	return nil
}

// Load implements engine.StateStore.
func (m *Memory) Load(ctx context.Context, req *engine.LoadRequest) (*engine.Snapshot, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	if err := validateLoad(req); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	snap := newSnapshot(len(m.cfg.Counters))
	kh := keyHashes{keys: req.Keys}
	for _, k := range m.kinds {
		kh.get(k)
	}
	for gi := range m.groups {
		g := &m.groups[gi]
		v, h := kh.get(g.key)
		if v == "" {
			continue
		}
		s := m.counters.shard(h)
		s.mu.Lock()
		for _, i := range g.counters {
			spec := &m.cfg.Counters[i]
			c := m.windows[i].index(req.At)
			o := op{read: true, readAt: c, add: spec.Counts(engine.CountAttempt, req.Kind), addAt: c}
			if spec.Distinct != "" {
				o.distinct = true
				mv, mh := kh.get(spec.Distinct)
				o.add = o.add && mv != ""
				o.member = mh
			}
			snap.Counters[i] = s.apply(m.counters, m.counterKey(i, h), o)
		}
		s.mu.Unlock()
	}
	if req.Pending != nil {
		m.pending.put(req.Pending, req.At)
	}
	if req.Keys.User != "" {
		p, err := m.profiles.Get(ctx, req.Keys.User)
		if err != nil {
			m.metrics.backendError(backendMemory, opLoad)
			return nil, fmt.Errorf("velocity memory: load profile: %w", err)
		}
		snap.Profile = p
	}
	return snap, nil
}

// newSnapshot returns a snapshot of n counters, allocated with them in one
// object when n is small (the default catalogue has 17; two size classes
// cover up to 32 without wasting more than 128 bytes of short-lived
// garbage).
func newSnapshot(n int) *engine.Snapshot {
	switch {
	case n <= 16:
		b := new(struct {
			s engine.Snapshot
			c [16]int
		})
		b.s.Counters = b.c[:n:n]
		return &b.s
	case n <= 32:
		b := new(struct {
			s engine.Snapshot
			c [32]int
		})
		b.s.Counters = b.c[:n:n]
		return &b.s
	}
	return &engine.Snapshot{Counters: make([]int, n)}
}

var _ engine.PendingAnnotator = (*Memory)(nil)

// AnnotatePending implements engine.PendingAnnotator: an in-place update
// under the shard lock, so a concurrent RecordOutcome sees the pending
// evaluation either before or after, never half-written.
func (m *Memory) AnnotatePending(_ context.Context, p *engine.Pending) error {
	if m.closed.Load() {
		return ErrClosed
	}
	if p == nil || p.EvaluationID == "" {
		return errors.New("velocity: pending evaluation without an id")
	}
	m.pending.annotate(p)
	return nil
}

// outcomeOn maps a flow outcome to the counters it bumps.
func outcomeOn(o engine.Outcome) engine.CountOn {
	if o == engine.OutcomeSuccess || o == engine.OutcomeStepUpPassed {
		return engine.CountSuccess
	}
	return engine.CountFailure
}

// RecordOutcome implements engine.StateStore.
func (m *Memory) RecordOutcome(ctx context.Context, id string, o engine.Outcome, at time.Time) (*engine.Pending, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	if !o.Valid() {
		return nil, fmt.Errorf("velocity: unknown outcome %q", o)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pe, err := m.pending.take(id, !o.Label(), at)
	if err != nil || o.Label() {
		return pe, err
	}
	on := outcomeOn(o)
	kh := keyHashes{keys: pe.Keys}
	for i := range m.cfg.Counters {
		spec := &m.cfg.Counters[i]
		if !spec.Counts(on, pe.Kind) {
			continue
		}
		v, h := kh.get(spec.Key)
		if v == "" {
			continue
		}
		w := m.windows[i]
		idx := w.index(pe.At)
		if !at.IsZero() && w.ttl(idx, at) <= 0 {
			continue // already out of every window from now on
		}
		o := op{add: true, addAt: idx}
		if spec.Distinct != "" {
			mv, mh := kh.get(spec.Distinct)
			if mv == "" {
				continue
			}
			o.distinct, o.member = true, mh
		}
		m.counters.apply(h, m.counterKey(i, h), o)
	}
	if on == engine.CountSuccess && pe.Keys.User != "" {
		if err := m.updateProfile(ctx, pe, o); err != nil {
			m.metrics.backendError(backendMemory, opOutcome)
			return nil, fmt.Errorf("velocity memory: update profile: %w", err)
		}
	}
	return pe, nil
}

func (m *Memory) updateProfile(ctx context.Context, pe *engine.Pending, o engine.Outcome) error {
	mu := &m.userLocks[xxhash.Sum64String(pe.Keys.User)%uint64(len(m.userLocks))]
	mu.Lock()
	defer mu.Unlock()
	p, err := m.profiles.Get(ctx, pe.Keys.User)
	if err != nil && !errors.Is(err, errCorruptProfile) {
		return err
	}
	if !engine.ApplyOutcome(&p, pe, o, m.cfg.ProfileLimits) {
		return nil
	}
	return m.profiles.Put(ctx, pe.Keys.User, p)
}

// Ping implements engine.StateStore: it fails once the store is closed, and
// pings the profile store when that can be pinged.
func (m *Memory) Ping(ctx context.Context) error {
	if m.closed.Load() {
		return ErrClosed
	}
	if p, ok := m.profiles.(interface{ Ping(context.Context) error }); ok {
		if err := p.Ping(ctx); err != nil {
			m.metrics.backendError(backendMemory, opPing)
			return fmt.Errorf("velocity memory: ping profile store: %w", err)
		}
	}
	return nil
}

// Close implements engine.StateStore. It drops nothing and does not close
// the profile store; later calls return ErrClosed.
func (m *Memory) Close() error {
	m.closed.Store(true)
	return nil
}

// TrackedKeys reports how many counter keys the store tracks.
func (m *Memory) TrackedKeys() int { return m.counters.len() }
