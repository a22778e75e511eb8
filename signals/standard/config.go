package standard

import (
	"errors"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/riskauth/riskauth/signals/geo"
)

// Config is everything the standard engine is built from. Its YAML keys
// are riskauthd's (internal/config embeds it inline), so a service
// embedding the engine reads the same configuration file sections as
// riskauthd and gets the same engine. Config{DataDir: dir} is riskauthd's
// embedded default; every other field may stay zero (Defaults fills it).
type Config struct {
	// DataDir holds the embedded state New keeps on disk: SQLite user
	// profiles (profiles.db), the global familiarity snapshot
	// (familiarity-global.bin) and a generated device key (device.key).
	// Empty keeps everything in memory, for throw-away engines (rule
	// tests, simulations): Device.Secret is then required. riskauthd
	// defaults it to ./data (RISKAUTH_DATA_DIR) and keeps its own files
	// there too.
	DataDir string `yaml:"data_dir"`

	// MemoryLimit is the process's memory budget (default 512MiB, at least
	// 128MiB): the caps of the tables that grow with traffic (counter
	// keys, pending evaluations, cached profiles, user-agent labels) are
	// derived from it unless set explicitly (see MemoryPlan). New does not
	// apply it to the Go runtime: the process does (riskauthd sets
	// GOMEMLIMIT to MemoryPlan.GoLimit unless the GOMEMLIMIT variable is
	// set), since a library must not change its host's runtime.
	MemoryLimit Bytes `yaml:"memory_limit"`

	// Rules says which rule file is active and which runs in shadow.
	Rules RulesConfig `yaml:"rules"`
	// Engine holds the evaluation deadlines, budgets and the floor
	// applied while a signal is unavailable.
	Engine engine.Config `yaml:"engine"`
	// Velocity declares the counter catalogue the rules read and bounds
	// the in-memory store.
	Velocity VelocityConfig `yaml:"velocity"`
	// Redis, when its URL is set, moves velocity state, profiles and the
	// global familiarity counts to Redis, shared by every instance.
	Redis RedisConfig `yaml:"redis"`
	// Device keys device ids.
	Device DeviceConfig `yaml:"device"`
	// Breached chains the breach corpora the breached signal asks.
	Breached BreachedConfig `yaml:"breached"`
	// Geo names the MaxMind-format databases (GeoIP2/GeoLite2 or the
	// flat @ip-location-db files); with none, the bundled fixture is used.
	Geo geo.Config `yaml:"geo"`
}

// BreachedConfig configures the breached-password signal. The embedded
// list of the ~49k most common breached passwords is always on.
type BreachedConfig struct {
	// Corpus is a file built by `riskctl breached import`
	// (RISKAUTH_BREACHED_CORPUS), memory-mapped at start-up.
	Corpus string `yaml:"corpus"`
	// CaseSensitive checks the embedded list only as typed.
	CaseSensitive bool `yaml:"case_sensitive"`
	// FailurePolicy is open (default: an unavailable checker says nothing)
	// or closed (an unavailable checker counts as breached).
	FailurePolicy string `yaml:"failure_policy"`
	// ServeRange answers GET /v1/breached/range/{prefix} from Corpus (which
	// must be a table-format corpus). New only checks it; serving is the
	// HTTP server's job, from Assembly.BreachedTable.
	ServeRange bool `yaml:"serve_range"`
	// Remote asks a Pwned Passwords range API (k-anonymity: only the first
	// five hex digits of the SHA-1 leave the host).
	Remote RemoteBreachedConfig `yaml:"remote"`
}

// RemoteBreachedConfig configures the k-anonymity range client.
type RemoteBreachedConfig struct {
	// Enabled adds the range client to the breach chain, after the
	// embedded list and the imported corpus.
	Enabled bool `yaml:"enabled"`
	// BaseURL is the range API's root (default: the Pwned Passwords API).
	BaseURL string `yaml:"base_url"`
	// Timeout bounds one range request (default 2s; the engine's signal
	// budget bounds it further).
	Timeout time.Duration `yaml:"timeout"`
	// CacheSize and CacheTTL bound the cache of answered prefixes, which
	// spares the API the prefixes of popular passwords.
	CacheSize int           `yaml:"cache_size"`
	CacheTTL  time.Duration `yaml:"cache_ttl"`
}

