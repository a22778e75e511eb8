package velocity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAnnotatePending checks, on every backend, that the matched rules the
// engine attaches after Load come back with the outcome (the Redis JSON
// round trip included), that the flow-outcome claim survives the rewrite,
// and that an unknown id is neither an error nor brought to life.
func TestAnnotatePending(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.open(t, Config{Counters: []engine.CounterSpec{counter("fails_user", engine.CountFailure, engine.KeyUser, "", 10*minute)}})
			a, ok := s.(engine.PendingAnnotator)
			require.True(t, ok, "every backend attaches matched rules")
			ctx := context.Background()
			t0 := base()
			k := engine.Keys{User: "rita", IP: "192.0.2.9"}
			_, id := load(t, s, "login", k, t0, engine.Place{Country: "SE"})

			// A flow outcome first: the annotation must not reset its claim.
			_, err := s.RecordOutcome(ctx, id, engine.OutcomeFailure, t0.Add(time.Second))
			require.NoError(t, err)
			ann := &engine.Pending{EvaluationID: id, Kind: "login", Keys: k, At: t0, Place: engine.Place{Country: "SE"}, RuleSetVersion: "v1",
				Rules: []string{"r-enforced", "r-two"}, ShadowRules: []string{"r-shadow"},
				CandidateVersion: "c0ffee", CandidateRules: []string{"c-rule"}}
			require.NoError(t, a.AnnotatePending(ctx, ann))

			pe, err := s.RecordOutcome(ctx, id, engine.OutcomeFraud, t0.Add(2*time.Second))
			require.NoError(t, err)
			assert.Equal(t, []string{"r-enforced", "r-two"}, pe.Rules)
			assert.Equal(t, []string{"r-shadow"}, pe.ShadowRules)
			assert.Equal(t, "c0ffee", pe.CandidateVersion)
			assert.Equal(t, []string{"c-rule"}, pe.CandidateRules)
			assert.Equal(t, "SE", pe.Place.Country)
			_, err = s.RecordOutcome(ctx, id, engine.OutcomeSuccess, t0.Add(3*time.Second))
			require.ErrorIs(t, err, engine.ErrOutcomeRecorded, "the claim survives the annotation")

			if b.redis != nil {
				ttl, err := b.redis(s).PTTL(ctx, s.(*Redis).pendingKey(id)).Result()
				require.NoError(t, err)
				assert.Greater(t, ttl, time.Duration(0), "the TTL is kept")
			}

			require.NoError(t, a.AnnotatePending(ctx, &engine.Pending{EvaluationID: "no-such-evaluation", Rules: []string{"x"}}))
			_, err = s.RecordOutcome(ctx, "no-such-evaluation", engine.OutcomeFraud, t0)
			require.ErrorIs(t, err, engine.ErrUnknownEvaluation)
		})
	}
}

// gateHook holds the first annotation pipeline (one of SETs) until
// released, so a test can pile annotations up behind a busy writer. It
// counts the SETs and pipelines it sees.
type gateHook struct {
	entered, release chan struct{}
	once             sync.Once
	mu               sync.Mutex
	sets             []int // per annotation pipeline, its number of SETs
}

func newGateHook() *gateHook {
	return &gateHook{entered: make(chan struct{}), release: make(chan struct{})}
}

func (h *gateHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *gateHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *gateHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) == 0 || cmds[0].Name() != "set" {
			return next(ctx, cmds)
		}
		h.mu.Lock()
		h.sets = append(h.sets, len(cmds))
		h.mu.Unlock()
		first := false
		h.once.Do(func() { first = true })
		if first {
			close(h.entered)
			<-h.release
		}
		return next(ctx, cmds)
	}
}

func (h *gateHook) counts() (pipelines, sets int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.sets {
		sets += n
	}
	return len(h.sets), sets
}

// annotateOne queues the annotation of a fresh pending evaluation with
// rules and returns its id.
func annotateOne(t testing.TB, s *Redis, rule string) string {
	t.Helper()
	_, id := load(t, s, "login", engine.Keys{User: "u-" + rule, IP: "192.0.2.7"}, base(), engine.Place{})
	require.NoError(t, s.AnnotatePending(context.Background(), &engine.Pending{EvaluationID: id, Kind: "login", RuleSetVersion: "v1", Rules: []string{rule}}))
	return id
}

