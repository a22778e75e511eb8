package tracing

import (
	"context"
	"net/netip"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

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
