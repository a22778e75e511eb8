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
type famSketch struct {
	cfg familiarity.GlobalConfig
	key string
}

// famCellBase is the u32 field number of cell 0 (bit offset 128): after
// the two 64-bit totals.
const famCellBase = 4

func newFamSketch(prefix string, size familiarity.GlobalConfig) (famSketch, error) {
	cfg, err := size.Sized()
	if err != nil {
		return famSketch{}, fmt.Errorf("velocity config: familiarity sketch: %w", err)
	}
	return famSketch{cfg: cfg, key: prefix + "{fam}:global:" + strconv.Itoa(cfg.Depth) + "x" + strconv.Itoa(cfg.Width)}, nil
}

// cells appends to args, for every feature of x and every row, op then
// the type and field of the counter the value maps to (op "" appends no op:
// the tests set cells with it).
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
// every instance (see famSketch for the layout): Load looks the login's
// values up in the in-process mirror of the sketch (no command; see
// famMirror), and RecordOutcome counts a successful sign-in in its counter
// pipeline (no extra round trip), plus one command on a user's first
// observed sign-in to count the user.
func (r *Redis) KeepsFamiliarityCounts() bool { return true }
