package velocity

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// cmdBuf builds the commands of one pipeline with few allocations, because
// the Load pipeline's allocations (about 440 per evaluation with go-redis'
// command helpers, see docs/benchmarks.md) were most of a Redis
// evaluation's: every command's arguments share one backing array, and
// keys, members and numbers are passed by pointer into the buffer's own
// arrays (go-redis writes a *string or *int64 as its value, and reads a
// Cluster key's slot from a *string too), so that putting them into an
// interface allocates nothing. What remains per command is go-redis' own
// command value and its reply. Buffers are pooled: take one with
// getCmdBuf, and put it back with release once the pipeline's replies
// have been read (the commands point into it until then).
type cmdBuf struct {
	args []any
	ints []int64
	strs []string
	cmds []redis.Cmder
	// keys and zcounts are Load's per-counter distinct keys and reads.
	keys    []*string
	zcounts []*redis.IntCmd
	// expiries are Load's PEXPIREs, sent or skipped (redis_expiry.go).
	expiries []expiryNote
	// pipe is reused while the buffer serves the same client.
	client redis.UniversalClient
	pipe   redis.Pipeliner
}

var cmdBufs = sync.Pool{New: func() any { return new(cmdBuf) }}

func getCmdBuf() *cmdBuf { return cmdBufs.Get().(*cmdBuf) }

// release clears b (so that the pool keeps no keys or replies alive) and
// puts it back.
func (b *cmdBuf) release() {
	clear(b.args)
	clear(b.strs)
	clear(b.cmds)
	clear(b.keys)
	clear(b.zcounts)
	clear(b.expiries)
	b.args, b.ints, b.strs, b.cmds = b.args[:0], b.ints[:0], b.strs[:0], b.cmds[:0]
	b.keys, b.zcounts, b.expiries = b.keys[:0], b.zcounts[:0], b.expiries[:0]
	cmdBufs.Put(b)
}

// num returns a pointer to v kept in b. When the array grows, earlier
// pointers keep the old one alive, holding the values they were given.
func (b *cmdBuf) num(v int64) *int64 {
	b.ints = append(b.ints, v)
	return &b.ints[len(b.ints)-1]
}

// str returns a pointer to s kept in b.
func (b *cmdBuf) str(s string) *string {
	b.strs = append(b.strs, s)
	return &b.strs[len(b.strs)-1]
}

// argv copies xs into the shared backing array and returns the copy,
// capped so that a later append cannot write into it.
func (b *cmdBuf) argv(xs ...any) []any {
	n := len(b.args)
	b.args = append(b.args, xs...)
	return b.args[n:len(b.args):len(b.args)]
}

// open starts a command whose arguments the caller appends with more,
// then closes with done: for commands of variable length (BITFIELD).
func (b *cmdBuf) open() int { return len(b.args) }

func (b *cmdBuf) more(xs ...any) { b.args = append(b.args, xs...) }

func (b *cmdBuf) done(start int) []any { return b.args[start:len(b.args):len(b.args)] }

// add queues cmd.
func (b *cmdBuf) add(cmd redis.Cmder) { b.cmds = append(b.cmds, cmd) }

func (b *cmdBuf) intCmd(ctx context.Context, xs ...any) *redis.IntCmd {
	cmd := redis.NewIntCmd(ctx, b.argv(xs...)...)
	b.add(cmd)
	return cmd
}

func (b *cmdBuf) stringCmd(ctx context.Context, xs ...any) *redis.StringCmd {
	cmd := redis.NewStringCmd(ctx, b.argv(xs...)...)
	b.add(cmd)
	return cmd
}

// pipeline returns an empty pipeline of c, reused from the buffer's last
// use when it served the same client (Exec leaves a pipeline empty).
func (b *cmdBuf) pipeline(c redis.UniversalClient) redis.Pipeliner {
	if b.pipe == nil || b.client != c {
		b.client, b.pipe = c, c.Pipeline()
	}
	b.pipe.Discard()
	return b.pipe
}

// exec sends the queued commands in one pipeline.
func (b *cmdBuf) exec(ctx context.Context, c redis.UniversalClient) ([]redis.Cmder, error) {
	pipe := b.pipeline(c)
	_ = pipe.BatchProcess(ctx, b.cmds...) // only appends
	return pipe.Exec(ctx)
}

// perCounter returns b's per-counter slices sized n, zeroed.
func (b *cmdBuf) perCounter(n int) ([]*string, []*redis.IntCmd) {
	b.keys = append(b.keys[:0], make([]*string, n)...)
	b.zcounts = append(b.zcounts[:0], make([]*redis.IntCmd, n)...)
	return b.keys, b.zcounts
}
