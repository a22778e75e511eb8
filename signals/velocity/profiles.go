package velocity

import (
	"context"
	"slices"

	"github.com/cespare/xxhash/v2"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/riskauth/riskauth/engine"
)

// ProfileStore keeps user risk profiles for the memory backend. Get returns
// the zero Profile for an unknown user. The memory backend serialises the
// read-modify-write of one user's profile itself, so a ProfileStore needs
// no transactions; it must be safe for concurrent use. Values passed to Put
// and returned by Get are not retained or shared by the caller afterwards
// (implementations copy them).
type ProfileStore interface {
	Get(ctx context.Context, user string) (engine.Profile, error)
	Put(ctx context.Context, user string, p engine.Profile) error
}

// DefaultProfileCacheSize is how many profiles an in-memory profile cache
// holds by default (a profile is at most about 4 KiB).
const DefaultProfileCacheSize = 100_000

// MemProfiles is a ProfileStore that keeps profiles in memory only, in an
// LRU of bounded size: the least recently used profile is forgotten. It is
// meant for tests and throw-away setups; profiles are lost on restart.
type MemProfiles struct {
	cache *profileCache
}

var _ ProfileStore = (*MemProfiles)(nil)

// NewMemProfiles returns an in-memory ProfileStore holding at most size
// profiles (DefaultProfileCacheSize when size <= 0).
func NewMemProfiles(size int) *MemProfiles {
	if size <= 0 {
		size = DefaultProfileCacheSize
	}
	return &MemProfiles{cache: newProfileCache(size)}
}

// Get returns a copy of the user's profile, zero when unknown.
func (m *MemProfiles) Get(_ context.Context, user string) (engine.Profile, error) {
	p, _ := m.cache.get(user)
	return cloneProfile(p), nil
}

// Put stores a copy of the user's profile.
func (m *MemProfiles) Put(_ context.Context, user string, p engine.Profile) error {
	m.cache.add(user, cloneProfile(p))
	return nil
}

// cloneProfile deep-copies a profile so that the copy shares no memory with p.
func cloneProfile(p engine.Profile) engine.Profile {
	if p.Last != nil {
		l := *p.Last
		p.Last = &l
	}
	p.Countries = slices.Clone(p.Countries)
	p.ASNs = slices.Clone(p.ASNs)
	p.Devices = slices.Clone(p.Devices)
	p.Familiarity = slices.Clone(p.Familiarity)
	return p
}

// profileCache is an LRU of profiles split into shards by user, so that
// concurrent Loads do not queue on one lock. Values are never modified in
// place: callers clone what they get and what they add.
type profileCache struct {
	shards []*lru.Cache[string, engine.Profile]
}

func newProfileCache(size int) *profileCache {
	n := 1
	for n < 16 && size/(n*2) >= 256 {
		n *= 2
	}
	c := &profileCache{shards: make([]*lru.Cache[string, engine.Profile], n)}
	for i := range c.shards {
		c.shards[i], _ = lru.New[string, engine.Profile](max(size/n, 1)) // only fails for size <= 0
	}
	return c
}

func (c *profileCache) shard(user string) *lru.Cache[string, engine.Profile] {
	if len(c.shards) == 1 {
		return c.shards[0]
	}
	return c.shards[xxhash.Sum64String(user)%uint64(len(c.shards))]
}

func (c *profileCache) get(user string) (engine.Profile, bool) { return c.shard(user).Get(user) }
func (c *profileCache) add(user string, p engine.Profile)      { c.shard(user).Add(user, p) }
func (c *profileCache) remove(user string)                     { c.shard(user).Remove(user) }
