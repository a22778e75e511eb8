package velocity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/riskauth/riskauth/engine/familiarity"
)

// Bounds of the Redis backend's familiarity mirror refresher.
const (
	// famRefreshTimeout bounds one GET of the sketch: 4.5 MiB take a few
	// milliseconds on a LAN, so this only stops a stuck read from
	// delaying the next one.
	famRefreshTimeout = 10 * time.Second
	// famCloseTimeout bounds how long Close waits for the refresher: its
	// read is cancelled first, so this is only the decode in flight.
	famCloseTimeout = 2 * time.Second
	// famRefreshLogEvery rate-limits the refresher's warnings: under an
	// outage every refresh fails, one line each would bury the log.
	famRefreshLogEvery = time.Minute
	// famRefreshJitter spreads the refreshes of instances started
	// together (a deploy) by up to ±10 % of the interval, so that they do
	// not all GET the 4.5 MiB key from the one node at the same moment.
	famRefreshJitter = 0.1
)

// famMirror is one in-process copy of the Redis sketch (famSketch's
// layout), what Load scores against. A refresh builds a fresh one and
// swaps it in whole, so a reader never sees half of two refreshes; this
// instance's own successful sign-ins are added to the current one (add)
// so that they count before the next refresh, which then brings Redis's
// truth, theirs included. Counters are atomics, as in familiarity.Global:
// bumps take no lock and readers none either.
type famMirror struct {
	cfg          familiarity.GlobalConfig
	cells        []atomic.Uint32 // [feature][row][column], as famSketch
	total, users atomic.Uint64
	// fetched is when its content was read from Redis (for the empty
	// mirror a store starts with, when the store was created: it knows
	// nothing newer than that).
	fetched time.Time
}

func newFamMirror(cfg familiarity.GlobalConfig) *famMirror {
	return &famMirror{cfg: cfg, cells: make([]atomic.Uint32, familiarity.NumFeatures*cfg.Depth*cfg.Width)}
}

// lookup returns the counts of x's values, as familiarity.Global.Lookup:
// per feature the smallest of its rows' counters.
func (m *famMirror) lookup(x *familiarity.Features) *familiarity.Counts {
	c := &familiarity.Counts{Total: m.total.Load(), Users: m.users.Load()}
	var cols [16]int
	for f := familiarity.Feature(0); f < familiarity.NumFeatures; f++ {
		v := uint32(math.MaxUint32)
		for r, col := range m.cfg.Columns(cols[:0], x.Value(f)) {
			v = min(v, m.cells[(int(f)*m.cfg.Depth+r)*m.cfg.Width+col].Load())
		}
		c.Freq[f] = uint64(v)
	}
	return c
}

// add counts one sign-in with x's values, saturating as Redis does.
func (m *famMirror) add(x *familiarity.Features) {
	var cols [16]int
	for f := familiarity.Feature(0); f < familiarity.NumFeatures; f++ {
		for r, col := range m.cfg.Columns(cols[:0], x.Value(f)) {
			c := &m.cells[(int(f)*m.cfg.Depth+r)*m.cfg.Width+col]
			for {
				old := c.Load()
				if old == math.MaxUint32 || c.CompareAndSwap(old, old+1) {
					break
				}
			}
		}
	}
	m.total.Add(1)
}

// errFamCorrupt is wrapped by decodeFamSketch's errors.
var errFamCorrupt = errors.New("familiarity sketch: corrupt value")

