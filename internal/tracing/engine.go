package tracing

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/riskauth/riskauth/engine"
)

// Engine is the risk engine with a span per evaluation and a child span
// per signal. It embeds the engine, so it is what the HTTP layer and authn
// are given in its place when tracing is on; every other method is the
// engine's own.
//
// The signal spans are drawn from the decision's per-signal timings after
// the evaluation (Decision.Signals), not from inside the engine: each
// starts with the evaluation and lasts the signal's measured time, and
// the engine's hot path stays free of tracing code.
type Engine struct {
	*engine.Engine
	tracer trace.Tracer
	now    func() time.Time
}

// WrapEngine returns e traced with t's tracer.
func (t *Tracing) WrapEngine(e *engine.Engine) *Engine {
	return &Engine{Engine: e, tracer: t.tracer, now: time.Now}
}

// Evaluate runs the engine's evaluation inside a span named
// "riskauth.evaluate".
func (e *Engine) Evaluate(ctx context.Context, ev engine.Event) (*engine.Decision, error) {
	start := e.now()
	ctx, span := e.tracer.Start(ctx, "riskauth.evaluate", trace.WithTimestamp(start),
		trace.WithAttributes(attribute.String("riskauth.event", ev.Kind)))
	defer span.End()
	d, err := e.Engine.Evaluate(ctx, ev)
	if !span.IsRecording() { // not sampled: nothing would be kept
		return d, err
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "evaluation failed")
		return d, err
	}
	reasons := make([]string, len(d.Reasons))
	for i, r := range d.Reasons {
		reasons[i] = r.Rule
	}
	span.SetAttributes(
		attribute.String("riskauth.evaluation_id", d.EvaluationID),
		attribute.String("riskauth.decision", d.Action.String()),
		attribute.Float64("riskauth.score", d.Score),
		attribute.String("riskauth.ruleset", d.RuleSetVersion),
		attribute.StringSlice("riskauth.reasons", reasons),
	)
	for _, s := range d.Signals {
		_, ss := e.tracer.Start(ctx, "riskauth.signal "+s.Name, trace.WithTimestamp(start),
			trace.WithAttributes(attribute.String("riskauth.signal", s.Name), attribute.Bool("riskauth.available", s.Available)))
		if !s.Available {
			ss.SetStatus(codes.Error, s.Error)
		}
		ss.End(trace.WithTimestamp(start.Add(time.Duration(s.Millis * float64(time.Millisecond)))))
	}
	return d, nil
}