// storedRules reads the rules stored with pending evaluation id, nil when
// the evaluation is gone.
func storedRules(t testing.TB, s *Redis, id string) []string {
	t.Helper()
	data, err := s.c.Get(context.Background(), s.pendingKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	require.NoError(t, err)
	var p engine.Pending
	require.NoError(t, json.Unmarshal(data, &p))
	return p.Rules
}

// flushAnnotations waits until every annotation queued so far is written.
func flushAnnotations(t testing.TB, s *Redis) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Patience)
	defer cancel()
	s.ann.wait(ctx)
	require.NoError(t, ctx.Err(), "annotations flushed in time")
}

// TestRedisAnnotateIsAsync checks that AnnotatePending sends nothing on
// the caller's goroutine, yet the rules arrive (with the TTL kept), and
// that an expired or consumed pending evaluation is not brought back.
func TestRedisAnnotateIsAsync(t *testing.T) {
	t.Parallel()
	c := redisStandalone(t)
	hook := &countingHook{}
	c.AddHook(hook)
	s := openRedis(t, c, Config{Counters: eightCounters})
	ctx := context.Background()
	_, id := load(t, s, "login", engine.Keys{User: "ann", IP: "192.0.2.1"}, base(), engine.Place{Country: "NL"})
	_, gone := load(t, s, "login", engine.Keys{User: "gone", IP: "192.0.2.1"}, base(), engine.Place{})
	require.NoError(t, c.Del(ctx, s.pendingKey(gone)).Err(), "as if expired")

	// The writer waits annotateLinger before it sends: were the write
	// synchronous, the hook would have seen it when AnnotatePending returns.
	hook.reset()
	require.NoError(t, s.AnnotatePending(ctx, &engine.Pending{EvaluationID: id, Kind: "login", Place: engine.Place{Country: "NL"}, Rules: []string{"r1"}}))
	require.NoError(t, s.AnnotatePending(ctx, &engine.Pending{EvaluationID: gone, Kind: "login", Rules: []string{"r1"}}))
	hook.mu.Lock()
	assert.Empty(t, hook.singles, "no single command from AnnotatePending")
	hook.mu.Unlock()

	flushAnnotations(t, s)
	assert.Equal(t, []string{"r1"}, storedRules(t, s, id), "the annotation arrives")
	hook.mu.Lock()
	require.NotEmpty(t, hook.pipelines)
	for _, p := range hook.pipelines {
		assert.Equal(t, slices.Repeat([]string{"set"}, len(p)), p, "annotation pipelines hold SETs only")
	}
	hook.mu.Unlock()
	ttl, err := c.PTTL(ctx, s.pendingKey(id)).Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, time.Duration(0), "the TTL is kept")
	n, err := c.Exists(ctx, s.pendingKey(gone)).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "an expired pending evaluation is not brought back")
	_, err = s.RecordOutcome(ctx, gone, engine.OutcomeFraud, base())
	require.ErrorIs(t, err, engine.ErrUnknownEvaluation)
}

// TestRedisAnnotateBatches piles annotations up behind a writer held in
// its first pipeline: they then go in full pipelines, not one each, and a
// nil reply (XX on a key that is not there) is no error.
func TestRedisAnnotateBatches(t *testing.T) {
	t.Parallel()
	c := redisStandalone(t)
	gate := newGateHook()
	c.AddHook(gate)
	reg := newTestRegistry(t)
	s := newTestRedis(t, c, Config{Counters: eightCounters, KeyPrefix: testPrefix(t)}, reg.metrics)
	ctx := context.Background()

	first := annotateOne(t, s, "r0")
	<-gate.entered
	const n = 600
	ids := make([]string, 0, n)
	for i := range n {
		if i%100 == 0 {
			ids = append(ids, annotateOne(t, s, fmt.Sprintf("r%d", i)))
			continue
		}
		require.NoError(t, s.AnnotatePending(ctx, &engine.Pending{EvaluationID: fmt.Sprintf("never-stored-%d", i), Rules: []string{"x"}}))
	}
	released := time.Now()
	close(gate.release)
	require.Eventually(t, func() bool { _, sets := gate.counts(); return sets == n+1 }, testenv.Patience, time.Millisecond)
	pipelines, _ := gate.counts()
	// 1 held, then 256 + 256 + 88. The writer cuts a batch short only when
	// annotateLinger passes while it gathers, which a descheduled writer on
	// a loaded machine sees: at most one more pipeline per linger that
	// passed meanwhile. (A fixed allowance of one such cut failed under
	// load.) Far fewer than one pipeline per annotation either way.
	cuts := int(time.Since(released) / annotateLinger)
	assert.LessOrEqual(t, pipelines, 1+(n+annotateBatch-1)/annotateBatch+cuts, "batched")
	assert.Less(t, pipelines, n/4, "far fewer pipelines than annotations")
	gate.mu.Lock()
	for _, k := range gate.sets {
		assert.LessOrEqual(t, k, annotateBatch)
	}
	gate.mu.Unlock()
	flushAnnotations(t, s)
	assert.Equal(t, []string{"r0"}, storedRules(t, s, first))
	for i, id := range ids {
		assert.Equal(t, []string{fmt.Sprintf("r%d", i*100)}, storedRules(t, s, id))
	}
	assert.Zero(t, reg.value(t, "riskauth_velocity_backend_errors_total", map[string]string{"backend": "redis", "op": "annotate"}))
	assert.Zero(t, reg.value(t, "riskauth_velocity_annotations_dropped_total", nil))
}