// RulesConfig says where the rule file is.
type RulesConfig struct {
	// File is the rule file (RISKAUTH_RULES_FILE); empty means the embedded
	// default rules.
	File string `yaml:"file"`
	// Poll is how often the file is re-checked besides file events (default 5s).
	Poll time.Duration `yaml:"poll"`
	// ShadowFile is a candidate rule file evaluated in shadow beside the
	// active one (RISKAUTH_RULES_SHADOW_FILE): its would-be decisions go to
	// metrics and decision events, never to the user. Hot-reloaded like
	// File; a missing file means no candidate, and the admin API writes
	// and removes it.
	ShadowFile string `yaml:"shadow_file"`
	// HistorySize bounds the previous versions kept for rollback, in
	// memory and in File + ".history/" (default 10).
	HistorySize int `yaml:"history_size"`
}

// VelocityConfig declares the counters and bounds the in-memory store.
type VelocityConfig struct {
	// Counters is the counter catalogue; empty means engine.DefaultCounters.
	Counters []engine.CounterSpec `yaml:"counters"`
	// MaxKeys caps tracked counter keys in memory (default: a fifth of
	// MemoryLimit at BytesPerCounterKey, 419,430 for 512MiB).
	MaxKeys int `yaml:"max_keys"`
	// PendingTTL is how long an evaluation waits for its outcome (default 1h).
	PendingTTL time.Duration `yaml:"pending_ttl"`
	// MaxPending caps the evaluations the in-memory store keeps waiting
	// for their outcome; beyond it the oldest is dropped (its outcome is
	// then answered as unknown). Default: 12 % of MemoryLimit at
	// BytesPerPending, 100,663 for 512MiB: at N evaluations a second, an
	// outcome must come within MaxPending/N seconds (and PendingTTL).
	MaxPending int `yaml:"max_pending"`
	// ProfileCache is how many user risk profiles the in-memory state
	// keeps in its cache in front of SQLite (or, without a data dir, at
	// all). Default: 6 % of MemoryLimit at BytesPerProfile, 15,728 for
	// 512MiB; a miss reads SQLite.
	ProfileCache int `yaml:"profile_cache"`
	// FamiliarityRefresh is how often, with Redis, each instance re-reads
	// the shared global familiarity counts into its in-process mirror
	// (default 30s, at least 1s): the staleness of the crowd's counts
	// against one GET of 4.5 MiB per interval.
	FamiliarityRefresh time.Duration `yaml:"familiarity_refresh"`
	// FamiliaritySnapshot is how often, on in-memory state with a data
	// dir, the global familiarity counts are written to
	// DataDir/familiarity-global.bin besides at Close (default 5m, at
	// least 1s; negative: at Close only): the most learning a crash can
	// lose, against one 4.5 MiB write per interval that learnt anything.
	FamiliaritySnapshot time.Duration `yaml:"familiarity_snapshot"`
	// FamiliaritySketch sizes the count-min sketch of the global
	// familiarity counts, in memory and in Redis (default 2^15 × 4: 4.5
	// MiB). A wider sketch overestimates rare values less, for more memory
	// and, with Redis, a longer refresh. A change of size starts new
	// counts: the Redis key is named by its size, and a snapshot of
	// another size is not loaded.
	FamiliaritySketch FamiliaritySketchConfig `yaml:"familiarity_sketch"`
}

// FamiliaritySketchConfig is the size of the global familiarity sketch
// (familiarity.GlobalConfig); zero fields take its defaults.
type FamiliaritySketchConfig struct {
	// Width is the counters per row: a power of two from 256 to 2^24
	// (default 32768).
	Width int `yaml:"width"`
	// Depth is the rows: 1 to 16 (default 4).
	Depth int `yaml:"depth"`
	// Shards is how many Redis keys the sketch is cut into, each in its
	// own hash slot, so that a Cluster's nodes share its load: 1 to 64; 0
	// means 1 on a standalone Redis and 4 on a Cluster. In-memory state
	// ignores it.
	Shards int `yaml:"shards"`
}

// global is the sketch size as the familiarity package takes it.
func (c FamiliaritySketchConfig) global() familiarity.GlobalConfig {
	return familiarity.GlobalConfig{Width: c.Width, Depth: c.Depth}
}

