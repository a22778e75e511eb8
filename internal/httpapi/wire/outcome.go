package wire

import (
	"github.com/valyala/fastjson"

	"github.com/riskauth/riskauth/engine"
)

// Outcome is a decoded body of POST /v1/risk/outcome.
type Outcome struct {
	// EvaluationID names the evaluation the outcome is for (at most
	// engine.MaxIDLen bytes).
	EvaluationID string
	// Outcome is what happened; always one of engine's outcomes.
	Outcome engine.Outcome
}

// DecodeOutcome decodes and validates the body of POST /v1/risk/outcome,
// reporting every problem at once in one *Error.
func (d *Decoder) DecodeOutcome(body []byte) (Outcome, error) {
	var evaluationID, outcome string
	fs, perr := parseObject(&d.parsers, body, func(o *fastjson.Object, fs *fieldErrors) {
		if o == nil {
			return
		}
		o.Visit(func(k []byte, v *fastjson.Value) {
			switch string(k) {
			case "evaluation_id":
				evaluationID = fs.str("evaluation_id", v)
			case "outcome":
				outcome = fs.str("outcome", v)
			}
		})
	})
	if perr != nil {
		return Outcome{}, perr
	}
	if evaluationID == "" {
		fs.add("evaluation_id", "required")
	}
	fs.checkString("evaluation_id", evaluationID, engine.MaxIDLen)
	switch {
	case outcome == "":
		fs.add("outcome", "required")
	case !engine.Outcome(outcome).Valid():
		fs.add("outcome", "want success, failure, step_up_passed, step_up_failed, fraud or legit")
	}
	if len(fs) > 0 {
		return Outcome{}, invalid(fs)
	}
	return Outcome{EvaluationID: evaluationID, Outcome: engine.Outcome(outcome)}, nil
}
