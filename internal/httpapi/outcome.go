package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// outcomeResponse is the 200 body of POST /v1/risk/outcome.
type outcomeResponse struct {
	Recorded     bool   `json:"recorded"`
	EvaluationID string `json:"evaluation_id"`
	Outcome      string `json:"outcome"`
}

func (s *Server) outcome(c *fiber.Ctx) error {
	if err := checkEncoding(c); err != nil {
		return err
	}
	req, err := s.dec.DecodeOutcome(c.Request().Body())
	if err != nil {
		return err
	}
	if _, err := s.eng.RecordOutcome(c.UserContext(), req.EvaluationID, req.Outcome); err != nil {
		return s.engineError(err)
	}
	return writeJSON(c, http.StatusOK, outcomeResponse{Recorded: true, EvaluationID: req.EvaluationID, Outcome: string(req.Outcome)})
}
