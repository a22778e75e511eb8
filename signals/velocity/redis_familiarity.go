package velocity

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/familiarity"
)

// famSketch is the Redis backend's global familiarity counts: the
// count-min sketch of familiarity.Global, same size and same cells
// (familiarity.GlobalConfig.Columns), kept in one Redis string
//
//	<prefix>{fam}:global:<depth>x<width>
//
// read and written with BITFIELD, which gives the in-memory sketch's exact
// semantics at its exact size: the login and user totals as signed 64-bit
// fields #0 and #1 (bits 0-127), then one unsigned 32-bit counter per cell,
// u32 field #(4 + (feature·depth + row)·width + column), incremented with
// OVERFLOW SAT so that a counter stops at 2^32-1 as Global's do (the
// totals saturate at 2^63-1). A hash per (feature, row) would cost a
// hashtable entry of 48 bytes per cell (MEMORY USAGE of a 32,768-field
// hash: 54 MiB for the default size) and could not saturate at 2^32-1
// without a script; the string is 16 + 9·4·2^15·4 bytes = 4.5 MiB (5.0 MiB
// in MEMORY USAGE), allocated whole as soon as a high cell is written.
//
// The size is in the key name, so that a store configured with another
// size starts a sketch of its own instead of misreading this one. The key
// has no expiry (the counts are the service's memory of all sign-ins).
//
// Evaluations do not read Redis for it: each store scores against an
// in-process mirror (famMirror) that a background goroutine replaces with
// the whole key (one GET) every Config.FamiliarityRefresh. Reading the 36
// cells of every evaluation with BITFIELD_RO (116 arguments) cost about
// 35 µs of the one node's time per evaluation and +140 µs of p50, for
// aggregate counts over months of sign-ins that a few seconds of staleness
// does not change. One hash tag for the whole sketch puts it on one Redis
// Cluster node, which now serves one write per successful sign-in (one
// BITFIELD) and one 4.5 MiB GET per instance and refresh interval.
//
// Sharding (issue 23): with Config.FamiliarityShards > 1 (the default on a
// Cluster) the string is cut into that many keys of consecutive byte
// ranges, each under a hash tag chosen so that the shards' slots spread
// evenly over the 16384 (so over the nodes of a Cluster that splits the
// slots evenly): a sign-in's count is one BITFIELD per shard it touches
// (about min(shards, 36)), and a refresh one GET per shard, which a
// Cluster client sends to the nodes in parallel. The logical layout, the
// mirror and its decoding are the same as with one key.
type famSketch struct {
	cfg familiarity.GlobalConfig
	// keys are the shards' keys; with one shard keys[0] is legacy.
	keys []string
	// legacy is the one-key name, read once to migrate its counts into
	// new shards (see migrateFamiliarity).
	legacy string
	// shardBytes is each shard's length in bytes (the last one's may be
	// shorter), a multiple of 8 so that no field straddles two shards.
	shardBytes int
	// size is the logical string's length: the totals and every cell.
	size int
}

// famCellBase is the u32 field number of cell 0 (bit offset 128): after
// the two 64-bit totals.
const famCellBase = 4

// maxFamShards bounds Config.FamiliarityShards.
const maxFamShards = 64

func newFamSketch(prefix string, size familiarity.GlobalConfig, shards int) (famSketch, error) {
	cfg, err := size.Sized()
	if err != nil {
		return famSketch{}, fmt.Errorf("velocity config: familiarity sketch: %w", err)
	}
	if shards < 1 || shards > maxFamShards {
		return famSketch{}, fmt.Errorf("velocity config: familiarity shards %d: want 1 to %d", shards, maxFamShards)
	}
	name := ":global:" + strconv.Itoa(cfg.Depth) + "x" + strconv.Itoa(cfg.Width)
	s := famSketch{cfg: cfg, legacy: prefix + "{fam}" + name, size: 4*famCellBase + 4*familiarity.NumFeatures*cfg.Depth*cfg.Width}
	s.shardBytes = ((s.size+shards-1)/shards + 7) &^ 7
	if shards == 1 {
		s.keys = []string{s.legacy}
		return s, nil
	}
	for i := range shards {
		s.keys = append(s.keys, prefix+"{"+spreadTag("fam", i, shards)+"}"+name+":"+strconv.Itoa(i)+"/"+strconv.Itoa(shards))
	}
	return s, nil
}