// decodeFamSketch reads the value of the sketch's key (famSketch's layout:
// big-endian, as BITFIELD stores fields, the two signed 64-bit totals then
// the u32 cells) into a fresh mirror. Redis grows a BITFIELD string only up
// to the last byte written, and reads past its end as zeros, so a short
// value is normal (an empty or young sketch) and its missing cells are 0.
// What BITFIELD with this layout cannot have written is an error, never a
// panic: a length that does not end on a field (a truncated value or
// another layout), a value longer than the sketch, or a negative total.
func decodeFamSketch(cfg familiarity.GlobalConfig, v string) (*famMirror, error) {
	m := newFamMirror(cfg)
	n := len(v)
	if full := famCellBase*4 + 4*len(m.cells); n > full {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d of a %dx%d sketch", errFamCorrupt, n, full, cfg.Depth, cfg.Width)
	}
	if n != 0 && n != 8 && (n < 16 || n%4 != 0) {
		return nil, fmt.Errorf("%w: %d bytes do not end on a field", errFamCorrupt, n)
	}
	var head [16]byte
	copy(head[:], v)
	total, users := int64(be64(head[0:])), int64(be64(head[8:]))
	if total < 0 || users < 0 {
		return nil, fmt.Errorf("%w: negative totals %d, %d", errFamCorrupt, total, users)
	}
	m.total.Store(uint64(total))
	m.users.Store(uint64(users))
	for i, o := 0, 16; o+4 <= n; i, o = i+1, o+4 {
		m.cells[i].Store(uint32(v[o])<<24 | uint32(v[o+1])<<16 | uint32(v[o+2])<<8 | uint32(v[o+3]))
	}
	return m, nil
}

func be64(b []byte) uint64 {
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

// famRefresher runs the goroutine that keeps Redis.mirror fresh.
type famRefresher struct {
	every  time.Duration
	cancel context.CancelFunc
	done   chan struct{}
	// first is closed once the first refresh has been attempted: the
	// tests wait for it so that its GET does not land among the commands
	// they count.
	first chan struct{}
	log   *slog.Logger
	// Read and written by the refresher goroutine only.
	failed  int
	lastErr error
	lastLog time.Time
}

// startFamRefresher starts the refresher: a first refresh at once, in the
// background (a Redis briefly down at start must not fail the start; the
// store scores against an empty sketch until then), then one every
// cfg.FamiliarityRefresh ± 10 %.
func (r *Redis) startFamRefresher(log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	f := &famRefresher{every: r.cfg.FamiliarityRefresh, cancel: cancel, done: make(chan struct{}),
		first: make(chan struct{}), log: log}
	r.refresher = f
	go func() {
		defer close(f.done)
		t := time.NewTimer(0)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			rctx, rcancel := context.WithTimeout(ctx, famRefreshTimeout)
			err := r.refreshFamiliarity(rctx)
			rcancel()
			if ctx.Err() != nil {
				return // closed mid-read: not a failure
			}
			f.report(r, err)
			select {
			case <-f.first:
			default:
				close(f.first)
			}
			t.Reset(time.Duration(float64(f.every) * (1 + famRefreshJitter*(2*rand.Float64()-1))))
		}
	}()
}

// report logs a failed refresh, rate-limited, with the number of
// failures since the last line; and that refreshes work again.
func (f *famRefresher) report(r *Redis, err error) {
	if err == nil {
		if f.failed > 0 {
			f.log.Info("velocity redis: familiarity sketch refreshed again", "failed_before", f.failed)
			f.failed, f.lastErr = 0, nil
		}
		return
	}
	f.failed++
	f.lastErr = err
	// Wall time on purpose: this paces log lines, it is not event time.
	if time.Since(f.lastLog) < famRefreshLogEvery {
		return
	}
	f.log.Warn("velocity redis: familiarity sketch not refreshed; scoring against the previous copy",
		"failed", f.failed, "copy_age", time.Since(r.mirror.Load().fetched).Round(time.Second), "err", f.lastErr)
	f.lastLog = time.Now()
	f.failed = 0
}

// close stops the refresher, cancelling a read in flight, and waits at
// most famCloseTimeout. It is safe to call more than once.
func (f *famRefresher) close() error {
	f.cancel()
	t := time.NewTimer(famCloseTimeout)
	defer t.Stop()
	select {
	case <-f.done:
		return nil
	case <-t.C:
		return fmt.Errorf("velocity redis: familiarity refresher still running after %s", famCloseTimeout)
	}
}

