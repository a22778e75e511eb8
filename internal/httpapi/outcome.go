package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fastjson"

	"github.com/riskauth/riskauth/engine"
)

// outcomeRequest is the body of POST /v1/risk/outcome.
type outcomeRequest struct {
	EvaluationID string `json:"evaluation_id"`
	Outcome      string `json:"outcome"`
}

// outcomeResponse is its 200 body.
type outcomeResponse struct {
	Recorded     bool   `json:"recorded"`
	EvaluationID string `json:"evaluation_id"`
	Outcome      string `json:"outcome"`
}

func decodeOutcome(pp *fastjson.ParserPool, body []byte) (outcomeRequest, *Error) {
	var req outcomeRequest
	fs, perr := parseObject(pp, body, func(o *fastjson.Object, fs *fieldErrors) {
		if o == nil {
			return
		}
		o.Visit(func(k []byte, v *fastjson.Value) {
			switch string(k) {
			case "evaluation_id":
				req.EvaluationID = fs.str("evaluation_id", v)
			case "outcome":
				req.Outcome = fs.str("outcome", v)
			}
		})
	})
	if perr != nil {
		return req, perr
	}
	if req.EvaluationID == "" {
		fs.add("evaluation_id", "required")
	}
	fs.checkString("evaluation_id", req.EvaluationID, engine.MaxIDLen)
	switch {
	case req.Outcome == "":
		fs.add("outcome", "required")
	case !engine.Outcome(req.Outcome).Valid():
		fs.add("outcome", "want success, failure, step_up_passed, step_up_failed, fraud or legit")
	}
	if len(fs) > 0 {
		return req, invalid(fs)
	}
	return req, nil
}

func (s *Server) outcome(c *fiber.Ctx) error {
	if err := checkEncoding(c); err != nil {
		return err
	}
	req, aerr := decodeOutcome(&s.parsers, c.Request().Body())
	if aerr != nil {
		return aerr
	}
	if _, err := s.eng.RecordOutcome(c.UserContext(), req.EvaluationID, engine.Outcome(req.Outcome)); err != nil {
		return s.engineError(err)
	}
	return writeJSON(c, http.StatusOK, outcomeResponse{Recorded: true, EvaluationID: req.EvaluationID, Outcome: req.Outcome})
}
