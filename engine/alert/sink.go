package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/segmentio/kafka-go"
)

// Deps are the sink's collaborators; all are optional.
type Deps struct {
	Logger *slog.Logger
	// Metrics default to a private registry (nothing exported).
	Metrics *Metrics
	// Encoder stamps the product metadata (default: an empty Meta).
	Encoder *ocsf.Encoder
}

// Sink delivers decisions and security events to Kafka, or to JSONL files
// in the embedded mode. It is safe for concurrent use.
type Sink struct {
	cfg Config
	log *slog.Logger
	m   *Metrics
	enc *ocsf.Encoder

	// mu orders Publish against Close: Publish holds it shared so that
	// nothing is put on the queue after the worker's last look at it.
	mu     sync.RWMutex
	closed bool
	queue  chan item

	alerts, audit, decisions destination // decisions is nil when off

	writer *kafka.Writer
	lanes  []*lane
	files  []*jsonlFile

	stop       chan struct{}
	workerDone chan struct{}

	agg *aggregator // nil when aggregation is off

	closeOnce sync.Once
	closeErr  error
}

var _ engine.DecisionSink = (*Sink)(nil)

// item is one thing to deliver: a decision or a security event.
type item struct {
	d  *engine.Decision
	ev *secevent.Event
	rc *ocsf.RuleChange
	// forget ends a user on every topic (forget.go), after what came
	// before it.
	forget *forget
	// finding: d's finding goes to the alerts topic (an alert the
	// aggregator did not fold). closed: summaries of the groups that
	// admitting d closed, sent before it.
	finding bool
	closed  []summary
}

// destination takes encoded messages for one topic. reason is empty on
// the worker's normal path.
type destination interface {
	route(msgs []message, reason string)
	status() TopicStatus
	// series are the topic's metrics.
	series() *topicSeries
}

// New validates cfg, opens the spools (Kafka mode) or the JSONL files
// (embedded mode) and starts the worker. The returned sink must be
// closed.
func New(cfg Config, deps Deps) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Metrics == nil {
		deps.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	if deps.Encoder == nil {
		deps.Encoder = ocsf.NewEncoder(ocsf.Meta{})
	}
	s := &Sink{cfg: cfg, log: deps.Logger.With("component", "alert"), m: deps.Metrics, enc: deps.Encoder,
		queue: make(chan item, cfg.QueueSize), stop: make(chan struct{}), workerDone: make(chan struct{})}
	var err error
	if cfg.Embedded() {
		err = s.openFiles()
	} else {
		err = s.openKafka()
	}
	if err != nil {
		// Nothing was started: release what was opened.
		if cerr := s.release(context.Background(), false); cerr != nil {
			s.log.Warn("alert: cleanup after a failed start", "err", cerr)
		}
		return nil, err
	}
	if cfg.AggregateWindow > 0 {
		s.agg = newAggregator(cfg.AggregateWindow, cfg.AggregateGroups)
	}
	for _, l := range s.lanes {
		go l.run()
	}
	go s.run()
	return s, nil
}

// Publish queues a decision for delivery; it never waits for Kafka or
// the disk in the common case. The decision must not be modified
// afterwards. When the queue is full the caller encodes and hands the
// messages on itself (see the package documentation).
func (s *Sink) Publish(d *engine.Decision) {
	if d == nil {
		return
	}
	it := item{d: d, finding: ocsf.IsAlert(d)}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		if it.finding || s.decisions != nil {
			s.alerts.series().dropped(reasonClosed, 1)
		}
		return
	}
	// Folding happens here, on the caller's goroutine, rather than in the
	// worker: during a stuffing wave nearly every block is folded, and an
	// alert that is only counted then costs no queue hand-off and no
	// worker wake-up (on a quiet server, a wake-up costs more CPU than the
	// evaluation did).
	if it.finding && s.agg != nil {
		it.finding, it.closed = s.agg.admit(d, time.Now())
		if !it.finding {
			s.m.aggregated.Inc()
		}
	}
	if it.finding || len(it.closed) > 0 || s.decisions != nil {
		s.enqueueLocked(it)
	}
}

// Emit queues an account security event for the audit trail and, unless
// its type is audit-only (secevent.Type.AuditOnly), the alerts topic, with
// the same guarantees as Publish. The event must not be modified
// afterwards.
func (s *Sink) Emit(ev *secevent.Event) {
	if ev != nil {
		s.enqueue(item{ev: ev})
	}
}

// Audit queues an audited rule-set change (promote, rollback, candidate,
// hot reload) for the alerts topic as an OCSF Entity Management event,
// with the same guarantees as Publish. The wiring converts the rule
// source's rules.Change (rules.SourceConfig.OnAudit) to ocsf.RuleChange.
func (s *Sink) Audit(c ocsf.RuleChange) {
	s.enqueue(item{rc: &c})
}

func (s *Sink) enqueue(it item) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		s.alerts.series().dropped(reasonClosed, 1)
		return
	}
	s.enqueueLocked(it)
}

// enqueueLocked queues it; the caller holds s.mu for reading and has
// checked that the sink is open.
func (s *Sink) enqueueLocked(it item) {
	select {
	case s.queue <- it:
		return
	default:
	}
	// The worker is behind (CPU or disk, never Kafka: it does not wait
	// for Kafka). Run its job here rather than block or drop.
	s.m.overflow.Inc()
	s.process([]item{it}, reasonQueueFull)
}

// Close stops taking messages, delivers what is queued to Kafka within
// ctx and spools the rest, then closes the producer and the spools. It
// is idempotent; later calls return the first call's result.
func (s *Sink) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.close(ctx) })
	return s.closeErr
}

func (s *Sink) close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.workerDone // quick: the worker only encodes and hands on
	if s.agg != nil {
		// Folded alerts are reported before the lanes stop, like the
		// queue's contents.
		s.summaries(s.agg.closeAll(), reasonShutdown)
	}

	for _, l := range s.lanes {
		l.beginStop()
	}
	for _, l := range s.lanes {
		select {
		case <-l.done:
		case <-ctx.Done():
			l.abort()
			<-l.done
		}
		if n, b := l.sp.Len(), l.sp.Bytes(); n > 0 {
			// Not an error: delivered after the next start.
			s.log.Info("alert: messages left in the spool for the next start", "topic", l.topic, "messages", n, "bytes", b)
		}
	}
	return s.release(ctx, true)
}

// release closes the producer (when wait is set, for at most ctx: a
// producer that never connected has nothing to wait for), the spools and
// the files.
func (s *Sink) release(ctx context.Context, wait bool) error {
	var errs []error
	if s.writer != nil && wait {
		// kafka-go's Close waits for background retries; never longer
		// than the caller allows.
		done := make(chan error, 1)
		go func() { done <- s.writer.Close() }()
		select {
		case err := <-done:
			if err != nil {
				errs = append(errs, fmt.Errorf("alert: close producer: %w", err))
			}
		case <-ctx.Done():
			s.log.Warn("alert: Kafka producer still busy at shutdown; abandoned")
		}
	}
	for _, l := range s.lanes {
		if err := l.sp.Close(); err != nil {
			errs = append(errs, fmt.Errorf("alert: close spool %s: %w", l.topic, err))
		}
	}
	for _, f := range s.files {
		if err := f.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
