package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// MinMetricsTokenLen is the shortest accepted MetricsConfig.Token: the
// route is not rate-limited, so the token must be unguessable on its own
// (`openssl rand -base64 32` gives 44 characters).
const MinMetricsTokenLen = 32

// MetricsConfig decides who may read /metrics. Its series name routes,
// rules, error codes, decision and failure rates and the backends in use:
// a map of the service and of its defences for whoever reaches the port,
// so production exposes it to the scraper only (docs/configuration.md).
type MetricsConfig struct {
	// Separate moves /metrics to the operations listener (OpsApp,
	// RISKAUTH_METRICS_ADDR in riskauthd), which serves /healthz and
	// /readyz too; the main listener then answers 404 on /metrics. Bind
	// that listener to an address only the scraper reaches.
	Separate bool
	// Token, when set, is a bearer token /metrics demands wherever it is
	// served ("Authorization: Bearer <token>"), compared in constant time;
	// at least MinMetricsTokenLen characters. It is kept as a SHA-256
	// digest and never logged.
	Token string
}

// errMetricsToken answers /metrics without the right token.
var errMetricsToken = apiErr(CodeUnauthorized, "a valid metrics token is required: Authorization: Bearer <token>")

// setupMetrics checks cfg and keeps the token's digest.
func (s *Server) setupMetrics(cfg MetricsConfig) error {
	s.metricsSeparate = cfg.Separate
	if cfg.Token == "" {
		return nil
	}
	if len(cfg.Token) < MinMetricsTokenLen || strings.ContainsFunc(cfg.Token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("httpapi: metrics token: want at least %d characters, no spaces or control characters", MinMetricsTokenLen)
	}
	sum := sha256.Sum256([]byte(cfg.Token))
	s.metricsToken = &sum
	return nil
}

// metricsAuth accepts a /metrics request when no token is configured or
// it presents the token. The digests are compared, so the time does not
// depend on where a wrong token differs or on its length.
func (s *Server) metricsAuth(c *fiber.Ctx) error {
	if s.metricsToken == nil {
		return nil
	}
	sum := sha256.Sum256(bearer(c))
	if subtle.ConstantTimeCompare(sum[:], s.metricsToken[:]) != 1 {
		return errMetricsToken
	}
	return nil
}

// withMetricsAuth puts metricsAuth in front of the metrics handler.
func (s *Server) withMetricsAuth(metrics fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.metricsAuth(c); err != nil {
			return err
		}
		return metrics(c)
	}
}

// newOpsApp builds the operations listener's app: /metrics (behind the
// token, when one is set), /healthz and /readyz, nothing else.
func (s *Server) newOpsApp(metrics fiber.Handler) *fiber.App {
	app := fiber.New(fiber.Config{
		ReadTimeout:           s.timeouts.read,
		WriteTimeout:          s.timeouts.write,
		IdleTimeout:           s.timeouts.idle,
		ErrorHandler:          s.serverError,
		DisableStartupMessage: true,
		Network:               fiber.NetworkTCP,
		AppName:               "riskauth-ops",
	})
	app.Use(s.observe, s.recoverPanic)
	for path, h := range map[string][]fiber.Handler{
		"/metrics": {s.withMetricsAuth(metrics)},
		"/healthz": {s.healthz},
		"/readyz":  {s.readyz},
	} {
		app.Add(http.MethodGet, path, h...)
		app.Add(http.MethodHead, path, h...)
	}
	return app
}

// The probes, served on the main listener and on the operations one.

func (s *Server) healthz(c *fiber.Ctx) error {
	return writeJSON(c, http.StatusOK, statusBody{Status: "ok"})
}

// statusBody is the body of /healthz and /readyz.
type statusBody struct {
	Status string `json:"status"`
	// Checks is /readyz's result per backend ("ok", "timeout", "error").
	Checks map[string]string `json:"checks,omitempty"`
}

// OpsApp returns the operations listener's app (/metrics, /healthz,
// /readyz), nil unless MetricsConfig.Separate is set.
func (s *Server) OpsApp() *fiber.App { return s.ops }

// ServeOps serves the operations routes on ln until Shutdown, as Serve
// does the API; it fails when MetricsConfig.Separate is not set.
func (s *Server) ServeOps(ln net.Listener) error {
	if s.ops == nil {
		_ = ln.Close()
		return errors.New("httpapi: no operations listener: MetricsConfig.Separate is not set")
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.opsLn = ln
	s.mu.Unlock()
	err := s.ops.Listener(ln)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	return err
}

// shutdownOps stops the operations listener, if any.
func (s *Server) shutdownOps(ctx context.Context) error {
	if s.ops == nil {
		return nil
	}
	s.mu.Lock()
	ln := s.opsLn
	s.mu.Unlock()
	err := s.ops.ShutdownWithContext(ctx)
	if ln != nil {
		_ = ln.Close()
	}
	return err
}
