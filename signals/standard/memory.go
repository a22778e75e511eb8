package standard

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/riskauth/riskauth/signals/device/ualabel"
)

// Bytes is a size in bytes. In YAML and environment variables it is a
// number of bytes or a number with a unit, as Go's GOMEMLIMIT reads them
// (KiB, MiB, GiB, TiB) or in powers of ten (KB, MB, GB, TB), so that an
// operator writes memory_limit: 512MiB rather than 536870912.
type Bytes int64

// Byte size units.
const (
	KiB Bytes = 1 << 10
	MiB Bytes = 1 << 20
	GiB Bytes = 1 << 30
)

var byteUnits = []struct {
	suffix string
	mult   int64
}{ // longest suffixes first: "MiB" before "B"
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"b", 1},
}

// ParseBytes reads "536870912", "512MiB", "768 MB" or "1GiB" (units in any
// case). Fractions are refused: a budget is a whole number of bytes.
func ParseBytes(s string) (Bytes, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want a whole number of bytes, optionally with a unit (KiB, MiB, GiB, TiB, KB, MB, GB, TB)", s)
	}
	if n > (1<<63-1)/mult {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return Bytes(n * mult), nil
}

// UnmarshalText reads ParseBytes's forms (YAML decodes through it).
func (b *Bytes) UnmarshalText(text []byte) error {
	v, err := ParseBytes(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// String writes the size in the largest binary unit that divides it.
func (b Bytes) String() string {
	for _, u := range []struct {
		name string
		mult Bytes
	}{{"TiB", 1 << 40}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}} {
		if b != 0 && b%u.mult == 0 {
			return strconv.FormatInt(int64(b/u.mult), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// Memory budget defaults and bounds.
const (
	// DefaultMemoryLimit is the process's budget when none is configured:
	// what a user expects of an embedded default.
	DefaultMemoryLimit = 512 * MiB
	// MinMemoryLimit is the smallest budget accepted: below it the fixed
	// costs (the runtime, the embedded password list, the familiarity
	// counts, two concurrent argon2id hashes of 19 MiB) leave nothing to
	// share.
	MinMemoryLimit = 128 * MiB
)

// What one entry of each bounded table costs, rounded up from the
// measures in memory_size_test.go (which fail when a measure exceeds
// them, so that the caps derived from a budget stay inside it).
const (
	// BytesPerCounterKey is one tracked key of the in-memory counters
	// (one counter of the default catalogue for one user, address, subnet
	// or device): 180 bytes measured.
	BytesPerCounterKey = 256
	// BytesPerPending is one evaluation waiting for its outcome in the
	// in-memory store: 472 bytes measured with familiarity features and a
	// located address.
	BytesPerPending = 640
	// BytesPerProfile is one cached user risk profile: 1,011 bytes
	// measured for a user with two devices and two networks (947 before
	// each device kept its networks and last place, issue 24); a long
	// history (16 countries, 32 networks, 16 devices) is about four times
	// that.
	BytesPerProfile = 2048
	// BytesPerUserAgent is one entry of the user-agent label cache at its
	// worst: a user agent of the longest cached length (512 bytes), its
	// labels, and the keys 2Q remembers after evicting them: 1064 bytes
	// measured (a typical 130-byte user agent costs a third of that).
	BytesPerUserAgent = 1280
)

// Shares of the budget, in percent, for the bounded tables. Together
// they are 39 %: with the fixed costs the live heap stays near half of
// the Go runtime's limit, so the garbage collector meets the limit
// without running continuously.
const (
	shareCounters   = 20
	sharePending    = 12
	shareProfiles   = 6
	shareUserAgents = 1
)

// MemoryPlan is how one memory budget is split: the Go runtime's soft
// limit and the caps of the tables that grow with traffic. Explicit
// settings of a cap (velocity.max_keys, velocity.max_pending,
// velocity.profile_cache, device.user_agent_cache) replace the planned
// value; the budget does not grow to make room for them.
type MemoryPlan struct {
	// Limit is the budget: what the process's resident memory should
	// stay under.
	Limit Bytes
	// GoLimit is the Go runtime's soft limit (GOMEMLIMIT) riskauthd sets:
	// seven eighths of Limit, leaving the rest for what the runtime does
	// not count (the binary's code, memory-mapped files, SQLite's page
	// cache).
	GoLimit Bytes
	// MaxKeys caps the in-memory counters' tracked keys (20 % of Limit).
	MaxKeys int
	// MaxPending caps the in-memory store's pending evaluations (12 %: an
	// evicted one loses its outcome, a profile missing from the cache
	// only costs a SQLite read).
	MaxPending int
	// ProfileCache is how many user risk profiles the SQLite profile
	// store's cache (or the in-memory profile store) holds (6 %).
	ProfileCache int
	// UserAgentCache is the user-agent label cache's size (1 %, at most
	// ualabel.DefaultCacheSize: more user agents than that are not worth
	// keeping).
	UserAgentCache int
}

// PlanMemory splits limit (DefaultMemoryLimit when zero).
func PlanMemory(limit Bytes) MemoryPlan {
	if limit <= 0 {
		limit = DefaultMemoryLimit
	}
	share := func(percent, per int64) int { return int(int64(limit) / 100 * percent / per) }
	return MemoryPlan{
		Limit:          limit,
		GoLimit:        limit - limit/8,
		MaxKeys:        share(shareCounters, BytesPerCounterKey),
		MaxPending:     share(sharePending, BytesPerPending),
		ProfileCache:   share(shareProfiles, BytesPerProfile),
		UserAgentCache: min(share(shareUserAgents, BytesPerUserAgent), ualabel.DefaultCacheSize),
	}
}

// Memory returns the plan for c's memory_limit, with c's caps as they are
// (after Defaults: the planned ones unless set explicitly).
func (c *Config) Memory() MemoryPlan {
	p := PlanMemory(c.MemoryLimit)
	p.MaxKeys, p.MaxPending = c.Velocity.MaxKeys, c.Velocity.MaxPending
	p.ProfileCache, p.UserAgentCache = c.Velocity.ProfileCache, c.Device.UserAgentCache
	return p
}

// memoryDefaults fills the caps left zero from the budget's plan.
func (c *Config) memoryDefaults() {
	if c.MemoryLimit == 0 {
		c.MemoryLimit = DefaultMemoryLimit
	}
	p := PlanMemory(c.MemoryLimit)
	if c.Velocity.MaxKeys == 0 {
		c.Velocity.MaxKeys = p.MaxKeys
	}
	if c.Velocity.MaxPending == 0 {
		c.Velocity.MaxPending = p.MaxPending
	}
	if c.Velocity.ProfileCache == 0 {
		c.Velocity.ProfileCache = p.ProfileCache
	}
	if c.Device.UserAgentCache == 0 {
		c.Device.UserAgentCache = p.UserAgentCache
	}
}

// validateMemory reports the budget's and the caps' problems.
func (c *Config) validateMemory() []error {
	var errs []error
	if c.MemoryLimit < MinMemoryLimit {
		errs = append(errs, fmt.Errorf("memory_limit %s: want at least %s", c.MemoryLimit, MinMemoryLimit))
	}
	for _, n := range []struct {
		key string
		v   int
	}{
		{"velocity.max_pending", c.Velocity.MaxPending},
		{"velocity.profile_cache", c.Velocity.ProfileCache},
		{"device.user_agent_cache", c.Device.UserAgentCache},
	} {
		if n.v < 1 {
			errs = append(errs, fmt.Errorf("%s %d: want at least 1", n.key, n.v))
		}
	}
	return errs
}
