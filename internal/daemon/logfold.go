package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/internal/leaf/logfold"
)

// foldLog wraps log so that repeated warnings and errors of one kind (a
// backend down: every request meets it) are written once per
// logfold.DefaultInterval, then counted (issue 18: 16,018 ERROR lines in
// 10 s with PostgreSQL down). The counts are flushed every interval until
// ctx ends. Folding runs on the system clock even when Build is given a
// virtual one (WithClock): log lines are read in wall time, and a virtual
// clock that stands still would fold a test's warnings forever.
func foldLog(ctx context.Context, log *slog.Logger) *slog.Logger {
	h := logfold.New(log.Handler(), logfold.Options{Now: clock.System{}.Now})
	go func() {
		t := time.NewTicker(logfold.DefaultInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				_ = h.Flush(context.Background())
				return
			case <-t.C:
				_ = h.Flush(context.Background())
			}
		}
	}()
	return slog.New(h)
}