// TestRedisAnnotateQueueFull fills the queue behind a held writer: the
// overflow is dropped and counted, never blocks, never an error; Close
// then writes what was queued, stops the writer, and may be called again.
func TestRedisAnnotateQueueFull(t *testing.T) {
	t.Parallel()
	c := redisStandalone(t)
	gate := newGateHook()
	c.AddHook(gate)
	reg := newTestRegistry(t)
	s, err := NewRedis(c, Config{Counters: eightCounters, KeyPrefix: testPrefix(t)}, reg.metrics)
	require.NoError(t, err)
	ctx := context.Background()

	annotateOne(t, s, "held")
	<-gate.entered
	queued := annotateOne(t, s, "queued") // the queue's first
	for i := range annotateQueue - 1 {
		require.NoError(t, s.AnnotatePending(ctx, &engine.Pending{EvaluationID: fmt.Sprintf("fill-%d", i), Rules: []string{"x"}}))
	}
	const over = 10
	for i := range over {
		require.NoError(t, s.AnnotatePending(ctx, &engine.Pending{EvaluationID: fmt.Sprintf("over-%d", i), Rules: []string{"x"}}))
	}
	assert.Equal(t, float64(over), reg.value(t, "riskauth_velocity_annotations_dropped_total", nil))
	close(gate.release)

	require.NoError(t, s.Close(), "Close writes the queue")
	_, sets := gate.counts()
	assert.Equal(t, 1+annotateQueue, sets)
	assert.Equal(t, []string{"queued"}, storedRules(t, s, queued))
	select {
	case <-s.ann.done:
	default:
		t.Fatal("the writer goroutine is still running after Close")
	}
	require.NoError(t, s.Close(), "a second Close")
	err = s.AnnotatePending(ctx, &engine.Pending{EvaluationID: queued, Rules: []string{"late"}})
	require.ErrorIs(t, err, ErrClosed)
	assert.Equal(t, []string{"queued"}, storedRules(t, s, queued))
}

