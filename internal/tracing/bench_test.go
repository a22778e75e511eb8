package tracing

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/store"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/signals/standard"
)

// BenchmarkEvaluate is the cost of tracing an evaluation: "off" is the
// engine as riskauthd calls it without an OTLP endpoint (nothing wraps
// it), "on" the traced engine sampling and recording every span through
// the SDK's batcher, as riskauthd exports them, to an exporter that drops
// them (the network is not the engine's cost).
//
//	go test ./internal/tracing -run '^$' -bench Evaluate -benchmem -count 6
func BenchmarkEvaluate(b *testing.B) {
	eng, err := standard.New(standard.Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	ev := engine.Event{Kind: engine.KindLogin, UserID: "alice", IP: netip.MustParseAddr("192.0.2.1"),
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}
	ctx := context.Background()
	run := func(b *testing.B, evaluate func(context.Context, engine.Event) (*engine.Decision, error)) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := evaluate(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("off", func(b *testing.B) { run(b, eng.Engine.Evaluate) })
	b.Run("on", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))
		defer func() { _ = tp.Shutdown(ctx) }()
		t := &Tracing{provider: tp, tracer: tp.Tracer(instrumentation)}
		run(b, t.WrapEngine(eng.Engine).Evaluate)
	})
}

// discard is a span exporter that drops what it is given.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkStoreCall is the cost of a traced account-store call: one
// indexed read (UserByEmail, found) on SQLite, untraced ("off": the store
// as riskauthd uses it without an OTLP endpoint, nothing wraps it) and
// through Store inside a recording request span ("on").
//
//	go test ./internal/tracing -run '^$' -bench StoreCall -benchmem -count 6
func BenchmarkStoreCall(b *testing.B) {
	ctx := context.Background()
	lite, err := store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "a.db"), store.SQLiteOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer lite.Close()
	now := time.Unix(1_800_000_000, 0)
	if err := lite.CreateUser(ctx, authn.User{ID: "u1", Email: "bench@example.com", CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, ctx context.Context, s interface {
		UserByEmail(context.Context, string) (authn.User, error)
	}) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.UserByEmail(ctx, "bench@example.com"); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("off", func(b *testing.B) { run(b, ctx, lite) })
	b.Run("on", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))
		defer func() { _ = tp.Shutdown(ctx) }()
		t := &Tracing{provider: tp, tracer: tp.Tracer(instrumentation)}
		rctx, span := tp.Tracer("bench").Start(ctx, "request")
		defer span.End()
		run(b, rctx, t.WrapStore(lite, SystemSQLite))
	})
}
