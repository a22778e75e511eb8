// Package velocity keeps the state the risk engine reads on every
// evaluation: sliding-window counters (failures per user, distinct users per
// IP, ...), user risk profiles and pending evaluations. It provides the two
// implementations of [engine.StateStore]:
//
//   - [Memory], the embedded default for a single process. Counters and
//     pending evaluations live in bounded memory and are lost on restart
//     (windows start empty again); profiles go to a [ProfileStore]:
//     [SQLiteProfiles] keeps them across restarts (with a cache in front,
//     and a Bloom filter of the users it holds, so that identifiers never
//     seen, such as a stuffing list's, cost no database read), [MemProfiles]
//     does not.
//   - [Redis], for many instances sharing one Redis or Redis Cluster. Load is
//     one pipelined round trip and every command touches one hash slot. It
//     also keeps the global familiarity counts, shared by the instances
//     (engine.FamiliarityCountsKeeper; the layout is under "Redis keys and
//     expiry"), where the memory backend leaves them to the engine.
//
// It is not a general rate limiter, not a store of users, credentials or
// sessions (authn/store is), and not where the meaning of a profile is
// defined: both backends call [engine.ApplyOutcome] for that.
//
// # Sliding windows
//
// A counter's window is split into 10 buckets of window/10, aligned on the
// unix epoch. A read at time t sums the 10 buckets whose start lies within
// (t-window, t]; the newest is the bucket holding t. So the granularity is
// window/10: events older than the window are never counted, but an event
// up to window/10 younger than the window may already have dropped out (the
// effective window is between 9/10 and 10/10 of the configured one). Counts
// returned by Load exclude the event being evaluated, which Load then
// records (attempt counters) in the same step. Success and failure counters
// are bumped by RecordOutcome in the bucket of the evaluated event, not of
// the outcome; a bucket already out of every window is not bumped.
//
// Distinct counters (CounterSpec.Distinct) count distinct values over the
// window, exactly in both backends. The Redis backend keeps, per counter
// key, a sorted set of member hashes scored by when each was last seen, and
// counts the members seen since the window's first bucket (ZCOUNT); it
// keeps the newest [Config.MaxDistinct] members (trimmed on one write in
// eight, the count clamped at the cap), so the count saturates at the cap
// like the memory backend's. The memory backend keeps each
// value as a 64-bit xxhash with the newest bucket it was seen in, up to
// [Config.MaxDistinct] values per counter key (default 4096). When that many
// values are live in the window, new values are not added: the count
// saturates at the cap until old values leave the window.
//
// # Memory backend bounds
//
// At most [Config.MaxKeys] counter keys (one per counter and key value,
// default 1,000,000) are tracked, in up to 64 shards of MaxKeys/64 each. A
// full shard evicts with CLOCK, an approximation of LRU in which keys seen
// only once (a flood of fresh IPs) go before keys used again; an evicted key
// reads 0 again. A tracked key costs about 110 bytes (measured: 1,000,000
// keys, 105 MiB; see TestMemoryPerMillionKeys); a key of a distinct counter
// about 90 bytes more for its set, plus 16 bytes per further value (about
// 40 once a set outgrows 16 values and becomes a map). Keys are identified by a 64-bit hash of (counter,
// value); two colliding values would share a window, with odds of about 1
// in 10^7 per million keys. A key's ring keeps two buckets beyond the
// window, so reads up to two buckets older than its newest event (events
// arriving slightly out of order) stay exact; older reads see only what the
// ring still holds, and a distinct value counts only in the newest bucket it
// was seen in.
//
// Pending evaluations are bounded by [Config.MaxPending] (the oldest goes
// first) and expire [Config.PendingTTL] after the Load that stored them, on
// the time axis of the requests: the memory backend never reads a clock.
//
// # Redis keys and expiry
//
// The event counters of one key value (say, every counter keyed by one IP)
// share one string of fixed-size ring cells, read with one GET and counted
// with one BITFIELD (see redis_ring.go); each distinct counter has a sorted
// set. Every write sets the key's expiry to the same span from then (the
// longest window of the key plus two of its buckets), so a later write
// never shortens it and a key outlives its newest bucket's window.
// Pending evaluations expire after PendingTTL on the Redis server's clock;
// profiles after [Config.ProfileTTL] (default 400 days) without a
// successful sign-in. See [Redis] for the key layout.
//
// The global familiarity counts are the count-min sketch of
// familiarity.Global in one Redis string, <prefix>{fam}:global:4x32768,
// without expiry: two signed 64-bit totals (logins, users), then one
// unsigned 32-bit counter per cell at the cell index
// familiarity.GlobalConfig.Columns gives, incremented with BITFIELD
// OVERFLOW SAT in the outcome's counter pipeline, so that counters saturate
// at 2^32-1 like the in-memory ones. 4.5 MiB of counters (5.0 MiB in
// Redis' MEMORY USAGE); ε = e/32768 of the logins counted, δ = e^-4.
// Load does not read it from Redis: each store keeps an in-process mirror,
// replaced with one GET of the whole key every [Config.FamiliarityRefresh]
// (default 30s) by a goroutine that NewRedis starts and Close stops, and
// bumped with the store's own successful sign-ins in between; scores are
// at most about one interval behind other instances' sign-ins. One hash
// tag per shard spreads the sketch over a Cluster's nodes
// ([Config.FamiliarityShards], default 4 on a Cluster, 1 on a standalone
// server; see famSketch).
package velocity
