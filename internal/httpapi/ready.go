package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/internal/leaf/backend"
)

// ReadyCheck is one backend /readyz asks: the account store, the state
// store (Redis or memory), whatever else the instance cannot serve
// without.
type ReadyCheck struct {
	// Name appears in /readyz's body and log line ("accounts", "state").
	Name string
	// Check returns nil when the backend answers. It gets a context with
	// the readiness deadline; /readyz answers at that deadline whether or
	// not Check has returned.
	Check func(ctx context.Context) error
}

// readyChecks are the configured checks, or the engine's state store.
func readyChecks(deps Deps) []ReadyCheck {
	if len(deps.ReadyChecks) > 0 {
		return slices.Clone(deps.ReadyChecks)
	}
	return []ReadyCheck{{Name: "state", Check: deps.Engine.Ready}}
}

// Results of one check in /readyz's body.
const (
	checkOK      = "ok"
	checkTimeout = "timeout"
	checkError   = "error"
)

// readyz asks every backend at once, each under the readiness deadline,
// and answers by that deadline: a hung backend (a frozen Redis or
// PostgreSQL, whose driver may wait far longer than asked) makes the
// instance not ready, it does not make the probe hang. A check still
// running at the deadline is abandoned; it ends when its driver gives up.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), s.readyTimeout)
	defer cancel()
	type result struct {
		i   int
		err error
	}
	done := make(chan result, len(s.checks))
	for i, ch := range s.checks {
		go func() { done <- result{i, ch.Check(ctx)} }()
	}
	errs := make([]error, len(s.checks))
	got := make([]bool, len(s.checks))
wait:
	for range s.checks {
		select {
		case r := <-done:
			errs[r.i], got[r.i] = r.err, true
		case <-ctx.Done():
			break wait
		}
	}
	checks := make(map[string]string, len(s.checks))
	var failed []string
	for i, ch := range s.checks {
		res := checkOK
		switch {
		case !got[i]:
			res = checkTimeout
		case errs[i] != nil:
			res = checkError
			if kind, ok := backend.Network(errs[i]); ok && kind == backend.KindTimeout {
				res = checkTimeout // the driver's own timeout, or the deadline
			} else if be, ok := backend.As(errs[i]); ok && be.Kind == backend.KindTimeout {
				res = checkTimeout
			}
		}
		checks[ch.Name] = res
		if res != checkOK {
			failed = append(failed, ch.Name+" ("+res+")")
			s.log.Warn("not ready", "backend", ch.Name, "result", res, "err", errs[i])
		}
	}
	if len(failed) > 0 {
		return &Error{Code: CodeNotReady, Message: "not ready: " + strings.Join(failed, ", "),
			RetryAfter: time.Second}
	}
	return writeJSON(c, http.StatusOK, statusBody{Status: "ready", Checks: checks})
}
