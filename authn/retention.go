package authn

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskauth/riskauth/engine/clock"
)

// Retention is the background job that deletes activity entries past
// AccountConfig.ActivityRetention, in bounded batches. Several instances
// may run it: the store lets one at a time do the work (a PostgreSQL
// advisory lock; SQLite is one process's), and the others skip the
// round. Its work is a metric.
type Retention struct {
	store   ActivityStore
	keep    time.Duration
	clock   clock.Clock
	log     *slog.Logger
	deleted *prometheus.CounterVec
	runs    *prometheus.CounterVec
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
	r := &Retention{store: st, keep: cfg.ActivityRetention, clock: clk, log: log,
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "riskauth", Subsystem: "authn", Name: "retention_deleted_total",
			Help: "Rows deleted by the retention job, by what (activity).",
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
