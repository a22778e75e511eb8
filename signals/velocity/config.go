package velocity

import (
	"errors"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/familiarity"
)

// Defaults applied by the constructors to zero Config fields.
const (
	DefaultMaxKeys     = 1_000_000
	DefaultMaxPending  = 200_000
	DefaultMaxDistinct = 4096
	DefaultPendingTTL  = time.Hour
	DefaultProfileTTL  = 400 * 24 * time.Hour
	DefaultKeyPrefix   = "ra:"
	// DefaultFamiliarityRefresh is how often the Redis backend re-reads
	// the global familiarity sketch into its in-process mirror.
	DefaultFamiliarityRefresh = 30 * time.Second
	// DefaultFamiliarityShards is how many keys the Redis backend spreads
	// its familiarity sketch over on a Redis Cluster.
	DefaultFamiliarityShards = 4
)

// Config configures both backends. Zero fields take the defaults above.
type Config struct {
	// Counters are the sliding-window counters; Snapshot.Counters is indexed
	// like this slice. Names must be unique.
	Counters []engine.CounterSpec
	// MaxKeys caps the counter keys (counter × key value) the memory backend
	// tracks; beyond it a key not used recently is evicted (CLOCK).
	MaxKeys int
	// MaxDistinct caps the distinct values the memory backend keeps per
	// distinct-counter key; the count saturates there.
	MaxDistinct int
	// MaxPending caps the pending evaluations the memory backend keeps; the
	// oldest is dropped beyond it.
	MaxPending int
	// PendingTTL is how long an evaluation can receive its outcome.
	PendingTTL time.Duration
	// ProfileTTL is how long Redis keeps a profile after its last update.
	ProfileTTL time.Duration
	// ProfileLimits bound the profiles' lists; zero lists mean
	// engine.DefaultProfileLimits. A nil ProfileLimits.Familiarity means
	// the default familiarity model (familiarity.New with a zero Config):
	// pass the engine's model when it is configured otherwise.
	ProfileLimits engine.ProfileLimits
	// KeyPrefix starts every Redis key.
	KeyPrefix string
	// FamiliarityRefresh is how often the Redis backend replaces its
	// in-process mirror of the global familiarity sketch with the one in
	// Redis (one GET of 4.5 MiB per instance, jittered by ±10 %), so how
	// far behind other instances' sign-ins a score may be; default 30s,
	// at least 1s. The memory backend ignores it.
	FamiliarityRefresh time.Duration
	// FamiliaritySketch sizes the Redis backend's sketch of the global
	// familiarity counts (zero fields: familiarity's defaults, 2^15 × 4);
	// the key is named by its size (famSketch).
	FamiliaritySketch familiarity.GlobalConfig
	// FamiliarityShards is how many keys (in as many hash slots, spread
	// evenly over the slot range) the Redis backend cuts its familiarity
	// sketch into, so that a Cluster's nodes share its writes and reads:
	// 1 to 64; 0 means 1 on a standalone Redis and
	// DefaultFamiliarityShards on a Cluster client. A sign-in costs one
	// BITFIELD per shard its 36 counters fall into. The memory backend
	// ignores it.
	FamiliarityShards int
}

// withDefaults validates the config and fills its zero fields.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	seen := make(map[string]bool, len(c.Counters))
	for i, s := range c.Counters {
		if err := s.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("counters[%d]: %w", i, err))
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("counters[%d]: duplicate counter name %q", i, s.Name))
		}
		seen[s.Name] = true
	}
	for _, n := range []struct {
		name string
		v    int64
	}{
		{"max keys", int64(c.MaxKeys)},
		{"max distinct", int64(c.MaxDistinct)},
		{"max pending", int64(c.MaxPending)},
		{"pending ttl", int64(c.PendingTTL)},
		{"profile ttl", int64(c.ProfileTTL)},
		{"familiarity refresh", int64(c.FamiliarityRefresh)},
		{"familiarity shards", int64(c.FamiliarityShards)},
		{"profile limits", int64(min(c.ProfileLimits.Countries, c.ProfileLimits.ASNs, c.ProfileLimits.Devices))},
	} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative", n.name))
		}
	}
	if c.PendingTTL > 0 && c.PendingTTL < time.Second {
		errs = append(errs, fmt.Errorf("pending ttl %s: want at least 1s", c.PendingTTL))
	}
	if c.ProfileTTL > 0 && c.ProfileTTL < time.Second {
		errs = append(errs, fmt.Errorf("profile ttl %s: want at least 1s", c.ProfileTTL))
	}
	if c.FamiliarityRefresh > 0 && c.FamiliarityRefresh < time.Second {
		errs = append(errs, fmt.Errorf("familiarity refresh %s: want at least 1s", c.FamiliarityRefresh))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("velocity config: %w", err)
	}
	c.Counters = append([]engine.CounterSpec(nil), c.Counters...)
	if c.MaxKeys == 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.MaxDistinct == 0 {
		c.MaxDistinct = DefaultMaxDistinct
	}
	if c.MaxPending == 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.PendingTTL == 0 {
		c.PendingTTL = DefaultPendingTTL
	}
	if c.ProfileTTL == 0 {
		c.ProfileTTL = DefaultProfileTTL
	}
	if l := c.ProfileLimits; l.Countries == 0 && l.ASNs == 0 && l.Devices == 0 {
		c.ProfileLimits = engine.DefaultProfileLimits
		c.ProfileLimits.Familiarity = l.Familiarity
	}
	if c.ProfileLimits.Familiarity == nil {
		m, err := familiarity.New(familiarity.Config{})
		if err != nil {
			return c, fmt.Errorf("velocity config: familiarity model: %w", err)
		}
		c.ProfileLimits.Familiarity = m
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = DefaultKeyPrefix
	}
	if c.FamiliarityRefresh == 0 {
		c.FamiliarityRefresh = DefaultFamiliarityRefresh
	}
	return c, nil
}