// spreadTag returns the hash tag of shard i of n: base, i and the first
// counter whose Cluster slot lies in the i-th n-th of the slots.
func spreadTag(base string, i, n int) string {
	lo, hi := i*16384/n, (i+1)*16384/n
	for k := 0; ; k++ {
		tag := base + strconv.Itoa(i) + "." + strconv.Itoa(k)
		if slot := int(crc16(tag)) % 16384; slot >= lo && slot < hi {
			return tag
		}
	}
}

// crc16 is Redis Cluster's key hash (CRC-16/XMODEM).
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// field returns the shard and the bit offset within it of the field at
// logical bit offset bit.
func (s *famSketch) field(bit int64) (int, int64) {
	shard := int(bit / 8 / int64(s.shardBytes))
	return shard, bit - int64(shard)*int64(s.shardBytes)*8
}

// cellBits calls fn with the logical bit offset of every counter x's
// values map to (every feature, every row).
func (s *famSketch) cellBits(x *familiarity.Features, fn func(bit int64)) {
	var cols [16]int
	for f := familiarity.Feature(0); f < familiarity.NumFeatures; f++ {
		for r, c := range s.cfg.Columns(cols[:0], x.Value(f)) {
			fn(int64(famCellBase+(int(f)*s.cfg.Depth+r)*s.cfg.Width+c) * 32)
		}
	}
}

// byShard groups, per shard, "u32" and the local bit offset of each of
// x's counters, after op (and 1 when op is INCRBY); head starts shard 0's
// list (the totals' update). Shards x does not touch get nil.
func (s *famSketch) byShard(x *familiarity.Features, op string, head ...any) [][]any {
	args := make([][]any, len(s.keys))
	args[0] = head
	s.cellBits(x, func(bit int64) {
		sh, off := s.field(bit)
		if op != "" {
			args[sh] = append(args[sh], op)
		}
		args[sh] = append(args[sh], "u32", off)
		if op == "INCRBY" {
			args[sh] = append(args[sh], 1)
		}
	})
	return args
}

// queueAdd adds to pipe the count of one login with x's values: one
// BITFIELD per shard it touches, saturating. Plain count-min (every row
// incremented), as Global.Add: a conservative update (only the rows at the
// minimum) would lower the overestimates but needs a read before the
// write, a script.
func (s *famSketch) queueAdd(ctx context.Context, pipe redis.Pipeliner, x *familiarity.Features) []redis.Cmder {
	var cmds []redis.Cmder
	for sh, a := range s.byShard(x, "INCRBY", "INCRBY", "i64", 0, 1) {
		if len(a) > 0 {
			cmds = append(cmds, pipe.BitField(ctx, s.keys[sh], append([]any{"OVERFLOW", "SAT"}, a...)...))
		}
	}
	return cmds
}

// addUser counts one more user, on a user's first observed sign-in.
func (s *famSketch) addUser(ctx context.Context, c redis.Cmdable) error {
	return c.BitField(ctx, s.keys[0], "OVERFLOW", "SAT", "INCRBY", "i64", 64, 1).Err()
}

var _ engine.FamiliarityCountsKeeper = (*Redis)(nil)

// KeepsFamiliarityCounts implements engine.FamiliarityCountsKeeper: the
// Redis backend keeps the global familiarity counts in Redis, shared by
// every instance (see famSketch for the layout): Load looks the login's
// values up in the in-process mirror of the sketch (no command; see
// famMirror), and RecordOutcome counts a successful sign-in in its counter
// pipeline (no extra round trip), plus one command on a user's first
// observed sign-in to count the user.
func (r *Redis) KeepsFamiliarityCounts() bool { return true }