// refreshFamiliarity reads the whole sketch with one GET and swaps the
// decoded copy in. A missing key is an empty sketch (nobody has signed in
// yet, or it was deleted: Redis is the truth). On error the mirror is left
// as it was. The refresher calls it on its schedule; tests call it to
// refresh at a known moment.
// A failure is counted (op="familiarity_refresh"), and the mirror's age
// gauge set either way.
func (r *Redis) refreshFamiliarity(ctx context.Context) error {
	// Wall time on purpose: the age of a cache, not event time.
	now := time.Now()
	m, err := r.fetchFamiliarity(ctx)
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return err // Close cancelled it: not a backend failure
		}
		r.metrics.backendError(backendRedis, opFamiliarityRefresh)
		r.metrics.familiarityMirrorAge(now.Sub(r.mirror.Load().fetched))
		return err
	}
	m.fetched = now
	r.mirror.Store(m)
	r.metrics.familiarityMirrorAge(0)
	return nil
}

func (r *Redis) fetchFamiliarity(ctx context.Context) (*famMirror, error) {
	v, err := r.readFamiliarity(ctx)
	if err != nil {
		return nil, err
	}
	m, err := decodeFamSketch(r.fam.cfg, v)
	if err != nil {
		return nil, fmt.Errorf("velocity redis: %w", err)
	}
	return m, nil
}

// readFamiliarity reads the sketch's logical string: its one key, or its
// shards (one pipeline of GETs, which a Cluster client sends to the nodes
// in parallel) joined, each but the last padded with zeros to its length.
// When no shard exists yet and the one-key sketch of the same size does
// (a deployment from before the shards), its counts are migrated first.
func (r *Redis) readFamiliarity(ctx context.Context) (string, error) {
	f := &r.fam
	if len(f.keys) == 1 {
		v, err := r.c.Get(ctx, f.keys[0]).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return "", fmt.Errorf("velocity redis: read familiarity sketch: %w", err)
		}
		return v, nil
	}
	pipe := r.c.Pipeline()
	gets := make([]*redis.StringCmd, len(f.keys))
	for i, k := range f.keys {
		gets[i] = pipe.Get(ctx, k)
	}
	cmds, err := pipe.Exec(ctx)
	if err := pipelineErr(cmds, err); err != nil {
		return "", fmt.Errorf("velocity redis: read familiarity sketch: %w", err)
	}
	var b strings.Builder
	empty := true
	for i, g := range gets {
		v := g.Val()
		if len(v) > f.shardBytes {
			return "", fmt.Errorf("velocity redis: %w: shard %d has %d bytes, more than its %d", errFamCorrupt, i, len(v), f.shardBytes)
		}
		if v == "" {
			continue
		}
		if empty {
			b.Grow(f.size)
			empty = false
		}
		b.WriteString(strings.Repeat("\x00", i*f.shardBytes-b.Len()))
		b.WriteString(v)
	}
	if empty {
		return r.migrateFamiliarity(ctx)
	}
	return b.String(), nil
}

// migrateFamiliarity copies the one-key sketch (f.legacy) into the
// shards when none of them exists yet: the counts of months of sign-ins
// survive the switch to shards. Each shard is written with SET NX, so
// instances migrating at once write each shard once; a shard that a
// sign-in created between the read and the write keeps only that
// sign-in's count (its cells then read low: values look rarer, which
// asks for more step-ups, not fewer). The one-key sketch stays (an older
// instance of a rolling upgrade still counts there): delete it once every
// instance runs with shards (docs/operations.md, "Upgrades").
func (r *Redis) migrateFamiliarity(ctx context.Context) (string, error) {
	f := &r.fam
	v, err := r.c.Get(ctx, f.legacy).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("velocity redis: read one-key familiarity sketch: %w", err)
	}
	if len(v) > f.size {
		return "", fmt.Errorf("velocity redis: %w: one-key sketch of %d bytes, more than %d", errFamCorrupt, len(v), f.size)
	}
	pipe := r.c.Pipeline()
	for i, k := range f.keys {
		lo := i * f.shardBytes
		if lo >= len(v) {
			break
		}
		pipe.SetNX(ctx, k, v[lo:min(lo+f.shardBytes, len(v))], 0)
	}
	cmds, err := pipe.Exec(ctx)
	if err := pipelineErr(cmds, err); err != nil {
		return "", fmt.Errorf("velocity redis: migrate familiarity sketch: %w", err)
	}
	return v, nil
}
