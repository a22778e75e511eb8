package httpapi

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/internal/leaf/backend"
)

// The risk API: server-to-server calls from backends that hold an API key.
// POST /v1/risk/evaluate scores a sign-in event, POST /v1/risk/outcome
// feeds back what happened, and GET /v1/breached/range/{prefix} serves
// the breached-password corpus as a k-anonymity range API. The bodies are
// decoded and the decision rendered by package wire, on the hot path
// without reflection.

// RiskEngine is what the risk API needs from the risk engine;
// *engine.Engine implements it.
type RiskEngine interface {
	Evaluate(ctx context.Context, ev engine.Event) (*engine.Decision, error)
	RecordOutcome(ctx context.Context, evaluationID string, o engine.Outcome) (*engine.Pending, error)
}

// bufPool recycles evaluate response buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// breachedRange serves h (the range API over a local corpus table) behind
// the API keys; nil answers 503.
func breachedRange(h http.Handler) fiber.Handler {
	if h == nil {
		return func(*fiber.Ctx) error {
			return apiErr(CodeUnavailable, "no breached-password corpus table is configured on this server")
		}
	}
	return adaptor.HTTPHandler(h)
}

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
	d, err := s.risk.Evaluate(c.UserContext(), ev)
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
	if errors.Is(err, backend.ErrUnavailable) {
		return err // renderError logs it with its backend and kind
	}
	// The engine fails only when its state store does (Redis).
	s.log.Warn("engine call failed", "err", err)
	return &Error{Code: CodeUnavailable, Message: "a backend failed; retry later", RetryAfter: BackendRetryAfter}
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
	if _, err := s.risk.RecordOutcome(c.UserContext(), req.EvaluationID, req.Outcome); err != nil {
		return s.engineError(err)
	}
	return writeJSON(c, http.StatusOK, outcomeResponse{Recorded: true, EvaluationID: req.EvaluationID, Outcome: string(req.Outcome)})
}
