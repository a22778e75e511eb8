package httpapi

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/engine"
)

// bufPool recycles evaluate response buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (s *Server) evaluate(c *fiber.Ctx) error {
	if err := checkEncoding(c); err != nil {
		return err
	}
	ev, err := s.dec.DecodeEvaluate(c.Request().Body())
	if err != nil {
		return err
	}
	if !ev.IP.IsValid() {
		ev.IP = s.clientIP(c)
	}
	d, err := s.eng.Evaluate(c.UserContext(), ev)
	if err != nil {
		return s.engineError(err)
	}
	bp := bufPool.Get().(*[]byte)
	*bp = s.enc.AppendDecision((*bp)[:0], d)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Status(http.StatusOK).Response().SetBody(*bp)
	if cap(*bp) <= 64<<10 {
		bufPool.Put(bp)
	}
	return nil
}

// engineError maps an engine error to an API error.
func (s *Server) engineError(err error) error {
	var ve *engine.ValidationError
	switch {
	case errors.As(err, &ve):
		return invalid(ve.Fields)
	case errors.Is(err, engine.ErrUnknownEvaluation):
		return apiErr(CodeUnknownEvaluation, "unknown or expired evaluation id")
	case errors.Is(err, engine.ErrOutcomeRecorded):
		return apiErr(CodeOutcomeRecorded, "an outcome was already recorded for this evaluation")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apiErr(CodeUnavailable, "the request was cancelled or timed out")
	}
	s.log.Error("engine call failed", "err", err)
	return apiErr(CodeUnavailable, "a backend failed; retry later")
}

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
