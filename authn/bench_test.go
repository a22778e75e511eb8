package authn_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/password"
)

// BenchmarkLoginBlocked is a blocked sign-in end to end through the
// service: user lookup, risk evaluation, outcome, generic refusal — and no
// argon2id. Target: ≤ 100 µs CPU per attempt.
func BenchmarkLoginBlocked(b *testing.B) { benchLoginBlocked(b, nil) }

// BenchmarkLoginBlockedTraced is BenchmarkLoginBlocked inside a recording
// request span, as riskauthd runs it with tracing on and sampling every
// request: the step spans (identify, evaluate) are recorded and exported
// through the SDK's batcher to an exporter that drops them. The account
// store and the engine are not wrapped here (their spans are
// internal/tracing's cost, BenchmarkEvaluate).
func BenchmarkLoginBlockedTraced(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tracer := tp.Tracer("bench")
	benchLoginBlocked(b, func(ctx context.Context) (context.Context, trace.Span) { return tracer.Start(ctx, "POST /v1/login") })
}

// benchLoginBlocked runs blocked sign-ins, each inside the span request
// starts when it is not nil.
func benchLoginBlocked(b *testing.B, request func(context.Context) (context.Context, trace.Span)) {
	f := newFixture(b, fixtureOpts{})
	ctx := b.Context()
	attacker := client("203.0.113.7", "stuffing-tool")
	for i := range 25 {
		_, _ = f.svc.Login(ctx, authn.LoginRequest{Identifier: fmt.Sprintf("victim%d@example.com", i), Password: "guess guess guess", Client: attacker})
	}
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprintf("target%d@example.com", i)
	}
	h := f.hashes(b)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		rctx, span := ctx, trace.SpanFromContext(ctx)
		if request != nil {
			rctx, span = request(ctx)
		}
		_, err := f.svc.Login(rctx, authn.LoginRequest{Identifier: ids[i%len(ids)], Password: "guess guess guess", Client: attacker})
		span.End()
		if authn.CodeOf(err) != authn.CodeLoginFailed {
			b.Fatalf("want login_failed, got %v", err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/op")
	if f.hashes(b) != h {
		b.Fatal("a blocked attempt hashed")
	}
}

// discard is a span exporter that drops what it is given.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkLoginPassword is a successful password sign-in at the default
// argon2id parameters (m=19 MiB, t=2), without and with the self-service
// stores a completed sign-in writes (its device and activity entry,
// issue 19): run with -count, the two alternate.
func BenchmarkLoginPassword(b *testing.B) {
	for _, c := range []struct {
		name    string
		off     bool
		privacy bool
	}{{"activity=off", true, false}, {"activity=on", false, false}, {"activity=on,privacy=on", false, true}} {
		b.Run(c.name, func(b *testing.B) {
			// privacy=on: the sign-in also withdraws a pending erasure
			// request (one more write, erasure.go).
			f := newFixture(b, fixtureOpts{params: password.DefaultParams(), noSelfService: c.off, privacy: c.privacy})
			f.register(b, "bench@example.com")
			b.ReportAllocs()
			for b.Loop() {
				f.clock.Advance(3 * time.Second) // stay under the per-IP burst rule
				res := f.login(b, "bench@example.com", home)
				if res.Status != authn.LoginAuthenticated {
					b.Fatalf("status %s", res.Status)
				}
			}
		})
	}
}
