package authn

import (
	"context"
	"errors"
	"log/slog"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// event builds an engine event for the client; the password is added by
// the caller only where a password is being checked.
func (s *core) event(kind string, u *User, identifier string, c Client) engine.Event {
	ev := engine.Event{Kind: kind, IP: c.IP, UserAgent: c.UserAgent, Device: c.Device,
		Attributes: c.Attributes, JA4: c.JA4, Time: s.clock.Now()}
	if u != nil {
		ev.UserID = u.ID
	} else {
		ev.Identifier = identifier
	}
	return ev
}

func (s *core) evaluate(ctx context.Context, ev engine.Event) (*engine.Decision, error) {
	sctx, span := startStep(ctx, spanEvaluate)
	d, err := s.risk.Evaluate(sctx, ev)
	if span.IsRecording() {
		span.SetAttributes(attrEvent.String(ev.Kind))
		if err == nil {
			span.SetAttributes(attrDecision.String(d.Action.String()))
		}
	}
	endStep(span, err)
	if err != nil {
		var ve *engine.ValidationError
		if errors.As(err, &ve) {
			return nil, &Error{Code: CodeInvalidRequest, Message: "the request has an invalid field", Err: err}
		}
		return nil, err
	}
	if s.log.Enabled(ctx, slog.LevelDebug) {
		rs := make([]string, len(d.Reasons))
		for i, r := range d.Reasons {
			rs[i] = r.Rule
		}
		s.log.Debug("risk decision", "kind", ev.Kind, "user_id", ev.UserID, "evaluation_id", d.EvaluationID,
			"decision", d.Action.String(), "score", d.Score, "reasons", rs)
	}
	return d, nil
}

// outcome reports a flow result to the engine. It never fails the flow:
// an expired evaluation or a second report only costs the engine one data
// point.
func (s *core) outcome(ctx context.Context, evaluationID string, o engine.Outcome) *engine.Pending {
	if evaluationID == "" {
		return nil
	}
	p, err := s.risk.RecordOutcome(ctx, evaluationID, o)
	if err != nil {
		lvl := slog.LevelWarn
		if errors.Is(err, engine.ErrOutcomeRecorded) {
			lvl = slog.LevelDebug
		}
		s.log.Log(ctx, lvl, "risk outcome not recorded", "evaluation_id", evaluationID, "outcome", string(o), "err", err)
		return nil
	}
	return p
}

// evaluateLogin evaluates a sign-in step; a block is the flow's failure
// outcome and the generic refusal, before any factor is checked.
func (s *core) evaluateLogin(ctx context.Context, ev engine.Event) (*engine.Decision, error) {
	d, err := s.evaluate(ctx, ev)
	if err != nil {
		return nil, err
	}
	if d.Action == risk.Block {
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		s.auditBlocked(ev, d.EvaluationID)
		return nil, errLoginFailed()
	}
	return d, nil
}