// TestRedisAnnotateFailures checks that failed writes are counted per
// annotation, logged at most once per annotateLogEvery, and never block a
// label (which waits for the queue) for long.
func TestRedisAnnotateFailures(t *testing.T) {
	t.Parallel()
	// Nothing listens on this port: every write fails fast.
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	reg := newTestRegistry(t)
	var logs syncBuffer
	s, err := newRedis(c, Config{Counters: eightCounters}, reg.metrics, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	ctx := context.Background()
	start := time.Now()
	for round := range 3 {
		for i := range 5 {
			require.NoError(t, s.AnnotatePending(ctx, &engine.Pending{EvaluationID: fmt.Sprintf("e-%d-%d", round, i), Rules: []string{"x"}}))
		}
		flushAnnotations(t, s)
	}
	assert.Equal(t, 15.0, reg.value(t, "riskauth_velocity_backend_errors_total", map[string]string{"backend": "redis", "op": "annotate"}))
	// The first failure is logged at once, the rest wait for the next line,
	// at most one per annotateLogEvery (10s): on a quiet machine the three
	// rounds take milliseconds and make one line. The bound follows the
	// time they took, so that a machine slow enough to spread them over
	// more than annotateLogEvery does not fail the test.
	lines := strings.Count(logs.String(), "matched rules not attached")
	assert.GreaterOrEqual(t, lines, 1, logs.String())
	assert.LessOrEqual(t, lines, 1+int(time.Since(start)/annotateLogEvery), "one line per %s: %s", annotateLogEvery, logs.String())
	require.NoError(t, s.Close())
	// Close logs what failed since the last line: every failure is in
	// exactly one line.
	assert.Equal(t, 15, loggedFailures(t, logs.String()), logs.String())
	assert.NotContains(t, logs.String(), "e-0-0", "no evaluation id in the log")
}

// loggedFailures sums the failed=N fields of the writer's log lines.
func loggedFailures(t *testing.T, logs string) int {
	t.Helper()
	sum := 0
	for _, m := range regexp.MustCompile(`matched rules not attached.* failed=(\d+)`).FindAllStringSubmatch(logs, -1) {
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		sum += n
	}
	return sum
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type noDevices struct{}

func (noDevices) Identify(*engine.DeviceDescriptor, string) engine.DeviceInfo {
	return engine.DeviceInfo{}
}

// ctxMark marks the request's context, to tell the round trips made for
// an evaluation (whatever goroutine the engine runs them on) from the
// annotation writer's.
type ctxMark struct{}

// markHook counts pipelines and single commands sent under a marked
// context apart from the others (connection handshakes aside).
type markHook struct {
	mu                       sync.Mutex
	marked, others, otherSet int
}

func (h *markHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *markHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.count(ctx, []redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

func (h *markHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.count(ctx, cmds)
		return next(ctx, cmds)
	}
}

func (h *markHook) count(ctx context.Context, cmds []redis.Cmder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if name := cmds[0].Name(); name == "hello" || name == "client" {
		// A connection handshake: the pool grows (the writer holds a
		// connection at times), once, not per evaluation.
		return
	}
	if ctx.Value(ctxMark{}) != nil {
		h.marked++
		return
	}
	h.others++
	for _, c := range cmds {
		if c.Name() == "set" {
			h.otherSet++
		}
	}
}

func (h *markHook) reset() {
	h.mu.Lock()
	h.marked, h.others, h.otherSet = 0, 0, 0
	h.mu.Unlock()
}

// TestRedisEvaluateIsOneRoundTrip runs the engine on Redis with a rule
// that always matches (issue 2): each evaluation makes exactly one round
// trip for its request, the Load pipeline; the matched rules reach the
// pending evaluations through the writer's pipelines, and a label gets
// them back.
func TestRedisEvaluateIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range redisTopologies {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tc.client(t)
			hook := &markHook{}
			c.AddHook(hook)
			counters := engine.DefaultCounters()
			s := openRedis(t, c, Config{Counters: counters})
			schema, err := rules.NewSchema(engine.CounterNames(counters))
			require.NoError(t, err)
			path := filepath.Join(t.TempDir(), "rules.yaml")
			require.NoError(t, os.WriteFile(path, []byte("version: 1\nthresholds: {step_up: 40, block: 80}\nrules:\n"+
				"  - id: always\n    description: matches every event\n    when: \"true\"\n    score: 10\n"), 0o644))
			src, err := rules.NewSource(rules.SourceConfig{Path: path, Schema: schema})
			require.NoError(t, err)
			e, err := engine.New(engine.Config{Deadline: testenv.Budget}, engine.Deps{Rules: src, State: s, Devices: noDevices{}, Counters: counters})
			require.NoError(t, err)

			ctx := context.WithValue(context.Background(), ctxMark{}, true)
			ev := func(i int) engine.Event {
				return engine.Event{Kind: engine.KindLogin, UserID: fmt.Sprintf("user-%d", i), IP: netip.MustParseAddr("192.0.2.10")}
			}
			// Warm up: connections and (cluster) slot map.
			_, err = e.Evaluate(ctx, ev(-1))
			require.NoError(t, err)
			flushAnnotations(t, s)
			hook.reset()
			const n = 20
			ids := make([]string, n)
			for i := range n {
				d, err := e.Evaluate(ctx, ev(i))
				require.NoError(t, err)
				require.False(t, d.Floored, "velocity available")
				require.Equal(t, []string{"always"}, reasonIDs(d))
				ids[i] = d.EvaluationID
			}
			hook.mu.Lock()
			assert.Equal(t, n, hook.marked, "round trips for the evaluations: one Load pipeline each")
			hook.mu.Unlock()
			flushAnnotations(t, s)
			hook.mu.Lock()
			assert.Equal(t, n, hook.otherSet, "the annotations, written in the background")
			assert.LessOrEqual(t, hook.others, n, "at most one pipeline per annotation (TestRedisAnnotateBatches checks the batching)")
			hook.mu.Unlock()
			for _, id := range ids {
				p, err := e.RecordOutcome(context.Background(), id, engine.OutcomeFraud)
				require.NoError(t, err)
				assert.Equal(t, []string{"always"}, p.Rules)
			}
		})
	}
}

func reasonIDs(d *engine.Decision) []string {
	var out []string
	for _, r := range d.Reasons {
		out = append(out, r.Rule)
	}
	return out
}
