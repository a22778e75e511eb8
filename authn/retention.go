package authn

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskauth/riskauth/engine/clock"
)

// Retention is the background job that deletes activity entries past
// AccountConfig.ActivityRetention, in bounded batches, and (RunAll)
// abandoned registrations, expired sessions, tokens and flows, and old
// sign-in attempts. Several instances
// may run it: the store lets one at a time do the work (a PostgreSQL
// advisory lock; SQLite is one process's), and the others skip the
// round. Its work is a metric.
type Retention struct {
	store ActivityStore
	keep  time.Duration
	// unverified is AccountConfig.UnverifiedRetention.
	unverified time.Duration
	clock      clock.Clock
	log        *slog.Logger
	deleted    *prometheus.CounterVec
	runs       *prometheus.CounterVec
}

// retentionBatch bounds one delete statement, so that a large backlog
// never holds a long transaction.
const retentionBatch = 1000

// NewRetention builds the job for cfg's retention over st; reg receives
// riskauth_authn_retention_deleted_total and _runs_total. log and clk
// may be nil.
func NewRetention(cfg AccountConfig, st ActivityStore, clk clock.Clock, log *slog.Logger, reg prometheus.Registerer) *Retention {
	cfg.SetDefaults()
	if clk == nil {
		clk = clock.System{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Retention{store: st, keep: cfg.ActivityRetention, unverified: cfg.UnverifiedRetention, clock: clk, log: log,
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "riskauth", Subsystem: "authn", Name: "retention_deleted_total",
			Help: "Rows deleted by the retention job, by what (activity, unverified accounts, expired sessions/tokens/flows, attempts).",
		}, []string{"what"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "riskauth", Subsystem: "authn", Name: "retention_runs_total",
			Help: "Retention job rounds by result: ok, skipped (another instance holds the lock) or error.",
		}, []string{"result"}),
	}
	reg.MustRegister(r.deleted, r.runs)
	return r
}

// RunOnce deletes every entry past the retention, batch after batch, and
// returns how many went; ran is false when another instance holds the
// lock.
func (r *Retention) RunOnce(ctx context.Context) (total int64, ran bool, err error) {
	before := r.clock.Now().Add(-r.keep)
	for {
		n, ok, err := r.store.DeleteActivityBefore(ctx, before, retentionBatch)
		total += n
		r.deleted.WithLabelValues("activity").Add(float64(n))
		switch {
		case err != nil:
			r.runs.WithLabelValues("error").Inc()
			return total, ran, err
		case !ok:
			if !ran {
				r.runs.WithLabelValues("skipped").Inc()
			}
			return total, ran, nil
		}
		ran = true
		if n < retentionBatch {
			r.runs.WithLabelValues("ok").Inc()
			return total, true, nil
		}
	}
}

// UnverifiedSweeper deletes accounts whose address was never verified,
// created before a time: registrations abandoned past
// AccountConfig.UnverifiedRetention. Imported accounts and accounts with
// a session seen since then are kept. ran is false when another instance
// holds the retention lock.
type UnverifiedSweeper interface {
	DeleteUnverifiedBefore(ctx context.Context, before time.Time, limit int) (deleted int64, ran bool, err error)
}

// expiredKeep is how long expired one-time tokens are kept: those of the
// last 15 minutes still count towards the per-account mail limit.
const expiredKeep = 15 * time.Minute

// attemptRetention is how long sign-in attempts are kept: well beyond the
// lockout windows (24 h), for the user's recent-activity view.
const attemptRetention = 30 * 24 * time.Hour

// RunAll is one round of every retention the job owns, each counted by
// riskauth_authn_retention_deleted_total{what}: the activity past its
// retention (RunOnce), then, when the store can, unverified accounts past
// theirs ("unverified"), expired sessions, tokens and flows ("expired")
// and old sign-in attempts ("attempts"). It returns the rows deleted.
func (r *Retention) RunAll(ctx context.Context) (int64, error) {
	total, _, err := r.RunOnce(ctx)
	if err != nil {
		return total, err
	}
	now := r.clock.Now()
	if u, ok := r.store.(UnverifiedSweeper); ok && r.unverified > 0 {
		for {
			n, ran, err := u.DeleteUnverifiedBefore(ctx, now.Add(-r.unverified), retentionBatch)
			total += n
			r.count("unverified", n)
			if err != nil {
				return total, fmt.Errorf("authn: unverified retention: %w", err)
			}
			if !ran || n < retentionBatch {
				break
			}
		}
	}
	if sw, ok := r.store.(Sweeper); ok {
		n, err := sw.DeleteExpired(ctx, now, expiredKeep)
		total += n
		r.count("expired", n)
		if err != nil {
			return total, fmt.Errorf("authn: expired sweep: %w", err)
		}
		n, err = sw.DeleteAttemptsBefore(ctx, now.Add(-attemptRetention))
		total += n
		r.count("attempts", n)
		if err != nil {
			return total, fmt.Errorf("authn: attempt retention: %w", err)
		}
	}
	return total, nil
}

// count adds n rows of what to the metric; no series for nothing.
func (r *Retention) count(what string, n int64) {
	if n > 0 {
		r.deleted.WithLabelValues(what).Add(float64(n))
	}
}