// RedisConfig switches velocity and profiles to Redis.
type RedisConfig struct {
	// URL is redis://[user:pass@]host:port/db or rediss:// for TLS
	// (RISKAUTH_REDIS_URL). Several comma-separated host:port addresses,
	// or Cluster true, select Redis Cluster.
	URL string `yaml:"url"`
	// Cluster forces a cluster client.
	Cluster bool `yaml:"cluster"`
	// Prefix namespaces every key (default "ra:").
	Prefix string `yaml:"prefix"`
}

// DeviceConfig configures device ids.
type DeviceConfig struct {
	// Secret keys device-id hashing (RISKAUTH_DEVICE_SECRET). When empty,
	// New generates one into DataDir/device.key on first start: every
	// instance of a deployment must share it.
	Secret string `yaml:"secret"`
	// UserAgentCache is how many user agents the label cache shared by the
	// device identifier and the familiarity model keeps parsed (default:
	// ualabel.DefaultCacheSize, 4096, or fewer for a MemoryLimit under
	// 500MiB).
	UserAgentCache int `yaml:"user_agent_cache"`
}

// Defaults fills in every unset value with riskauthd's default. New
// applies it to its own copy; a configuration loader calls it before
// Validate so that what it reports and what New builds agree.
func (c *Config) Defaults() {
	if c.Rules.Poll == 0 {
		c.Rules.Poll = 5 * time.Second
	}
	if c.Rules.HistorySize == 0 {
		c.Rules.HistorySize = 10
	}
	if len(c.Velocity.Counters) == 0 {
		c.Velocity.Counters = engine.DefaultCounters()
	}
	c.memoryDefaults()
	if c.Velocity.PendingTTL == 0 {
		c.Velocity.PendingTTL = time.Hour
	}
	if c.Velocity.FamiliaritySnapshot == 0 {
		c.Velocity.FamiliaritySnapshot = DefaultFamiliaritySnapshot
	}
	if c.Redis.Prefix == "" {
		c.Redis.Prefix = "ra:"
	}
}

// Validate reports every problem in a defaulted configuration at once,
// each naming its YAML key, so an operator fixes a file in one pass.
func (c *Config) Validate() error {
	var errs []error
	if err := engine.ValidateCounters(c.Velocity.Counters); err != nil {
		errs = append(errs, fmt.Errorf("velocity: %w", err))
	}
	switch c.Breached.FailurePolicy {
	case "", "open", "closed":
	default:
		errs = append(errs, fmt.Errorf("breached.failure_policy %q: want open or closed", c.Breached.FailurePolicy))
	}
	if c.Breached.ServeRange && c.Breached.Corpus == "" {
		errs = append(errs, errors.New("breached.serve_range needs breached.corpus (a table-format corpus)"))
	}
	if c.Rules.HistorySize < 0 || c.Rules.HistorySize > 1000 {
		errs = append(errs, fmt.Errorf("rules.history_size %d: want 1 to 1000", c.Rules.HistorySize))
	}
	if c.Rules.ShadowFile != "" && c.Rules.ShadowFile == c.Rules.File {
		errs = append(errs, errors.New("rules.shadow_file: must not be the active rule file"))
	}
	if f := c.Velocity.FamiliarityRefresh; f != 0 && f < time.Second {
		errs = append(errs, fmt.Errorf("velocity.familiarity_refresh %s: want at least 1s", f))
	}
	if f := c.Velocity.FamiliaritySnapshot; f > 0 && f < time.Second {
		errs = append(errs, fmt.Errorf("velocity.familiarity_snapshot %s: want at least 1s (negative: at shutdown only)", f))
	}
	if _, err := c.Velocity.FamiliaritySketch.global().Sized(); err != nil {
		errs = append(errs, fmt.Errorf("velocity.familiarity_sketch: %w", err))
	}
	if n := c.Velocity.FamiliaritySketch.Shards; n < 0 || n > 64 {
		errs = append(errs, fmt.Errorf("velocity.familiarity_sketch.shards %d: want 0 (automatic) to 64", n))
	}
	if c.Velocity.MaxKeys < 1000 {
		errs = append(errs, fmt.Errorf("velocity.max_keys %d: want at least 1000", c.Velocity.MaxKeys))
	}
	errs = append(errs, c.validateMemory()...)
	if c.DataDir == "" && c.Device.Secret == "" {
		errs = append(errs, errors.New("device.secret: required when there is no data dir to keep a generated one in"))
	}
	return errors.Join(errs...)
}
