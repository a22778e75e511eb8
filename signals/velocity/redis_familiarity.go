package velocity

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/redis/go-redis/v9"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/signals/familiarity"
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
// One hash tag for the whole sketch puts it on one Redis Cluster node:
// every evaluation reads it (one BITFIELD_RO of 38 fields, 116 arguments:
// about 35 µs of that node's time on the shared development machine, most
// of it argument parsing) and every successful sign-in writes it
// (one BITFIELD). The alternative, a key and a tag per feature, would
// spread that load over up to 9 nodes at the cost of 9 commands per
// evaluation; the Load pipeline already spans several nodes (go-redis sends
// one sub-pipeline per node, in parallel), so either is one round trip.
// One key is enough until a single node's throughput is the limit.
type famSketch struct {
	cfg familiarity.GlobalConfig
	key string
}

// famCellBase is the u32 field number of cell 0 (bit offset 128): after
// the two 64-bit totals.
const famCellBase = 4

func newFamSketch(prefix string) (famSketch, error) {
	cfg, err := familiarity.GlobalConfig{}.Sized()
	if err != nil {
		return famSketch{}, fmt.Errorf("velocity config: familiarity sketch: %w", err)
	}
	return famSketch{cfg: cfg, key: prefix + "{fam}:global:" + strconv.Itoa(cfg.Depth) + "x" + strconv.Itoa(cfg.Width)}, nil
}

// cells appends to args, for every feature of x and every row, op then
// the type and field of the counter the value maps to (op "" appends no op,
// for BitFieldRO, which adds GET itself).
func (s *famSketch) cells(args []any, op string, x *familiarity.Features) []any {
	var cols [16]int
	for f := familiarity.Feature(0); f < familiarity.NumFeatures; f++ {
		for r, c := range s.cfg.Columns(cols[:0], x.Value(f)) {
			if op != "" {
				args = append(args, op)
			}
			// A plain bit offset: one boxed integer per cell, where "#n"
			// would cost a string conversion and a concatenation too.
			field := famCellBase + (int(f)*s.cfg.Depth+r)*s.cfg.Width + c
			args = append(args, "u32", int64(field)*32)
			if op == "INCRBY" {
				args = append(args, 1)
			}
		}
	}
	return args
}

// queueRead adds to pipe the read of the totals and of the cells x's
// values map to: one BITFIELD_RO (read-only, so a replica could serve it).
func (s *famSketch) queueRead(ctx context.Context, pipe redis.Pipeliner, x *familiarity.Features) *redis.IntSliceCmd {
	args := make([]any, 0, 4+2*familiarity.NumFeatures*s.cfg.Depth)
	args = append(args, "i64", "#0", "i64", "#1")
	return pipe.BitFieldRO(ctx, s.key, s.cells(args, "", x)...)
}

// counts turns queueRead's reply into the scorer's counts: per feature the
// smallest of its rows' counters, as Global.Lookup.
func (s *famSketch) counts(vals []int64) (*familiarity.Counts, error) {
	if want := 2 + familiarity.NumFeatures*s.cfg.Depth; len(vals) != want {
		return nil, fmt.Errorf("familiarity sketch: %d fields read, want %d", len(vals), want)
	}
	c := &familiarity.Counts{Total: uint64(max(vals[0], 0)), Users: uint64(max(vals[1], 0))}
	cells := vals[2:]
	for f := range familiarity.NumFeatures {
		m := int64(math.MaxUint32)
		for r := range s.cfg.Depth {
			m = min(m, cells[f*s.cfg.Depth+r])
		}
		c.Freq[f] = uint64(max(m, 0))
	}
	return c, nil
}

// queueAdd adds to pipe the count of one login with x's values: one
// BITFIELD, saturating. Plain count-min (every row incremented), as
// Global.Add: a conservative update (only the rows at the minimum) would
// lower the overestimates but needs a read before the write, a script.
func (s *famSketch) queueAdd(ctx context.Context, pipe redis.Pipeliner, x *familiarity.Features) *redis.IntSliceCmd {
	args := make([]any, 0, 6+4*familiarity.NumFeatures*s.cfg.Depth)
	args = append(args, "OVERFLOW", "SAT", "INCRBY", "i64", "#0", 1)
	return pipe.BitField(ctx, s.key, s.cells(args, "INCRBY", x)...)
}

// addUser counts one more user, on a user's first observed sign-in.
func (s *famSketch) addUser(ctx context.Context, c redis.Cmdable) error {
	return c.BitField(ctx, s.key, "OVERFLOW", "SAT", "INCRBY", "i64", "#1", 1).Err()
}

var _ engine.FamiliarityCountsKeeper = (*Redis)(nil)

// KeepsFamiliarityCounts implements engine.FamiliarityCountsKeeper: the
// Redis backend keeps the global familiarity counts in Redis, shared by
// every instance (see famSketch for the layout): Load reads the cells of
// the login's values in its pipeline, and RecordOutcome counts a
// successful sign-in in its counter pipeline (no extra round trip), plus
// one command on a user's first observed sign-in to count the user.
func (r *Redis) KeepsFamiliarityCounts() bool { return true }
