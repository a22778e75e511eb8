package velocity

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/riskauth/riskauth/engine"
)

// TestRedisLoadSpan checks the client span of Load's round trip inside a
// traced evaluation: a child of the evaluation's span naming redis and the
// number of commands the pipeline carried (what the hook saw), with no
// key or value; a failed round trip is an error span with its kind; and
// without a recording span there is no span at all.
func TestRedisLoadSpan(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	keys := engine.Keys{User: "secret-user", IP: "192.0.2.9", Subnet: "192.0.2.0/24", Device: "dev-secret"}
	loadIn := func(ctx context.Context, s *Redis) error {
		_, err := s.Load(ctx, &engine.LoadRequest{Kind: "login", Keys: keys, At: base(),
			Pending: &engine.Pending{EvaluationID: "ev-span", Kind: "login", Keys: keys, At: base(), RuleSetVersion: "v1"}})
		return err
	}
	attrs := func(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
		m := map[attribute.Key]attribute.Value{}
		for _, a := range s.Attributes() {
			m[a.Key] = a.Value
		}
		return m
	}

	t.Run("round trip", func(t *testing.T) {
		c := redisStandalone(t)
		s := openRedis(t, c, Config{Counters: eightCounters})
		hook := &countingHook{}
		c.AddHook(hook)
		require.NoError(t, loadIn(context.Background(), s), "untraced")
		hook.reset()
		ctx, parent := tp.Tracer("test").Start(context.Background(), "riskauth.evaluate")
		require.NoError(t, loadIn(ctx, s))
		parent.End()

		var loads []sdktrace.ReadOnlySpan
		for _, sp := range rec.Ended() {
			if sp.Name() == "Load" && sp.Parent().TraceID() == parent.SpanContext().TraceID() {
				loads = append(loads, sp)
			}
		}
		require.Len(t, loads, 1, "one span, for the traced load only")
		sp := loads[0]
		assert.Equal(t, parent.SpanContext().SpanID(), sp.Parent().SpanID())
		assert.Equal(t, trace.SpanKindClient, sp.SpanKind())
		a := attrs(sp)
		assert.Equal(t, "redis", a["db.system.name"].AsString())
		hook.mu.Lock()
		var sent []int // the Load pipelines (the familiarity refresh may send its own)
		for _, p := range hook.pipelines {
			if slices.Contains(p, "zcount") {
				sent = append(sent, len(p))
			}
		}
		hook.mu.Unlock()
		require.Len(t, sent, 1)
		assert.Equal(t, int64(sent[0]), a["db.operation.batch.size"].AsInt64(), "the commands sent")
		assert.Equal(t, codes.Unset, sp.Status().Code)
		for k, v := range a {
			for _, secret := range []string{"secret-user", "192.0.2.9", "dev-secret"} {
				assert.NotContains(t, v.String(), secret, "attribute %s", k)
			}
		}
	})

	t.Run("failure", func(t *testing.T) {
		// Nothing listens on this port: the round trip fails at once.
		c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
		defer c.Close()
		s := newTestRedis(t, c, Config{Counters: eightCounters}, nil)
		ctx, parent := tp.Tracer("test").Start(context.Background(), "riskauth.evaluate")
		require.Error(t, loadIn(ctx, s))
		parent.End()
		for _, sp := range rec.Ended() {
			if sp.Name() == "Load" && sp.Parent().SpanID() == parent.SpanContext().SpanID() {
				assert.Equal(t, codes.Error, sp.Status().Code)
				assert.Equal(t, "down", attrs(sp)["error.type"].AsString())
				return
			}
		}
		t.Fatal("no span for the failed load")
	})
}
