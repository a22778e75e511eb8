package engine

import (
	"context"

	"github.com/google/uuid"
)

// RecordOutcome reports what happened after a decision, so that counters
// and the user's profile learn. See StateStore.RecordOutcome for errors.
func (e *Engine) RecordOutcome(ctx context.Context, evaluationID string, o Outcome) (*Pending, error) {
	if !o.Valid() {
		return nil, &ValidationError{Fields: []FieldError{{Field: "outcome", Message: "want success, failure, step_up_passed, step_up_failed, fraud or legit"}}}
	}
	if _, err := uuid.Parse(evaluationID); err != nil {
		return nil, ErrUnknownEvaluation
	}
	p, err := e.state.RecordOutcome(ctx, evaluationID, o, e.clock.Now())
	if err == nil && e.fam != nil {
		e.fam.observe(p, o)
	}
	if e.m != nil {
		e.m.outcome(o, err)
		if err == nil && o.Label() {
			e.m.ruleFeedback(p, o, e.rules.Current(), e.rules.Candidate())
		}
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// annotate attaches the matched rules to the stored pending evaluation,
// for outcome attribution. It runs only when a rule matched; a failure
// costs the attribution of this one evaluation, never the decision. No
// timeout of its own: both stores return at once (memory updates in
// place, Redis queues the write for a background pipeline), and a timer
// per evaluation would cost more than the call.
func (e *Engine) annotate(ctx context.Context, p *Pending) {
	a, ok := e.state.(PendingAnnotator)
	if !ok {
		return
	}
	if err := a.AnnotatePending(ctx, p); err != nil {
		e.log.Warn("matched rules not attached to the pending evaluation", "evaluation_id", p.EvaluationID, "err", err)
	}
}
